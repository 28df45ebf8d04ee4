/*
 * submit.c: the submission pipeline shared by the form and the API (see
 * submit.h). It reads the store and queues for the writer; it never
 * answers a request itself.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "web/commit.h"
#include "core/config.h"
#include "core/forms.h"
#include "core/json_out.h"
#include "store/store.h"
#include "web/submit.h"

#define SUBMIT_RATE_WINDOW_MS	60000

static char	*submit_data_json(const struct form_input *);
static int	 submit_key_used(const struct form *, const char *,
		    enum validate_status, const char *,
		    struct submit_outcome *);

void
submit_start(struct http_request *req, struct form *form,
    struct form_input *in, enum validate_status vst, const char *key,
    int spam, u_int64_t now, struct commit_item **itemp,
    struct submit_outcome *out)
{
	struct commit_item	*item;
	struct store_claim	*claim;
	enum store_result	 sr;
	char			 hash[VALIDATE_HASH_LEN + 1];
	u_int64_t		 count;
	size_t			 i, k;

	memset(out, 0, sizeof(*out));
	*itemp = NULL;

	/* This instance again: a replay, or still being stored. */
	validate_hash(in, hash);
	if (commit_in_flight(form->slug, key)) {
		out->status = SUBMIT_IN_FLIGHT;
		return;
	}
	/*
	 * A valid one is not looked up first: the writer finds a used key
	 * as the insert's conflict (submit_finish() tells a replay from a
	 * reuse), which spares every new submission a read. An invalid one
	 * stored already is "already sent", not a 422.
	 */
	if (vst != VALIDATE_OK) {
		if (!submit_key_used(form, key, vst, hash, out))
			out->status = SUBMIT_INVALID;
		return;
	}

	item = commit_item_new();
	item->sub.spam = spam;

	/* Unique values, compared without case (e-mail addresses). */
	for (i = 0, k = 0; i < form->nfields && !spam; i++) {
		if (!form->fields[i].unique || in->fields[i].nvals == 0 ||
		    in->fields[i].vals[0][0] == '\0' || k == COMMIT_MAX_CLAIMS)
			continue;
		claim = &item->claims[k];
		claim->field = form->fields[i].name;
		(void)snprintf(item->values[k], COMMIT_CLAIM_MAX, "%s",
		    in->fields[i].vals[0]);
		for (char *p = item->values[k]; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		if ((sr = store_unique_check(form->slug, claim->field,
		    claim->value)) != STORE_OK) {
			commit_item_release(item);
			/* Taken by this very instance: a replay. */
			if (sr == STORE_UNIQUE_TAKEN &&
			    submit_key_used(form, key, vst, hash, out))
				return;
			out->status = sr == STORE_UNIQUE_TAKEN ?
			    SUBMIT_UNIQUE_TAKEN : SUBMIT_STORE_FAILED;
			out->taken_field = form->fields[i].name;
			out->store_result = sr;
			return;
		}
		k++;
	}
	item->sub.nclaims = k;

	submit_client(req, item->client, sizeof(item->client));
	if (config.rate_limit > 0) {
		sr = store_client_count(item->client,
		    now - SUBMIT_RATE_WINDOW_MS, &count);
		if (sr != STORE_OK || count >= config.rate_limit) {
			out->status = sr != STORE_OK ? SUBMIT_STORE_FAILED :
			    SUBMIT_RATE_LIMITED;
			out->store_result = sr;
			commit_item_release(item);
			return;
		}
	}

	/* Spam runs no actions; an admin who releases it runs them. */
	if (!spam)
		item->sub.njobs = submit_job_specs(form, item->jobs,
		    COMMIT_MAX_JOBS);

	token_id_new(item->sub.id);
	(void)snprintf(item->form, sizeof(item->form), "%s", form->slug);
	(void)snprintf(item->key, sizeof(item->key), "%s", key);
	(void)snprintf(item->sub.hash, sizeof(item->sub.hash), "%s", hash);
	item->data = submit_data_json(in);
	item->sub.created_ms = now;
	commit_enqueue(item, req);

	out->status = SUBMIT_QUEUED;
	out->njobs = (int)item->sub.njobs;
	*itemp = item;
}

void
submit_finish(const struct commit_item *item, struct submit_outcome *out)
{
	const struct store_submission	*sub = &item->sub;

	memset(out, 0, sizeof(*out));
	out->njobs = (int)sub->njobs;
	switch (sub->result) {
	case STORE_OK:
		out->status = SUBMIT_STORED;
		(void)snprintf(out->id, sizeof(out->id), "%s", sub->id);
		break;
	case STORE_KEY_USED:
		/* Another worker stored this instance first. */
		out->status = strcmp(sub->prior_hash, sub->hash) == 0 ?
		    SUBMIT_REPLAY : SUBMIT_KEY_REUSED;
		(void)snprintf(out->id, sizeof(out->id), "%s", sub->prior_id);
		break;
	case STORE_UNIQUE_TAKEN:
		out->status = SUBMIT_UNIQUE_TAKEN;
		out->taken_field = sub->taken_field;
		break;
	default:
		out->status = SUBMIT_STORE_FAILED;
		out->store_result = sub->result;
		break;
	}
}

void
submit_mark_taken(struct form *form, struct form_input *in, const char *field)
{
	size_t		i;

	for (i = 0; i < form->nfields; i++) {
		if (strcmp(form->fields[i].name, field) != 0)
			continue;
		(void)snprintf(in->fields[i].error, sizeof(in->fields[i].error),
		    "%s is already registered. Use another, or contact the "
		    "site owner.", form->fields[i].label);
		in->nerrors = 1;
	}
}

size_t
submit_job_specs(const struct form *form, struct store_job_spec *jobs,
    size_t max)
{
	size_t		i;

	for (i = 0; i < form->nactions && i < max; i++) {
		jobs[i].kind = form->actions[i].type;
		jobs[i].target = form->actions[i].target;
		jobs[i].action = (int)i;
		jobs[i].max_attempts = form->actions[i].max_attempts;
	}
	return (i);
}

void
submit_client(struct http_request *req, char *out, size_t len)
{
	const char	*xff, *last;
	size_t		 n;

	/*
	 * The proxy appends the address it saw to whatever X-Forwarded-For
	 * the visitor sent: only the last entry is the proxy's word, every
	 * earlier one may be forged.
	 */
	if (config.trust_proxy &&
	    http_request_header(req, "x-forwarded-for", &xff)) {
		last = strrchr(xff, ',');
		last = last != NULL ? last + 1 : xff;
		last += strspn(last, " \t");
		if ((n = strcspn(last, " \t")) > 0) {
			(void)snprintf(out, len, "%.*s",
			    (int)(n < len ? n : len - 1), last);
			return;
		}
	}
	if (req->owner->family == AF_INET6)
		(void)inet_ntop(AF_INET6, &req->owner->addr.ipv6.sin6_addr,
		    out, len);
	else if (req->owner->family == AF_INET)
		(void)inet_ntop(AF_INET, &req->owner->addr.ipv4.sin_addr, out,
		    len);
	else
		(void)snprintf(out, len, "local");
}

/* The values as one JSON object: a string, or an array for multiples. */
static char *
submit_data_json(const struct form_input *in)
{
	struct kore_buf			 b;
	const struct field_input	*fi;
	size_t				 i, k, len;
	char				*s;

	kore_buf_init(&b, 256);
	kore_buf_append(&b, "{", 1);
	for (i = 0; i < in->form->nfields; i++) {
		fi = &in->fields[i];
		if (i > 0)
			kore_buf_append(&b, ",", 1);
		json_out_string(&b, fi->field->name);
		kore_buf_append(&b, ":", 1);
		if (fi->field->multiple) {
			kore_buf_append(&b, "[", 1);
			for (k = 0; k < fi->nvals; k++) {
				if (k > 0)
					kore_buf_append(&b, ",", 1);
				json_out_string(&b, fi->vals[k]);
			}
			kore_buf_append(&b, "]", 1);
		} else {
			json_out_string(&b, fi->nvals ? fi->vals[0] : "");
		}
	}
	kore_buf_append(&b, "}", 1);
	s = kore_buf_stringify(&b, &len);
	s = kore_strdup(s);
	kore_buf_cleanup(&b);
	return (s);
}

/*
 * 1 when (form, key) is stored already, with out set to a replay (same
 * valid values) or a reuse; also 1, with out a store failure, when the
 * store cannot tell.
 */
static int
submit_key_used(const struct form *form, const char *key,
    enum validate_status vst, const char *hash, struct submit_outcome *out)
{
	enum store_result	sr;
	char			prior_hash[VALIDATE_HASH_LEN + 1];

	sr = store_key_find(form->slug, key, out->id, prior_hash);
	if (sr == STORE_NOT_FOUND)
		return (0);
	if (sr == STORE_OK) {
		out->status = vst == VALIDATE_OK &&
		    strcmp(prior_hash, hash) == 0 ? SUBMIT_REPLAY :
		    SUBMIT_KEY_REUSED;
	} else {
		out->status = SUBMIT_STORE_FAILED;
		out->store_result = sr;
	}
	return (1);
}
