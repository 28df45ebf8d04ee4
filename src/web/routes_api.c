/*
 * routes_api.c: the JSON API for programs (SPEC section 5).
 *
 *   POST /api/forms/{slug}/submissions   (Content-Type: application/json,
 *        optional Idempotency-Key) -> 201, or 202 while actions run;
 *        errors as application/problem+json (RFC 9457).
 *   GET  /api/submissions/{id}           -> 202 while pending, then 200.
 *
 * The body is a JSON object of field values; it is turned into the same
 * name/value pairs a form sends and goes through the same validation and
 * submission pipeline (submit.c). Idempotency follows the IETF draft
 * "The Idempotency-Key HTTP Header Field": a replay gets the first
 * answer, 409 while the first is in flight, 422 for another payload.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <sodium.h>

#include "core/body.h"
#include "web/api.h"
#include "core/config.h"
#include "core/forms.h"
#include "core/json_in.h"
#include "core/json_out.h"
#include "web/offload.h"
#include "web/origin.h"
#include "web/page.h"
#include "web/routes.h"
#include "store/store.h"
#include "web/submit.h"
#include "core/token.h"
#include "core/validate.h"

#define API_KEY_MAX		255
#define API_RETRY_AFTER		"2"
#define API_ALLOW		"POST"

static int	api_submit_run(struct http_request *);
static void	api_send(struct http_request *, int, struct kore_buf *);
static void	api_state_free(struct http_request *);
static void	api_number(char *, size_t, double);
static void	api_not_found(struct http_request *);
static void	api_status_free(struct http_request *);

/*
 * POST /api/forms/{slug}/submissions. A browser page on another site may
 * call it only from one of the form's allowed origins (CORS, SPEC
 * section 10); a program, which sends no Origin, as always.
 */
int
page_api_submit(struct http_request *req)
{
	struct submit_post	*sp;
	struct form		*form;
	const char		*ctype, *why, *slug;
	char			 name[64], origin[URL_ORIGIN_MAX];
	size_t			 n;

	if (http_state_exists(req))
		return (api_submit_run(req));

	/* /api/forms/{slug}/submissions: the route's regex checked it. */
	slug = req->path + strlen("/api/forms/");
	n = strcspn(slug, "/");
	(void)snprintf(name, sizeof(name), "%.*s", (int)n, slug);
	form = forms_find(forms_loaded(), name);
	if (req->method == HTTP_METHOD_OPTIONS && form != NULL &&
	    form->norigins > 0) {
		origin_preflight(req, form, API_ALLOW ", OPTIONS");
		return (KORE_RESULT_OK);
	}
	if (req->method != HTTP_METHOD_POST) {
		http_response_header(req, "allow", API_ALLOW);
		api_problem(req, 405, "Method not allowed",
		    "This resource only accepts POST.", NULL);
		return (KORE_RESULT_OK);
	}

	if (form == NULL) {
		api_problem(req, 404, "No such form",
		    "There is no form with this slug.", NULL);
		return (KORE_RESULT_OK);
	}
	switch (origin_classify(req, form, 0, origin)) {
	case ORIGIN_LISTED:
		origin_cors(req, origin);
		break;
	case ORIGIN_OTHER:
		api_problem(req, 403, "Origin not allowed", "This form does "
		    "not take submissions from pages of that origin.", NULL);
		return (KORE_RESULT_OK);
	default:
		break;
	}
	sp = http_state_create(req, sizeof(*sp), api_state_free);
	submit_post_init(sp, form);
	if (!http_request_header(req, "content-type", &ctype) ||
	    !api_json_type(ctype)) {
		api_problem(req, 415, "Unsupported media type",
		    "Send the submission as application/json.", NULL);
		return (KORE_RESULT_OK);
	}
	if (req->content_length > config.body_max) {
		api_problem(req, 413, "Payload too large",
		    "The submission is larger than this site accepts.", NULL);
		return (KORE_RESULT_OK);
	}
	/* Without an Idempotency-Key, every request is a new submission. */
	switch (api_key(req, sp->keybuf, &why)) {
	case -1:
		api_problem(req, 400, "Bad Idempotency-Key", why, NULL);
		return (KORE_RESULT_OK);
	case 0:
		token_id_new(sp->keybuf);
		break;
	default:
		break;
	}
	sp->key = sp->keybuf;
	if (req->http_body == NULL || api_body_from_json(form,
	    req->http_body->data, req->http_body->length, &sp->body,
	    &why) == -1) {
		api_problem(req, 400, "Unreadable JSON", req->http_body ?
		    why : "The request has no body.", NULL);
		return (KORE_RESULT_OK);
	}

	sp->vst = validate_form(form, &sp->body, &sp->in);
	if (sp->vst == VALIDATE_BAD_REQUEST) {
		api_problem(req, 400, "Unexpected data", sp->in.problem, NULL);
		return (KORE_RESULT_OK);
	}
	return (api_submit_run(req));
}

/* Runs the submission on; answers once it is through. */
static int
api_submit_run(struct http_request *req)
{
	struct submit_post	*sp = http_state_get(req);
	struct submit_outcome	 out;

	if (submit_run(req, sp, &out) == KORE_RESULT_RETRY)
		return (KORE_RESULT_RETRY);
	api_submit_answer(req, sp->form, &sp->in, &out);
	return (KORE_RESULT_OK);
}

void
api_submit_answer(struct http_request *req, struct form *form,
    struct form_input *in, const struct submit_outcome *out)
{
	struct store_job_status	 js[FORM_MAX_ACTIONS];
	struct kore_buf		 b;
	char			 location[64];
	size_t			 n, i, pending;

	switch (out->status) {
	case SUBMIT_STORED:
	case SUBMIT_REPLAY:
		break;
	case SUBMIT_KEY_REUSED:
		api_problem(req, 422, "Idempotency-Key already used",
		    "This Idempotency-Key was used for a different payload.",
		    NULL);
		return;
	case SUBMIT_IN_FLIGHT:
		api_problem(req, 409, "Request in progress", "The same "
		    "submission (this Idempotency-Key, or these values from "
		    "this client) is still being processed; retry shortly.",
		    NULL);
		return;
	case SUBMIT_INVALID:
		api_problem(req, 422, "Invalid fields", "One or more fields "
		    "are invalid; see errors.", in);
		return;
	case SUBMIT_CHALLENGE:
		api_problem(req, 422, "Challenge not passed", "Complete the "
		    "check that you are a person, then send the submission "
		    "again with its new token; see errors.", in);
		return;
	case SUBMIT_UNIQUE_TAKEN:
		submit_mark_taken(form, in, out->taken_field);
		api_problem(req, 409, "Value already registered", "A field "
		    "that must be unique holds a value already used.", in);
		return;
	case SUBMIT_RATE_LIMITED:
		http_response_header(req, "retry-after", "60");
		api_problem(req, 429, "Too many submissions", "Wait a minute "
		    "before submitting again.", NULL);
		return;
	default:
		if (out->store_result == STORE_BUSY ||
		    out->store_result == STORE_UNWRITABLE) {
			http_response_header(req, "retry-after",
			    API_RETRY_AFTER);
			api_problem(req, 503, out->store_result == STORE_BUSY ?
			    "Busy" : "Storage unavailable", "Nothing was "
			    "stored; retry shortly with the same "
			    "Idempotency-Key.", NULL);
		} else {
			api_problem(req, 500, "Internal error", "Nothing was "
			    "stored.", NULL);
		}
		return;
	}

	/* A replay answers as the first request did: by current state. */
	pending = 0;
	if (store_job_statuses(out->id, js, FORM_MAX_ACTIONS, &n) == STORE_OK) {
		for (i = 0; i < n; i++) {
			if (js[i].state == JOB_QUEUED ||
			    js[i].state == JOB_RUNNING)
				pending++;
		}
	}
	(void)snprintf(location, sizeof(location), "/api/submissions/%s",
	    out->id);
	http_response_header(req, "location", location);
	kore_buf_init(&b, 256);
	kore_buf_appendf(&b, "{\"id\":\"%s\",\"status\":\"%s\","
	    "\"result_url\":\"/s/%s\"}\n", out->id, pending ? "queued" : "done",
	    out->id);
	if (pending)
		http_response_header(req, "retry-after", API_RETRY_AFTER);
	api_send(req, pending ? 202 : 201, &b);
	kore_buf_cleanup(&b);
}

/* A status request's state across its sleep: the store's answer. */
struct api_status_state {
	struct offload_submission	*load;
};

int
page_api_submission(struct http_request *req)
{
	struct api_status_state		*st;
	struct offload_submission	*ld;
	struct kore_buf			 b;
	const char			*id, *status;
	size_t				 i, queued, running, failed;

	if ((st = http_state_get(req)) != NULL) {
		if (!offload_done(req, &st->load->o))
			return (KORE_RESULT_RETRY);
	} else {
		if (req->method != HTTP_METHOD_GET &&
		    req->method != HTTP_METHOD_HEAD) {
			http_response_header(req, "allow", "GET, HEAD");
			api_problem(req, 405, "Method not allowed",
			    "This resource only accepts GET.", NULL);
			return (KORE_RESULT_OK);
		}
		id = req->path + strlen("/api/submissions/");
		if (!token_id_valid(id)) {
			api_not_found(req);
			return (KORE_RESULT_OK);
		}
		st = http_state_create(req, sizeof(*st), api_status_free);
		st->load = offload_submission_new(id);
		if (!offload_run(req, &st->load->o))
			return (KORE_RESULT_RETRY);
	}
	ld = st->load;
	if (ld->sr == STORE_NOT_FOUND) {
		api_not_found(req);
		return (KORE_RESULT_OK);
	}
	if (ld->sr != STORE_OK || ld->sr_jobs != STORE_OK) {
		http_response_header(req, "retry-after", API_RETRY_AFTER);
		api_problem(req, 503, "Busy", "Retry shortly.", NULL);
		return (KORE_RESULT_OK);
	}

	queued = running = failed = 0;
	for (i = 0; i < ld->n; i++) {
		if (ld->js[i].state == JOB_QUEUED)
			queued++;
		else if (ld->js[i].state == JOB_RUNNING)
			running++;
		else if (ld->js[i].state == JOB_FAILED)
			failed++;
	}
	status = running ? "running" : queued ? "queued" : failed ? "failed" :
	    "done";

	kore_buf_init(&b, 512);
	kore_buf_appendf(&b, "{\"id\":\"%s\",\"form\":", ld->rec.id);
	json_out_string(&b, ld->rec.form);
	kore_buf_appendf(&b, ",\"status\":\"%s\",\"created_at\":%llu,"
	    "\"values\":%s,\"actions\":[", status,
	    (unsigned long long)ld->rec.created_ms, ld->rec.data);
	for (i = 0; i < ld->n; i++) {
		kore_buf_appendf(&b, "%s{\"type\":\"%s\",\"state\":\"%s\","
		    "\"attempts\":%d,\"max_attempts\":%d}", i ? "," : "",
		    ld->js[i].kind, store_job_states[ld->js[i].state],
		    ld->js[i].attempts, ld->js[i].max_attempts);
	}
	kore_buf_appendf(&b, "]}\n");

	if (queued + running > 0)
		http_response_header(req, "retry-after", API_RETRY_AFTER);
	api_send(req, queued + running > 0 ? 202 : 200, &b);
	kore_buf_cleanup(&b);
	return (KORE_RESULT_OK);
}

static void
api_not_found(struct http_request *req)
{
	api_problem(req, 404, "Not found", "There is no submission with this "
	    "id.", NULL);
}

/* The request is freed: its job goes now, or once it is back. */
static void
api_status_free(struct http_request *req)
{
	struct api_status_state	*st = http_state_get(req);

	if (st != NULL)
		offload_release(&st->load->o);
}

int
api_json_type(const char *ctype)
{
	return (strncasecmp(ctype, "application/json", 16) == 0 &&
	    (ctype[16] == '\0' || ctype[16] == ';'));
}

/*
 * Idempotency-Key: 1 to 255 visible ASCII characters, kept as a hash of
 * fixed size, the length of a form instance key.
 */
int
api_key(struct http_request *req, char key[TOKEN_ID_LEN + 1],
    const char **why)
{
	const char	*v;
	u_int8_t	 h[16];
	size_t		 i, len;

	if (!http_request_header(req, "idempotency-key", &v))
		return (0);
	len = strlen(v);
	if (len == 0 || len > API_KEY_MAX) {
		*why = "The Idempotency-Key must be 1 to 255 characters long.";
		return (-1);
	}
	for (i = 0; i < len; i++) {
		if (v[i] < 0x21 || v[i] > 0x7e) {
			*why = "The Idempotency-Key must be visible ASCII "
			    "characters only.";
			return (-1);
		}
	}
	crypto_generichash(h, sizeof(h), (const u_int8_t *)v, len,
	    (const u_int8_t *)"formwork-idem-v1", 16);
	sodium_bin2base64(key, TOKEN_ID_LEN + 1, h, sizeof(h),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return (1);
}

/* The shortest decimal that reads back as d: 0.1, not 0.10000000000000001. */
static void
api_number(char *out, size_t len, double d)
{
	int	prec;

	for (prec = 15; prec < 17; prec++) {
		(void)snprintf(out, len, "%.*g", prec, d);
		if (strtod(out, NULL) == d)
			return;
	}
	(void)snprintf(out, len, "%.17g", d);
}

/* Every field's value from a JSON object (api.h). */
int
api_body_from_json(struct form *form, const u_int8_t *data, size_t len,
    struct body *body, const char **why)
{
	struct kore_json		 j;
	struct kore_json_item		*it, *el;
	struct form_field		*fld;
	struct kore_buf			 clean;
	const char			*v;
	char				 num[64];
	int				 rc;

	kore_buf_init(&clean, len + 16);
	if (json_in_decode(data, len, &clean, why) == -1) {
		kore_buf_cleanup(&clean);
		return (-1);
	}
	kore_json_init(&j, clean.data, clean.offset);
	rc = -1;
	if (!kore_json_parse(&j)) {
		*why = kore_json_strerror(&j);
		goto out;
	}
	if (j.root->type != KORE_JSON_TYPE_OBJECT) {
		*why = "The body must be a JSON object of field values.";
		goto out;
	}
	TAILQ_FOREACH(it, &j.root->data.items, list) {
		v = NULL;
		switch (it->type) {
		case KORE_JSON_TYPE_STRING:
			v = it->data.string;
			break;
		case KORE_JSON_TYPE_INTEGER_U64:
			(void)snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)it->data.u64);
			v = num;
			break;
		case KORE_JSON_TYPE_INTEGER:
			(void)snprintf(num, sizeof(num), "%lld",
			    (long long)it->data.s64);
			v = num;
			break;
		case KORE_JSON_TYPE_NUMBER:
			api_number(num, sizeof(num), it->data.number);
			v = num;
			break;
		case KORE_JSON_TYPE_LITERAL:
			fld = form_field_find(form, it->name);
			if (it->data.literal == KORE_JSON_TRUE)
				v = fld != NULL && fld->type == FIELD_CHECKBOX &&
				    !fld->multiple ? fld->value : "true";
			break;
		case KORE_JSON_TYPE_ARRAY:
			TAILQ_FOREACH(el, &it->data.items, list) {
				if (el->type != KORE_JSON_TYPE_STRING) {
					*why = "Arrays may only hold strings.";
					goto out;
				}
				if (body_field_add(body, it->name,
				    el->data.string,
				    strlen(el->data.string)) != BODY_OK) {
					*why = "Too many or badly named fields.";
					goto out;
				}
			}
			break;
		default:
			*why = "Field values must be strings, numbers, booleans "
			    "or arrays of strings.";
			goto out;
		}
		if (v != NULL &&
		    body_field_add(body, it->name, v, strlen(v)) != BODY_OK) {
			*why = "Too many or badly named fields.";
			goto out;
		}
	}
	rc = 0;
out:
	kore_json_cleanup(&j);
	kore_buf_cleanup(&clean);
	return (rc);
}

/*
 * RFC 9457 problem details, with one entry per bad field; a challenge
 * not passed is an entry at the field its token is sent in.
 */
void
api_problem(struct http_request *req, int status, const char *title,
    const char *detail, const struct form_input *in)
{
	struct kore_buf		b;
	size_t			i, k;
	const char		*token;

	kore_buf_init(&b, 256);
	kore_buf_appendf(&b, "{\"type\":\"about:blank\",\"status\":%d,"
	    "\"title\":", status);
	json_out_string(&b, title);
	kore_buf_appendf(&b, ",\"detail\":");
	json_out_string(&b, detail);
	if (in != NULL && in->fields != NULL) {
		kore_buf_appendf(&b, ",\"errors\":[");
		for (i = 0, k = 0; i < in->form->nfields; i++) {
			if (in->fields[i].error[0] == '\0')
				continue;
			kore_buf_appendf(&b, "%s{\"field\":", k++ ? "," : "");
			json_out_string(&b, in->form->fields[i].name);
			kore_buf_appendf(&b, ",\"detail\":");
			json_out_string(&b, in->fields[i].error);
			kore_buf_appendf(&b, "}");
		}
		if (in->challenge != 0 &&
		    (token = form_captcha_field(in->form)) != NULL) {
			kore_buf_appendf(&b, "%s{\"field\":", k++ ? "," : "");
			json_out_string(&b, token);
			kore_buf_appendf(&b, ",\"detail\":");
			json_out_string(&b, in->challenge ==
			    VALIDATE_CHALLENGE_MISSING ? "The challenge's token "
			    "is missing: complete the challenge." : "The "
			    "challenge was not passed: complete it again.");
			kore_buf_appendf(&b, "}");
		}
		kore_buf_appendf(&b, "]");
	}
	kore_buf_appendf(&b, "}\n");
	http_response_header(req, "content-type",
	    "application/problem+json");
	api_send(req, status, &b);
	kore_buf_cleanup(&b);
}

static void
api_send(struct http_request *req, int status, struct kore_buf *b)
{
	page_security_headers(req);
	http_response_header(req, "cache-control", "no-store");
	if (status < 400)
		http_response_header(req, "content-type", "application/json");
	page_respond(req, status, b->data, b->offset);
}

static void
api_state_free(struct http_request *req)
{
	submit_post_cleanup(http_state_get(req));
}
