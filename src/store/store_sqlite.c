/*
 * store_sqlite.c: the SQLite implementation of store.h (connections,
 * migrations, submissions). The store_sqlite*.c files are the only ones
 * that include sqlite3.h (through store_sqlite.h); store_sqlite.h says
 * which of them owns what.
 *
 * Connections are opened lazily on first use (so always after fork, and
 * they survive a module reload), in WAL mode, and a commit is on disk
 * before any 303 is sent: synchronous=FULL, except for the submissions'
 * writer, whose commits another thread syncs once they have released the
 * write lock (store_batch_sync). Writers take the lock up front (BEGIN
 * IMMEDIATE) so two workers never deadlock on a lock upgrade, and wait
 * up to the busy timeout for each other. Input is always bound, never
 * written into SQL text. The statements of the busy paths (transactions,
 * submissions and their search index, jobs, the ping) are in
 * store_sql[]: each connection prepares one on first use and keeps it
 * (store_stmt). The rest, the desk's and the users', are prepared when
 * used and finalized after (store_prepare).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include "store/store_sqlite.h"
#include "store/store_sqlite_turn.h"

#define STORE_BUSY_MS		5000
#define STORE_BUSY_STEP_US	250
#define STORE_CACHE_KB		"512"	/* per connection (PRAGMA cache_size) */
#define STORE_CHECKPOINT_PAGES	1000	/* SQLite's wal_autocheckpoint */


static const char *store_sql[ST_MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT item",
	[ST_RELEASE] = "RELEASE item",
	[ST_ROLLBACK_TO] = "ROLLBACK TO item",
	[ST_SUB_INSERT] = "INSERT INTO submissions (id, form, submit_key, "
	    "values_hash, data, client, spam, review, created_at, subject, "
	    "reply_to) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	    "CASE WHEN ?7 THEN 'spam' ELSE 'new' END, ?8, ?9, ?10)",
	[ST_CLAIM_INSERT] = "INSERT INTO unique_values (form, field, value, "
	    "submission_id) VALUES (?1, ?2, ?3, ?4)",
	[ST_KEY_FIND] = "SELECT id, values_hash FROM submissions "
	    "WHERE form = ?1 AND submit_key = ?2",
	[ST_UNIQUE_CHECK] = "SELECT 1 FROM unique_values "
	    "WHERE form = ?1 AND field = ?2 AND value = ?3",
	[ST_CLIENT_COUNT] = "SELECT count(*) FROM submissions "
	    "WHERE client = ?1 AND created_at >= ?2",
	[ST_SUB_GET] = "SELECT id, form, data, spam, version, created_at, "
	    "review, client, actions, subject, reply_to FROM submissions "
	    "WHERE id = ?1",
	[ST_PING] = "SELECT 1",
	[ST_ROWID_MAX] = "SELECT coalesce(max(rowid), 0) FROM submissions",
	/* The same text as the fts_removed trigger deletes. */
	[ST_FTS_INDEX] = "INSERT INTO submissions_fts (rowid, body) "
	    "SELECT rowid, (SELECT group_concat(atom, ' ') FROM "
	    "json_tree(data) WHERE atom IS NOT NULL) FROM submissions "
	    "WHERE rowid > ?1",
	/*
	 * The batch's new rows (those a savepoint undid are gone), found by
	 * their rowids: NOT INDEXED, or SQLite walks a whole index in
	 * (form, ...) order to spare the GROUP BY a sort of a batch's rows.
	 */
	[ST_COUNTS_ADD] = "INSERT INTO review_counts (form, review, n) "
	    "SELECT form, review, count(*) FROM submissions NOT INDEXED "
	    "WHERE rowid > ?1 GROUP BY form, review "
	    "ON CONFLICT (form, review) DO UPDATE SET n = n + excluded.n",
	[ST_FTS_OPTIMIZE] = "INSERT INTO submissions_fts (submissions_fts) "
	    "VALUES ('optimize')",
	[ST_JOB_INSERT] = "INSERT INTO jobs (submission_id, action, kind, "
	    "target, max_attempts, run_at, delivery_id, created_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6)",
	/* A read first: idle runners must not take the write lock. */
	[ST_JOB_DUE] = "SELECT 1 FROM jobs WHERE "
	    "(state = 'queued' AND run_at <= ?1) OR "
	    "(state = 'running' AND lease_until < ?1) LIMIT 1",
	/* One statement, so two runners can never claim the same job. */
	[ST_JOB_CLAIM] = "UPDATE jobs SET state = 'running', "
	    "attempts = attempts + 1, lease_until = ?1 + ?2, started_at = ?1 "
	    "WHERE id = (SELECT id FROM jobs WHERE "
	    "(state = 'queued' AND run_at <= ?1) OR "
	    "(state = 'running' AND lease_until < ?1) ORDER BY run_at LIMIT 1) "
	    "RETURNING id, submission_id, action, kind, target, attempts, "
	    "max_attempts, delivery_id, created_at",
	/* The attempt guard stops a runner whose lease ran out. */
	[ST_JOB_FINISH] = "UPDATE jobs SET state = ?3, last_error = ?4, "
	    "run_at = ?5, lease_until = 0, finished_at = ?6 "
	    "WHERE id = ?1 AND attempts = ?2",
	[ST_JOB_RELEASE] = "UPDATE jobs SET state = 'queued', "
	    "attempts = attempts - 1, run_at = ?3, lease_until = 0 "
	    "WHERE id = ?1 AND attempts = ?2 AND state = 'running'",
	[ST_JOB_STATUSES] = "SELECT kind, state, attempts, max_attempts, "
	    "run_at, coalesce(last_error, ''), target, id, delivery_id "
	    "FROM jobs WHERE submission_id = ?1 ORDER BY action",
	/* Not for a job deleted meanwhile (with its submission). */
	[ST_DELIVERY_INSERT] = "INSERT INTO deliveries (job_id, attempt, "
	    "delivery_id, started_at, duration_ms, outcome, code, error, "
	    "response) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 "
	    "WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?1)",
	[ST_JOB_COUNTS] = "SELECT state, count(*) FROM jobs GROUP BY state",
	[ST_ENDPOINT_GET] = "SELECT 1 FROM webhook_endpoints WHERE url = ?1",
	[ST_ENDPOINT_DISABLE] = "INSERT OR IGNORE INTO webhook_endpoints "
	    "(url, disabled_at, reason) VALUES (?1, ?2, ?3)",
	/*
	 * A repeat's mark: taken over from one older than the window, kept
	 * (no change) when the one it has is younger.
	 */
	[ST_REPEAT_MARK] = "INSERT INTO submission_repeats (form, digest, "
	    "submission_id, created_at) VALUES (?1, ?2, ?3, ?4) "
	    "ON CONFLICT (form, digest) DO UPDATE SET "
	    "submission_id = excluded.submission_id, "
	    "created_at = excluded.created_at "
	    "WHERE submission_repeats.created_at <= excluded.created_at - ?5",
	[ST_REPEAT_FIND] = "SELECT s.id, s.values_hash FROM "
	    "submission_repeats r JOIN submissions s ON s.id = "
	    "r.submission_id WHERE r.form = ?1 AND r.digest = ?2 AND "
	    "r.created_at > ?3",
};

/*
 * Schema migrations, applied in order; PRAGMA user_version records how
 * many have run. Append only: never edit one that has shipped.
 */
static const char *store_migrations[] = {
	/* 1: submissions, their form-instance keys and unique values. */
	"CREATE TABLE submissions ("
	"  id          TEXT PRIMARY KEY,"
	"  form        TEXT NOT NULL,"
	"  submit_key  TEXT NOT NULL,"
	"  values_hash TEXT NOT NULL,"
	"  data        TEXT NOT NULL,"
	"  client      TEXT NOT NULL DEFAULT '',"
	"  spam        INTEGER NOT NULL DEFAULT 0,"
	"  review      TEXT NOT NULL DEFAULT 'new',"
	"  version     INTEGER NOT NULL DEFAULT 1,"
	"  created_at  INTEGER NOT NULL,"
	"  UNIQUE (form, submit_key)"
	");"
	"CREATE INDEX submissions_created ON submissions (created_at, id);"
	"CREATE INDEX submissions_client ON submissions (client, created_at);"
	"CREATE TABLE unique_values ("
	"  form          TEXT NOT NULL,"
	"  field         TEXT NOT NULL,"
	"  value         TEXT NOT NULL,"
	"  submission_id TEXT NOT NULL REFERENCES submissions (id)"
	"                ON DELETE CASCADE,"
	"  PRIMARY KEY (form, field, value)"
	") WITHOUT ROWID;",

	/* 2: the durable queue of actions, and webhook endpoints gone. */
	"CREATE TABLE jobs ("
	"  id            INTEGER PRIMARY KEY,"
	"  submission_id TEXT NOT NULL REFERENCES submissions (id)"
	"                ON DELETE CASCADE,"
	"  action        INTEGER NOT NULL,"
	"  kind          TEXT NOT NULL,"
	"  target        TEXT NOT NULL,"
	"  state         TEXT NOT NULL DEFAULT 'queued',"
	"  attempts      INTEGER NOT NULL DEFAULT 0,"
	"  max_attempts  INTEGER NOT NULL,"
	"  run_at        INTEGER NOT NULL,"
	"  lease_until   INTEGER NOT NULL DEFAULT 0,"
	"  delivery_id   TEXT NOT NULL,"
	"  last_error    TEXT,"
	"  created_at    INTEGER NOT NULL,"
	"  started_at    INTEGER,"
	"  finished_at   INTEGER"
	");"
	"CREATE INDEX jobs_due ON jobs (state, run_at);"
	"CREATE INDEX jobs_submission ON jobs (submission_id, action);"
	"CREATE TABLE webhook_endpoints ("
	"  url         TEXT PRIMARY KEY,"
	"  disabled_at INTEGER NOT NULL,"
	"  reason      TEXT NOT NULL"
	") WITHOUT ROWID;",

	/*
	 * 3: the admin desk. Users, sessions (token hashes only), failed
	 * logins, review history and the audit log. The list stays fast at
	 * a million rows through an index per filter, counts per review
	 * state kept by triggers, each submission's overall action state
	 * kept by triggers on its jobs, and a contentless FTS5 index of
	 * the submitted values (not the field names). New rows are indexed
	 * by store_sqlite_submissions_insert() at the end of their batch, not by a
	 * trigger: FTS5 flushes its pending terms at every savepoint, and
	 * each row of a batch has one.
	 */
	"ALTER TABLE submissions ADD COLUMN actions TEXT NOT NULL "
	"  DEFAULT 'none';"
	"UPDATE submissions SET actions = (SELECT CASE"
	"  WHEN count(*) = 0 THEN 'none'"
	"  WHEN sum(state IN ('queued', 'running')) > 0 THEN 'pending'"
	"  WHEN sum(state = 'failed') > 0 THEN 'failed' ELSE 'done' END"
	"  FROM jobs WHERE submission_id = submissions.id);"
	"CREATE INDEX submissions_form ON submissions (form, created_at, id);"
	"CREATE INDEX submissions_review ON submissions "
	"  (review, created_at, id);"
	"CREATE INDEX submissions_actions ON submissions "
	"  (actions, created_at, id);"
	"CREATE TRIGGER jobs_added AFTER INSERT ON jobs BEGIN"
	"  UPDATE submissions SET actions = 'pending'"
	"  WHERE id = new.submission_id AND actions <> 'pending'; END;"
	"CREATE TRIGGER jobs_moved AFTER UPDATE OF state ON jobs"
	"  WHEN old.state <> new.state BEGIN"
	"  UPDATE submissions SET actions = (SELECT CASE"
	"  WHEN sum(state IN ('queued', 'running')) > 0 THEN 'pending'"
	"  WHEN sum(state = 'failed') > 0 THEN 'failed' ELSE 'done' END"
	"  FROM jobs WHERE submission_id = new.submission_id)"
	"  WHERE id = new.submission_id; END;"
	"CREATE TABLE review_counts ("
	"  form   TEXT NOT NULL,"
	"  review TEXT NOT NULL,"
	"  n      INTEGER NOT NULL,"
	"  PRIMARY KEY (form, review)"
	") WITHOUT ROWID;"
	"INSERT INTO review_counts SELECT form, review, count(*) "
	"  FROM submissions GROUP BY form, review;"
	"CREATE TRIGGER counts_added AFTER INSERT ON submissions BEGIN"
	"  INSERT INTO review_counts VALUES (new.form, new.review, 1)"
	"  ON CONFLICT DO UPDATE SET n = n + 1; END;"
	"CREATE TRIGGER counts_removed AFTER DELETE ON submissions BEGIN"
	"  UPDATE review_counts SET n = n - 1"
	"  WHERE form = old.form AND review = old.review; END;"
	"CREATE TRIGGER counts_moved AFTER UPDATE OF review ON submissions"
	"  WHEN old.review <> new.review BEGIN"
	"  UPDATE review_counts SET n = n - 1"
	"  WHERE form = old.form AND review = old.review;"
	"  INSERT INTO review_counts VALUES (new.form, new.review, 1)"
	"  ON CONFLICT DO UPDATE SET n = n + 1; END;"
	"CREATE VIRTUAL TABLE submissions_fts USING fts5(body, content='',"
	"  tokenize='unicode61 remove_diacritics 2');"
	"INSERT INTO submissions_fts (rowid, body) SELECT rowid,"
	"  (SELECT group_concat(atom, ' ') FROM json_tree(data)"
	"  WHERE atom IS NOT NULL) FROM submissions;"
	"CREATE TRIGGER fts_removed AFTER DELETE ON submissions BEGIN"
	"  INSERT INTO submissions_fts (submissions_fts, rowid, body)"
	"  VALUES ('delete', old.rowid,"
	"  (SELECT group_concat(atom, ' ') FROM json_tree(old.data)"
	"  WHERE atom IS NOT NULL)); END;"
	"CREATE TABLE users ("
	"  id         INTEGER PRIMARY KEY,"
	"  name       TEXT NOT NULL UNIQUE,"
	"  role       TEXT NOT NULL,"
	"  pwhash     TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE TABLE sessions ("
	"  token_hash TEXT PRIMARY KEY,"
	"  user_id    INTEGER NOT NULL REFERENCES users (id)"
	"             ON DELETE CASCADE,"
	"  client     TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  seen_at    INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX sessions_user ON sessions (user_id);"
	"CREATE TABLE login_failures ("
	"  subject TEXT NOT NULL,"
	"  at      INTEGER NOT NULL"
	");"
	"CREATE INDEX login_failures_subject ON login_failures (subject, at);"
	"CREATE TABLE reviews ("
	"  id            INTEGER PRIMARY KEY,"
	"  submission_id TEXT NOT NULL REFERENCES submissions (id)"
	"                ON DELETE CASCADE,"
	"  version       INTEGER NOT NULL,"
	"  state_before  TEXT NOT NULL,"
	"  state         TEXT NOT NULL,"
	"  note          TEXT NOT NULL,"
	"  user_name     TEXT NOT NULL,"
	"  at            INTEGER NOT NULL"
	");"
	"CREATE INDEX reviews_submission ON reviews (submission_id, id);"
	"CREATE TABLE audit ("
	"  id        INTEGER PRIMARY KEY,"
	"  at        INTEGER NOT NULL,"
	"  user_name TEXT NOT NULL,"
	"  action    TEXT NOT NULL,"
	"  subject   TEXT NOT NULL,"
	"  before    TEXT NOT NULL,"
	"  after     TEXT NOT NULL"
	");"
	"CREATE TABLE exports ("
	"  id         TEXT PRIMARY KEY,"
	"  user_name  TEXT NOT NULL,"
	"  state      TEXT NOT NULL DEFAULT 'running',"
	"  rows       INTEGER NOT NULL DEFAULT 0,"
	"  error      TEXT NOT NULL DEFAULT '',"
	"  created_at INTEGER NOT NULL,"
	"  finished_at INTEGER"
	") WITHOUT ROWID;",

	/*
	 * 4: posting from the owner's own pages. A notification's subject
	 * and Reply-To sent with a submission, and the marks by which a
	 * submission without a key stands for its repeats (same form,
	 * client and values) for a while: one row per digest, taken over
	 * by the next such submission once the window has passed.
	 */
	"ALTER TABLE submissions ADD COLUMN subject TEXT;"
	"ALTER TABLE submissions ADD COLUMN reply_to TEXT;"
	"CREATE TABLE submission_repeats ("
	"  form          TEXT NOT NULL,"
	"  digest        TEXT NOT NULL,"
	"  submission_id TEXT NOT NULL REFERENCES submissions (id)"
	"                ON DELETE CASCADE,"
	"  created_at    INTEGER NOT NULL,"
	"  PRIMARY KEY (form, digest)"
	") WITHOUT ROWID;"
	"CREATE INDEX submission_repeats_submission ON submission_repeats "
	"  (submission_id);",

	/*
	 * 5: mail and deliveries an owner can work with (SPEC 11). The
	 * delivery log, a line per attempt, goes with its job (and so
	 * with its submission, deleted or pruned). Failed jobs a digest
	 * has listed carry the time it was taken (alerted_at); those that
	 * failed before this version count as listed, so an upgrade sends
	 * no digest of old news. alert_state says when the next digest may
	 * be taken, on any node. autoreplies holds, per address, the last
	 * hour's confirmation and its job, and goes with the job too (an
	 * address is personal data: deleted with its submission).
	 */
	"CREATE TABLE deliveries ("
	"  id          INTEGER PRIMARY KEY,"
	"  job_id      INTEGER NOT NULL REFERENCES jobs (id)"
	"              ON DELETE CASCADE,"
	"  attempt     INTEGER NOT NULL,"
	"  delivery_id TEXT NOT NULL,"
	"  started_at  INTEGER NOT NULL,"
	"  duration_ms INTEGER NOT NULL,"
	"  outcome     TEXT NOT NULL,"
	"  code        INTEGER NOT NULL DEFAULT 0,"
	"  error       TEXT NOT NULL DEFAULT '',"
	"  response    TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX deliveries_job ON deliveries (job_id, id);"
	"ALTER TABLE jobs ADD COLUMN alerted_at INTEGER;"
	"UPDATE jobs SET alerted_at = coalesce(finished_at, 0)"
	"  WHERE state = 'failed';"
	"CREATE INDEX jobs_unalerted ON jobs (finished_at)"
	"  WHERE state = 'failed' AND alerted_at IS NULL;"
	"CREATE TABLE alert_state ("
	"  id      INTEGER PRIMARY KEY CHECK (id = 1),"
	"  next_at INTEGER NOT NULL"
	");"
	"INSERT INTO alert_state VALUES (1, 0);"
	"CREATE TABLE autoreplies ("
	"  address TEXT PRIMARY KEY,"
	"  job_id  INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
	"  sent_at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX autoreplies_job ON autoreplies (job_id);",

	/*
	 * 6: the counts per review state of new submissions are added by
	 * the writer once per batch (ST_COUNTS_ADD), instead of by a
	 * trigger per row, which was a tenth of a row's cost under the
	 * write lock and made SQLite keep a statement journal for every
	 * INSERT (tests/bench/README.md, issue 18). Changes of review and
	 * deletions are still counted by their triggers.
	 */
	"DROP TRIGGER counts_added;",
};

#define STORE_NMIGRATIONS \
	((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

const int	store_schema_version = STORE_NMIGRATIONS;


static char		*store_path = NULL;
static struct store_handle	 store_reader;
static struct store_handle	 store_writer = { .wal_sync = 1 };
static int			 store_log_pages;	/* writer thread */

static void		 store_db_close(struct store_handle *);
static int		 store_busy_wait(void *, int);
static int		 store_log_grown(void *, sqlite3 *, const char *, int);
static int		 store_insert_one(struct store_submission *);
static void		 store_insert_undo(int);
static enum store_result store_prior_lookup(struct store_handle *,
			    enum store_stmt_id, const char *, const char *,
			    u_int64_t, char *, char *);
static int		 store_repeat_mark(struct store_submission *);

int
store_sqlite_init(const char *path, char *err, size_t errlen)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		*msg;
	int		 version, i;

	if (store_connect(path, &db, err, errlen) == -1)
		return (-1);

	if (sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, &msg) !=
	    SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK) {
		msg = NULL;
		goto fail;
	}
	version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) :
	    0;
	sqlite3_finalize(st);

	if (version > STORE_NMIGRATIONS) {
		(void)snprintf(err, errlen, "%s: schema version %d is newer "
		    "than this Formwork knows (%d); upgrade Formwork", path,
		    version, STORE_NMIGRATIONS);
		sqlite3_close(db);
		return (-1);
	}
	for (i = version; i < STORE_NMIGRATIONS; i++) {
		char	sql[64];

		(void)snprintf(sql, sizeof(sql), "PRAGMA user_version=%d",
		    i + 1);
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) !=
		    SQLITE_OK)
			goto fail;
		if (sqlite3_exec(db, store_migrations[i], NULL, NULL, &msg) !=
		    SQLITE_OK ||
		    sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
	}
	sqlite3_close(db);
	return (store_epoch_open(path, err, errlen));

fail:
	(void)snprintf(err, errlen, "%s: cannot prepare the database: %s",
	    path, msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	sqlite3_close(db);
	return (-1);
}

void
store_sqlite_configure(const char *path)
{
	kore_free(store_path);
	store_path = kore_strdup(path);
	store_sqlite_turn_init();
}

void
store_sqlite_worker_open(void)
{
	(void)store_open(&store_reader);
	(void)store_open(&store_writer);
}

struct store_handle *
store_sqlite_handle_new(void)
{
	return (kore_calloc(1, sizeof(struct store_handle)));
}

void
store_sqlite_handle_free(struct store_handle *h)
{
	if (h == NULL)
		return;
	store_db_close(h);
	kore_free(h);
}

struct store_handle *
store_reader_handle(void)
{
	return (&store_reader);
}

void
store_sqlite_writer_close(void)
{
	store_db_close(&store_writer);
}

void
store_sqlite_close(void)
{
	store_db_close(&store_reader);
}

static void
store_db_close(struct store_handle *db)
{
	int		i;

	for (i = 0; i < ST_MAX; i++) {
		if (db->stmts[i] != NULL)
			sqlite3_finalize(db->stmts[i]);
		db->stmts[i] = NULL;
	}
	if (db->conn != NULL)
		sqlite3_close(db->conn);
	db->conn = NULL;
}

/* The writer's WAL hook, after each commit: the log's size in pages. */
static int
store_log_grown(void *arg, sqlite3 *conn, const char *schema, int pages)
{
	store_log_pages = pages;
	return (SQLITE_OK);
}

int
store_sqlite_log_needs_checkpoint(void)
{
	return (store_log_pages >= STORE_CHECKPOINT_PAGES);
}

/*
 * Copies the log back into the database and has the next commit start
 * the log over from its beginning (SQLITE_CHECKPOINT_RESTART). Under a
 * steady stream of batches a passive checkpoint never catches the log
 * whole, so the log would only grow (and the sync of a file that grows
 * must also write its new size: a journal commit on ext4). A
 * restart holds the write lock for the copy (a few ms every 1,000 pages);
 * but it waits for no one: without a busy handler it does only what it
 * can at once (a reader on an old snapshot, an export say, keeps what it
 * reads) and the writer's next nudge tries again. h may be any thread's
 * connection: its busy handler is back in place on return.
 */
void
store_sqlite_checkpoint(struct store_handle *h)
{
	sqlite3		*conn;
	int		 rc;

	if ((conn = store_open(h)) == NULL)
		return;
	sqlite3_busy_handler(conn, NULL, NULL);
	rc = sqlite3_wal_checkpoint_v2(conn, NULL, SQLITE_CHECKPOINT_RESTART,
	    NULL, NULL);
	sqlite3_busy_handler(conn, store_busy_wait, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		kore_log(LOG_WARNING, "%s: %s", __func__, sqlite3_errmsg(conn));
}

/*
 * FTS5 'optimize' merges the search index into one segment: a store
 * filled in 5,000-row batches leaves large segments in the index's low
 * levels, which FTS5 would otherwise merge into the server's small
 * batches under the write lock.
 */
void
store_sqlite_search_optimize(struct store_handle *h)
{
	int	rc;

	if (store_open(h) == NULL)
		return;
	if ((rc = store_exec(h, ST_FTS_OPTIMIZE)) != SQLITE_DONE)
		(void)store_result_of(h, rc);
}

int
store_sqlite_ping(void)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(&store_reader, ST_PING)) == NULL)
		return (0);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_ROW);
}

enum store_result
store_sqlite_batch_begin(void)
{
	int		rc;

	store_sqlite_turn_take();
	if ((rc = store_exec(&store_writer, ST_BEGIN)) != SQLITE_DONE) {
		store_sqlite_turn_give();
		return (store_result_of(&store_writer, rc));
	}
	return (STORE_OK);
}

void
store_sqlite_submissions_insert(struct store_submission **subs, size_t n)
{
	enum store_result	 r;
	size_t			 i;

	if ((r = store_sqlite_batch_begin()) == STORE_OK) {
		store_sqlite_batch_commit(subs, n);
		if ((r = store_sqlite_batch_sync(&store_writer)) == STORE_OK)
			return;
	}
	/* Not begun, or not known to be on disk: not acknowledged. */
	for (i = 0; i < n; i++)
		subs[i]->result = r;
}

void
store_sqlite_batch_commit(struct store_submission **subs, size_t n)
{
	struct store_handle	*w = &store_writer;
	enum store_result	 fail;
	sqlite3_stmt		*st;
	sqlite3_int64		 before;
	size_t			 i;
	int			 rc;

	/* The write lock is ours: the batch's rows are those after this. */
	if ((st = store_stmt(w, ST_ROWID_MAX)) == NULL ||
	    (rc = sqlite3_step(st)) != SQLITE_ROW) {
		if (st != NULL)
			sqlite3_reset(st);
		fail = store_result_of(w, st ? rc : SQLITE_ERROR);
		(void)store_exec(w, ST_ROLLBACK);
		goto failed;
	}
	before = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);

	for (i = 0; i < n; i++) {
		if (store_insert_one(subs[i]) == -1) {
			fail = subs[i]->result;
			(void)store_exec(w, ST_ROLLBACK);
			goto failed;
		}
	}

	/* Indexed and counted once, outside the rows' savepoints. */
	if ((st = store_stmt(w, ST_FTS_INDEX)) == NULL) {
		rc = SQLITE_ERROR;
	} else {
		sqlite3_bind_int64(st, 1, before);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	}
	if (rc == SQLITE_DONE && (st = store_stmt(w, ST_COUNTS_ADD)) != NULL) {
		sqlite3_bind_int64(st, 1, before);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_ERROR;
	}
	if (rc != SQLITE_DONE) {
		fail = store_result_of(w, rc);
		(void)store_exec(w, ST_ROLLBACK);
		goto failed;
	}
	if ((rc = store_exec(w, ST_COMMIT)) != SQLITE_DONE) {
		fail = store_result_of(w, rc);
		(void)store_exec(w, ST_ROLLBACK);
		goto failed;
	}
	store_sqlite_turn_give();
	return;

failed:
	store_sqlite_turn_give();
	for (i = 0; i < n; i++)
		subs[i]->result = fail;
}

/*
 * Makes the batches committed so far durable, as synchronous=FULL does
 * inside COMMIT, but after the commit has released the write lock and
 * on another thread's connection (h): the writer is already writing its
 * next batch, and the other workers' writers take their turn, while this
 * waits for the disk. An fsync works on the file, not on the descriptor,
 * so a sync through h's own handle on the log covers every commit
 * written before it began, whichever connection or process wrote it. A
 * WAL commit is durable once its frames are: recovery replays every
 * committed frame it finds intact. Unlike with FULL, other connections
 * may read a batch during its sync; its requests learn their ids only
 * after it, and the runners are woken only after it (one that wakes on
 * its own timer in that fraction of a millisecond could start a job
 * early: after a power cut right then, an email for a submission whose
 * sender saw an error and sends it again).
 */
enum store_result
store_sqlite_batch_sync(struct store_handle *h)
{
	sqlite3_file	*wal = NULL;
	sqlite3_stmt	*st;
	int		 rc;

	if (store_open(h) == NULL)
		return (STORE_ERROR);
	if (sqlite3_file_control(h->conn, "main",
	    SQLITE_FCNTL_JOURNAL_POINTER, &wal) == SQLITE_OK &&
	    (wal == NULL || wal->pMethods == NULL)) {
		/* A connection opens the log with its first read. */
		if ((st = store_stmt(h, ST_ROWID_MAX)) == NULL)
			return (STORE_ERROR);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			return (store_result_of(h, rc));
		(void)sqlite3_file_control(h->conn, "main",
		    SQLITE_FCNTL_JOURNAL_POINTER, &wal);
	}
	if (wal == NULL || wal->pMethods == NULL)
		return (store_result_of(h, SQLITE_IOERR_FSYNC));
	if ((rc = wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL)) != SQLITE_OK)
		return (store_result_of(h, rc));
	return (STORE_OK);
}

/*
 * Inserts one submission inside the batch transaction. A conflict undoes
 * only this submission's rows: a failed statement undoes itself, so only
 * one with unique values (rows after the first, and they may conflict)
 * needs a savepoint. Any other error returns -1 with the result set: the
 * batch is then rolled back as a whole (SQLite may have ended the
 * transaction already, and nothing of it may be kept in part).
 */
static int
store_insert_one(struct store_submission *s)
{
	struct store_handle	*w = &store_writer;
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc, sp;

	sp = s->nclaims > 0 || s->repeat != NULL;
	if (sp && (rc = store_exec(w, ST_SAVEPOINT)) != SQLITE_DONE)
		goto fail;

	st = store_stmt(w, ST_SUB_INSERT);
	sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->form, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, s->data, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, s->client, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, s->spam);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)s->created_ms);
	sqlite3_bind_text(st, 9, s->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 10, s->reply_to, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);

	if (rc == SQLITE_CONSTRAINT) {
		store_insert_undo(sp);
		s->result = store_prior_lookup(w, ST_KEY_FIND, s->form, s->key,
		    0, s->prior_id, s->prior_hash) == STORE_OK ?
		    STORE_KEY_USED : STORE_ERROR;
		return (0);
	}
	if (rc != SQLITE_DONE)
		goto fail;

	if (s->repeat != NULL) {
		if ((rc = store_repeat_mark(s)) == -1) {
			store_insert_undo(sp);
			return (0);
		}
		if (rc != SQLITE_DONE)
			goto fail;
	}

	for (i = 0; i < s->nclaims; i++) {
		st = store_stmt(w, ST_CLAIM_INSERT);
		sqlite3_bind_text(st, 1, s->form, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->claims[i].field, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->claims[i].value, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, s->id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc == SQLITE_CONSTRAINT) {
			store_insert_undo(sp);
			s->result = STORE_UNIQUE_TAKEN;
			s->taken_field = s->claims[i].field;
			return (0);
		}
		if (rc != SQLITE_DONE)
			goto fail;
	}

	if ((rc = store_jobs_write(w, s->id, s->jobs, s->njobs,
	    s->created_ms)) != SQLITE_DONE)
		goto fail;

	if (sp)
		(void)store_exec(w, ST_RELEASE);
	s->result = STORE_OK;
	return (0);

fail:
	s->result = store_result_of(w, rc);
	return (-1);
}

/*
 * Marks s as standing for its repeats, inside its savepoint. When a mark
 * younger than the window is there already, the batch's write lock
 * makes it final (no other writer can be adding one), so s is a repeat:
 * -1, with s->result STORE_KEY_USED and the first one's id, for the
 * caller to undo s's row. Otherwise SQLite's code.
 */
static int
store_repeat_mark(struct store_submission *s)
{
	struct store_handle	*w = &store_writer;
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = store_stmt(w, ST_REPEAT_MARK)) == NULL)
		return (SQLITE_ERROR);
	sqlite3_bind_text(st, 1, s->form, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->repeat, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)s->created_ms);
	sqlite3_bind_int64(st, 5, STORE_REPEAT_WINDOW_MS);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE || sqlite3_changes(w->conn) > 0)
		return (rc);
	/*
	 * The mark's own time, not the window's start, decides: it is
	 * younger than the window, whatever the clock says now.
	 */
	s->result = store_prior_lookup(w, ST_REPEAT_FIND, s->form, s->repeat,
	    0, s->prior_id, s->prior_hash) == STORE_OK ? STORE_KEY_USED :
	    STORE_ERROR;
	return (-1);
}

/* Undoes this submission's rows, when a savepoint holds them. */
static void
store_insert_undo(int sp)
{
	if (!sp)
		return;
	(void)store_exec(&store_writer, ST_ROLLBACK_TO);
	(void)store_exec(&store_writer, ST_RELEASE);
}

/* Queues a submission's jobs; returns SQLite's code. */
int
store_jobs_write(struct store_handle *h, const char *id,
    const struct store_job_spec *jobs, size_t n, u_int64_t now)
{
	sqlite3_stmt	*st;
	char		 delivery[TOKEN_ID_LEN + 5];
	size_t		 i;
	int		 rc;

	for (i = 0; i < n; i++) {
		/* The webhook-id receivers de-duplicate on: stable per job. */
		(void)snprintf(delivery, sizeof(delivery), "msg_");
		token_id_new(delivery + 4);
		if ((st = store_stmt(h, ST_JOB_INSERT)) == NULL)
			return (SQLITE_ERROR);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, jobs[i].action);
		sqlite3_bind_text(st, 3, jobs[i].kind, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, jobs[i].target, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, jobs[i].max_attempts);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)now);
		sqlite3_bind_text(st, 7, delivery, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE)
			return (rc);
	}
	return (SQLITE_DONE);
}

enum store_result
store_sqlite_key_find(const char *form, const char *key,
    char id[TOKEN_ID_LEN + 1], char hash[VALIDATE_HASH_LEN + 1])
{
	return (store_prior_lookup(&store_reader, ST_KEY_FIND, form, key, 0,
	    id, hash));
}

enum store_result
store_sqlite_repeat_find(const char *form, const char *repeat, u_int64_t now,
    char id[TOKEN_ID_LEN + 1], char hash[VALIDATE_HASH_LEN + 1])
{
	return (store_prior_lookup(&store_reader, ST_REPEAT_FIND, form, repeat,
	    now > STORE_REPEAT_WINDOW_MS ? now - STORE_REPEAT_WINDOW_MS : 0,
	    id, hash));
}

/*
 * The submission stored first for (form, key): by its key (ST_KEY_FIND)
 * or by a repeat mark made after since_ms (ST_REPEAT_FIND); its id and
 * values hash.
 */
static enum store_result
store_prior_lookup(struct store_handle *db, enum store_stmt_id which,
    const char *form, const char *key, u_int64_t since_ms, char *id,
    char *hash)
{
	sqlite3_stmt		*st;
	enum store_result	 r;
	int			 rc;

	if ((st = store_stmt(db, which)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, form, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	if (which == ST_REPEAT_FIND)
		sqlite3_bind_int64(st, 3, (sqlite3_int64)since_ms);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_copy_text(st, 0, id, TOKEN_ID_LEN + 1);
		store_copy_text(st, 1, hash, VALIDATE_HASH_LEN + 1);
		r = STORE_OK;
	} else {
		r = rc == SQLITE_DONE ? STORE_NOT_FOUND : store_result_of(db, rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (r);
}

enum store_result
store_sqlite_unique_check(const char *form, const char *field,
    const char *value)
{
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = store_stmt(&store_reader, ST_UNIQUE_CHECK)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, form, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, field, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);

	if (rc == SQLITE_ROW)
		return (STORE_UNIQUE_TAKEN);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(&store_reader, rc));
}

enum store_result
store_sqlite_client_count(const char *client, u_int64_t since_ms,
    u_int64_t *count)
{
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = store_stmt(&store_reader, ST_CLIENT_COUNT)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, client, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)since_ms);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*count = (u_int64_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (rc == SQLITE_ROW ? STORE_OK : store_result_of(&store_reader, rc));
}

enum store_result
store_sqlite_submission_get(const char *id, struct store_record *rec)
{
	sqlite3_stmt		*st;
	enum store_result	 r;
	int			 rc;

	memset(rec, 0, sizeof(*rec));
	if ((st = store_stmt(&store_reader, ST_SUB_GET)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_record_read(st, rec);
		r = STORE_OK;
	} else {
		r = rc == SQLITE_DONE ? STORE_NOT_FOUND : store_result_of(&store_reader, rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (r);
}

void
store_record_read(sqlite3_stmt *st, struct store_record *rec)
{
	store_copy_text(st, 0, rec->id, sizeof(rec->id));
	store_copy_text(st, 1, rec->form, sizeof(rec->form));
	rec->data = kore_strdup((const char *)sqlite3_column_text(st, 2));
	rec->spam = sqlite3_column_int(st, 3);
	rec->version = sqlite3_column_int(st, 4);
	rec->created_ms = (u_int64_t)sqlite3_column_int64(st, 5);
	store_copy_text(st, 6, rec->review, sizeof(rec->review));
	store_copy_text(st, 7, rec->client, sizeof(rec->client));
	store_copy_text(st, 8, rec->actions, sizeof(rec->actions));
	rec->subject = sqlite3_column_type(st, 9) == SQLITE_NULL ? NULL :
	    kore_strdup((const char *)sqlite3_column_text(st, 9));
	store_copy_text(st, 10, rec->reply_to, sizeof(rec->reply_to));
}

/* Returns db's connection, opening it on first use. */
sqlite3 *
store_open(struct store_handle *db)
{
	char		err[256];

	if (db->conn != NULL)
		return (db->conn);
	if (store_path == NULL) {
		kore_log(LOG_ERR, "%s: store_sqlite_configure() was not called",
		    __func__);
		return (NULL);
	}
	if (store_connect(store_path, &db->conn, err, sizeof(err)) == -1) {
		kore_log(LOG_ERR, "%s: %s", __func__, err);
		db->conn = NULL;
		return (NULL);
	}
	/*
	 * The writer's commits are made durable by store_batch_sync(), and
	 * its log is checkpointed by another thread: its WAL hook takes
	 * the place of SQLite's automatic checkpoint (itself a WAL hook).
	 * Its statements that fire triggers (a job's INSERT) or change
	 * many rows (the batch's search index and counts) make SQLite keep
	 * a statement journal, the old copy of every page they change; by
	 * default that spills into a temporary file once over 64 KB, two
	 * system calls a page. Kept in memory it costs a copy, and no more
	 * than one statement's pages at a time: the writer's one sort (the
	 * counts' GROUP BY) is over one batch's rows.
	 */
	if (db->wal_sync) {
		if (sqlite3_exec(db->conn, "PRAGMA synchronous=NORMAL; "
		    "PRAGMA temp_store=MEMORY", NULL, NULL, NULL) !=
		    SQLITE_OK) {
			kore_log(LOG_ERR, "%s: %s", __func__,
			    sqlite3_errmsg(db->conn));
			store_db_close(db);
			return (NULL);
		}
		sqlite3_wal_hook(db->conn, store_log_grown, NULL);
	}
	return (db->conn);
}

/*
 * Waits for another connection's write to end. SQLite's own busy handler
 * sleeps 1, 2, 5 ... up to 100 ms at a time, so a writer that loses the
 * lock to the other worker's group commit (a few ms) stalls far longer
 * than needed; we retry every STORE_BUSY_STEP_US up to STORE_BUSY_MS.
 */
static int
store_busy_wait(void *arg, int count)
{
	struct timespec	ts;

	if ((u_int64_t)count * STORE_BUSY_STEP_US >= STORE_BUSY_MS * 1000ULL)
		return (0);
	ts.tv_sec = 0;
	ts.tv_nsec = STORE_BUSY_STEP_US * 1000L;
	(void)nanosleep(&ts, NULL);
	return (1);
}

int
store_connect(const char *path, sqlite3 **out, char *err, size_t errlen)
{
	return (store_connect_flags(path, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, out, err, errlen));
}

int
store_connect_flags(const char *path, int flags, sqlite3 **out, char *err,
    size_t errlen)
{
	sqlite3		*db;
	char		*msg;

	*out = NULL;
	if (sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: cannot open: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return (-1);
	}
	sqlite3_busy_handler(db, store_busy_wait, NULL);
	/*
	 * A worker has several connections (event loop, writer, runners);
	 * 512 KB of page cache each is as fast here as SQLite's default
	 * 2 MB (what is hot is a few right-hand B-tree edges, the rest is
	 * in the OS page cache) and keeps a worker's memory small.
	 */
	if (sqlite3_exec(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
	    "PRAGMA cache_size=-" STORE_CACHE_KB, NULL, NULL, &msg) !=
	    SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s", path, msg);
		sqlite3_free(msg);
		sqlite3_close(db);
		return (-1);
	}
	*out = db;
	return (0);
}

sqlite3_stmt *
store_stmt(struct store_handle *db, enum store_stmt_id id)
{
	sqlite3		*conn;

	if ((conn = store_open(db)) == NULL)
		return (NULL);
	if (db->stmts[id] == NULL &&
	    sqlite3_prepare_v3(conn, store_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &db->stmts[id], NULL) != SQLITE_OK) {
		kore_log(LOG_ERR, "%s: %s", __func__, sqlite3_errmsg(conn));
		return (NULL);
	}
	return (db->stmts[id]);
}

sqlite3_stmt *
store_prepare(struct store_handle *db, const char *sql)
{
	sqlite3_stmt	*st;
	sqlite3		*conn;

	if ((conn = store_open(db)) == NULL)
		return (NULL);
	if (sqlite3_prepare_v2(conn, sql, -1, &st, NULL) != SQLITE_OK) {
		kore_log(LOG_ERR, "%s: %s", __func__, sqlite3_errmsg(conn));
		return (NULL);
	}
	return (st);
}

enum store_result
store_row_get(struct store_handle *h, const char *sql, const char *key,
    void (*read)(sqlite3_stmt *, void *), void *arg)
{
	enum store_result	 r;
	sqlite3_stmt		*st;
	int			 rc;

	h = store_handle_or_reader(h);
	if ((st = store_prepare(h, sql)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read(st, arg);
		r = STORE_OK;
	} else {
		r = rc == SQLITE_DONE ? STORE_NOT_FOUND : store_result_of(h, rc);
	}
	sqlite3_finalize(st);
	return (r);
}

enum store_result
store_rows_get(struct store_handle *h, const char *sql, const char *key,
    void (*read)(sqlite3_stmt *, void *), void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	h = store_handle_or_reader(h);
	if ((st = store_prepare(h, sql)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		read(st, arg);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

struct store_handle *
store_handle_or_reader(struct store_handle *h)
{
	return (h != NULL ? h : &store_reader);
}

/* Steps a statement that returns no rows. */
int
store_exec(struct store_handle *db, enum store_stmt_id id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(db, id)) == NULL)
		return (SQLITE_ERROR);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc);
}

enum store_result
store_tx_close(struct store_handle *db, int rc)
{
	if (rc == SQLITE_DONE && (rc = store_exec(db, ST_COMMIT)) == SQLITE_DONE)
		return (STORE_OK);
	(void)store_exec(db, ST_ROLLBACK);
	return (store_result_of(db, rc == SQLITE_DONE ? SQLITE_ERROR : rc));
}

/* Maps an unexpected SQLite code to a result, logging it once here. */
enum store_result
store_result_of(struct store_handle *db, int rc)
{
	kore_log(LOG_ERR, "store: %s (%d)", db->conn ?
	    sqlite3_errmsg(db->conn) : sqlite3_errstr(rc), rc);
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return (STORE_BUSY);
	case SQLITE_FULL:
	case SQLITE_READONLY:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		return (STORE_UNWRITABLE);
	default:
		return (STORE_ERROR);
	}
}

void
store_copy_text(sqlite3_stmt *st, int col, char *out, size_t len)
{
	const unsigned char	*t;

	if ((t = sqlite3_column_text(st, col)) == NULL)
		out[0] = '\0';
	else
		(void)snprintf(out, len, "%s", (const char *)t);
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.remote = 0,
	.init = store_sqlite_init,
	.epoch = store_sqlite_epoch,
	.epoch_bump = store_sqlite_epoch_bump,
	.lock = store_sqlite_lock,
	.backup = store_sqlite_backup,
	.restore = store_sqlite_restore,
	.check = store_sqlite_check,
	.configure = store_sqlite_configure,
	.worker_open = store_sqlite_worker_open,
	.writer_close = store_sqlite_writer_close,
	.log_needs_checkpoint = store_sqlite_log_needs_checkpoint,
	.checkpoint = store_sqlite_checkpoint,
	.search_optimize = store_sqlite_search_optimize,
	.close = store_sqlite_close,
	.ping = store_sqlite_ping,
	.submissions_insert = store_sqlite_submissions_insert,
	.batch_begin = store_sqlite_batch_begin,
	.batch_commit = store_sqlite_batch_commit,
	.batch_sync = store_sqlite_batch_sync,
	.key_find = store_sqlite_key_find,
	.repeat_find = store_sqlite_repeat_find,
	.unique_check = store_sqlite_unique_check,
	.client_count = store_sqlite_client_count,
	.submission_get = store_sqlite_submission_get,
	.handle_new = store_sqlite_handle_new,
	.handle_free = store_sqlite_handle_free,
	.job_claim = store_sqlite_job_claim,
	.job_finish = store_sqlite_job_finish,
	.job_release = store_sqlite_job_release,
	.job_record = store_sqlite_job_record,
	.endpoint_is_disabled = store_sqlite_endpoint_is_disabled,
	.endpoint_disable = store_sqlite_endpoint_disable,
	.autoreply_claim = store_sqlite_autoreply_claim,
	.alert_take = store_sqlite_alert_take,
	.alert_giveback = store_sqlite_alert_giveback,
	.jobs_wait = store_sqlite_jobs_wait,
	.job_counts = store_sqlite_job_counts,
	.job_statuses = store_sqlite_job_statuses,
	.user_add = store_sqlite_user_add,
	.user_get = store_sqlite_user_get,
	.user_each = store_sqlite_user_each,
	.user_role_set = store_sqlite_user_role_set,
	.user_pwhash_set = store_sqlite_user_pwhash_set,
	.user_delete = store_sqlite_user_delete,
	.session_add = store_sqlite_session_add,
	.session_get = store_sqlite_session_get,
	.session_touch = store_sqlite_session_touch,
	.session_delete = store_sqlite_session_delete,
	.login_failures = store_sqlite_login_failures,
	.login_failure_add = store_sqlite_login_failure_add,
	.login_failures_clear = store_sqlite_login_failures_clear,
	.rows_each = store_sqlite_rows_each,
	.cursor_valid = store_sqlite_cursor_valid,
	.review_counts = store_sqlite_review_counts,
	.reviews_each = store_sqlite_reviews_each,
	.review_set = store_sqlite_review_set,
	.jobs_retry = store_sqlite_jobs_retry,
	.job_resend = store_sqlite_job_resend,
	.jobs_failed_count = store_sqlite_jobs_failed_count,
	.deliveries_each = store_sqlite_deliveries_each,
	.submission_delete = store_sqlite_submission_delete,
	.audit_add = store_sqlite_audit_add,
	.audit_each = store_sqlite_audit_each,
	.export_add = store_sqlite_export_add,
	.export_finish = store_sqlite_export_finish,
	.exports_abandon = store_sqlite_exports_abandon,
	.export_get = store_sqlite_export_get,
	.prune = store_sqlite_prune,
};
