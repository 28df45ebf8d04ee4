/*
 * submit.c: the submission pipeline shared by the form, its JSON mode and
 * the API (see submit.h). It reads the store, asks the challenge's
 * verifier and queues for the writer; it never answers a request itself.
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
#include <sodium.h>

#include "web/captcha.h"
#include "web/commit.h"
#include "core/config.h"
#include "core/forms.h"
#include "core/json_out.h"
#include "core/spam.h"
#include "core/util.h"
#include "store/store.h"
#include "web/submit.h"

#define SUBMIT_RATE_WINDOW_MS	60000

static void	 submit_start(struct http_request *, struct submit_post *,
		    struct submit_outcome *);
static void	 submit_finish(const struct commit_item *,
		    struct submit_outcome *);
static void	 submit_challenge_failed(struct submit_post *,
		    struct submit_outcome *);
static void	 submit_repeat_digest(struct submit_post *);
static char	*submit_data_json(const struct form_input *);
static int	 submit_used(struct submit_post *, struct submit_outcome *);

/* What the in-flight list knows a submission by: its key or content. */
#define SUBMIT_DEDUP_KEY(sp)	((sp)->key != NULL ? (sp)->key : (sp)->repeat)

void
submit_post_init(struct submit_post *sp, struct form *form)
{
	memset(sp, 0, sizeof(*sp));
	sp->form = form;
	TAILQ_INIT(&sp->body.fields);
}

void
submit_post_cleanup(struct submit_post *sp)
{
	validate_cleanup(&sp->in);
	body_cleanup(&sp->body);
	captcha_release(sp->check);
	commit_item_release(sp->item);
	sp->check = NULL;
	sp->item = NULL;
}

/*
 * The steps in order, each of which may answer: the in-flight check (a
 * double click while the first is being stored), the challenge (asked
 * of the verifier thread: asleep until it has an answer), then
 * submit_start() and the writer (asleep until committed). A challenge
 * is only asked for valid values not known to be spam: the provider's
 * token is good for one check, and a visitor who must fix a field should
 * not lose it.
 */
int
submit_run(struct http_request *req, struct submit_post *sp,
    struct submit_outcome *out)
{
	struct form		*form = sp->form;
	enum captcha_verdict	 verdict;

	memset(out, 0, sizeof(*out));
	if (sp->item != NULL) {
		if (!sp->item->done) {
			http_request_sleep(req);
			return (KORE_RESULT_RETRY);
		}
		submit_finish(sp->item, out);
		return (KORE_RESULT_OK);
	}

	if (sp->check != NULL) {
		if (!sp->check->job.done) {
			http_request_sleep(req);
			return (KORE_RESULT_RETRY);
		}
		verdict = sp->check->verdict;
		captcha_release(sp->check);
		sp->check = NULL;
		if (verdict == CAPTCHA_FAILED) {
			submit_challenge_failed(sp, out);
			return (KORE_RESULT_OK);
		}
		/* No answer to go by: kept, for an admin to judge. */
		if (verdict == CAPTCHA_UNUSABLE)
			sp->spam = 1;
	} else {
		sp->now = util_now_ms();
		if (sp->vst == VALIDATE_OK && !sp->spam)
			sp->spam = sp->in.honeypot ||
			    spam_rules_broken(form, &sp->in) != SPAM_RULE_NONE;
		submit_client(req, sp->client, sizeof(sp->client));
		validate_hash(&sp->in, sp->hash);
		if (sp->key == NULL)
			submit_repeat_digest(sp);

		/* This instance again: still being stored. */
		if (commit_in_flight(form->slug, SUBMIT_DEDUP_KEY(sp))) {
			out->status = SUBMIT_IN_FLIGHT;
			return (KORE_RESULT_OK);
		}
		if (sp->vst == VALIDATE_OK && form->captcha != FORM_CAPTCHA_NONE &&
		    !sp->spam) {
			if (sp->in.captcha == NULL || sp->in.captcha[0] == '\0' ||
			    strlen(sp->in.captcha) > CAPTCHA_TOKEN_MAX) {
				sp->in.challenge = VALIDATE_CHALLENGE_MISSING;
				out->status = SUBMIT_CHALLENGE;
				return (KORE_RESULT_OK);
			}
			sp->check = captcha_check_new(form, sp->in.captcha,
			    sp->client);
			captcha_enqueue(sp->check, req);
			return (KORE_RESULT_RETRY);
		}
	}

	submit_start(req, sp, out);
	return (out->status == SUBMIT_QUEUED ? KORE_RESULT_RETRY :
	    KORE_RESULT_OK);
}

/*
 * The provider said no. A token is good for one check, so the second
 * request of a double click fails where the first passed: when the
 * first is being stored or is stored already, this one is its replay.
 */
static void
submit_challenge_failed(struct submit_post *sp, struct submit_outcome *out)
{
	if (commit_in_flight(sp->form->slug, SUBMIT_DEDUP_KEY(sp))) {
		out->status = SUBMIT_IN_FLIGHT;
		return;
	}
	if (submit_used(sp, out))
		return;
	sp->in.challenge = VALIDATE_CHALLENGE_FAILED;
	out->status = SUBMIT_CHALLENGE;
}

/*
 * Starts the submission. spam marks it for quarantine (no unique claims,
 * no jobs). On SUBMIT_QUEUED sp->item holds the queued item, the request
 * sleeps and the caller returns KORE_RESULT_RETRY.
 */
static void
submit_start(struct http_request *req, struct submit_post *sp,
    struct submit_outcome *out)
{
	struct form		*form = sp->form;
	struct form_input	*in = &sp->in;
	struct commit_item	*item;
	struct store_claim	*claim;
	enum store_result	 sr;
	u_int64_t		 count;
	size_t			 i, k;

	/*
	 * A valid one is not looked up first: the writer finds a used key
	 * (or a repeat's mark) as the insert's conflict (submit_finish()
	 * tells a replay from a reuse), which spares every new submission
	 * a read. An invalid one stored already is "already sent", not a
	 * 422.
	 */
	if (sp->vst != VALIDATE_OK) {
		if (sp->key == NULL || !submit_used(sp, out))
			out->status = SUBMIT_INVALID;
		return;
	}

	item = commit_item_new();
	item->sub.spam = sp->spam;

	/* Unique values, compared without case (e-mail addresses). */
	for (i = 0, k = 0; i < form->nfields && !sp->spam; i++) {
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
			if (sr == STORE_UNIQUE_TAKEN && submit_used(sp, out))
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

	(void)snprintf(item->client, sizeof(item->client), "%s", sp->client);
	if (config.rate_limit > 0) {
		sr = store_client_count(item->client,
		    sp->now - SUBMIT_RATE_WINDOW_MS, &count);
		if (sr != STORE_OK || count >= config.rate_limit) {
			out->status = sr != STORE_OK ? SUBMIT_STORE_FAILED :
			    SUBMIT_RATE_LIMITED;
			out->store_result = sr;
			commit_item_release(item);
			return;
		}
	}

	/* Spam runs no actions; an admin who releases it runs them. */
	if (!sp->spam)
		item->sub.njobs = submit_job_specs(form, item->jobs,
		    COMMIT_MAX_JOBS);

	token_id_new(item->sub.id);
	(void)snprintf(item->form, sizeof(item->form), "%s", form->slug);
	if (sp->key != NULL) {
		(void)snprintf(item->key, sizeof(item->key), "%s", sp->key);
	} else {
		/* Its own key, never looked up: the mark finds repeats. */
		token_id_new(item->key);
		(void)snprintf(item->repeat, sizeof(item->repeat), "%s",
		    sp->repeat);
		item->sub.repeat = item->repeat;
	}
	if (in->subject != NULL)
		item->sub.subject = item->subject = kore_strdup(in->subject);
	if (in->reply_to != NULL) {
		(void)snprintf(item->reply_to, sizeof(item->reply_to), "%s",
		    in->reply_to);
		item->sub.reply_to = item->reply_to;
	}
	(void)snprintf(item->sub.hash, sizeof(item->sub.hash), "%s",
	    sp->hash);
	item->data = submit_data_json(in);
	item->sub.created_ms = sp->now;
	commit_enqueue(item, req);

	out->status = SUBMIT_QUEUED;
	out->njobs = (int)item->sub.njobs;
	sp->item = item;
}

/* The outcome of a queued item, once the writer is done with it. */
static void
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
		/* Another request stored this instance (or content) first. */
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

/*
 * A submission without a key is known by a digest of its form, its
 * client and its values: what makes a second click on a static page the
 * same submission, and nothing looser (another visitor, or other
 * values, is another one).
 */
static void
submit_repeat_digest(struct submit_post *sp)
{
	crypto_generichash_state	st;
	u_int8_t			h[16];

	(void)crypto_generichash_init(&st,
	    (const u_int8_t *)"formwork-repeat1", 16, sizeof(h));
	(void)crypto_generichash_update(&st, (const u_int8_t *)sp->form->slug,
	    strlen(sp->form->slug) + 1);
	(void)crypto_generichash_update(&st, (const u_int8_t *)sp->client,
	    strlen(sp->client) + 1);
	(void)crypto_generichash_update(&st, (const u_int8_t *)sp->hash,
	    strlen(sp->hash));
	(void)crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2base64(sp->repeat, sizeof(sp->repeat), h, sizeof(h),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
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
 * 1 when this submission is stored already, by its key or (without one)
 * as a repeat within the window, with out set to a replay (same valid
 * values) or a reuse; also 1, with out a store failure, when the store
 * cannot tell.
 */
static int
submit_used(struct submit_post *sp, struct submit_outcome *out)
{
	enum store_result	sr;
	char			prior_hash[VALIDATE_HASH_LEN + 1];

	if (sp->key != NULL)
		sr = store_key_find(sp->form->slug, sp->key, out->id,
		    prior_hash);
	else
		sr = store_repeat_find(sp->form->slug, sp->repeat, sp->now,
		    out->id, prior_hash);
	if (sr == STORE_NOT_FOUND)
		return (0);
	if (sr == STORE_OK) {
		out->status = sp->vst == VALIDATE_OK &&
		    strcmp(prior_hash, sp->hash) == 0 ? SUBMIT_REPLAY :
		    SUBMIT_KEY_REUSED;
	} else {
		out->status = SUBMIT_STORE_FAILED;
		out->store_result = sr;
	}
	return (1);
}
