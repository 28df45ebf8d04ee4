/*
 * store_sqlite_admin.c: the admin desk's reviews, retries, deletions,
 * audit log, exports and prunes in SQLite (the list and its search are
 * in store_sqlite_search.c, users and sessions in store_sqlite_users.c).
 * Each change to a submission, and its audit line, is written in one
 * transaction, whose commit moves the result pages' counter
 * (store_tx_end). The statements here are prepared when used
 * (store_prepare), not kept per connection: the desk's requests are rare
 * next to submissions.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include "store/store_admin.h"
#include "store/store_sqlite.h"

static int	store_tx_begin(struct store_handle *);
static enum store_result store_tx_end(struct store_handle *, int);
static int	store_audit_insert(struct store_handle *, const char *,
		    const char *, const char *, const char *, const char *,
		    u_int64_t);

/* The caller's callback and argument, for the rows of store_rows_get(). */
struct store_review_each {
	void	(*cb)(const struct store_review *, void *);
	void	*arg;
};

struct store_delivery_each {
	void	(*cb)(const struct store_delivery *, void *);
	void	*arg;
};

static void
store_review_row(sqlite3_stmt *st, void *arg)
{
	struct store_review_each	*e = arg;
	struct store_review	 rv;

	rv.version = sqlite3_column_int(st, 0);
	store_copy_text(st, 1, rv.before, sizeof(rv.before));
	store_copy_text(st, 2, rv.state, sizeof(rv.state));
	rv.note = (const char *)sqlite3_column_text(st, 3);
	store_copy_text(st, 4, rv.user, sizeof(rv.user));
	rv.at_ms = (u_int64_t)sqlite3_column_int64(st, 5);
	e->cb(&rv, e->arg);
}

enum store_result
store_sqlite_reviews_each(const char *id,
    void (*cb)(const struct store_review *, void *), void *arg)
{
	struct store_review_each	e = { cb, arg };

	return (store_rows_get(NULL, "SELECT version, state_before, state, "
	    "note, user_name, at FROM reviews WHERE submission_id = ?1 "
	    "ORDER BY id", id, store_review_row, &e));
}

/* Fills in who changed c->id last, for the 409 page. */
static void
store_review_last(struct store_handle *h, struct store_review_change *c)
{
	sqlite3_stmt	*st;

	c->changed_by[0] = '\0';
	c->changed_ms = 0;
	if ((st = store_prepare(h, "SELECT user_name, at FROM reviews "
	    "WHERE submission_id = ?1 ORDER BY id DESC LIMIT 1")) == NULL)
		return;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		store_copy_text(st, 0, c->changed_by, sizeof(c->changed_by));
		c->changed_ms = (u_int64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
}

enum store_result
store_sqlite_review_set(struct store_review_change *c)
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	char			 before[16];
	int			 rc, spam, njobs;

	if (!store_tx_begin(h))
		return (STORE_BUSY);
	if ((st = store_prepare(h, "SELECT review, version, spam, (SELECT "
	    "count(*) FROM jobs WHERE submission_id = ?1) FROM submissions "
	    "WHERE id = ?1")) == NULL)
		return (store_tx_end(h, 0));
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return (store_tx_end(h, 0));
		(void)store_exec(h, ST_ROLLBACK);
		return (STORE_NOT_FOUND);
	}
	store_copy_text(st, 0, before, sizeof(before));
	c->current_version = sqlite3_column_int(st, 1);
	spam = sqlite3_column_int(st, 2);
	njobs = sqlite3_column_int(st, 3);
	sqlite3_finalize(st);
	(void)snprintf(c->current_state, sizeof(c->current_state), "%s",
	    before);

	if (c->version != -1 && c->version != c->current_version) {
		store_review_last(h, c);
		(void)store_exec(h, ST_ROLLBACK);
		return (STORE_CONFLICT);
	}

	if ((st = store_prepare(h, "UPDATE submissions SET review = ?2, "
	    "version = version + 1 WHERE id = ?1")) == NULL)
		return (store_tx_end(h, 0));
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->state, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (store_tx_end(h, 0));

	if ((st = store_prepare(h, "INSERT INTO reviews (submission_id, "
	    "version, state_before, state, note, user_name, at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")) == NULL)
		return (store_tx_end(h, 0));
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, c->current_version + 1);
	sqlite3_bind_text(st, 3, before, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->note, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)c->now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE ||
	    !store_audit_insert(h, c->user, "review", c->id, before, c->state,
	    c->now))
		return (store_tx_end(h, 0));

	/* Released from quarantine: its actions run now, once. */
	if (spam && njobs == 0 && strcmp(c->state, "spam") != 0 &&
	    store_jobs_write(h, c->id, c->jobs, c->njobs, c->now) != SQLITE_DONE)
		return (store_tx_end(h, 0));
	c->current_version++;
	return (store_tx_end(h, 1));
}

enum store_result
store_sqlite_jobs_retry(const char *id, const char *user, u_int64_t now,
    int *n)
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	char			 after[32];
	int			 rc;

	*n = 0;
	if (!store_tx_begin(h))
		return (STORE_BUSY);
	/* A retry keeps the delivery id: the same webhook-id, Message-ID. */
	if ((st = store_prepare(h, "UPDATE jobs SET state = 'queued', "
	    "attempts = 0, run_at = ?2, lease_until = 0, alerted_at = NULL "
	    "WHERE submission_id = ?1 AND state = 'failed'")) == NULL)
		return (store_tx_end(h, 0));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (store_tx_end(h, 0));
	*n = sqlite3_changes(h->conn);
	(void)snprintf(after, sizeof(after), "%d queued again", *n);
	if (!store_audit_insert(h, user, "retry", id, "failed", after, now))
		return (store_tx_end(h, 0));
	return (store_tx_end(h, 1));
}

enum store_result
store_sqlite_job_resend(const char *id, int64_t job, const char *user,
    u_int64_t now)
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	char			 before[TOKEN_ID_LEN + 5];
	char			 delivery[TOKEN_ID_LEN + 5];
	char			 after[TOKEN_ID_LEN + 64];
	int			 rc;

	if (!store_tx_begin(h))
		return (STORE_BUSY);
	if ((st = store_prepare(h, "SELECT delivery_id, kind FROM jobs "
	    "WHERE id = ?1 AND submission_id = ?2 AND state = 'done'")) ==
	    NULL)
		return (store_tx_end(h, 0));
	sqlite3_bind_int64(st, 1, job);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return (store_tx_end(h, 0));
		(void)store_exec(h, ST_ROLLBACK);
		return (STORE_NOT_FOUND);
	}
	store_copy_text(st, 0, before, sizeof(before));
	(void)snprintf(delivery, sizeof(delivery), "msg_");
	token_id_new(delivery + 4);
	(void)snprintf(after, sizeof(after), "%s again as %s",
	    (const char *)sqlite3_column_text(st, 1), delivery);
	sqlite3_finalize(st);

	if ((st = store_prepare(h, "UPDATE jobs SET state = 'queued', "
	    "attempts = 0, run_at = ?2, lease_until = 0, delivery_id = ?3, "
	    "last_error = NULL, finished_at = NULL WHERE id = ?1")) == NULL)
		return (store_tx_end(h, 0));
	sqlite3_bind_int64(st, 1, job);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	sqlite3_bind_text(st, 3, delivery, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE ||
	    !store_audit_insert(h, user, "resend", id, before, after, now))
		return (store_tx_end(h, 0));
	return (store_tx_end(h, 1));
}

enum store_result
store_sqlite_jobs_failed_count(u_int64_t *n)
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	int			 rc;

	*n = 0;
	if ((st = store_prepare(h, "SELECT count(*) FROM jobs "
	    "WHERE state = 'failed'")) == NULL)
		return (STORE_ERROR);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*n = (u_int64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW ? STORE_OK : store_result_of(h, rc));
}

static void
store_delivery_row(sqlite3_stmt *st, void *arg)
{
	struct store_delivery_each	*e = arg;
	struct store_delivery		 d;

	d.job = sqlite3_column_int64(st, 0);
	d.action = sqlite3_column_int(st, 1);
	store_copy_text(st, 2, d.kind, sizeof(d.kind));
	d.attempt = sqlite3_column_int(st, 3);
	store_copy_text(st, 4, d.delivery_id, sizeof(d.delivery_id));
	d.started_ms = (u_int64_t)sqlite3_column_int64(st, 5);
	d.duration_ms = (u_int64_t)sqlite3_column_int64(st, 6);
	store_copy_text(st, 7, d.outcome, sizeof(d.outcome));
	d.code = sqlite3_column_int(st, 8);
	d.error = (const char *)sqlite3_column_text(st, 9);
	d.response = (const char *)sqlite3_column_text(st, 10);
	e->cb(&d, e->arg);
}

enum store_result
store_sqlite_deliveries_each(const char *id,
    void (*cb)(const struct store_delivery *, void *), void *arg)
{
	struct store_delivery_each	e = { cb, arg };

	return (store_rows_get(NULL, "SELECT d.job_id, j.action, j.kind, "
	    "d.attempt, d.delivery_id, d.started_at, d.duration_ms, "
	    "d.outcome, d.code, d.error, d.response FROM jobs j "
	    "JOIN deliveries d ON d.job_id = j.id "
	    "WHERE j.submission_id = ?1 ORDER BY d.started_at, d.id", id,
	    store_delivery_row, &e));
}

enum store_result
store_sqlite_submission_delete(const char *id, const char *user, u_int64_t now)
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	int			 rc;

	if (!store_tx_begin(h))
		return (STORE_BUSY);
	/* The audit line keeps what was deleted. */
	if ((st = store_prepare(h, "INSERT INTO audit (at, user_name, action, "
	    "subject, before, after) SELECT ?2, ?3, 'delete', id, "
	    "form || ' ' || data, '' FROM submissions WHERE id = ?1")) == NULL)
		return (store_tx_end(h, 0));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return (store_tx_end(h, 0));
	if (sqlite3_changes(h->conn) == 0) {
		(void)store_exec(h, ST_ROLLBACK);
		return (STORE_NOT_FOUND);
	}
	if ((st = store_prepare(h, "DELETE FROM submissions WHERE id = ?1")) ==
	    NULL)
		return (store_tx_end(h, 0));
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (store_tx_end(h, rc == SQLITE_DONE));
}

enum store_result
store_sqlite_audit_add(const char *user, const char *action,
    const char *subject, const char *before, const char *after, u_int64_t now)
{
	struct store_handle	*h = store_reader_handle();

	return (store_audit_insert(h, user, action, subject, before, after,
	    now) ? STORE_OK : STORE_ERROR);
}

enum store_result
store_sqlite_audit_each(int64_t before_id, size_t limit,
    void (*cb)(const struct store_audit *, void *), void *arg)
{
	struct store_handle	*h = store_reader_handle();
	struct store_audit	 a;
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = store_prepare(h, "SELECT id, at, user_name, action, subject, "
	    "before, after FROM audit WHERE ?1 = 0 OR id < ?1 "
	    "ORDER BY id DESC LIMIT ?2")) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_int64(st, 1, before_id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		a.id = sqlite3_column_int64(st, 0);
		a.at_ms = (u_int64_t)sqlite3_column_int64(st, 1);
		store_copy_text(st, 2, a.user, sizeof(a.user));
		store_copy_text(st, 3, a.action, sizeof(a.action));
		store_copy_text(st, 4, a.subject, sizeof(a.subject));
		a.before = (const char *)sqlite3_column_text(st, 5);
		a.after = (const char *)sqlite3_column_text(st, 6);
		cb(&a, arg);
	}
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

enum store_result
store_sqlite_export_add(const char *id, const char *user, u_int64_t now)
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = store_prepare(h, "INSERT INTO exports (id, user_name, "
	    "created_at) VALUES (?1, ?2, ?3)")) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

enum store_result
store_sqlite_export_finish(struct store_handle *h, const char *id, int ok,
    u_int64_t rows, const char *error, u_int64_t now)
{
	sqlite3_stmt	*st;
	int		 rc;

	h = store_handle_or_reader(h);
	if ((st = store_prepare(h, "UPDATE exports SET state = ?2, rows = ?3, "
	    "error = ?4, finished_at = ?5 WHERE id = ?1")) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ok ? "done" : "failed", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)rows);
	sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

enum store_result
store_sqlite_exports_abandon(struct store_handle *h, u_int64_t now)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_prepare(h, "UPDATE exports SET state = 'failed', "
	    "error = 'Formwork restarted while it ran; export again', "
	    "finished_at = ?1 WHERE state = 'running'")) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

struct store_export_row {
	char		*state;
	u_int64_t	*rows;
	char		*error;
};

static void
store_export_read(sqlite3_stmt *st, void *arg)
{
	struct store_export_row	*e = arg;

	store_copy_text(st, 0, e->state, 16);
	*e->rows = (u_int64_t)sqlite3_column_int64(st, 1);
	store_copy_text(st, 2, e->error, 256);
}

enum store_result
store_sqlite_export_get(const char *id, char state[16], u_int64_t *rows,
    char error[256])
{
	struct store_export_row	e = { state, rows, error };

	return (store_row_get(NULL, "SELECT state, rows, error FROM exports "
	    "WHERE id = ?1", id, store_export_read, &e));
}

enum store_result
store_sqlite_prune(struct store_handle *h, u_int64_t before_ms,
    u_int64_t session_idle_before_ms, struct store_prune *out)
{
	static const char *const sql[] = {
		"DELETE FROM submissions WHERE created_at < ?1",
		"DELETE FROM sessions WHERE seen_at < ?2",
		"DELETE FROM login_failures WHERE at < ?2",
	};
	u_int64_t	*counts[] = {
		&out->submissions, &out->sessions, &out->login_failures,
	};
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc;

	memset(out, 0, sizeof(*out));
	if (!store_tx_begin(h))
		return (STORE_BUSY);
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((st = store_prepare(h, sql[i])) == NULL)
			return (store_tx_end(h, 0));
		if (sqlite3_bind_parameter_count(st) == 1)
			sqlite3_bind_int64(st, 1, (sqlite3_int64)before_ms);
		else
			sqlite3_bind_int64(st, 2,
			    (sqlite3_int64)session_idle_before_ms);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return (store_tx_end(h, 0));
		*counts[i] = (u_int64_t)sqlite3_changes(h->conn);
	}
	return (store_tx_end(h, 1));
}

static int
store_tx_begin(struct store_handle *h)
{
	return (store_exec(h, ST_BEGIN) == SQLITE_DONE);
}

/* Commits when ok (else rolls back); the result says how it went. */
static enum store_result
store_tx_end(struct store_handle *h, int ok)
{
	int		rc;

	if (ok && (rc = store_exec(h, ST_COMMIT)) == SQLITE_DONE) {
		/* Result pages kept as unchanged must be checked again. */
		store_sqlite_epoch_bump();
		return (STORE_OK);
	}
	if (ok)
		(void)store_result_of(h, rc);
	else if (h->conn != NULL)
		kore_log(LOG_NOTICE, "store: change undone: %s",
		    sqlite3_errmsg(h->conn));
	(void)store_exec(h, ST_ROLLBACK);
	return (STORE_ERROR);
}

static int
store_audit_insert(struct store_handle *h, const char *user,
    const char *action, const char *subject, const char *before,
    const char *after, u_int64_t now)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_prepare(h, "INSERT INTO audit (at, user_name, action, "
	    "subject, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")) ==
	    NULL)
		return (0);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, before, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, after, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc == SQLITE_DONE);
}
