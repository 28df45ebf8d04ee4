/*
 * store_pg.h: what the PostgreSQL store's files share, and nothing else
 * includes: the connection type, the statement ids and the helpers. It
 * is how libpq-fe.h reaches them, and only them: store_pg.c owns
 * connections, migrations, submissions and the backend's table;
 * store_pg_sql.c every SQL text; store_pg_batch.c the writer's batch
 * of submissions, store_pg_words.c their search text; store_pg_jobs.c
 * the queue of actions; store_pg_users.c users, sessions and failed
 * logins; store_pg_admin.c the desk's list, changes, audit log and
 * exports; store_pg_backup.c formworkctl backup and restore (pg_dump,
 * pg_restore).
 *
 * A connection belongs to one thread. The calls of store.h that take no
 * handle use the calling thread's own (store_pg_own), opened on first
 * use: a worker's event loop and its writer each have theirs, as on
 * SQLite, and so does any thread that calls them.
 */

#ifndef FORMWORK_STORE_PG_H
#define FORMWORK_STORE_PG_H

#include <sys/types.h>

#include <libpq-fe.h>

#include "store/store_backend.h"

struct kore_buf;

/*
 * Seconds a connection attempt may take, in the servers' connections and
 * the tools formworkctl runs: an unreachable database is a quick 503 or
 * error, not a wait for TCP's own time-out.
 */
#define STORE_PG_CONNECT_S	"3"

enum store_pg_stmt {
	PG_SUBMIT, PG_SUBMIT_PLAIN, PG_COUNTS_ADD, PG_KEY_FIND, PG_REPEAT_FIND,
	PG_UNIQUE_CHECK, PG_CLIENT_COUNT, PG_SUB_GET, PG_PING, PG_EPOCH, PG_EPOCH_BUMP,
	PG_ANALYZE,
	PG_JOB_CLAIM, PG_JOB_FINISH, PG_JOB_RELEASE, PG_JOB_STATUSES,
	PG_JOB_COUNTS, PG_ENDPOINT_GET, PG_ENDPOINT_DISABLE, PG_LISTEN,
	PG_AUTOREPLY_EXPIRE, PG_AUTOREPLY_CLAIM, PG_AUTOREPLY_HOLDER,
	PG_ALERT_DUE, PG_ALERT_LIST, PG_ALERT_MARK, PG_ALERT_UNMARK,
	PG_ALERT_NEXT,
	PG_USER_ADD, PG_USER_GET, PG_USER_EACH, PG_USER_ROLE, PG_USER_PWHASH,
	PG_USER_DELETE, PG_SESSION_ADD, PG_SESSION_GET, PG_SESSION_TOUCH,
	PG_SESSION_DELETE, PG_LOGIN_FAILURES, PG_LOGIN_FAILURE_ADD,
	PG_LOGIN_FAILURES_CLEAR,
	PG_REVIEW_COUNTS, PG_REVIEWS_EACH, PG_REVIEW_LAST, PG_REVIEW_READ,
	PG_REVIEW_UPDATE, PG_REVIEW_INSERT, PG_JOBS_RETRY, PG_RESEND_READ, PG_RESEND,
	PG_FAILED_COUNT, PG_DELIVERIES_EACH, PG_JOB_ADD, PG_DELETE_AUDIT,
	PG_SUB_DELETE, PG_AUDIT_ADD, PG_AUDIT_EACH, PG_EXPORT_ADD,
	PG_EXPORT_FINISH, PG_EXPORTS_ABANDON, PG_EXPORT_GET,
	PG_PRUNE_SUBMISSIONS, PG_PRUNE_SESSIONS, PG_PRUNE_FAILURES,
	PG_MAX
};

extern const char *const	store_pg_sql[PG_MAX];
extern const char *const	store_pg_migrations[];
extern const int		store_pg_nmigrations;

/*
 * The tables that hold a site's data, each in an order its foreign keys
 * allow, with the columns both schemas share (formworkctl migrate copies
 * them; migrate and restore count them). ided: an identity id; made:
 * the schema's own migrations give it its rows (one of state), so they
 * are no site's data; copy_trigger: the one trigger migrate's copy keeps
 * on (the others are off: the counts are made once, after it), or NULL.
 */
struct store_pg_table {
	const char	*name;
	const char	*columns;
	int		 ided;
	int		 made;
	const char	*copy_trigger;
};
#define STORE_PG_NTABLES	14
extern const struct store_pg_table	store_pg_tables[STORE_PG_NTABLES];

/*
 * A connection of one thread and the statements prepared on it. A
 * store_handle of this backend is one of these (store_pg_conn_of).
 */
struct store_pg_conn {
	PGconn		*conn;
	u_int8_t	 prepared[PG_MAX];
	int		 listening;	/* LISTEN formwork_jobs was sent */
	u_int64_t	 retry_at;	/* no new attempt to connect before */
};

#define STORE_PG_PARAMS_MAX	20

/* A statement's values, as text: NULL is SQL NULL. */
struct store_pg_params {
	const char	*v[STORE_PG_PARAMS_MAX];
	char		 num[STORE_PG_PARAMS_MAX][24];
	int		 n;
};

/* h's connection; the calling thread's own when h is NULL. */
struct store_pg_conn	*store_pg_conn_of(struct store_handle *);

/*
 * Makes sure c has a working connection (opening it, or anew when the
 * server closed it; migrating the schema if no one has yet): 0, or -1
 * with err while the database cannot be reached.
 */
int			 store_pg_connect(struct store_pg_conn *, char *err,
			    size_t errlen);

/* Runs sql, which binds nothing; -1 with err (if not NULL) on failure. */
int			 store_pg_exec(PGconn *, const char *sql, char *err,
			    size_t errlen);

/*
 * A connection to url as store_pg_connect() opens one, but without
 * migrating anything (formworkctl restore looks before it writes):
 * NULL with err when it cannot be had. The caller PQfinish()es it.
 */
PGconn			*store_pg_open(const char *url, char *err,
			    size_t errlen);

/*
 * Whether the database of conn holds a site's data (rows in any of
 * store_pg_tables that exist; an empty schema or none holds none):
 * *holds 1 or 0, or -1 with err when it cannot be read.
 */
int			 store_pg_holds_data(PGconn *, int *holds, char *err,
			    size_t errlen);

/* Closes c's connection, if any (c stays, to connect anew). */
void			 store_pg_drop(struct store_pg_conn *);

/* The calling thread's own connection (made on first use). */
struct store_pg_conn	*store_pg_own(void);

/* Prepares statement id on c as "s<id>" unless it is already. */
enum store_result	 store_pg_prepare(struct store_pg_conn *,
			    enum store_pg_stmt);

/*
 * Maps a failed statement (res, or NULL when it could not be sent) to a
 * result, logging it once. A connection that broke is dropped, so the
 * next call opens a new one.
 */
enum store_result	 store_pg_failure(struct store_pg_conn *,
			    const PGresult *, const char *what);

/*
 * Appends the search text of a submission's values (data, a JSON
 * object) to out, as the database would gather it: 0, or -1 for a
 * shape of values left to the database (store_pg_words.c).
 */
int			 store_pg_words(const char *data, struct kore_buf *out);

/* Appends a value: text (NULL: SQL NULL), or a number. */
void			 store_pg_text(struct store_pg_params *, const char *);
void			 store_pg_int(struct store_pg_params *, int64_t);

/*
 * Runs statement id with p's values on c (connecting first, preparing it
 * on first use) and returns its result, which the caller PQclear()s;
 * NULL, with *r set and the cause logged, when it failed.
 */
PGresult		*store_pg_run(struct store_pg_conn *,
			    enum store_pg_stmt, const struct store_pg_params *,
			    enum store_result *);

/*
 * The same for a statement that returns no rows the caller wants:
 * STORE_OK, and *changed (if set) the rows it changed.
 */
enum store_result	 store_pg_do(struct store_pg_conn *, enum store_pg_stmt,
			    const struct store_pg_params *, u_int64_t *changed);

/* A text that is not a prepared statement's (the desk's list). */
PGresult		*store_pg_query(struct store_pg_conn *, const char *sql,
			    const struct store_pg_params *,
			    enum store_result *);

/*
 * Begins a transaction on c; ends it with a commit when ok (else rolls
 * back). end returns STORE_OK once committed, else the failure.
 */
enum store_result	 store_pg_begin(struct store_pg_conn *);
enum store_result	 store_pg_end(struct store_pg_conn *, int ok);

/*
 * Runs id with p and reads its first row's first n columns as numbers
 * into out (zeros when there is no row).
 */
enum store_result	 store_pg_numbers(struct store_pg_conn *,
			    enum store_pg_stmt, const struct store_pg_params *,
			    int64_t *out, int n);

/*
 * Runs id with the one value key and hands each row to read (first:
 * only the first row, and STORE_NOT_FOUND when there is none).
 */
enum store_result	 store_pg_each(struct store_pg_conn *,
			    enum store_pg_stmt, const char *key, int first,
			    void (*read)(const PGresult *, int, void *),
			    void *arg);

/* Reads a column: text into out (always NUL-terminated), or a number. */
void			 store_pg_copy(const PGresult *, int row, int col,
			    char *out, size_t len);
int64_t			 store_pg_num(const PGresult *, int row, int col);

/* The backend's side of store.h and store_admin.h (store_backend.h). */
int		store_pg_init(const char *path, char *err, size_t errlen);
u_int64_t	store_pg_epoch(void);
void		store_pg_epoch_bump(void);
int		store_pg_lock(const char *path, int exclusive, char *err,
		    size_t errlen);
int		store_pg_backup(const char *path, const char *file, char *err,
		    size_t errlen);
int		store_pg_restore(const char *path, const char *file,
		    void (*say)(const char *, void *), void *arg, char *err,
		    size_t errlen);
int		store_pg_check(const char *path, void (*say)(const char *,
		    void *), void *arg, char *err, size_t errlen);
void		store_pg_configure(const char *path);
void		store_pg_worker_open(void);
void		store_pg_writer_close(void);
int		store_pg_log_needs_checkpoint(void);
void		store_pg_checkpoint(struct store_handle *h);
void		store_pg_search_optimize(struct store_handle *h);
void		store_pg_close(void);
int		store_pg_ping(void);
void		store_pg_submissions_insert(struct store_submission **subs,
		    size_t n);
enum store_result	store_pg_batch_begin(void);
void		store_pg_batch_commit(struct store_submission **subs,
		    size_t n);
enum store_result	store_pg_batch_sync(struct store_handle *);
enum store_result	store_pg_key_find(const char *form, const char *key,
		    char id[TOKEN_ID_LEN + 1],
		    char hash[VALIDATE_HASH_LEN + 1]);
enum store_result	store_pg_repeat_find(const char *form,
		    const char *repeat, u_int64_t now,
		    char id[TOKEN_ID_LEN + 1],
		    char hash[VALIDATE_HASH_LEN + 1]);
enum store_result	store_pg_unique_check(const char *form,
		    const char *field, const char *value);
enum store_result	store_pg_client_count(const char *client,
		    u_int64_t since_ms, u_int64_t *count);
enum store_result	store_pg_submission_get(const char *id,
		    struct store_record *rec);
struct store_handle *store_pg_handle_new(void);
void		store_pg_handle_free(struct store_handle *h);
enum store_result	store_pg_job_claim(struct store_handle *h,
		    u_int64_t now, u_int64_t lease_ms, struct store_job *job);
enum store_result	store_pg_job_finish(struct store_handle *h,
		    const struct store_job *job, enum job_state state,
		    const char *error, u_int64_t run_at, u_int64_t now,
		    const struct store_attempt *at);
enum store_result	store_pg_job_release(struct store_handle *h,
		    const struct store_job *job, u_int64_t now);
enum store_result	store_pg_job_record(struct store_handle *h,
		    const struct store_job *job, struct store_record *rec);
enum store_result	store_pg_endpoint_is_disabled(struct store_handle *h,
		    const char *url, int *disabled);
enum store_result	store_pg_endpoint_disable(struct store_handle *h,
		    const char *url, const char *reason, u_int64_t now);
enum store_result	store_pg_autoreply_claim(struct store_handle *h,
		    const char *address, int64_t job, u_int64_t now,
		    u_int64_t window_ms, int *granted);
enum store_result	store_pg_alert_take(struct store_handle *h,
		    u_int64_t now, u_int64_t gather_ms, u_int64_t interval_ms,
		    size_t max, void (*cb)(const struct store_alert_item *,
		    void *), void *arg, size_t *n);
enum store_result	store_pg_alert_giveback(struct store_handle *h,
		    u_int64_t taken_ms, u_int64_t retry_at);
int		store_pg_jobs_wait(struct store_handle *h,
		    u_int64_t timeout_ms);
enum store_result	store_pg_job_counts(u_int64_t counts[STORE_JOB_STATES]);
enum store_result	store_pg_job_statuses(const char *submission_id,
		    struct store_job_status *out, size_t max, size_t *n);
enum store_result	store_pg_user_add(struct store_handle *h,
		    const char *name, enum store_role role, const char *pwhash,
		    u_int64_t now);
enum store_result	store_pg_user_get(struct store_handle *h,
		    const char *name, struct store_user *u);
enum store_result	store_pg_user_each(struct store_handle *h,
		    void (*cb)(const struct store_user *, void *), void *arg);
enum store_result	store_pg_user_role_set(struct store_handle *h,
		    const char *name, enum store_role role);
enum store_result	store_pg_user_pwhash_set(struct store_handle *h,
		    const char *name, const char *pwhash);
enum store_result	store_pg_user_delete(struct store_handle *h,
		    const char *name);
enum store_result	store_pg_session_add(const char *token_hash,
		    int64_t user_id, const char *client, u_int64_t now);
enum store_result	store_pg_session_get(const char *token_hash,
		    struct store_session *s);
enum store_result	store_pg_session_touch(const char *token_hash,
		    u_int64_t now);
enum store_result	store_pg_session_delete(const char *token_hash);
enum store_result	store_pg_login_failures(const char *subject,
		    u_int64_t since, u_int64_t *count, u_int64_t *oldest);
enum store_result	store_pg_login_failure_add(const char *subject,
		    u_int64_t now);
enum store_result	store_pg_login_failures_clear(const char *subject);
enum store_result	store_pg_rows_each(struct store_handle *h,
		    const struct store_filter *f, size_t limit,
		    int (*cb)(const struct store_row *, void *), void *arg);
int		store_pg_cursor_valid(const char *s);
enum store_result	store_pg_review_counts(const char *form,
		    u_int64_t counts[STORE_REVIEW_STATES]);
enum store_result	store_pg_reviews_each(const char *id,
		    void (*cb)(const struct store_review *, void *),
		    void *arg);
enum store_result	store_pg_review_set(struct store_review_change *c);
enum store_result	store_pg_jobs_retry(const char *id, const char *user,
		    u_int64_t now, int *n);
enum store_result	store_pg_job_resend(const char *id, int64_t job,
		    const char *user, u_int64_t now);
enum store_result	store_pg_jobs_failed_count(u_int64_t *n);
enum store_result	store_pg_deliveries_each(const char *id,
		    void (*cb)(const struct store_delivery *, void *),
		    void *arg);
enum store_result	store_pg_submission_delete(const char *id,
		    const char *user, u_int64_t now);
enum store_result	store_pg_audit_add(const char *user,
		    const char *action, const char *subject,
		    const char *before, const char *after, u_int64_t now);
enum store_result	store_pg_audit_each(int64_t before_id, size_t limit,
		    void (*cb)(const struct store_audit *, void *), void *arg);
enum store_result	store_pg_export_add(const char *id, const char *user,
		    u_int64_t now);
enum store_result	store_pg_export_finish(struct store_handle *h,
		    const char *id, int ok, u_int64_t rows, const char *error,
		    u_int64_t now);
enum store_result	store_pg_exports_abandon(struct store_handle *h,
		    u_int64_t now);
enum store_result	store_pg_export_get(const char *id, char state[16],
		    u_int64_t *rows, char error[256]);
enum store_result	store_pg_prune(struct store_handle *h,
		    u_int64_t before_ms, u_int64_t session_idle_before_ms,
		    struct store_prune *out);

#endif
