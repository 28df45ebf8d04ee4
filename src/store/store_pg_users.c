/*
 * store_pg_users.c: users, sessions and failed logins in PostgreSQL.
 * Shared by every node, so a session opened on one is valid on all, a
 * user deleted on one is gone everywhere, and failed logins count
 * across nodes (the login throttle reads them here).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "store/store_pg.h"

/* A statement with one text value that changes rows: NOT_FOUND if none. */
static enum store_result
store_pg_change(struct store_handle *h, enum store_pg_stmt id, const char *a,
    const char *b)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	u_int64_t		 n;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, a);
	if (b != NULL)
		store_pg_text(&p, b);
	n = 0;
	r = store_pg_do(store_pg_conn_of(h), id, &p, &n);
	return (r == STORE_OK && n == 0 ? STORE_NOT_FOUND : r);
}

enum store_result
store_pg_user_add(struct store_handle *h, const char *name,
    enum store_role role, const char *pwhash, u_int64_t now)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, name);
	store_pg_text(&p, store_role_name(role));
	store_pg_text(&p, pwhash);
	store_pg_int(&p, (int64_t)now);
	return (store_pg_do(store_pg_conn_of(h), PG_USER_ADD, &p, NULL));
}

static void
store_pg_user_read(const PGresult *res, int row, void *arg)
{
	struct store_user	*u = arg;

	u->id = store_pg_num(res, row, 0);
	store_pg_copy(res, row, 1, u->name, sizeof(u->name));
	u->role = store_role_parse(PQgetvalue(res, row, 2));
	store_pg_copy(res, row, 3, u->pwhash, sizeof(u->pwhash));
	u->created_ms = (u_int64_t)store_pg_num(res, row, 4);
}

enum store_result
store_pg_user_get(struct store_handle *h, const char *name,
    struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	return (store_pg_each(store_pg_conn_of(h), PG_USER_GET, name, 1,
	    store_pg_user_read, u));
}

enum store_result
store_pg_user_each(struct store_handle *h,
    void (*cb)(const struct store_user *, void *), void *arg)
{
	struct store_user	 u;
	enum store_result	 r;
	PGresult		*res;
	int			 i;

	if ((res = store_pg_run(store_pg_conn_of(h), PG_USER_EACH, NULL,
	    &r)) == NULL)
		return (r);
	for (i = 0; i < PQntuples(res); i++) {
		store_pg_user_read(res, i, &u);
		cb(&u, arg);
	}
	PQclear(res);
	return (STORE_OK);
}

enum store_result
store_pg_user_role_set(struct store_handle *h, const char *name,
    enum store_role role)
{
	return (store_pg_change(h, PG_USER_ROLE, name, store_role_name(role)));
}

enum store_result
store_pg_user_pwhash_set(struct store_handle *h, const char *name,
    const char *pwhash)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	int64_t			 n;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, name);
	store_pg_text(&p, pwhash);
	if ((r = store_pg_numbers(store_pg_conn_of(h), PG_USER_PWHASH, &p,
	    &n, 1)) != STORE_OK)
		return (r);
	return (n > 0 ? STORE_OK : STORE_NOT_FOUND);
}

enum store_result
store_pg_user_delete(struct store_handle *h, const char *name)
{
	return (store_pg_change(h, PG_USER_DELETE, name, NULL));
}

enum store_result
store_pg_session_add(const char *token_hash, int64_t user_id,
    const char *client, u_int64_t now)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, token_hash);
	store_pg_int(&p, user_id);
	store_pg_text(&p, client);
	store_pg_int(&p, (int64_t)now);
	return (store_pg_do(store_pg_own(), PG_SESSION_ADD, &p, NULL));
}

static void
store_pg_session_read(const PGresult *res, int row, void *arg)
{
	struct store_session	*s = arg;

	s->user_id = store_pg_num(res, row, 0);
	store_pg_copy(res, row, 1, s->user, sizeof(s->user));
	s->role = store_role_parse(PQgetvalue(res, row, 2));
	s->created_ms = (u_int64_t)store_pg_num(res, row, 3);
	s->seen_ms = (u_int64_t)store_pg_num(res, row, 4);
}

enum store_result
store_pg_session_get(const char *token_hash, struct store_session *s)
{
	memset(s, 0, sizeof(*s));
	return (store_pg_each(store_pg_own(), PG_SESSION_GET, token_hash, 1,
	    store_pg_session_read, s));
}

enum store_result
store_pg_session_touch(const char *token_hash, u_int64_t now)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, token_hash);
	store_pg_int(&p, (int64_t)now);
	return (store_pg_do(store_pg_own(), PG_SESSION_TOUCH, &p, NULL));
}

enum store_result
store_pg_session_delete(const char *token_hash)
{
	enum store_result	r;

	r = store_pg_change(NULL, PG_SESSION_DELETE, token_hash, NULL);
	return (r == STORE_NOT_FOUND ? STORE_OK : r);
}

enum store_result
store_pg_login_failures(const char *subject, u_int64_t since,
    u_int64_t *count, u_int64_t *oldest)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	int64_t			 n[2];

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, subject);
	store_pg_int(&p, (int64_t)since);
	r = store_pg_numbers(store_pg_own(), PG_LOGIN_FAILURES, &p, n, 2);
	*count = (u_int64_t)n[0];
	*oldest = (u_int64_t)n[1];
	return (r);
}

enum store_result
store_pg_login_failure_add(const char *subject, u_int64_t now)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, subject);
	store_pg_int(&p, (int64_t)now);
	return (store_pg_do(store_pg_own(), PG_LOGIN_FAILURE_ADD, &p, NULL));
}

enum store_result
store_pg_login_failures_clear(const char *subject)
{
	enum store_result	r;

	r = store_pg_change(NULL, PG_LOGIN_FAILURES_CLEAR, subject, NULL);
	return (r == STORE_NOT_FOUND ? STORE_OK : r);
}
