/*
 * store_vocab.h: the names every store speaks, whatever its backend:
 * the desk's roles, a submission's review state and overall action
 * state, and a job's state. Each name is stored as this text (a
 * PostgreSQL store keeps the same words), shown on pages and accepted
 * from forms and the command line, so a name never changes once it has
 * shipped. No SQL and no storage here: formworkctl, the pages and every
 * store implementation share this file.
 */

#ifndef FORMWORK_STORE_VOCAB_H
#define FORMWORK_STORE_VOCAB_H

#include <stddef.h>

/* Who may do what on the desk, in rising order of power. */
enum store_role {
	ROLE_NONE = 0,
	ROLE_VIEWER,
	ROLE_REVIEWER,
	ROLE_ADMIN,
};

/* "viewer" -> ROLE_VIEWER ...; ROLE_NONE for anything else or NULL. */
enum store_role	 store_role_parse(const char *);
const char	*store_role_name(enum store_role);

/* A submission's review state: new (the default), approved, ... */
#define STORE_REVIEW_STATES	4	/* new, approved, rejected, spam */
extern const char *const store_review_states[STORE_REVIEW_STATES];

/*
 * A submission's actions as a whole: none, or pending while any job is
 * queued or running, else failed when one failed, else done.
 */
#define STORE_ACTION_STATES	4	/* none, pending, done, failed */
extern const char *const store_action_states[STORE_ACTION_STATES];

/* A job's state; the names are store_job_states[state]. */
enum job_state {
	JOB_QUEUED = 0,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,	/* dead: no more attempts */
};

#define STORE_JOB_STATES	4
extern const char *const store_job_states[STORE_JOB_STATES];

/* The state called s; JOB_FAILED for a name it does not know. */
enum job_state	 store_job_state_parse(const char *s);

/*
 * What became of one attempt of a job, as the delivery log keeps it:
 * delivered, to be tried again, failed for good, or not sent on purpose
 * (an autoreply to an address that had one within the hour, or for
 * spam). The names are store_attempt_outcomes[outcome].
 */
enum attempt_outcome {
	ATTEMPT_DELIVERED = 0,
	ATTEMPT_RETRY,
	ATTEMPT_FAILED,
	ATTEMPT_SKIPPED,
};

#define STORE_ATTEMPT_OUTCOMES	4
extern const char *const store_attempt_outcomes[STORE_ATTEMPT_OUTCOMES];

/* s's index in names[0 .. n - 1]; -1 when it is none of them or NULL. */
int		 store_vocab_find(const char *const *names, size_t n,
		    const char *s);

#endif
