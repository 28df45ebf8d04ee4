/*
 * store_pg_jobs.c: the queue of actions in PostgreSQL. Jobs are rows
 * written in the same transaction as their submission (fw_submit, in
 * store_pg_sql.c); here runners on every node claim them with a lease
 * (one UPDATE over a SELECT ... FOR UPDATE SKIP LOCKED, so two runners
 * never take the same job and neither waits for the other), record each
 * attempt, and wait for news of jobs queued anywhere: a commit that
 * queues one notifies the channel formwork_jobs, which each worker's
 * listener LISTENs on (store_pg_jobs_wait).
 */

#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "store/store_pg.h"

enum store_result
store_pg_job_claim(struct store_handle *h, u_int64_t now, u_int64_t lease_ms,
    struct store_job *job)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;

	memset(&p, 0, sizeof(p));
	store_pg_int(&p, (int64_t)now);
	store_pg_int(&p, (int64_t)lease_ms);
	if ((res = store_pg_run(store_pg_conn_of(h), PG_JOB_CLAIM, &p, &r)) ==
	    NULL)
		return (r);
	if (PQntuples(res) == 0) {
		PQclear(res);
		return (STORE_NOT_FOUND);
	}
	job->id = store_pg_num(res, 0, 0);
	store_pg_copy(res, 0, 1, job->submission_id,
	    sizeof(job->submission_id));
	job->action = (int)store_pg_num(res, 0, 2);
	store_pg_copy(res, 0, 3, job->kind, sizeof(job->kind));
	store_pg_copy(res, 0, 4, job->target, sizeof(job->target));
	job->attempts = (int)store_pg_num(res, 0, 5);
	job->max_attempts = (int)store_pg_num(res, 0, 6);
	store_pg_copy(res, 0, 7, job->delivery_id, sizeof(job->delivery_id));
	job->created_ms = (u_int64_t)store_pg_num(res, 0, 8);
	PQclear(res);
	return (STORE_OK);
}

enum store_result
store_pg_job_finish(struct store_handle *h, const struct store_job *job,
    enum job_state state, const char *error, u_int64_t run_at, u_int64_t now,
    const struct store_attempt *at)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_int(&p, job->id);
	store_pg_int(&p, job->attempts);
	store_pg_text(&p, store_job_states[state]);
	store_pg_text(&p, error);
	store_pg_int(&p, (int64_t)run_at);
	if (state == JOB_DONE || state == JOB_FAILED)
		store_pg_int(&p, (int64_t)now);
	else
		store_pg_text(&p, NULL);
	store_pg_text(&p, job->delivery_id);
	store_pg_int(&p, (int64_t)at->started_ms);
	store_pg_int(&p, (int64_t)at->duration_ms);
	store_pg_text(&p, store_attempt_outcomes[at->outcome]);
	store_pg_int(&p, at->code);
	store_pg_text(&p, at->error);
	store_pg_text(&p, at->response);
	return (store_pg_do(store_pg_conn_of(h), PG_JOB_FINISH, &p, NULL));
}

enum store_result
store_pg_job_release(struct store_handle *h, const struct store_job *job,
    u_int64_t now)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_int(&p, job->id);
	store_pg_int(&p, job->attempts);
	store_pg_int(&p, (int64_t)now);
	return (store_pg_do(store_pg_conn_of(h), PG_JOB_RELEASE, &p, NULL));
}

enum store_result
store_pg_endpoint_is_disabled(struct store_handle *h, const char *url,
    int *disabled)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;

	*disabled = 0;
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, url);
	if ((res = store_pg_run(store_pg_conn_of(h), PG_ENDPOINT_GET, &p,
	    &r)) == NULL)
		return (r);
	*disabled = PQntuples(res) > 0;
	PQclear(res);
	return (STORE_OK);
}

enum store_result
store_pg_endpoint_disable(struct store_handle *h, const char *url,
    const char *reason, u_int64_t now)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_text(&p, url);
	store_pg_int(&p, (int64_t)now);
	store_pg_text(&p, reason);
	return (store_pg_do(store_pg_conn_of(h), PG_ENDPOINT_DISABLE, &p,
	    NULL));
}

enum store_result
store_pg_job_statuses(const char *submission_id, struct store_job_status *out,
    size_t max, size_t *n)
{
	struct store_pg_params	 p;
	struct store_job_status	*js;
	enum store_result	 r;
	PGresult		*res;
	char			 state[16];
	int			 i;

	*n = 0;
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, submission_id);
	if ((res = store_pg_run(store_pg_own(), PG_JOB_STATUSES, &p, &r)) ==
	    NULL)
		return (r);
	for (i = 0; i < PQntuples(res) && *n < max; i++) {
		js = &out[(*n)++];
		store_pg_copy(res, i, 0, js->kind, sizeof(js->kind));
		store_pg_copy(res, i, 1, state, sizeof(state));
		js->state = store_job_state_parse(state);
		js->attempts = (int)store_pg_num(res, i, 2);
		js->max_attempts = (int)store_pg_num(res, i, 3);
		js->run_at = (u_int64_t)store_pg_num(res, i, 4);
		store_pg_copy(res, i, 5, js->error, sizeof(js->error));
		store_pg_copy(res, i, 6, js->target, sizeof(js->target));
		js->id = store_pg_num(res, i, 7);
		store_pg_copy(res, i, 8, js->delivery_id,
		    sizeof(js->delivery_id));
	}
	PQclear(res);
	return (STORE_OK);
}

enum store_result
store_pg_job_counts(u_int64_t counts[STORE_JOB_STATES])
{
	enum store_result	 r;
	PGresult		*res;
	int			 i;

	memset(counts, 0, STORE_JOB_STATES * sizeof(counts[0]));
	if ((res = store_pg_run(store_pg_own(), PG_JOB_COUNTS, NULL, &r)) ==
	    NULL)
		return (r);
	for (i = 0; i < PQntuples(res); i++)
		counts[store_job_state_parse(PQgetvalue(res, i, 0))] =
		    (u_int64_t)store_pg_num(res, i, 1);
	PQclear(res);
	return (STORE_OK);
}

/*
 * One transaction: rows older than the window go first, then the
 * address is claimed unless a row for it remains (a claim on another
 * node waits for this one to end); whichever job holds the row may send.
 */
enum store_result
store_pg_autoreply_claim(struct store_handle *h, const char *address,
    int64_t job, u_int64_t now, u_int64_t window_ms, int *granted)
{
	struct store_pg_conn	*c = store_pg_conn_of(h);
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;

	*granted = 0;
	if ((r = store_pg_begin(c)) != STORE_OK)
		return (r);
	memset(&p, 0, sizeof(p));
	store_pg_int(&p, (int64_t)now);
	store_pg_int(&p, (int64_t)window_ms);
	if ((r = store_pg_do(c, PG_AUTOREPLY_EXPIRE, &p, NULL)) != STORE_OK)
		goto out;
	memset(&p, 0, sizeof(p));
	store_pg_text(&p, address);
	store_pg_int(&p, job);
	store_pg_int(&p, (int64_t)now);
	if ((r = store_pg_do(c, PG_AUTOREPLY_CLAIM, &p, NULL)) != STORE_OK)
		goto out;
	p.n = 2;
	if ((res = store_pg_run(c, PG_AUTOREPLY_HOLDER, &p, &r)) == NULL)
		goto out;
	*granted = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
out:
	if ((r = store_pg_end(c, r == STORE_OK)) != STORE_OK)
		*granted = 0;
	return (r);
}

/* 1 when a digest is due, taking alert_state's lock: then it is ours. */
static int
store_pg_alert_due(struct store_pg_conn *c, u_int64_t now, u_int64_t gather_ms)
{
	struct store_pg_params	 p;
	enum store_result	 r;
	PGresult		*res;
	int			 due;

	memset(&p, 0, sizeof(p));
	store_pg_int(&p, (int64_t)now);
	store_pg_int(&p, (int64_t)gather_ms);
	if ((res = store_pg_run(c, PG_ALERT_DUE, &p, &r)) == NULL)
		return (0);
	due = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return (due);
}

/* Runs statement id with the one number v. */
static enum store_result
store_pg_do_int(struct store_pg_conn *c, enum store_pg_stmt id, u_int64_t v)
{
	struct store_pg_params	p;

	memset(&p, 0, sizeof(p));
	store_pg_int(&p, (int64_t)v);
	return (store_pg_do(c, id, &p, NULL));
}

enum store_result
store_pg_alert_take(struct store_handle *h, u_int64_t now,
    u_int64_t gather_ms, u_int64_t interval_ms, size_t max,
    void (*cb)(const struct store_alert_item *, void *), void *arg,
    size_t *n)
{
	struct store_pg_conn	*c = store_pg_conn_of(h);
	struct store_alert_item	 it;
	enum store_result	 r;
	PGresult		*res;
	int			 i;

	*n = 0;
	if ((r = store_pg_begin(c)) != STORE_OK)
		return (r);
	if (!store_pg_alert_due(c, now, gather_ms)) {
		(void)store_pg_end(c, 0);
		return (STORE_OK);
	}
	if ((res = store_pg_run(c, PG_ALERT_LIST, NULL, &r)) == NULL)
		goto out;
	for (i = 0; i < PQntuples(res); i++) {
		if ((*n)++ >= max)
			continue;
		store_pg_copy(res, i, 0, it.submission_id,
		    sizeof(it.submission_id));
		store_pg_copy(res, i, 1, it.form, sizeof(it.form));
		store_pg_copy(res, i, 2, it.kind, sizeof(it.kind));
		store_pg_copy(res, i, 3, it.target, sizeof(it.target));
		store_pg_copy(res, i, 4, it.error, sizeof(it.error));
		it.failed_ms = (u_int64_t)store_pg_num(res, i, 5);
		cb(&it, arg);
	}
	PQclear(res);
	if ((r = store_pg_do_int(c, PG_ALERT_MARK, now)) == STORE_OK)
		r = store_pg_do_int(c, PG_ALERT_NEXT, now + interval_ms);
out:
	if ((r = store_pg_end(c, r == STORE_OK)) != STORE_OK)
		*n = 0;
	return (r);
}

enum store_result
store_pg_alert_giveback(struct store_handle *h, u_int64_t taken_ms,
    u_int64_t retry_at)
{
	struct store_pg_conn	*c = store_pg_conn_of(h);
	enum store_result	 r;

	if ((r = store_pg_begin(c)) != STORE_OK)
		return (r);
	if ((r = store_pg_do_int(c, PG_ALERT_UNMARK, taken_ms)) == STORE_OK)
		r = store_pg_do_int(c, PG_ALERT_NEXT, retry_at);
	return (store_pg_end(c, r == STORE_OK));
}

/*
 * Waits on h's connection (LISTENing on its first call) until a commit
 * anywhere has queued a job, or timeout_ms has passed: 1 on news, else
 * 0. While the database cannot be reached it waits out the timeout, so
 * the caller's loop does not spin.
 */
int
store_pg_jobs_wait(struct store_handle *h, u_int64_t timeout_ms)
{
	struct store_pg_conn	*c = store_pg_conn_of(h);
	struct pollfd		 pfd;
	PGnotify		*nf;
	int			 news;

	if (!c->listening || c->conn == NULL) {
		if (store_pg_do(c, PG_LISTEN, NULL, NULL) != STORE_OK) {
			(void)poll(NULL, 0, (int)timeout_ms);
			return (0);
		}
		c->listening = 1;
	}
	news = 0;
	for (;;) {
		if (!PQconsumeInput(c->conn)) {
			/*
			 * Gone: the next call connects and listens again;
			 * what was queued meanwhile is looked for now.
			 */
			kore_log(LOG_NOTICE, "store: listener: %s",
			    PQerrorMessage(c->conn));
			store_pg_drop(c);
			return (1);
		}
		while ((nf = PQnotifies(c->conn)) != NULL) {
			news = 1;
			PQfreemem(nf);
		}
		if (news)
			return (1);
		pfd.fd = PQsocket(c->conn);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)timeout_ms) <= 0) {
			/* A timeout, or a signal: the caller loops anyway. */
			return (0);
		}
	}
}
