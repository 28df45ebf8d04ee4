/*
 * ref_pg.c: the POST ceiling on PostgreSQL for tests/bench. A minimal
 * Kore handler that does what a form POST needs the ordinary way with
 * Kore's own asynchronous pgsql, and nothing more:
 *
 *   POST /f/contact  reads the contact form as ref_sqlite.c does
 *                    (ref_form.h), inserts one row with one INSERT of
 *                    bound values in its own transaction (autocommit:
 *                    a commit per request, durable as the database's
 *                    synchronous_commit says), without blocking the event
 *                    loop (the request sleeps until PostgreSQL answers),
 *                    and answers 303 to /s/<id>. 422 for an invalid form.
 *   GET /healthz     "ok\n" (readiness check of the harness)
 *
 * The table is shaped like the app's `submissions` (the columns this
 * insert fills). The database is REF_DB (a postgresql:// URL); Kore
 * keeps up to REF_CONNS connections per worker (pgsql_conn_max) and
 * queues requests beyond them.
 *
 * Built by tests/bench/run.sh: cc $(KORE_FEATURES) -fPIC -shared ... -lpq
 */

#include "ref_form.h"

#include <kore/pgsql.h>
#include <kore/seccomp.h>

#define REF_CONNS	16

int	ref_post(struct http_request *);
int	ref_healthz(struct http_request *);
void	kore_parent_configure(int, char **);
void	kore_seccomp_hook(void);

/* What libpq needs beyond Kore's own pgsql filter (seen with tracing). */
static struct sock_filter filter_pg[] = {
	KORE_SYSCALL_ALLOW(newfstatat),		/* each connect: ~/.pgpass */
	KORE_SYSCALL_ALLOW(restart_syscall),	/* poll() after a signal */
};

static const char *ref_schema =
	"CREATE TABLE IF NOT EXISTS submissions ("
	"  id          TEXT COLLATE \"C\" PRIMARY KEY,"
	"  form        TEXT NOT NULL,"
	"  submit_key  TEXT NOT NULL,"
	"  values_hash TEXT NOT NULL,"
	"  data        TEXT NOT NULL,"
	"  client      TEXT NOT NULL DEFAULT '',"
	"  spam        INTEGER NOT NULL DEFAULT 0,"
	"  review      TEXT NOT NULL DEFAULT 'new',"
	"  version     INTEGER NOT NULL DEFAULT 1,"
	"  created_at  BIGINT NOT NULL,"
	"  UNIQUE (form, submit_key)"
	");"
	"CREATE INDEX IF NOT EXISTS submissions_created "
	"  ON submissions (created_at, id);"
	"CREATE INDEX IF NOT EXISTS submissions_client "
	"  ON submissions (client, created_at);";

static const char *ref_insert =
	"INSERT INTO submissions (id, form, submit_key, values_hash, data, "
	"client, spam, review, created_at) "
	"VALUES ($1, 'contact', $2, $3, $4, $5, 0, 'new', $6)";

/* A request's state across its sleeps. */
struct ref_state {
	struct kore_pgsql	 sql;
	struct ref_contact	 c;
	char			 created[24];
	int			 sent;
};

static void	ref_state_free(struct http_request *);

void
kore_seccomp_hook(void)
{
	kore_seccomp_filter("pg", filter_pg, KORE_FILTER_LEN(filter_pg));
}

/* Parent: creates the table once; the workers' pool uses the URL. */
void
kore_parent_configure(int argc, char **argv)
{
	PGconn		*conn;
	PGresult	*res;
	char		 url[1024];

	conn = PQconnectdb(ref_db());
	if (PQstatus(conn) != CONNECTION_OK)
		fatal("ref_pg: %s", PQerrorMessage(conn));
	res = PQexec(conn, ref_schema);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		fatal("ref_pg: %s", PQerrorMessage(conn));
	PQclear(res);
	PQfinish(conn);
	/* As the app does: no Kerberos probing inside the sandbox. */
	(void)snprintf(url, sizeof(url), "%s%sgssencmode=disable",
	    ref_db(), strchr(ref_db(), '?') ? "&" : "?");
	pgsql_conn_max = REF_CONNS;
	if (!kore_pgsql_register("ref", url))
		fatal("ref_pg: cannot register the database");
}

int
ref_post(struct http_request *req)
{
	struct ref_state	*st;

	if ((st = http_state_get(req)) == NULL) {
		st = http_state_create(req, sizeof(*st), ref_state_free);
		if (!ref_contact_read(req, &st->c)) {
			st->sent = -1;
			return (KORE_RESULT_OK);
		}
		kore_pgsql_init(&st->sql);
		kore_pgsql_bind_request(&st->sql, req);
	}
	if (!st->sent) {
		/* No connection free: queued, asleep until one is. */
		if (!kore_pgsql_setup(&st->sql, "ref", KORE_PGSQL_ASYNC)) {
			if (st->sql.state == KORE_PGSQL_STATE_INIT)
				return (KORE_RESULT_RETRY);
			kore_pgsql_logerror(&st->sql);
			ref_answer(req, 500, "no database\n");
			return (KORE_RESULT_OK);
		}
		(void)snprintf(st->created, sizeof(st->created), "%llu",
		    (unsigned long long)st->c.created_ms);
		kore_buf_stringify(&st->c.data, NULL);
		if (!kore_pgsql_query_params(&st->sql, ref_insert, 0, 6,
		    KORE_PGSQL_PARAM_TEXT(st->c.id),
		    KORE_PGSQL_PARAM_TEXT(st->c.key),
		    KORE_PGSQL_PARAM_TEXT(st->c.hash),
		    KORE_PGSQL_PARAM_TEXT((const char *)st->c.data.data),
		    KORE_PGSQL_PARAM_TEXT(st->c.client),
		    KORE_PGSQL_PARAM_TEXT(st->created))) {
			kore_pgsql_logerror(&st->sql);
			ref_answer(req, 500, "insert failed\n");
			return (KORE_RESULT_OK);
		}
		st->sent = 1;
		return (KORE_RESULT_RETRY);
	}

	switch (st->sql.state) {
	case KORE_PGSQL_STATE_WAIT:
		return (KORE_RESULT_RETRY);
	case KORE_PGSQL_STATE_DONE:
		/* Committed: the connection goes back to the pool. */
		kore_pgsql_continue(&st->sql);
		ref_see_other(req, &st->c);
		return (KORE_RESULT_OK);
	case KORE_PGSQL_STATE_COMPLETE:
		ref_see_other(req, &st->c);
		return (KORE_RESULT_OK);
	case KORE_PGSQL_STATE_ERROR:
	default:
		kore_pgsql_logerror(&st->sql);
		ref_answer(req, 500, "insert failed\n");
		return (KORE_RESULT_OK);
	}
}

static void
ref_state_free(struct http_request *req)
{
	struct ref_state	*st = http_state_get(req);

	if (st == NULL || st->sent == -1)
		return;
	kore_pgsql_cleanup(&st->sql);
	kore_buf_cleanup(&st->c.data);
}

int
ref_healthz(struct http_request *req)
{
	ref_answer(req, 200, "ok\n");
	return (KORE_RESULT_OK);
}
