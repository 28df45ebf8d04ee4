/*
 * submit.h: what happens to a submission once its fields are read and
 * checked, the same for the HTML form (routes_public.c) and the JSON API
 * (routes_api.c): replay and in-flight checks on its key, unique values,
 * the rate limit, spam, its jobs, and the hand-over to group commit.
 * Callers only map the outcome to their own kind of answer.
 */

#ifndef FORMWORK_SUBMIT_H
#define FORMWORK_SUBMIT_H

#include <sys/types.h>

#include "core/token.h"
#include "core/validate.h"

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
 * Starts a submission of in (validated as vst) under key for form. spam
 * marks it for quarantine (no unique claims, no jobs). On SUBMIT_QUEUED
 * *itemp holds the queued item: the caller keeps it (and releases it
 * with commit_item_release) and returns KORE_RESULT_RETRY.
 */
void	submit_start(struct http_request *, struct form *,
	    struct form_input *, enum validate_status, const char *key,
	    int spam, u_int64_t now, struct commit_item **itemp,
	    struct submit_outcome *);

/* The outcome of a queued item, once the writer is done with it. */
void	submit_finish(const struct commit_item *, struct submit_outcome *);

/* Fills in the jobs of form's actions (at most max); returns how many. */
struct store_job_spec;
size_t	submit_job_specs(const struct form *, struct store_job_spec *,
	    size_t max);

/* The client's address, or the last X-Forwarded-For entry when trusted. */
void	submit_client(struct http_request *, char *out, size_t len);

/* Marks field's value as taken, for the form shown again with 409. */
void	submit_mark_taken(struct form *, struct form_input *, const char *);

#endif
