/*
 * store_admin.h: the admin desk's part of the storage interface: users,
 * sessions, failed logins, the filtered list of submissions, reviews,
 * retries, deletion, exports and the audit log. Implemented for SQLite
 * in store_sqlite_users.c, store_sqlite_search.c (the list) and
 * store_sqlite_admin.c. Calls without a handle use the event loop's
 * connection; formworkctl and the export thread pass their own. Roles
 * and state names are in store_vocab.h.
 */

#ifndef FORMWORK_STORE_ADMIN_H
#define FORMWORK_STORE_ADMIN_H

#include <sys/types.h>

#include <stddef.h>

#include "store/store.h"

#define STORE_NAME_MAX		64
#define STORE_PWHASH_MAX	128	/* crypto_pwhash_STRBYTES */
#define STORE_HASH_HEX		64	/* a session token's hash, in hex */

struct store_user {
	int64_t		 id;
	char		 name[STORE_NAME_MAX + 1];
	enum store_role	 role;
	char		 pwhash[STORE_PWHASH_MAX];
	u_int64_t	 created_ms;
};

/* ---- users and sessions (store_sqlite_users.c) -------------------- */

/* STORE_KEY_USED when the name is taken. */
enum store_result	store_user_add(struct store_handle *, const char *name,
			    enum store_role, const char *pwhash, u_int64_t now);
enum store_result	store_user_get(struct store_handle *, const char *name,
			    struct store_user *);
/* Calls cb for each user, by name. */
enum store_result	store_user_each(struct store_handle *,
			    void (*cb)(const struct store_user *, void *),
			    void *);
enum store_result	store_user_role_set(struct store_handle *,
			    const char *name, enum store_role);
/* Also ends the user's sessions. */
enum store_result	store_user_pwhash_set(struct store_handle *,
			    const char *name, const char *pwhash);
/* Ends the user's sessions with it. */
enum store_result	store_user_delete(struct store_handle *,
			    const char *name);

struct store_session {
	int64_t		 user_id;
	char		 user[STORE_NAME_MAX + 1];
	enum store_role	 role;
	u_int64_t	 created_ms;
	u_int64_t	 seen_ms;
};

enum store_result	store_session_add(const char *token_hash,
			    int64_t user_id, const char *client, u_int64_t now);
enum store_result	store_session_get(const char *token_hash,
			    struct store_session *);
enum store_result	store_session_touch(const char *token_hash,
			    u_int64_t now);
enum store_result	store_session_delete(const char *token_hash);

/* Failed logins for subject ("user:NAME" or "client:ADDR") since since. */
enum store_result	store_login_failures(const char *subject,
			    u_int64_t since, u_int64_t *count,
			    u_int64_t *oldest);
enum store_result	store_login_failure_add(const char *subject,
			    u_int64_t now);
enum store_result	store_login_failures_clear(const char *subject);

/* ---- the list (store_sqlite_search.c) ------------------------------ */

#define STORE_CURSOR_MAX	48	/* a cursor's text, its NUL included */

/* What the list shows; NULL or 0 fields do not filter. */
struct store_filter {
	const char	*form;
	const char	*review;	/* one of store_review_states */
	const char	*actions;	/* one of store_action_states */
	u_int64_t	 from_ms;	/* created at or after */
	u_int64_t	 to_ms;		/* created before */
	/*
	 * Search words as typed, separated by white space: a row must
	 * contain every word, each one taken literally (no operators,
	 * no prefixes). White space alone is no search.
	 */
	const char	*words;
	/* A cursor from a row of the page before: the rows after it. */
	const char	*after;
};

struct store_row {
	char		 id[TOKEN_ID_LEN + 1];
	char		 form[64];
	char		 review[16];
	char		 actions[16];
	u_int64_t	 created_ms;
	const char	*data;		/* valid during the callback */
	/* Opaque: for the same filter's after, the page after this row. */
	char		 cursor[STORE_CURSOR_MAX];
};

/*
 * Calls cb for each submission matching f, newest first, at most limit
 * (0: all); cb returns 0 to stop early. Paging is by keyset, so a page
 * deep in the list costs what the first does, and a search stops after
 * a page however many rows match. How rows are found is the store's
 * choice; a search may order by arrival rather than by created_ms where
 * the two differ (rows stored out of date order, as formworkctl generate
 * does), and a cursor keeps the order its first page had. STORE_ERROR
 * for a cursor store_cursor_valid() refuses.
 */
enum store_result	store_rows_each(struct store_handle *,
			    const struct store_filter *, size_t limit,
			    int (*cb)(const struct store_row *, void *), void *);

/*
 * 1 when s has the form of a cursor store_rows_each() hands out (the
 * row it names may since have gone: the rows after it are still well
 * defined); 0 for anything else, such as a damaged link.
 */
int			store_cursor_valid(const char *s);

/* Submissions per review state (store_review_states order). */
enum store_result	store_review_counts(const char *form,
			    u_int64_t counts[STORE_REVIEW_STATES]);

/* ---- reviews, retries, deletion, audit, exports (store_sqlite_admin.c) */

struct store_review {
	int		 version;
	char		 before[16];
	char		 state[16];
	const char	*note;		/* valid during the callback */
	char		 user[STORE_NAME_MAX + 1];
	u_int64_t	 at_ms;
};

/* Calls cb for each review of id, oldest first. */
enum store_result	store_reviews_each(const char *id,
			    void (*cb)(const struct store_review *, void *),
			    void *);

/* A change to a submission's review state. */
struct store_review_change {
	const char		*id;
	int			 version;	/* expected; -1: any */
	const char		*state;
	const char		*note;
	const char		*user;
	u_int64_t		 now;
	/* Jobs to queue when a spam submission is released. */
	struct store_job_spec	*jobs;
	size_t			 njobs;

	/* STORE_CONFLICT: the current version and its last reviewer. */
	int			 current_version;
	char			 current_state[16];
	char			 changed_by[STORE_NAME_MAX + 1];
	u_int64_t		 changed_ms;
};

/* STORE_CONFLICT when the version is not the expected one. */
enum store_result	store_review_set(struct store_review_change *);

/* Queues id's failed jobs again; *n tells how many. */
enum store_result	store_jobs_retry(const char *id, const char *user,
			    u_int64_t now, int *n);

/*
 * Sends a delivered action of id again (audited): its job (job, the
 * store_job_status id) is queued anew under a new delivery id, so a
 * webhook goes with a new webhook-id and a mail with a new Message-ID.
 * STORE_NOT_FOUND unless that job of id is done.
 */
enum store_result	store_job_resend(const char *id, int64_t job,
			    const char *user, u_int64_t now);

/* The number of jobs that failed for good, for every desk page. */
enum store_result	store_jobs_failed_count(u_int64_t *n);

/* One attempt in the delivery log, with its job's action. */
struct store_delivery {
	int64_t		 job;
	int		 action;
	char		 kind[16];
	int		 attempt;
	char		 delivery_id[TOKEN_ID_LEN + 5];
	u_int64_t	 started_ms;
	u_int64_t	 duration_ms;
	char		 outcome[16];	/* a store_attempt_outcomes name */
	int		 code;
	const char	*error;		/* valid during the callback */
	const char	*response;
};

/* Calls cb for each attempt at id's actions, oldest first. */
enum store_result	store_deliveries_each(const char *id,
			    void (*cb)(const struct store_delivery *, void *),
			    void *);

/* Deletes id and everything that belongs to it (audited). */
enum store_result	store_submission_delete(const char *id,
			    const char *user, u_int64_t now);

/* One line of the audit log. */
struct store_audit {
	int64_t		 id;
	u_int64_t	 at_ms;
	char		 user[STORE_NAME_MAX + 1];
	char		 action[16];
	char		 subject[64];
	const char	*before;	/* valid during the callback */
	const char	*after;
};

enum store_result	store_audit_add(const char *user, const char *action,
			    const char *subject, const char *before,
			    const char *after, u_int64_t now);
/* Newest first, from before_id (0: the newest), at most limit. */
enum store_result	store_audit_each(int64_t before_id, size_t limit,
			    void (*cb)(const struct store_audit *, void *),
			    void *);

/*
 * Background exports: started by the desk, finished by their thread
 * (NULL handle: the event loop's).
 */
enum store_result	store_export_add(const char *id, const char *user,
			    u_int64_t now);
enum store_result	store_export_finish(struct store_handle *,
			    const char *id, int ok, u_int64_t rows,
			    const char *error, u_int64_t now);
/* At start-up: exports a previous run left unfinished have failed. */
enum store_result	store_exports_abandon(struct store_handle *,
			    u_int64_t now);
/* state is "running", "done" or "failed". */
enum store_result	store_export_get(const char *id, char state[16],
			    u_int64_t *rows, char error[256]);

/* Deletes data older than before_ms; counts what went. */
struct store_prune {
	u_int64_t	 submissions;
	u_int64_t	 sessions;
	u_int64_t	 login_failures;
};
enum store_result	store_prune(struct store_handle *, u_int64_t before_ms,
			    u_int64_t session_idle_before_ms,
			    struct store_prune *);

#endif
