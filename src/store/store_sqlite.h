/*
 * store_sqlite.h: what the SQLite store's files share, and nothing else
 * includes: the connection type, the statement ids and the helpers. It
 * is how sqlite3.h reaches them, and only them: store_sqlite.c owns
 * connections, migrations and submissions; store_sqlite_jobs.c the queue
 * of actions; store_sqlite_users.c users, sessions and failed logins;
 * store_sqlite_search.c the desk's list; store_sqlite_admin.c the desk's
 * changes, audit log and exports.
 */

#ifndef FORMWORK_STORE_SQLITE_H
#define FORMWORK_STORE_SQLITE_H

#include <sqlite3.h>

#include "store/store_backend.h"

enum store_stmt_id {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
	ST_ROLLBACK_TO, ST_SUB_INSERT, ST_CLAIM_INSERT, ST_KEY_FIND,
	ST_UNIQUE_CHECK, ST_CLIENT_COUNT, ST_SUB_GET, ST_PING, ST_ROWID_MAX,
	ST_FTS_INDEX, ST_COUNTS_ADD, ST_FTS_OPTIMIZE, ST_JOB_INSERT,
	ST_JOB_DUE, ST_JOB_CLAIM, ST_JOB_FINISH, ST_JOB_RELEASE, ST_JOB_STATUSES, ST_JOB_COUNTS,
	ST_DELIVERY_INSERT,
	ST_ENDPOINT_GET, ST_ENDPOINT_DISABLE,
	ST_REPEAT_MARK, ST_REPEAT_FIND,
	ST_MAX
};

/*
 * A connection and the statements it keeps prepared (stmts[ST_*], each
 * prepared on first use and finalized with the connection). A worker
 * has one for its event loop (reads), one for its writer thread
 * (batches), so a commit waiting for the disk never holds up a page, and
 * one per runner thread of the queue; the checkpointer and each export
 * have their own.
 */
struct store_handle {
	sqlite3		*conn;
	sqlite3_stmt	*stmts[ST_MAX];
	int		 wal_sync;	/* commits synced by the caller */
};

/* The schema version this build migrates to (PRAGMA user_version). */
extern const int	 store_schema_version;

/*
 * Opens path with Formwork's settings (busy handler, synchronous=FULL,
 * foreign keys, cache size), creating it; store_connect_flags() opens
 * it with sqlite3_open_v2()'s flags instead (SQLITE_OPEN_READWRITE: it
 * must exist already).
 * Free with sqlite3_close().
 */
int			 store_connect(const char *, sqlite3 **, char *, size_t);
int			 store_connect_flags(const char *, int, sqlite3 **,
			    char *, size_t);

/* The event loop's connection. */
struct store_handle	*store_reader_handle(void);

/* db's connection, opened on first use; NULL (logged) on failure. */
sqlite3			*store_open(struct store_handle *);

/* The prepared statement id on db, prepared on first use. */
sqlite3_stmt		*store_stmt(struct store_handle *, enum store_stmt_id);

/* Steps a statement that returns no rows; returns SQLite's code. */
int			 store_exec(struct store_handle *, enum store_stmt_id);

/*
 * Ends the transaction open on h (begun with ST_BEGIN): commits it when
 * rc, the code of its last step, is SQLITE_DONE, else rolls it back;
 * STORE_OK once committed, else the failure's result (logged).
 */
enum store_result	 store_tx_close(struct store_handle *, int rc);

/* Maps an unexpected SQLite code to a result, logging it. */
enum store_result	 store_result_of(struct store_handle *, int);

/* Copies column col as text into out (always NUL-terminated). */
void			 store_copy_text(sqlite3_stmt *, int, char *, size_t);

/*
 * Prepares sql on h, for statements too rare to keep (the desk's, the
 * users', formworkctl's) or built per call (the list); the caller
 * finalizes it. NULL (logged) on failure.
 */
sqlite3_stmt		*store_prepare(struct store_handle *, const char *sql);

/*
 * Runs sql (one text parameter, key) and hands its first row to read;
 * STORE_NOT_FOUND when there is none.
 */
enum store_result	 store_row_get(struct store_handle *, const char *sql,
			    const char *key,
			    void (*read)(sqlite3_stmt *, void *), void *);

/* The same for every row, in order; STORE_OK also for none. */
enum store_result	 store_rows_get(struct store_handle *, const char *sql,
			    const char *key,
			    void (*read)(sqlite3_stmt *, void *), void *);

/* h, or the event loop's connection when h is NULL. */
struct store_handle	*store_handle_or_reader(struct store_handle *);

/* Queues a submission's jobs; returns SQLite's code (SQLITE_DONE). */
int			 store_jobs_write(struct store_handle *, const char *id,
			    const struct store_job_spec *, size_t,
			    u_int64_t now);

/* Reads a submissions row selected as in ST_SUB_GET into rec. */
void			 store_record_read(sqlite3_stmt *,
			    struct store_record *);

/* The backend's side of store.h and store_admin.h (store_backend.h). */
int		store_sqlite_init(const char *path, char *err, size_t errlen);
u_int64_t	store_sqlite_epoch(void);
void		store_sqlite_epoch_bump(void);
int		store_sqlite_lock(const char *path, int exclusive, char *err,
		    size_t errlen);
int		store_sqlite_backup(const char *path, const char *file,
		    char *err, size_t errlen);
int		store_sqlite_restore(const char *path, const char *file,
		    void (*say)(const char *, void *), void *arg, char *err,
		    size_t errlen);
int		store_sqlite_check(const char *path, void (*say)(const char *,
		    void *), void *arg, char *err, size_t errlen);
void		store_sqlite_configure(const char *path);
void		store_sqlite_worker_open(void);
void		store_sqlite_writer_close(void);
int		store_sqlite_log_needs_checkpoint(void);
void		store_sqlite_checkpoint(struct store_handle *h);
void		store_sqlite_search_optimize(struct store_handle *h);
void		store_sqlite_close(void);
int		store_sqlite_ping(void);
void		store_sqlite_submissions_insert(struct store_submission **subs,
		    size_t n);
enum store_result	store_sqlite_batch_begin(void);
void		store_sqlite_batch_commit(struct store_submission **subs,
		    size_t n);
enum store_result	store_sqlite_batch_sync(struct store_handle *);
enum store_result	store_sqlite_key_find(const char *form,
		    const char *key, char id[TOKEN_ID_LEN + 1],
		    char hash[VALIDATE_HASH_LEN + 1]);
enum store_result	store_sqlite_repeat_find(const char *form,
		    const char *repeat, u_int64_t now,
		    char id[TOKEN_ID_LEN + 1],
		    char hash[VALIDATE_HASH_LEN + 1]);
enum store_result	store_sqlite_unique_check(const char *form,
		    const char *field, const char *value);
enum store_result	store_sqlite_client_count(const char *client,
		    u_int64_t since_ms, u_int64_t *count);
enum store_result	store_sqlite_submission_get(const char *id,
		    struct store_record *rec);
struct store_handle *store_sqlite_handle_new(void);
void		store_sqlite_handle_free(struct store_handle *h);
enum store_result	store_sqlite_job_claim(struct store_handle *h,
		    u_int64_t now, u_int64_t lease_ms, struct store_job *job);
enum store_result	store_sqlite_job_finish(struct store_handle *h,
		    const struct store_job *job, enum job_state state,
		    const char *error, u_int64_t run_at, u_int64_t now,
		    const struct store_attempt *at);
enum store_result	store_sqlite_job_release(struct store_handle *h,
		    const struct store_job *job, u_int64_t now);
enum store_result	store_sqlite_job_record(struct store_handle *h,
		    const struct store_job *job, struct store_record *rec);
enum store_result	store_sqlite_endpoint_is_disabled(struct store_handle *h, const char *url, int *disabled);
enum store_result	store_sqlite_endpoint_disable(struct store_handle *h,
		    const char *url, const char *reason, u_int64_t now);
enum store_result	store_sqlite_autoreply_claim(struct store_handle *h,
		    const char *address, int64_t job, u_int64_t now,
		    u_int64_t window_ms, int *granted);
enum store_result	store_sqlite_alert_take(struct store_handle *h,
		    u_int64_t now, u_int64_t gather_ms, u_int64_t interval_ms,
		    size_t max, void (*cb)(const struct store_alert_item *,
		    void *), void *arg, size_t *n);
enum store_result	store_sqlite_alert_giveback(struct store_handle *h,
		    u_int64_t taken_ms, u_int64_t retry_at);
int		store_sqlite_jobs_wait(struct store_handle *h,
		    u_int64_t timeout_ms);
enum store_result	store_sqlite_job_counts(u_int64_t counts[STORE_JOB_STATES]);
enum store_result	store_sqlite_job_statuses(const char *submission_id,
		    struct store_job_status *out, size_t max, size_t *n);
enum store_result	store_sqlite_user_add(struct store_handle *h,
		    const char *name, enum store_role role, const char *pwhash,
		    u_int64_t now);
enum store_result	store_sqlite_user_get(struct store_handle *h,
		    const char *name, struct store_user *u);
enum store_result	store_sqlite_user_each(struct store_handle *h,
		    void (*cb)(const struct store_user *, void *), void *arg);
enum store_result	store_sqlite_user_role_set(struct store_handle *h,
		    const char *name, enum store_role role);
enum store_result	store_sqlite_user_pwhash_set(struct store_handle *h,
		    const char *name, const char *pwhash);
enum store_result	store_sqlite_user_delete(struct store_handle *h,
		    const char *name);
enum store_result	store_sqlite_session_add(const char *token_hash,
		    int64_t user_id, const char *client, u_int64_t now);
enum store_result	store_sqlite_session_get(const char *token_hash,
		    struct store_session *s);
enum store_result	store_sqlite_session_touch(const char *token_hash,
		    u_int64_t now);
enum store_result	store_sqlite_session_delete(const char *token_hash);
enum store_result	store_sqlite_login_failures(const char *subject,
		    u_int64_t since, u_int64_t *count, u_int64_t *oldest);
enum store_result	store_sqlite_login_failure_add(const char *subject,
		    u_int64_t now);
enum store_result	store_sqlite_login_failures_clear(const char *subject);
enum store_result	store_sqlite_rows_each(struct store_handle *h,
		    const struct store_filter *f, size_t limit,
		    int (*cb)(const struct store_row *, void *), void *arg);
int		store_sqlite_cursor_valid(const char *s);
enum store_result	store_sqlite_review_counts(const char *form,
		    u_int64_t counts[STORE_REVIEW_STATES]);
enum store_result	store_sqlite_reviews_each(const char *id,
		    void (*cb)(const struct store_review *, void *),
		    void *arg);
enum store_result	store_sqlite_review_set(struct store_review_change *c);
enum store_result	store_sqlite_jobs_retry(const char *id,
		    const char *user, u_int64_t now, int *n);
enum store_result	store_sqlite_job_resend(const char *id, int64_t job,
		    const char *user, u_int64_t now);
enum store_result	store_sqlite_jobs_failed_count(u_int64_t *n);
enum store_result	store_sqlite_deliveries_each(const char *id,
		    void (*cb)(const struct store_delivery *, void *),
		    void *arg);
enum store_result	store_sqlite_submission_delete(const char *id,
		    const char *user, u_int64_t now);
enum store_result	store_sqlite_audit_add(const char *user,
		    const char *action, const char *subject,
		    const char *before, const char *after, u_int64_t now);
enum store_result	store_sqlite_audit_each(int64_t before_id,
		    size_t limit, void (*cb)(const struct store_audit *,
		    void *), void *arg);
enum store_result	store_sqlite_export_add(const char *id,
		    const char *user, u_int64_t now);
enum store_result	store_sqlite_export_finish(struct store_handle *h,
		    const char *id, int ok, u_int64_t rows, const char *error,
		    u_int64_t now);
enum store_result	store_sqlite_exports_abandon(struct store_handle *h,
		    u_int64_t now);
enum store_result	store_sqlite_export_get(const char *id, char state[16],
		    u_int64_t *rows, char error[256]);
enum store_result	store_sqlite_prune(struct store_handle *h,
		    u_int64_t before_ms, u_int64_t session_idle_before_ms,
		    struct store_prune *out);

#endif
