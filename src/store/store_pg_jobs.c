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
    enum job_state state, const char *error, u_int64_t run_at, u_int64_t now)
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
