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
#include "web/offload.h"
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
static void	 submit_checks_start(struct submit_post *, int);
static void	 submit_checks_run(struct offload *);
static int	 submit_checks_go(struct http_request *, struct submit_post *);
static void	 submit_repeat_digest(struct submit_post *);
static char	*submit_data_json(const struct form_input *);
static int	 submit_used(struct submit_post *, struct submit_outcome *);
static enum store_result submit_lookup(struct submit_checks *);

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
	offload_release(sp->checks ? &sp->checks->o : NULL);
	sp->check = NULL;
	sp->item = NULL;
	sp->checks = NULL;
}

/*
 * The steps in order, each of which may answer: the in-flight check (a
 * double click while the first is being stored), the challenge (asked
 * of the verifier thread: asleep until it has an answer), the store's
 * checks (unique values, the rate limit, a used key: on a database
 * thread when the store is remote, asleep until they are done; offload.h),
 * then submit_start() and the writer (asleep until committed). A
 * challenge is only asked for valid values not known to be spam: the
 * provider's token is good for one check, and a visitor who must fix a
 * field should not lose it.
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

	if (sp->checks != NULL) {
		if (!offload_done(req, &sp->checks->o))
			return (KORE_RESULT_RETRY);
	} else if (sp->check != NULL) {
		if (!sp->check->job.done) {
			http_request_sleep(req);
			return (KORE_RESULT_RETRY);
		}
		verdict = sp->check->verdict;
		captcha_release(sp->check);
		sp->check = NULL;
		if (verdict == CAPTCHA_FAILED) {
			/* A replay of one being stored, or stored already? */
			if (commit_in_flight(form->slug,
			    SUBMIT_DEDUP_KEY(sp))) {
				out->status = SUBMIT_IN_FLIGHT;
				return (KORE_RESULT_OK);
			}
			submit_checks_start(sp, 1);
			if (!submit_checks_go(req, sp))
				return (KORE_RESULT_RETRY);
		} else {
			/* No answer to go by: kept, for an admin to judge. */
			if (verdict == CAPTCHA_UNUSABLE)
				sp->spam = 1;
			submit_checks_start(sp, 0);
			if (!submit_checks_go(req, sp))
				return (KORE_RESULT_RETRY);
		}
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
		submit_checks_start(sp, 0);
		if (!submit_checks_go(req, sp))
			return (KORE_RESULT_RETRY);
	}

	if (sp->checks->used_only) {
		submit_challenge_failed(sp, out);
		return (KORE_RESULT_OK);
	}
	submit_start(req, sp, out);
	return (out->status == SUBMIT_QUEUED ? KORE_RESULT_RETRY :
	    KORE_RESULT_OK);
}

/*
 * What the store must be asked before a submission is queued, gathered
 * from sp into a job (sp->checks): its unique values (lowercased: they
 * compare without case, as e-mail addresses do), the client's count for
 * the rate limit, and whether the key or content is stored already
 * (asked only where the answer is needed). used_only: only the last,
 * for a failed challenge.
 */
static void
submit_checks_start(struct submit_post *sp, int used_only)
{
	struct form		*form = sp->form;
	struct form_input	*in = &sp->in;
	struct submit_checks	*c;
	size_t			 i, k;

	c = offload_new(sizeof(*c), submit_checks_run, NULL);
	c->used_only = used_only;
	c->form = form->slug;
	c->now = sp->now;
	(void)snprintf(c->key, sizeof(c->key), "%s", sp->key != NULL ?
	    sp->key : sp->repeat);
	c->by_key = sp->key != NULL;
	c->valid = sp->vst == VALIDATE_OK;
	for (i = 0, k = 0; c->valid && !used_only && i < form->nfields &&
	    !sp->spam; i++) {
		if (!form->fields[i].unique || in->fields[i].nvals == 0 ||
		    in->fields[i].vals[0][0] == '\0' || k == COMMIT_MAX_CLAIMS)
			continue;
		c->fields[k] = form->fields[i].name;
		(void)snprintf(c->values[k], COMMIT_CLAIM_MAX, "%s",
		    in->fields[i].vals[0]);
		for (char *p = c->values[k]; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		k++;
	}
	c->nclaims = k;
	(void)snprintf(c->client, sizeof(c->client), "%s", sp->client);
	c->rate = c->valid && !used_only && config.rate_limit > 0;
	sp->checks = c;
}

/*
 * Runs sp's checks: 1 once done, 0 with req asleep on a database thread
 * (offload_run). A valid submission with no unique value and no rate
 * limit asks the store nothing: done at once, without the hop to a
 * thread, which would cost every such POST more than its commit's
 * share.
 */
static int
submit_checks_go(struct http_request *req, struct submit_post *sp)
{
	struct submit_checks	*c = sp->checks;

	if (c->valid && !c->used_only && c->nclaims == 0 && !c->rate) {
		submit_checks_run(&c->o);
		c->o.job.done = 1;
		return (1);
	}
	return (offload_run(req, &c->o));
}

/*
 * The checks, on a database thread or the event loop: the first unique
 * value taken (and then whether it is this very instance's, a replay),
 * else the client's count; for an invalid or failed submission, only
 * whether it is stored already.
 */
static void
submit_checks_run(struct offload *o)
{
	struct submit_checks	*c = (struct submit_checks *)o;
	size_t			 i;

	c->sr = STORE_OK;
	c->used_sr = STORE_NOT_FOUND;
	if (c->used_only || !c->valid) {
		if (c->used_only || c->by_key)
			c->used_sr = submit_lookup(c);
		return;
	}
	for (i = 0; i < c->nclaims; i++) {
		if ((c->sr = store_unique_check(c->form, c->fields[i],
		    c->values[i])) != STORE_OK) {
			c->taken = i;
			if (c->sr == STORE_UNIQUE_TAKEN)
				c->used_sr = submit_lookup(c);
			return;
		}
	}
	if (c->rate)
		c->sr = store_client_count(c->client,
		    c->now - SUBMIT_RATE_WINDOW_MS, &c->count);
}

/* Whether c's key (or content) is stored already, and as which one. */
static enum store_result
submit_lookup(struct submit_checks *c)
{
	if (c->by_key)
		return (store_key_find(c->form, c->key, c->prior_id,
		    c->prior_hash));
	return (store_repeat_find(c->form, c->key, c->now, c->prior_id,
	    c->prior_hash));
}

/*
 * The provider said no. A token is good for one check, so the second
 * request of a double click fails where the first passed: when the
 * first is being stored or is stored already, this one is its replay.
 */
static void
submit_challenge_failed(struct submit_post *sp, struct submit_outcome *out)
{
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
	struct submit_checks	*c = sp->checks;
	struct commit_item	*item;
	size_t			 i;

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
	if (c->sr != STORE_OK) {
		/* Taken by this very instance: a replay. */
		if (c->nclaims > 0 && c->taken < c->nclaims &&
		    c->sr == STORE_UNIQUE_TAKEN && submit_used(sp, out))
			return;
		out->status = c->sr == STORE_UNIQUE_TAKEN ?
		    SUBMIT_UNIQUE_TAKEN : SUBMIT_STORE_FAILED;
		out->taken_field = c->sr == STORE_UNIQUE_TAKEN ?
		    c->fields[c->taken] : NULL;
		out->store_result = c->sr;
		return;
	}
	if (c->rate && c->count >= config.rate_limit) {
		out->status = SUBMIT_RATE_LIMITED;
		return;
	}

	item = commit_item_new();
	item->sub.spam = sp->spam;
	for (i = 0; i < c->nclaims; i++) {
		item->claims[i].field = c->fields[i];
		(void)snprintf(item->values[i], COMMIT_CLAIM_MAX, "%s",
		    c->values[i]);
	}
	item->sub.nclaims = c->nclaims;
	(void)snprintf(item->client, sizeof(item->client), "%s", sp->client);

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
	struct submit_checks	*c = sp->checks;

	if (c->used_sr == STORE_NOT_FOUND)
		return (0);
	if (c->used_sr == STORE_OK) {
		(void)snprintf(out->id, sizeof(out->id), "%s", c->prior_id);
		out->status = sp->vst == VALIDATE_OK &&
		    strcmp(c->prior_hash, sp->hash) == 0 ? SUBMIT_REPLAY :
		    SUBMIT_KEY_REUSED;
	} else {
		out->status = SUBMIT_STORE_FAILED;
		out->store_result = c->used_sr;
	}
	return (1);
}
