/*
 * store_pg_admin.c: the admin desk's part of the store in PostgreSQL:
 * the list and its search, reviews, retries, deletions, the audit log,
 * exports and prunes.
 *
 * The list is one query built from fixed clauses (every value bound),
 * newest first, paged by keyset on (created_at, id), whatever the
 * filters: the cursor is "<created_at>.<id>" of the row a page ended
 * on. A search is a condition like the others (the row's tsvector
 * matches every word, fw_search_query): PostgreSQL's planner chooses
 * between walking the date index and checking each row, and collecting
 * the GIN index's matches first, by how many rows it expects to match.
 *
 * Each change to a submission, its audit line and the move of the
 * result pages' counter (the epoch row) are one transaction; a review
 * locks the submission's row first, so two admins on two nodes take
 * turns and the second is told of the first's change (409).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "store/store_pg.h"

static enum store_result store_pg_change_end(struct store_pg_conn *,
		    enum store_result);
static enum store_result store_pg_audit_write(struct store_pg_conn *,
		    const char *, const char *, const char *, const char *,
		    const char *, u_int64_t);
static int	store_pg_cursor_parse(const char *, u_int64_t *, char *);
static int	store_pg_has_words(const char *);

enum store_result
store_pg_rows_each(struct store_handle *h, const struct store_filter *f,
    size_t limit, int (*cb)(const struct store_row *, void *), void *arg)
{
	struct store_pg_params	 p;
	struct store_row	 row;
	struct kore_buf		 sql;
	enum store_result	 r;
	PGresult		*res;
	u_int64_t		 after_ms;
	char			 after_id[TOKEN_ID_LEN + 1];
	int			 i;

	if (f->after != NULL &&
	    store_pg_cursor_parse(f->after, &after_ms, after_id) == -1)
		return (STORE_ERROR);
	memset(&p, 0, sizeof(p));
	kore_buf_init(&sql, 512);
	kore_buf_appendf(&sql, "SELECT id, form, review, actions, created_at, "
	    "data FROM submissions WHERE true");
	/* Each clause binds the next value: $n is the count so far. */
	if (f->form != NULL) {
		store_pg_text(&p, f->form);
		kore_buf_appendf(&sql, " AND form = $%d", p.n);
	}
	if (f->review != NULL) {
		store_pg_text(&p, f->review);
		kore_buf_appendf(&sql, " AND review = $%d", p.n);
	}
	if (f->actions != NULL) {
		store_pg_text(&p, f->actions);
		kore_buf_appendf(&sql, " AND actions = $%d", p.n);
	}
	if (f->from_ms != 0) {
		store_pg_int(&p, (int64_t)f->from_ms);
		kore_buf_appendf(&sql, " AND created_at >= $%d", p.n);
	}
	if (f->to_ms != 0) {
		store_pg_int(&p, (int64_t)f->to_ms);
		kore_buf_appendf(&sql, " AND created_at < $%d", p.n);
	}
	if (f->words != NULL && store_pg_has_words(f->words)) {
		store_pg_text(&p, f->words);
		kore_buf_appendf(&sql, " AND search @@ fw_search_query($%d)",
		    p.n);
	}
	if (f->after != NULL) {
		store_pg_int(&p, (int64_t)after_ms);
		store_pg_text(&p, after_id);
		kore_buf_appendf(&sql, " AND (created_at, id) < ($%d, $%d)",
		    p.n - 1, p.n);
	}
	kore_buf_appendf(&sql, " ORDER BY created_at DESC, id DESC");
	if (limit > 0)
		kore_buf_appendf(&sql, " LIMIT %zu", limit);
	res = store_pg_query(store_pg_conn_of(h), kore_buf_stringify(&sql,
	    NULL), &p, &r);
	kore_buf_cleanup(&sql);
	if (res == NULL)
		return (r);
	for (i = 0; i < PQntuples(res); i++) {
		store_pg_copy(res, i, 0, row.id, sizeof(row.id));
		store_pg_copy(res, i, 1, row.form, sizeof(row.form));
		store_pg_copy(res, i, 2, row.review, sizeof(row.review));
		store_pg_copy(res, i, 3, row.actions, sizeof(row.actions));
		row.created_ms = (u_int64_t)store_pg_num(res, i, 4);
		row.data = PQgetvalue(res, i, 5);
		(void)snprintf(row.cursor, sizeof(row.cursor), "%llu.%s",
		    (unsigned long long)row.created_ms, row.id);
		if (cb(&row, arg) == 0)
			break;
	}
	PQclear(res);
	return (STORE_OK);
}

/* 1 when s holds anything but white space (else it is no search). */
static int
store_pg_has_words(const char *s)
{
	return (s[strspn(s, " \t\r\n\f\v")] != '\0');
}

int
store_pg_cursor_valid(const char *s)
{
	u_int64_t	ms;
	char		id[TOKEN_ID_LEN + 1];

	return (store_pg_cursor_parse(s, &ms, id) == 0);
}

/* "<created_at>.<id>" into its parts; -1 when s is not one. */
static int
store_pg_cursor_parse(const char *s, u_int64_t *ms, char *id)
{
	const char	*dot;
	char		*end;

	if ((dot = strchr(s, '.')) == NULL || dot == s ||
	    strspn(s, "0123456789") != (size_t)(dot - s) ||
	    !token_id_valid(dot + 1))
		return (-1);
	*ms = strtoull(s, &end, 10);
	if (end != dot)
		return (-1);
	(void)snprintf(id, TOKEN_ID_LEN + 1, "%s", dot + 1);
	return (0);
}

enum store_result
store_pg_review_counts(const char *form, u_int64_t counts[STORE_REVIEW_STATES])
{
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;
	int			 i, k;

	memset(counts, 0, STORE_REVIEW_STATES * sizeof(counts[0]));
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, form);
	if ((res = store_pg_run(store_pg_own(), PG_REVIEW_COUNTS, &p, &r)) ==
	    NULL)
		return (r);
	for (i = 0; i < PQntuples(res); i++) {
		k = store_vocab_find(store_review_states, STORE_REVIEW_STATES,
		    PQgetvalue(res, i, 0));
		if (k != -1)
			counts[k] = (u_int64_t)store_pg_num(res, i, 1);
	}
	PQclear(res);
	return (STORE_OK);
}

/* What a row loop hands on: the caller's callback. */
struct store_pg_cb {
	void		(*review)(const struct store_review *, void *);
	void		(*delivery)(const struct store_delivery *, void *);
	void		*arg;
};

static void
store_pg_review_row(const PGresult *res, int i, void *arg)
{
	struct store_pg_cb	*e = arg;
	struct store_review	 rv;

	rv.version = (int)store_pg_num(res, i, 0);
	store_pg_copy(res, i, 1, rv.before, sizeof(rv.before));
	store_pg_copy(res, i, 2, rv.state, sizeof(rv.state));
	rv.note = PQgetvalue(res, i, 3);
	store_pg_copy(res, i, 4, rv.user, sizeof(rv.user));
	rv.at_ms = (u_int64_t)store_pg_num(res, i, 5);
	e->review(&rv, e->arg);
}

enum store_result
store_pg_reviews_each(const char *id,
    void (*cb)(const struct store_review *, void *), void *arg)
{
	struct store_pg_cb	e = { cb, NULL, arg };

	return (store_pg_each(store_pg_own(), PG_REVIEWS_EACH, id, 0,
	    store_pg_review_row, &e));
}

/* Fills in who changed c->id last, for the 409 page. */
static void
store_pg_review_last(struct store_pg_conn *c, struct store_review_change *ch)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;

	ch->changed_by[0] = '\0';
	ch->changed_ms = 0;
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, ch->id);
	if ((res = store_pg_run(c, PG_REVIEW_LAST, &p, &r)) == NULL)
		return;
	if (PQntuples(res) > 0) {
		store_pg_copy(res, 0, 0, ch->changed_by,
		    sizeof(ch->changed_by));
		ch->changed_ms = (u_int64_t)store_pg_num(res, 0, 1);
	}
	PQclear(res);
}

/* Queues a released submission's jobs, in its review's transaction. */
static enum store_result
store_pg_jobs_add(struct store_pg_conn *c, const struct store_review_change *ch)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	char			 delivery[TOKEN_ID_LEN + 5];
	size_t			 i;

	r = STORE_OK;
	for (i = 0; i < ch->njobs && r == STORE_OK; i++) {
		(void)snprintf(delivery, sizeof(delivery), "msg_");
		token_id_new(delivery + 4);
		memset(&p, 0, sizeof(p));
		store_pg_text(&p, ch->id);
		store_pg_int(&p, ch->jobs[i].action);
		store_pg_text(&p, ch->jobs[i].kind);
		store_pg_text(&p, ch->jobs[i].target);
		store_pg_int(&p, ch->jobs[i].max_attempts);
		store_pg_int(&p, (int64_t)ch->now);
		store_pg_text(&p, delivery);
		/* The webhook-id receivers de-duplicate on: stable per job. */
		r = store_pg_do(c, PG_JOB_ADD, &p, NULL);
	}
	return (r);
}

enum store_result
store_pg_review_set(struct store_review_change *ch)
{
	struct store_pg_conn	*c = store_pg_own();
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;
	char			 before[16];
	int			 spam, njobs;

	if ((r = store_pg_begin(c)) != STORE_OK)
		return (r);
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, ch->id);
	if ((res = store_pg_run(c, PG_REVIEW_READ, &p, &r)) == NULL)
		return (store_pg_change_end(c, r));
	if (PQntuples(res) == 0) {
		PQclear(res);
		(void)store_pg_end(c, 0);
		return (STORE_NOT_FOUND);
	}
	store_pg_copy(res, 0, 0, before, sizeof(before));
	ch->current_version = (int)store_pg_num(res, 0, 1);
	spam = (int)store_pg_num(res, 0, 2);
	njobs = (int)store_pg_num(res, 0, 3);
	PQclear(res);
	(void)snprintf(ch->current_state, sizeof(ch->current_state), "%s",
	    before);

	if (ch->version != -1 && ch->version != ch->current_version) {
		store_pg_review_last(c, ch);
		(void)store_pg_end(c, 0);
		return (STORE_CONFLICT);
	}
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, ch->id);
	store_pg_text(&p, ch->state);
	if ((r = store_pg_do(c, PG_REVIEW_UPDATE, &p, NULL)) != STORE_OK)
		return (store_pg_change_end(c, r));
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, ch->id);
	store_pg_int(&p, ch->current_version + 1);
	store_pg_text(&p, before);
	store_pg_text(&p, ch->state);
	store_pg_text(&p, ch->note);
	store_pg_text(&p, ch->user);
	store_pg_int(&p, (int64_t)ch->now);
	if ((r = store_pg_do(c, PG_REVIEW_INSERT, &p, NULL)) != STORE_OK ||
	    (r = store_pg_audit_write(c, ch->user, "review", ch->id, before,
	    ch->state, ch->now)) != STORE_OK)
		return (store_pg_change_end(c, r));
	/* Released from quarantine: its actions run now, once. */
	if (spam && njobs == 0 && strcmp(ch->state, "spam") != 0 &&
	    (r = store_pg_jobs_add(c, ch)) != STORE_OK)
		return (store_pg_change_end(c, r));
	if ((r = store_pg_change_end(c, STORE_OK)) == STORE_OK)
		ch->current_version++;
	return (r);
}

enum store_result
store_pg_jobs_retry(const char *id, const char *user, u_int64_t now, int *n)
{
	struct store_pg_conn	*c = store_pg_own();
	struct store_pg_params	 p;
	enum store_result	 r;
	u_int64_t		 changed;
	char			 after[32];

	*n = 0;
	if ((r = store_pg_begin(c)) != STORE_OK)
		return (r);
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, id);
	store_pg_int(&p, (int64_t)now);
	changed = 0;
	if ((r = store_pg_do(c, PG_JOBS_RETRY, &p, &changed)) != STORE_OK)
		return (store_pg_change_end(c, r));
	*n = (int)changed;
	(void)snprintf(after, sizeof(after), "%d queued again", *n);
	r = store_pg_audit_write(c, user, "retry", id, "failed", after, now);
	return (store_pg_change_end(c, r));
}

enum store_result
store_pg_job_resend(const char *id, int64_t job, const char *user,
    u_int64_t now)
{
	struct store_pg_conn	*c = store_pg_own();
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;
	char			 before[TOKEN_ID_LEN + 5];
	char			 delivery[TOKEN_ID_LEN + 5];
	char			 after[TOKEN_ID_LEN + 64];

	if ((r = store_pg_begin(c)) != STORE_OK)
		return (r);
	memset(&p, 0, sizeof(p));
	store_pg_int(&p, job);
	store_pg_text(&p, id);
	if ((res = store_pg_run(c, PG_RESEND_READ, &p, &r)) == NULL)
		return (store_pg_change_end(c, r));
	if (PQntuples(res) == 0) {
		PQclear(res);
		(void)store_pg_end(c, 0);
		return (STORE_NOT_FOUND);
	}
	store_pg_copy(res, 0, 0, before, sizeof(before));
	(void)snprintf(delivery, sizeof(delivery), "msg_");
	token_id_new(delivery + 4);
	(void)snprintf(after, sizeof(after), "%s again as %s",
	    PQgetvalue(res, 0, 1), delivery);
	PQclear(res);
	memset(&p, 0, sizeof(p));
	store_pg_int(&p, job);
	store_pg_int(&p, (int64_t)now);
	store_pg_text(&p, delivery);
	if ((r = store_pg_do(c, PG_RESEND, &p, NULL)) == STORE_OK)
		r = store_pg_audit_write(c, user, "resend", id, before, after,
		    now);
	return (store_pg_change_end(c, r));
}

enum store_result
store_pg_jobs_failed_count(u_int64_t *n)
{
	enum store_result	r;
	int64_t			v;

	r = store_pg_numbers(store_pg_own(), PG_FAILED_COUNT, NULL, &v, 1);
	*n = (u_int64_t)v;
	return (r);
}

static void
store_pg_delivery_row(const PGresult *res, int i, void *arg)
{
	struct store_pg_cb	*e = arg;
	struct store_delivery	 d;

	d.job = store_pg_num(res, i, 0);
	d.action = (int)store_pg_num(res, i, 1);
	store_pg_copy(res, i, 2, d.kind, sizeof(d.kind));
	d.attempt = (int)store_pg_num(res, i, 3);
	store_pg_copy(res, i, 4, d.delivery_id, sizeof(d.delivery_id));
	d.started_ms = (u_int64_t)store_pg_num(res, i, 5);
	d.duration_ms = (u_int64_t)store_pg_num(res, i, 6);
	store_pg_copy(res, i, 7, d.outcome, sizeof(d.outcome));
	d.code = (int)store_pg_num(res, i, 8);
	d.error = PQgetvalue(res, i, 9);
	d.response = PQgetvalue(res, i, 10);
	e->delivery(&d, e->arg);
}

enum store_result
store_pg_deliveries_each(const char *id,
    void (*cb)(const struct store_delivery *, void *), void *arg)
{
	struct store_pg_cb	e = { NULL, cb, arg };

	return (store_pg_each(store_pg_own(), PG_DELIVERIES_EACH, id, 0,
	    store_pg_delivery_row, &e));
}

enum store_result
store_pg_submission_delete(const char *id, const char *user, u_int64_t now)
{
	struct store_pg_conn	*c = store_pg_own();
	struct store_pg_params	 p;
	enum store_result	 r;
	u_int64_t		 changed;

	if ((r = store_pg_begin(c)) != STORE_OK)
		return (r);
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, id);
	store_pg_int(&p, (int64_t)now);
	store_pg_text(&p, user);
	changed = 0;
	if ((r = store_pg_do(c, PG_DELETE_AUDIT, &p, &changed)) != STORE_OK)
		return (store_pg_change_end(c, r));
	if (changed == 0) {
		(void)store_pg_end(c, 0);
		return (STORE_NOT_FOUND);
	}
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, id);
	r = store_pg_do(c, PG_SUB_DELETE, &p, NULL);
	return (store_pg_change_end(c, r));
}

enum store_result
store_pg_audit_add(const char *user, const char *action, const char *subject,
    const char *before, const char *after, u_int64_t now)
{
	return (store_pg_audit_write(store_pg_own(), user, action, subject,
	    before, after, now));
}

static enum store_result
store_pg_audit_write(struct store_pg_conn *c, const char *user,
    const char *action, const char *subject, const char *before,
    const char *after, u_int64_t now)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_int(&p, (int64_t)now);
	store_pg_text(&p, user);
	store_pg_text(&p, action);
	store_pg_text(&p, subject);
	store_pg_text(&p, before);
	store_pg_text(&p, after);
	return (store_pg_do(c, PG_AUDIT_ADD, &p, NULL));
}

enum store_result
store_pg_audit_each(int64_t before_id, size_t limit,
    void (*cb)(const struct store_audit *, void *), void *arg)
{
	struct store_pg_params	 p;
	struct store_audit	 a;
	enum store_result	 r;
	PGresult		*res;
	int			 i;

	memset(&p, 0, sizeof(p));
	store_pg_int(&p, before_id);
	store_pg_int(&p, (int64_t)limit);
	if ((res = store_pg_run(store_pg_own(), PG_AUDIT_EACH, &p, &r)) ==
	    NULL)
		return (r);
	for (i = 0; i < PQntuples(res); i++) {
		a.id = store_pg_num(res, i, 0);
		a.at_ms = (u_int64_t)store_pg_num(res, i, 1);
		store_pg_copy(res, i, 2, a.user, sizeof(a.user));
		store_pg_copy(res, i, 3, a.action, sizeof(a.action));
		store_pg_copy(res, i, 4, a.subject, sizeof(a.subject));
		a.before = PQgetvalue(res, i, 5);
		a.after = PQgetvalue(res, i, 6);
		cb(&a, arg);
	}
	PQclear(res);
	return (STORE_OK);
}

enum store_result
store_pg_export_add(const char *id, const char *user, u_int64_t now)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, id);
	store_pg_text(&p, user);
	store_pg_int(&p, (int64_t)now);
	return (store_pg_do(store_pg_own(), PG_EXPORT_ADD, &p, NULL));
}

enum store_result
store_pg_export_finish(struct store_handle *h, const char *id, int ok,
    u_int64_t rows, const char *error, u_int64_t now)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, id);
	store_pg_text(&p, ok ? "done" : "failed");
	store_pg_int(&p, (int64_t)rows);
	store_pg_text(&p, error);
	store_pg_int(&p, (int64_t)now);
	return (store_pg_do(store_pg_conn_of(h), PG_EXPORT_FINISH, &p, NULL));
}

/*
 * Several nodes share the table: an export another node is running is
 * not this one's to abandon, but a node cannot tell which are whose,
 * so, as on SQLite, a start marks every running export failed (the
 * desk offers to export again).
 */
enum store_result
store_pg_exports_abandon(struct store_handle *h, u_int64_t now)
{
	struct store_pg_params	p;
	enum store_result	r;

	memset(&p, 0, sizeof(p));
	store_pg_int(&p, (int64_t)now);
	r = store_pg_do(store_pg_conn_of(h), PG_EXPORTS_ABANDON, &p, NULL);
	/* A database not up yet has no export of ours running either. */
	return (r == STORE_UNWRITABLE ? STORE_OK : r);
}

enum store_result
store_pg_export_get(const char *id, char state[16], u_int64_t *rows,
    char error[256])
{
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, id);
	if ((res = store_pg_run(store_pg_own(), PG_EXPORT_GET, &p, &r)) ==
	    NULL)
		return (r);
	if (PQntuples(res) == 0) {
		r = STORE_NOT_FOUND;
	} else {
		store_pg_copy(res, 0, 0, state, 16);
		*rows = (u_int64_t)store_pg_num(res, 0, 1);
		store_pg_copy(res, 0, 2, error, 256);
		r = STORE_OK;
	}
	PQclear(res);
	return (r);
}

enum store_result
store_pg_prune(struct store_handle *h, u_int64_t before_ms,
    u_int64_t session_idle_before_ms, struct store_prune *out)
{
	static const enum store_pg_stmt	 stmts[] = {
		PG_PRUNE_SUBMISSIONS, PG_PRUNE_SESSIONS, PG_PRUNE_FAILURES,
	};
	struct store_pg_conn	*c = store_pg_conn_of(h);
	struct store_pg_params	 p;
	enum store_result	 r;
	u_int64_t		*counts[] = {
		&out->submissions, &out->sessions, &out->login_failures,
	};
	size_t			 i;

	memset(out, 0, sizeof(*out));
	if ((r = store_pg_begin(c)) != STORE_OK)
		return (r);
	for (i = 0; i < sizeof(stmts) / sizeof(stmts[0]); i++) {
		memset(&p, 0, sizeof(p));
		store_pg_int(&p, (int64_t)(i == 0 ? before_ms :
		    session_idle_before_ms));
		if ((r = store_pg_do(c, stmts[i], &p, counts[i])) != STORE_OK)
			return (store_pg_change_end(c, r));
	}
	return (store_pg_change_end(c, STORE_OK));
}

/*
 * Ends a change's transaction: when r is STORE_OK, moves the result
 * pages' counter in it and commits; else rolls back. Returns how it
 * went.
 */
static enum store_result
store_pg_change_end(struct store_pg_conn *c, enum store_result r)
{
	if (r == STORE_OK)
		r = store_pg_do(c, PG_EPOCH_BUMP, NULL, NULL);
	if (r != STORE_OK) {
		(void)store_pg_end(c, 0);
		return (r == STORE_KEY_USED ? STORE_ERROR : r);
	}
	return (store_pg_end(c, 1));
}
