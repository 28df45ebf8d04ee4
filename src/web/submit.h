/*
 * submit.h: what happens to a submission once its fields are read and
 * checked, the same for the HTML form and its JSON mode (routes_public.c)
 * and the JSON API (routes_api.c): spam checks, the form's challenge,
 * replay and in-flight checks on its key (or, without one, on its
 * content), unique values, the rate limit, its jobs, and the hand-over
 * to group commit. Callers only map the outcome to their own kind of
 * answer.
 */

#ifndef FORMWORK_SUBMIT_H
#define FORMWORK_SUBMIT_H

#include <sys/types.h>

#include "core/body.h"
#include "core/token.h"
#include "core/validate.h"
#include "web/commit.h"
#include "web/offload.h"

struct captcha_check;
struct commit_item;
struct form;
struct http_request;

enum submit_status {
	SUBMIT_QUEUED = 0,	/* handed to the writer; request asleep */
	SUBMIT_STORED,		/* committed (after SUBMIT_QUEUED) */
	SUBMIT_REPLAY,		/* same key, same values: id is the first */
	SUBMIT_KEY_REUSED,	/* same key, other values: id is the first */
	SUBMIT_IN_FLIGHT,	/* same key, still being committed */
	SUBMIT_INVALID,		/* field messages are in the form_input */
	SUBMIT_CHALLENGE,	/* no or a failed challenge: in.challenge */
	SUBMIT_UNIQUE_TAKEN,	/* taken_field names the field */
	SUBMIT_RATE_LIMITED,
	SUBMIT_STORE_FAILED,	/* store_result says why */
};

struct submit_outcome {
	enum submit_status	 status;
	char			 id[TOKEN_ID_LEN + 1];
	const char		*taken_field;
	int			 store_result;
	int			 njobs;		/* jobs queued with it */
};

/*
 * The store's answers a submission needs before it is queued, asked on
 * a database thread when the store is remote (offload.h): the caller
 * reads them once the job is done. submit.c's own.
 */
struct submit_checks {
	struct offload		 o;		/* first */
	int			 used_only;	/* a failed challenge */
	int			 valid;
	int			 by_key;	/* key, else a repeat digest */
	int			 rate;		/* count the client's */
	const char		*form;
	char			 key[TOKEN_ID_LEN + 1];
	u_int64_t		 now;
	const char		*fields[COMMIT_MAX_CLAIMS];
	char			 values[COMMIT_MAX_CLAIMS][COMMIT_CLAIM_MAX];
	size_t			 nclaims;
	char			 client[64];

	enum store_result	 sr;		/* a claim's, or the count's */
	size_t			 taken;		/* the claim refused */
	u_int64_t		 count;
	enum store_result	 used_sr;	/* NOT_FOUND: not stored */
	char			 prior_id[TOKEN_ID_LEN + 1];
	char			 prior_hash[VALIDATE_HASH_LEN + 1];
};

/*
 * A submission on its way, kept in its request's state across the
 * sleeps of its challenge and its commit. The caller fills in form, in
 * (through body and validate_form), vst, key and spam, then calls
 * submit_run() until it stops returning KORE_RESULT_RETRY.
 */
struct submit_post {
	struct form		*form;
	struct body		 body;
	struct form_input	 in;
	enum validate_status	 vst;
	/*
	 * The form instance's key (_key, or derived from an
	 * Idempotency-Key); NULL for a submission without one, which is
	 * then recognised by its content (SPEC section 10).
	 */
	const char		*key;
	char			 keybuf[TOKEN_ID_LEN + 1];
	int			 spam;		/* known spam (fill time) */

	/* submit_run()'s own. */
	u_int64_t		 now;
	char			 client[64];
	char			 hash[VALIDATE_HASH_LEN + 1];
	char			 repeat[TOKEN_ID_LEN + 1];	/* keyless */
	struct captcha_check	*check;
	struct submit_checks	*checks;
	struct commit_item	*item;
};

/* Sets sp up for form: empty, keyless, not spam. */
void	submit_post_init(struct submit_post *, struct form *);

/* Frees what sp holds; a check or item still out is let go. */
void	submit_post_cleanup(struct submit_post *);

/*
 * Takes sp through its challenge (when the form has one) and the writer.
 * KORE_RESULT_RETRY while req sleeps: call again once it is woken.
 * Otherwise KORE_RESULT_OK, with out set.
 */
int	submit_run(struct http_request *, struct submit_post *,
	    struct submit_outcome *);

/* Fills in the jobs of form's actions (at most max); returns how many. */
struct store_job_spec;
size_t	submit_job_specs(const struct form *, struct store_job_spec *,
	    size_t max);

/* The client's address, or the last X-Forwarded-For entry when trusted. */
void	submit_client(struct http_request *, char *out, size_t len);

/* Marks field's value as taken, for the form shown again with 409. */
void	submit_mark_taken(struct form *, struct form_input *, const char *);

#endif
