/*
 * store_sqlite_users.c: users, sessions and failed logins in SQLite.
 * These statements run rarely (a login, a formworkctl command) or are
 * cheap to prepare, so each is prepared when used.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include "store/store_admin.h"
#include "store/store_sqlite.h"

static enum store_result	store_run(struct store_handle *, const char *,
				    const char *, const char *, int64_t, int *);

/*
 * Runs a statement with up to two text and one integer parameter (NULL
 * text binds nothing) and no rows; *changes (if set) counts the rows it
 * changed.
 */
static enum store_result
store_run(struct store_handle *h, const char *sql, const char *a,
    const char *b, int64_t i, int *changes)
{
	sqlite3_stmt	*st;
	int		 rc;

	h = store_handle_or_reader(h);
	if ((st = store_prepare(h, sql)) == NULL)
		return (STORE_ERROR);
	if (a != NULL)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, i);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return (STORE_KEY_USED);
	if (rc != SQLITE_DONE)
		return (store_result_of(h, rc));
	if (changes != NULL)
		*changes = sqlite3_changes(h->conn);
	return (STORE_OK);
}

enum store_result
store_sqlite_user_add(struct store_handle *h, const char *name,
    enum store_role role, const char *pwhash, u_int64_t now)
{
	sqlite3_stmt	*st;
	int		 rc;

	h = store_handle_or_reader(h);
	if ((st = store_prepare(h, "INSERT INTO users (name, role, pwhash, "
	    "created_at) VALUES (?1, ?2, ?3, ?4)")) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, store_role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, pwhash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT)
		return (STORE_KEY_USED);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

static void
store_user_read(sqlite3_stmt *st, void *arg)
{
	struct store_user	*u = arg;
	char			 role[16];

	u->id = sqlite3_column_int64(st, 0);
	store_copy_text(st, 1, u->name, sizeof(u->name));
	store_copy_text(st, 2, role, sizeof(role));
	u->role = store_role_parse(role);
	store_copy_text(st, 3, u->pwhash, sizeof(u->pwhash));
	u->created_ms = (u_int64_t)sqlite3_column_int64(st, 4);
}

enum store_result
store_sqlite_user_get(struct store_handle *h, const char *name,
    struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	return (store_row_get(h, "SELECT id, name, role, pwhash, created_at "
	    "FROM users WHERE name = ?1", name, store_user_read, u));
}

enum store_result
store_sqlite_user_each(struct store_handle *h,
    void (*cb)(const struct store_user *, void *), void *arg)
{
	struct store_user	 u;
	sqlite3_stmt		*st;
	int			 rc;

	h = store_handle_or_reader(h);
	if ((st = store_prepare(h, "SELECT id, name, role, pwhash, created_at "
	    "FROM users ORDER BY name")) == NULL)
		return (STORE_ERROR);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_user_read(st, &u);
		cb(&u, arg);
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

enum store_result
store_sqlite_user_role_set(struct store_handle *h, const char *name,
    enum store_role role)
{
	enum store_result	r;
	int			n = 0;

	r = store_run(h, "UPDATE users SET role = ?2 WHERE name = ?1", name,
	    store_role_name(role), 0, &n);
	return (r == STORE_OK && n == 0 ? STORE_NOT_FOUND : r);
}

enum store_result
store_sqlite_user_pwhash_set(struct store_handle *h, const char *name,
    const char *pwhash)
{
	enum store_result	r;
	int			n = 0;

	r = store_run(h, "UPDATE users SET pwhash = ?2 WHERE name = ?1", name,
	    pwhash, 0, &n);
	if (r != STORE_OK)
		return (r);
	if (n == 0)
		return (STORE_NOT_FOUND);
	/* A new password ends every session the old one opened. */
	return (store_run(h, "DELETE FROM sessions WHERE user_id = "
	    "(SELECT id FROM users WHERE name = ?1)", name, NULL, 0, NULL));
}

enum store_result
store_sqlite_user_delete(struct store_handle *h, const char *name)
{
	enum store_result	r;
	int			n = 0;

	/* Sessions go with the user (ON DELETE CASCADE). */
	r = store_run(h, "DELETE FROM users WHERE name = ?1", name, NULL, 0,
	    &n);
	return (r == STORE_OK && n == 0 ? STORE_NOT_FOUND : r);
}

enum store_result
store_sqlite_session_add(const char *token_hash, int64_t user_id,
    const char *client, u_int64_t now)
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = store_prepare(h, "INSERT INTO sessions (token_hash, "
	    "user_id, client, created_at, seen_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?4)")) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, token_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, user_id);
	sqlite3_bind_text(st, 3, client, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

static void
store_session_read(sqlite3_stmt *st, void *arg)
{
	struct store_session	*s = arg;
	char			 role[16];

	s->user_id = sqlite3_column_int64(st, 0);
	store_copy_text(st, 1, s->user, sizeof(s->user));
	store_copy_text(st, 2, role, sizeof(role));
	s->role = store_role_parse(role);
	s->created_ms = (u_int64_t)sqlite3_column_int64(st, 3);
	s->seen_ms = (u_int64_t)sqlite3_column_int64(st, 4);
}

enum store_result
store_sqlite_session_get(const char *token_hash, struct store_session *s)
{
	memset(s, 0, sizeof(*s));
	return (store_row_get(NULL, "SELECT u.id, u.name, u.role, "
	    "s.created_at, s.seen_at FROM sessions s JOIN users u "
	    "ON u.id = s.user_id WHERE s.token_hash = ?1", token_hash,
	    store_session_read, s));
}

enum store_result
store_sqlite_session_touch(const char *token_hash, u_int64_t now)
{
	return (store_run(NULL, "UPDATE sessions SET seen_at = ?3 "
	    "WHERE token_hash = ?1", token_hash, NULL, (int64_t)now, NULL));
}

enum store_result
store_sqlite_session_delete(const char *token_hash)
{
	return (store_run(NULL, "DELETE FROM sessions WHERE token_hash = ?1",
	    token_hash, NULL, 0, NULL));
}

enum store_result
store_sqlite_login_failures(const char *subject, u_int64_t since,
    u_int64_t *count, u_int64_t *oldest)
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	int			 rc;

	*count = *oldest = 0;
	if ((st = store_prepare(h, "SELECT count(*), coalesce(min(at), 0) "
	    "FROM login_failures WHERE subject = ?1 AND at >= ?2")) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, subject, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*count = (u_int64_t)sqlite3_column_int64(st, 0);
		*oldest = (u_int64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW ? STORE_OK : store_result_of(h, rc));
}

enum store_result
store_sqlite_login_failure_add(const char *subject, u_int64_t now)
{
	return (store_run(NULL, "INSERT INTO login_failures (subject, at) "
	    "VALUES (?1, ?3)", subject, NULL, (int64_t)now, NULL));
}

enum store_result
store_sqlite_login_failures_clear(const char *subject)
{
	return (store_run(NULL, "DELETE FROM login_failures "
	    "WHERE subject = ?1", subject, NULL, 0, NULL));
}
