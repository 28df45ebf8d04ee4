/*
 * store_admin.h: the admin desk's part of the storage interface: users,
 * sessions, failed logins, the filtered list of submissions, reviews,
 * retries, deletion, exports and the audit log. Implemented for SQLite
 * in store_sqlite_users.c and store_sqlite_admin.c. Calls without a
 * handle use the event loop's connection; formworkctl and the export
 * thread pass their own.
 */

#ifndef FORMWORK_STORE_ADMIN_H
#define FORMWORK_STORE_ADMIN_H

#include <sys/types.h>

#include <stddef.h>

#include "store/store.h"

#define STORE_NAME_MAX		64
#define STORE_PWHASH_MAX	128	/* crypto_pwhash_STRBYTES */
#define STORE_HASH_HEX		64	/* a session token's hash, in hex */

enum store_role {
	ROLE_NONE = 0,
	ROLE_VIEWER,
	ROLE_REVIEWER,
	ROLE_ADMIN,
};

/* "viewer" -> ROLE_VIEWER ...; ROLE_NONE for anything else. */
enum store_role	 store_role_parse(const char *);
const char	*store_role_name(enum store_role);

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

/* ---- the desk (store_sqlite_admin.c) ------------------------------ */

#define STORE_REVIEW_STATES	4	/* new, approved, rejected, spam */

extern const char *const store_review_states[STORE_REVIEW_STATES];

/* What the list shows; NULL or 0 fields do not filter. */
struct store_filter {
	const char	*form;
	const char	*review;
	const char	*actions;
	u_int64_t	 from_ms;	/* created at or after */
	u_int64_t	 to_ms;		/* created before */
	const char	*match;		/* an FTS5 query */
	int		 has_after;	/* keyset: rows older than this one */
	u_int64_t	 after_ms;
	char		 after_id[TOKEN_ID_LEN + 1];
	int64_t		 after_rowid;	/* the keyset of a search */
	/*
	 * With a selective filter, walk the filter's index by date and
	 * check the search per row instead (keyset: after_ms, after_id).
	 */
	int		 search_by_date;
};

struct store_row {
	int64_t		 rowid;		/* arrival order */
	char		 id[TOKEN_ID_LEN + 1];
	char		 form[64];
	char		 review[16];
	char		 actions[16];
	u_int64_t	 created_ms;
	const char	*data;		/* valid during the callback */
};

/*
 * Calls cb for each submission matching f, newest first, at most limit
 * (0: all); cb returns 0 to stop early. Without a search the order and
 * the keyset are (created_at, id); a search walks the full-text index
 * in arrival order (rowid, newest first), which stops after a page
 * however many rows match, and pages by after_rowid; unless
 * search_by_date says the other filters keep few rows.
 */
enum store_result	store_rows_each(struct store_handle *,
			    const struct store_filter *, size_t limit,
			    int (*cb)(const struct store_row *, void *), void *);

/* Submissions per review state (store_review_states order). */
enum store_result	store_review_counts(const char *form,
			    u_int64_t counts[STORE_REVIEW_STATES]);

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
