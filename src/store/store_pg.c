/*
 * store_pg.c: the PostgreSQL implementation of store.h (connections,
 * migrations, submissions, the change counter), for several Formwork
 * nodes sharing one database (FORMWORK_DB=postgresql://...). The
 * store_pg*.c files are the only ones that include libpq-fe.h (through
 * store_pg.h); store_pg.h says which of them owns what.
 *
 * Each thread has its own connection (store_pg.h), opened on first use
 * and checked before each statement: a connection the server has closed
 * (a restart, a failover) is opened anew at once rather than failing a
 * request, and while the server cannot be reached a call fails at once
 * with STORE_UNWRITABLE (a 503 with Retry-After), trying again at most
 * every STORE_PG_RETRY_MS. Statements are prepared on a connection on
 * first use and kept; every value is bound.
 *
 * Durability is PostgreSQL's own: a commit returns once its WAL is
 * flushed (synchronous_commit, on by default), and only then does the
 * writer hand its batch back for the 303s: one round trip and one
 * commit for a batch (store_pg_batch.c).
 *
 * The schema is migrated by whichever process connects first (the
 * Kore parent at start, or a worker if the database was down then),
 * under an advisory lock so two nodes starting together migrate once.
 */

#include <sys/types.h>

#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "store/store_pg.h"

#define STORE_PG_RETRY_MS	250
/* The advisory lock migrations take: "fwmg" as a number. */
#define STORE_PG_MIGRATE_LOCK	"1719102823"

static char				*store_pg_url = NULL;
static int				 store_pg_migrated;	/* atomic */
static __thread struct store_pg_conn	*store_pg_mine;

static int	store_pg_migrate(PGconn *, char *, size_t);
static void	store_pg_quiet(void *, const char *);
static u_int64_t store_pg_clock_ms(void);
static void	store_pg_record_read(const PGresult *,
		    struct store_record *);

int
store_pg_init(const char *url, char *err, size_t errlen)
{
	struct store_pg_conn	 c;
	int			 rc;

	store_pg_configure(url);
	/*
	 * A database that does not answer (yet) is no reason to refuse to
	 * start: the pages answer 503 until it does, and the first
	 * connection then migrates. One that answers and refuses us (a
	 * wrong password, no such database) is a bad setting.
	 */
	if (PQping(url) == PQPING_NO_RESPONSE) {
		kore_log(LOG_WARNING, "store: %s does not answer yet; "
		    "serving 503 until it does", url);
		return (0);
	}
	memset(&c, 0, sizeof(c));
	rc = store_pg_connect(&c, err, errlen);
	store_pg_drop(&c);
	return (rc);
}

void
store_pg_configure(const char *url)
{
	if (store_pg_url != NULL && strcmp(store_pg_url, url) == 0)
		return;
	kore_free(store_pg_url);
	store_pg_url = kore_strdup(url);
}

/*
 * The counter lives in the database, so every node sees a change made
 * on any of them; one small read per revalidation replaces the page's.
 */
u_int64_t
store_pg_epoch(void)
{
	int64_t		n;

	if (store_pg_numbers(store_pg_own(), PG_EPOCH, NULL, &n, 1) !=
	    STORE_OK)
		return (UINT64_MAX);
	return ((u_int64_t)n);
}

void
store_pg_epoch_bump(void)
{
	(void)store_pg_do(store_pg_own(), PG_EPOCH_BUMP, NULL, NULL);
}

/* Nothing per host to lock: the database serves every node. */
int
store_pg_lock(const char *url, int exclusive, char *err, size_t errlen)
{
	return (0);
}

/*
 * What PostgreSQL does not check by itself: the schema version; its
 * constraints and the search column's triggers keep the rest sound.
 */
int
store_pg_check(const char *url, void (*say)(const char *, void *),
    void *arg, char *err, size_t errlen)
{
	struct store_pg_conn	 c;
	enum store_result	 r;
	PGresult		*res;
	char			 line[256];
	int			 version, problems;

	store_pg_configure(url);
	memset(&c, 0, sizeof(c));
	if (store_pg_connect(&c, err, errlen) == -1) {
		store_pg_drop(&c);
		return (-1);
	}
	problems = 0;
	res = PQexec(c.conn, "SELECT (SELECT max(version) FROM "
	    "schema_version), (SELECT count(*) FROM submissions), "
	    "(SELECT count(*) FROM jobs)");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		r = store_pg_failure(&c, res, __func__);
		(void)snprintf(err, errlen, "%s: cannot read the store (%d)",
		    url, (int)r);
		PQclear(res);
		store_pg_drop(&c);
		return (-1);
	}
	version = (int)store_pg_num(res, 0, 0);
	if (version != store_pg_nmigrations) {
		(void)snprintf(line, sizeof(line), "schema version %d, this "
		    "Formwork's is %d", version, store_pg_nmigrations);
		say(line, arg);
		problems++;
	} else {
		(void)snprintf(line, sizeof(line), "ok: schema version %d; "
		    "%s submissions, %s jobs", version, PQgetvalue(res, 0, 1),
		    PQgetvalue(res, 0, 2));
		say(line, arg);
	}
	PQclear(res);
	store_pg_drop(&c);
	return (problems);
}

void
store_pg_worker_open(void)
{
	char		err[256];

	if (store_pg_connect(store_pg_own(), err, sizeof(err)) == -1)
		kore_log(LOG_WARNING, "store: %s", err);
}

void
store_pg_writer_close(void)
{
	store_pg_close();
}

/* PostgreSQL tends its own write-ahead log. */
int
store_pg_log_needs_checkpoint(void)
{
	return (0);
}

void
store_pg_checkpoint(struct store_handle *h)
{
}

/*
 * A GIN index needs no merging by hand; after a bulk load what helps
 * is fresh statistics, so the planner picks the right index for the
 * list.
 */
void
store_pg_search_optimize(struct store_handle *h)
{
	(void)store_pg_do(store_pg_conn_of(h), PG_ANALYZE, NULL, NULL);
}

/* The calling thread's own connection goes (a worker's end). */
void
store_pg_close(void)
{
	if (store_pg_mine == NULL)
		return;
	store_pg_drop(store_pg_mine);
	kore_free(store_pg_mine);
	store_pg_mine = NULL;
}

int
store_pg_ping(void)
{
	enum store_result	 r;
	PGresult		*res;

	if ((res = store_pg_run(store_pg_own(), PG_PING, NULL, &r)) == NULL)
		return (0);
	PQclear(res);
	return (1);
}

struct store_handle *
store_pg_handle_new(void)
{
	return (kore_calloc(1, sizeof(struct store_pg_conn)));
}

void
store_pg_handle_free(struct store_handle *h)
{
	struct store_pg_conn	*c;

	if (h == NULL)
		return;
	c = (struct store_pg_conn *)(void *)h;
	store_pg_drop(c);
	kore_free(c);
}

struct store_pg_conn *
store_pg_conn_of(struct store_handle *h)
{
	if (h == NULL)
		return (store_pg_own());
	return ((struct store_pg_conn *)(void *)h);
}

struct store_pg_conn *
store_pg_own(void)
{
	if (store_pg_mine == NULL)
		store_pg_mine = kore_calloc(1, sizeof(*store_pg_mine));
	return (store_pg_mine);
}

/* ---- submissions ------------------------------------------------- */

static enum store_result
store_pg_prior(enum store_pg_stmt which, const char *form, const char *key,
    u_int64_t since, char *id, char *hash)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, form);
	store_pg_text(&p, key);
	if (which == PG_REPEAT_FIND)
		store_pg_int(&p, (int64_t)since);
	if ((res = store_pg_run(store_pg_own(), which, &p, &r)) == NULL)
		return (r);
	if (PQntuples(res) == 0) {
		r = STORE_NOT_FOUND;
	} else {
		store_pg_copy(res, 0, 0, id, TOKEN_ID_LEN + 1);
		store_pg_copy(res, 0, 1, hash, VALIDATE_HASH_LEN + 1);
		r = STORE_OK;
	}
	PQclear(res);
	return (r);
}

enum store_result
store_pg_key_find(const char *form, const char *key,
    char id[TOKEN_ID_LEN + 1], char hash[VALIDATE_HASH_LEN + 1])
{
	return (store_pg_prior(PG_KEY_FIND, form, key, 0, id, hash));
}

enum store_result
store_pg_repeat_find(const char *form, const char *repeat, u_int64_t now,
    char id[TOKEN_ID_LEN + 1], char hash[VALIDATE_HASH_LEN + 1])
{
	return (store_pg_prior(PG_REPEAT_FIND, form, repeat,
	    now > STORE_REPEAT_WINDOW_MS ? now - STORE_REPEAT_WINDOW_MS : 0,
	    id, hash));
}

enum store_result
store_pg_unique_check(const char *form, const char *field,
    const char *value)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	int64_t			 n;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, form);
	store_pg_text(&p, field);
	store_pg_text(&p, value);
	if ((r = store_pg_numbers(store_pg_own(), PG_UNIQUE_CHECK, &p, &n,
	    1)) != STORE_OK)
		return (r);
	return (n > 0 ? STORE_UNIQUE_TAKEN : STORE_OK);
}

enum store_result
store_pg_client_count(const char *client, u_int64_t since_ms,
    u_int64_t *count)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	int64_t			 n;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, client);
	store_pg_int(&p, (int64_t)since_ms);
	r = store_pg_numbers(store_pg_own(), PG_CLIENT_COUNT, &p, &n, 1);
	*count = (u_int64_t)n;
	return (r);
}

/* Reads the submission called id on c into rec. */
static enum store_result
store_pg_submission_read(struct store_pg_conn *c, const char *id,
    struct store_record *rec)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;

	memset(rec, 0, sizeof(*rec));
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, id);
	if ((res = store_pg_run(c, PG_SUB_GET, &p, &r)) == NULL)
		return (r);
	if (PQntuples(res) == 0) {
		r = STORE_NOT_FOUND;
	} else {
		store_pg_record_read(res, rec);
		r = STORE_OK;
	}
	PQclear(res);
	return (r);
}

enum store_result
store_pg_submission_get(const char *id, struct store_record *rec)
{
	return (store_pg_submission_read(store_pg_own(), id, rec));
}

enum store_result
store_pg_job_record(struct store_handle *h, const struct store_job *job,
    struct store_record *rec)
{
	return (store_pg_submission_read(store_pg_conn_of(h),
	    job->submission_id, rec));
}

static void
store_pg_record_read(const PGresult *res, struct store_record *rec)
{
	store_pg_copy(res, 0, 0, rec->id, sizeof(rec->id));
	store_pg_copy(res, 0, 1, rec->form, sizeof(rec->form));
	rec->data = kore_strdup(PQgetvalue(res, 0, 2));
	rec->spam = (int)store_pg_num(res, 0, 3);
	rec->version = (int)store_pg_num(res, 0, 4);
	rec->created_ms = (u_int64_t)store_pg_num(res, 0, 5);
	store_pg_copy(res, 0, 6, rec->review, sizeof(rec->review));
	store_pg_copy(res, 0, 7, rec->client, sizeof(rec->client));
	store_pg_copy(res, 0, 8, rec->actions, sizeof(rec->actions));
	rec->subject = PQgetisnull(res, 0, 9) ? NULL :
	    kore_strdup(PQgetvalue(res, 0, 9));
	store_pg_copy(res, 0, 10, rec->reply_to, sizeof(rec->reply_to));
}

/* ---- statements and connections ---------------------------------- */

void
store_pg_text(struct store_pg_params *p, const char *s)
{
	if (p->n < STORE_PG_PARAMS_MAX)
		p->v[p->n++] = s;
}

void
store_pg_int(struct store_pg_params *p, int64_t i)
{
	if (p->n >= STORE_PG_PARAMS_MAX)
		return;
	(void)snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, i);
	p->v[p->n] = p->num[p->n];
	p->n++;
}

PGresult *
store_pg_run(struct store_pg_conn *c, enum store_pg_stmt id,
    const struct store_pg_params *p, enum store_result *r)
{
	PGresult	*res;
	char		 name[16], err[256];
	ExecStatusType	 st;

	if (store_pg_connect(c, err, sizeof(err)) == -1) {
		kore_log(LOG_ERR, "store: %s", err);
		*r = STORE_UNWRITABLE;
		return (NULL);
	}
	if ((*r = store_pg_prepare(c, id)) != STORE_OK)
		return (NULL);
	(void)snprintf(name, sizeof(name), "s%d", (int)id);
	res = PQexecPrepared(c->conn, name, p ? p->n : 0, p ? p->v : NULL,
	    NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
		*r = store_pg_failure(c, res, name);
		PQclear(res);
		return (NULL);
	}
	*r = STORE_OK;
	return (res);
}

enum store_result
store_pg_prepare(struct store_pg_conn *c, enum store_pg_stmt id)
{
	enum store_result	 r;
	PGresult		*res;
	char			 name[16];

	if (c->prepared[id])
		return (STORE_OK);
	(void)snprintf(name, sizeof(name), "s%d", (int)id);
	res = PQprepare(c->conn, name, store_pg_sql[id], 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		r = store_pg_failure(c, res, name);
		PQclear(res);
		return (r);
	}
	PQclear(res);
	c->prepared[id] = 1;
	return (STORE_OK);
}

enum store_result
store_pg_do(struct store_pg_conn *c, enum store_pg_stmt id,
    const struct store_pg_params *p, u_int64_t *changed)
{
	enum store_result	 r;
	PGresult		*res;

	if ((res = store_pg_run(c, id, p, &r)) == NULL)
		return (r);
	if (changed != NULL)
		*changed = strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return (STORE_OK);
}

PGresult *
store_pg_query(struct store_pg_conn *c, const char *sql,
    const struct store_pg_params *p, enum store_result *r)
{
	PGresult	*res;
	char		 err[256];

	if (store_pg_connect(c, err, sizeof(err)) == -1) {
		kore_log(LOG_ERR, "store: %s", err);
		*r = STORE_UNWRITABLE;
		return (NULL);
	}
	res = PQexecParams(c->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		*r = store_pg_failure(c, res, __func__);
		PQclear(res);
		return (NULL);
	}
	*r = STORE_OK;
	return (res);
}

enum store_result
store_pg_begin(struct store_pg_conn *c)
{
	char		err[256];

	if (store_pg_connect(c, err, sizeof(err)) == -1) {
		kore_log(LOG_ERR, "store: %s", err);
		return (STORE_UNWRITABLE);
	}
	if (store_pg_exec(c->conn, "BEGIN", err, sizeof(err)) == -1) {
		kore_log(LOG_ERR, "store: %s", err);
		return (store_pg_failure(c, NULL, __func__));
	}
	return (STORE_OK);
}

enum store_result
store_pg_end(struct store_pg_conn *c, int ok)
{
	char		err[256];

	if (c->conn == NULL)
		return (STORE_UNWRITABLE);
	if (ok && store_pg_exec(c->conn, "COMMIT", err,
	    sizeof(err)) == 0)
		return (STORE_OK);
	if (ok)
		kore_log(LOG_ERR, "store: %s", err);
	if (PQtransactionStatus(c->conn) != PQTRANS_IDLE)
		(void)store_pg_exec(c->conn, "ROLLBACK", err,
		    sizeof(err));
	return (PQstatus(c->conn) == CONNECTION_OK ? STORE_ERROR :
	    store_pg_failure(c, NULL, __func__));
}

enum store_result
store_pg_numbers(struct store_pg_conn *c, enum store_pg_stmt id,
    const struct store_pg_params *p, int64_t *out, int n)
{
	enum store_result	 r;
	PGresult		*res;
	int			 i;

	memset(out, 0, (size_t)n * sizeof(*out));
	if ((res = store_pg_run(c, id, p, &r)) == NULL)
		return (r);
	for (i = 0; i < n && PQntuples(res) > 0 && i < PQnfields(res); i++)
		out[i] = store_pg_num(res, 0, i);
	PQclear(res);
	return (STORE_OK);
}

enum store_result
store_pg_each(struct store_pg_conn *c, enum store_pg_stmt id, const char *key,
    int first, void (*read)(const PGresult *, int, void *), void *arg)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;
	int			 i;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, key);
	if ((res = store_pg_run(c, id, &p, &r)) == NULL)
		return (r);
	if (first && PQntuples(res) == 0)
		r = STORE_NOT_FOUND;
	for (i = 0; i < PQntuples(res) && (!first || i == 0); i++)
		read(res, i, arg);
	PQclear(res);
	return (r);
}

void
store_pg_copy(const PGresult *res, int row, int col, char *out, size_t len)
{
	(void)snprintf(out, len, "%s", PQgetvalue(res, row, col));
}

int64_t
store_pg_num(const PGresult *res, int row, int col)
{
	return (strtoll(PQgetvalue(res, row, col), NULL, 10));
}

/*
 * Makes sure c has a working connection: a closed one (the server went
 * away while it was idle: PostgreSQL says so before it closes) is
 * opened anew, and a new one is migrated if no one has yet. -1 with
 * err while the database cannot be reached.
 */
int
store_pg_connect(struct store_pg_conn *c, char *err, size_t errlen)
{
	u_int64_t	 now;

	if (c->conn != NULL) {
		if (PQtransactionStatus(c->conn) != PQTRANS_IDLE ||
		    (PQconsumeInput(c->conn) && PQstatus(c->conn) ==
		    CONNECTION_OK))
			return (0);
		store_pg_drop(c);
	}
	if (store_pg_url == NULL) {
		(void)snprintf(err, errlen, "store_configure() was not called");
		return (-1);
	}
	now = store_pg_clock_ms();
	if (now < c->retry_at) {
		(void)snprintf(err, errlen, "the database is unreachable");
		return (-1);
	}
	if ((c->conn = store_pg_open(store_pg_url, err, errlen)) == NULL) {
		c->retry_at = now + STORE_PG_RETRY_MS;
		return (-1);
	}
	if (!__atomic_load_n(&store_pg_migrated, __ATOMIC_ACQUIRE)) {
		if (store_pg_migrate(c->conn, err, errlen) == -1) {
			store_pg_drop(c);
			c->retry_at = now + STORE_PG_RETRY_MS;
			return (-1);
		}
		__atomic_store_n(&store_pg_migrated, 1, __ATOMIC_RELEASE);
	}
	return (0);
}

PGconn *
store_pg_open(const char *url, char *err, size_t errlen)
{
	static const char *const keys[] = {
		"connect_timeout", "application_name", "gssencmode",
		"client_encoding", "dbname", NULL
	};
	const char	*values[6];
	PGconn		*conn;

	/*
	 * The URL's own settings come last and win. GSSAPI encryption is
	 * off unless the URL asks for it: probing for Kerberos credentials
	 * reads directories the workers' sandbox does not allow. Formwork
	 * speaks UTF-8 whatever the database's own encoding.
	 */
	values[0] = STORE_PG_CONNECT_S;
	values[1] = "formwork";
	values[2] = "disable";
	values[3] = "UTF8";
	values[4] = url;
	values[5] = NULL;
	conn = PQconnectdbParams(keys, values, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		(void)snprintf(err, errlen, "cannot connect to the database: "
		    "%s", conn ? PQerrorMessage(conn) : "out of memory");
		err[strcspn(err, "\n")] = '\0';
		PQfinish(conn);
		return (NULL);
	}
	(void)PQsetNoticeProcessor(conn, store_pg_quiet, NULL);
	return (conn);
}

void
store_pg_drop(struct store_pg_conn *c)
{
	if (c->conn != NULL)
		PQfinish(c->conn);
	c->conn = NULL;
	memset(c->prepared, 0, sizeof(c->prepared));
	c->listening = 0;
}

/*
 * Brings the schema up to date, each migration in its own transaction,
 * under a lock that a second node starting at the same time waits on.
 */
static int
store_pg_migrate(PGconn *conn, char *err, size_t errlen)
{
	PGresult	*res;
	char		 sql[128];
	int		 version, i, rc;

	if (store_pg_exec(conn, "SELECT pg_advisory_lock("
	    STORE_PG_MIGRATE_LOCK ")", err, errlen) == -1)
		return (-1);
	rc = -1;
	if (store_pg_exec(conn, "CREATE TABLE IF NOT EXISTS "
	    "schema_version (version INTEGER NOT NULL)", err, errlen) == -1)
		goto out;
	res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM "
	    "schema_version");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		(void)snprintf(err, errlen, "cannot read the schema version: "
		    "%s", PQerrorMessage(conn));
		PQclear(res);
		goto out;
	}
	version = (int)store_pg_num(res, 0, 0);
	PQclear(res);
	if (version > store_pg_nmigrations) {
		(void)snprintf(err, errlen, "the database's schema version %d "
		    "is newer than this Formwork knows (%d); upgrade Formwork",
		    version, store_pg_nmigrations);
		goto out;
	}
	for (i = version; i < store_pg_nmigrations; i++) {
		(void)snprintf(sql, sizeof(sql), "INSERT INTO schema_version "
		    "VALUES (%d)", i + 1);
		if (store_pg_exec(conn, "BEGIN", err, errlen) == -1)
			goto out;
		if (store_pg_exec(conn, store_pg_migrations[i], err,
		    errlen) == -1 ||
		    store_pg_exec(conn, sql, err, errlen) == -1 ||
		    store_pg_exec(conn, "COMMIT", err, errlen) == -1) {
			(void)store_pg_exec(conn, "ROLLBACK", NULL, 0);
			goto out;
		}
	}
	rc = 0;
out:
	(void)store_pg_exec(conn, "SELECT pg_advisory_unlock("
	    STORE_PG_MIGRATE_LOCK ")", NULL, 0);
	return (rc);
}

int
store_pg_exec(PGconn *conn, const char *sql, char *err,
    size_t errlen)
{
	PGresult	*res;
	ExecStatusType	 st;

	res = PQexec(conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		if (err != NULL)
			(void)snprintf(err, errlen, "%.40s...: %s", sql,
			    PQerrorMessage(conn));
		if (err != NULL)
			err[strcspn(err, "\n")] = '\0';
		PQclear(res);
		return (-1);
	}
	PQclear(res);
	return (0);
}

enum store_result
store_pg_failure(struct store_pg_conn *c, const PGresult *res,
    const char *what)
{
	const char	*state;

	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	kore_log(LOG_ERR, "store: %s: %s%s", what, c->conn ?
	    PQerrorMessage(c->conn) : "no connection",
	    state ? "" : " (no SQLSTATE)");
	if (c->conn == NULL || PQstatus(c->conn) != CONNECTION_OK) {
		store_pg_drop(c);
		return (STORE_UNWRITABLE);
	}
	if (state == NULL)
		return (STORE_ERROR);
	if (strcmp(state, "23505") == 0)
		return (STORE_KEY_USED);
	/* Serialization, deadlock, lock not available. */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return (STORE_BUSY);
	/* Connection, resources, shut down, read-only. */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
	    strncmp(state, "57", 2) == 0 || strcmp(state, "25006") == 0)
		return (STORE_UNWRITABLE);
	return (STORE_ERROR);
}

/* PostgreSQL's notices (an empty search's) are no news to the log. */
static void
store_pg_quiet(void *arg, const char *message)
{
}

static u_int64_t
store_pg_clock_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((u_int64_t)ts.tv_sec * 1000 + (u_int64_t)ts.tv_nsec / 1000000);
}

const struct store_backend store_pg_backend = {
	.name = "postgresql",
	.remote = 1,
	.init = store_pg_init,
	.epoch = store_pg_epoch,
	.epoch_bump = store_pg_epoch_bump,
	.lock = store_pg_lock,
	.backup = store_pg_backup,
	.restore = store_pg_restore,
	.check = store_pg_check,
	.configure = store_pg_configure,
	.worker_open = store_pg_worker_open,
	.writer_close = store_pg_writer_close,
	.log_needs_checkpoint = store_pg_log_needs_checkpoint,
	.checkpoint = store_pg_checkpoint,
	.search_optimize = store_pg_search_optimize,
	.close = store_pg_close,
	.ping = store_pg_ping,
	.submissions_insert = store_pg_submissions_insert,
	.batch_begin = store_pg_batch_begin,
	.batch_commit = store_pg_batch_commit,
	.batch_sync = store_pg_batch_sync,
	.key_find = store_pg_key_find,
	.repeat_find = store_pg_repeat_find,
	.unique_check = store_pg_unique_check,
	.client_count = store_pg_client_count,
	.submission_get = store_pg_submission_get,
	.handle_new = store_pg_handle_new,
	.handle_free = store_pg_handle_free,
	.job_claim = store_pg_job_claim,
	.job_finish = store_pg_job_finish,
	.job_release = store_pg_job_release,
	.job_record = store_pg_job_record,
	.endpoint_is_disabled = store_pg_endpoint_is_disabled,
	.endpoint_disable = store_pg_endpoint_disable,
	.autoreply_claim = store_pg_autoreply_claim,
	.alert_take = store_pg_alert_take,
	.alert_giveback = store_pg_alert_giveback,
	.jobs_wait = store_pg_jobs_wait,
	.job_counts = store_pg_job_counts,
	.job_statuses = store_pg_job_statuses,
	.user_add = store_pg_user_add,
	.user_get = store_pg_user_get,
	.user_each = store_pg_user_each,
	.user_role_set = store_pg_user_role_set,
	.user_pwhash_set = store_pg_user_pwhash_set,
	.user_delete = store_pg_user_delete,
	.session_add = store_pg_session_add,
	.session_get = store_pg_session_get,
	.session_touch = store_pg_session_touch,
	.session_delete = store_pg_session_delete,
	.login_failures = store_pg_login_failures,
	.login_failure_add = store_pg_login_failure_add,
	.login_failures_clear = store_pg_login_failures_clear,
	.rows_each = store_pg_rows_each,
	.cursor_valid = store_pg_cursor_valid,
	.review_counts = store_pg_review_counts,
	.reviews_each = store_pg_reviews_each,
	.review_set = store_pg_review_set,
	.jobs_retry = store_pg_jobs_retry,
	.job_resend = store_pg_job_resend,
	.jobs_failed_count = store_pg_jobs_failed_count,
	.deliveries_each = store_pg_deliveries_each,
	.submission_delete = store_pg_submission_delete,
	.audit_add = store_pg_audit_add,
	.audit_each = store_pg_audit_each,
	.export_add = store_pg_export_add,
	.export_finish = store_pg_export_finish,
	.exports_abandon = store_pg_exports_abandon,
	.export_get = store_pg_export_get,
	.prune = store_pg_prune,
};
