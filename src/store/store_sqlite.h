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

#include "store/store.h"

enum store_stmt_id {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK, ST_SAVEPOINT, ST_RELEASE,
	ST_ROLLBACK_TO, ST_SUB_INSERT, ST_CLAIM_INSERT, ST_KEY_FIND,
	ST_UNIQUE_CHECK, ST_CLIENT_COUNT, ST_SUB_GET, ST_PING, ST_ROWID_MAX,
	ST_FTS_INDEX, ST_FTS_OPTIMIZE, ST_JOB_INSERT,
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

#endif
