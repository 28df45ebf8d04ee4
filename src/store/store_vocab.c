/*
 * store_vocab.c: see store_vocab.h. Plain tables and lookups, with no
 * backend in them: every store implementation reads and writes these
 * names, and the pages show them.
 */

#include <string.h>

#include "store/store_vocab.h"

static const char *const store_role_names[] = {
	[ROLE_NONE] = "none",
	[ROLE_VIEWER] = "viewer",
	[ROLE_REVIEWER] = "reviewer",
	[ROLE_ADMIN] = "admin",
};

const char *const store_review_states[STORE_REVIEW_STATES] = {
	"new", "approved", "rejected", "spam",
};

const char *const store_action_states[STORE_ACTION_STATES] = {
	"none", "pending", "done", "failed",
};

const char *const store_job_states[STORE_JOB_STATES] = {
	[JOB_QUEUED] = "queued",
	[JOB_RUNNING] = "running",
	[JOB_DONE] = "done",
	[JOB_FAILED] = "failed",
};

const char *const store_attempt_outcomes[STORE_ATTEMPT_OUTCOMES] = {
	[ATTEMPT_DELIVERED] = "delivered",
	[ATTEMPT_RETRY] = "retry",
	[ATTEMPT_FAILED] = "failed",
	[ATTEMPT_SKIPPED] = "skipped",
};

int
store_vocab_find(const char *const *names, size_t n, const char *s)
{
	size_t		i;

	for (i = 0; s != NULL && i < n; i++) {
		if (strcmp(s, names[i]) == 0)
			return ((int)i);
	}
	return (-1);
}

enum store_role
store_role_parse(const char *s)
{
	int		r;

	/* "none" is no role anyone can be given: ROLE_NONE either way. */
	r = store_vocab_find(store_role_names,
	    sizeof(store_role_names) / sizeof(store_role_names[0]), s);
	return (r == -1 ? ROLE_NONE : (enum store_role)r);
}

const char *
store_role_name(enum store_role r)
{
	return (store_role_names[r]);
}

/*
 * A state this build does not know (written by a newer one, say) reads
 * as failed, that is dead: the runners take only queued jobs and running
 * ones whose lease has run out.
 */
enum job_state
store_job_state_parse(const char *s)
{
	int		i;

	i = store_vocab_find(store_job_states, STORE_JOB_STATES, s);
	return (i == -1 ? JOB_FAILED : (enum job_state)i);
}
