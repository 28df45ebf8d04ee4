/*
 * ref_sqlite.c: the POST ceiling for tests/bench. A minimal Kore handler
 * that does what a form POST needs the ordinary way, and nothing more:
 *
 *   POST /f/contact  parses the urlencoded contact fields (name, email,
 *                    topic, message, _key), checks them the way the
 *                    contact form does (required, lengths, '@', topic
 *                    choice), inserts one row into SQLite with a prepared
 *                    statement in its own transaction (autocommit) on a
 *                    database in WAL mode with synchronous=NORMAL, and
 *                    answers 303 to /s/<id>. 422 for an invalid form.
 *   GET /healthz     "ok\n" (readiness check of the harness)
 *
 * The table is the app's own `submissions` (same columns and indexes as
 * migration 1 in src/store/store_sqlite.c), so a database pre-filled for the
 * app serves this handler too. The database is REF_DB (created if
 * missing); one connection per worker, opened on first use after fork.
 *
 * Built by tests/bench/run.sh with a plain cc command, like the app's
 * Makefile: cc $(KORE_FEATURES) -fPIC -shared ... -lsqlite3
 */

#include "ref_form.h"

#include <kore/seccomp.h>
#include <sqlite3.h>

int	ref_post(struct http_request *);
int	ref_healthz(struct http_request *);
void	kore_parent_configure(int, char **);
void	kore_seccomp_hook(void);

/* SQLite in WAL mode: the system calls the app allows (src/web/app.c). */
static struct sock_filter filter_sqlite[] = {
	KORE_SYSCALL_ALLOW(newfstatat),
	KORE_SYSCALL_ALLOW(pread64),
	KORE_SYSCALL_ALLOW(pwrite64),
	KORE_SYSCALL_ALLOW(fdatasync),
	KORE_SYSCALL_ALLOW(fsync),
	KORE_SYSCALL_ALLOW(ftruncate),
	KORE_SYSCALL_ALLOW(fchown),
	KORE_SYSCALL_ALLOW(unlink),
};

static const char *ref_schema =
	"CREATE TABLE IF NOT EXISTS submissions ("
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
	"CREATE INDEX IF NOT EXISTS submissions_created "
	"  ON submissions (created_at, id);"
	"CREATE INDEX IF NOT EXISTS submissions_client "
	"  ON submissions (client, created_at);";

static const char *ref_insert =
	"INSERT INTO submissions (id, form, submit_key, values_hash, data, "
	"client, spam, review, created_at) "
	"VALUES (?1, 'contact', ?2, ?3, ?4, ?5, 0, 'new', ?6)";

static sqlite3		*db;
static sqlite3_stmt	*ins;

void
kore_seccomp_hook(void)
{
	kore_seccomp_filter("sqlite", filter_sqlite,
	    KORE_FILTER_LEN(filter_sqlite));
}

/* Parent: create the table once, in WAL mode; then close again. */
void
kore_parent_configure(int argc, char **argv)
{
	sqlite3		*d;
	char		*msg = NULL;

	if (sqlite3_open(ref_db(), &d) != SQLITE_OK ||
	    sqlite3_exec(d, "PRAGMA journal_mode=WAL", NULL, NULL, &msg) !=
	    SQLITE_OK ||
	    sqlite3_exec(d, ref_schema, NULL, NULL, &msg) != SQLITE_OK)
		fatal("ref_sqlite: %s", msg ? msg : sqlite3_errmsg(d));
	sqlite3_close(d);
}

static int
ref_db_open(void)
{
	if (db != NULL)
		return (1);
	if (sqlite3_open(ref_db(), &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL; "
	    "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, ref_insert, -1, &ins, NULL) != SQLITE_OK) {
		kore_log(LOG_ERR, "ref_sqlite: %s", sqlite3_errmsg(db));
		sqlite3_close(db);
		db = NULL;
		return (0);
	}
	return (1);
}

int
ref_post(struct http_request *req)
{
	struct ref_contact	 c;
	int			 rc;

	if (!ref_contact_read(req, &c))
		return (KORE_RESULT_OK);
	rc = SQLITE_ERROR;
	if (ref_db_open()) {
		sqlite3_bind_text(ins, 1, c.id, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, c.key, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 3, c.hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 4, (const char *)c.data.data,
		    (int)c.data.offset, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, c.client, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 6, (sqlite3_int64)c.created_ms);
		rc = sqlite3_step(ins);
		sqlite3_reset(ins);
		sqlite3_clear_bindings(ins);
		if (rc != SQLITE_DONE)
			kore_log(LOG_ERR, "ref_sqlite: insert: %s",
			    sqlite3_errmsg(db));
	}
	kore_buf_cleanup(&c.data);
	if (rc != SQLITE_DONE) {
		ref_answer(req, 500, "insert failed\n");
		return (KORE_RESULT_OK);
	}
	ref_see_other(req, &c);
	return (KORE_RESULT_OK);
}

int
ref_healthz(struct http_request *req)
{
	ref_answer(req, 200, "ok\n");
	return (KORE_RESULT_OK);
}
