/*
 * store_sqlite_jobs.c: the queue of actions in SQLite. Jobs are rows
 * written in the same transaction as their submission (store_sqlite.c);
 * here runners claim them with a lease, record each attempt, and the
 * result page reads their progress. A claim is a single UPDATE ...
 * RETURNING, so two runners (threads, workers or nodes) never take the
 * same job, and a job whose runner died is taken again once its lease
 * has run out. Its statements run for every job, so each connection
 * prepares them once and keeps them (store_stmt, ST_JOB_*).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "store/store_sqlite.h"

enum store_result
store_sqlite_job_claim(struct store_handle *h, u_int64_t now, u_int64_t lease_ms,
    struct store_job *job)
{
	sqlite3_stmt		*st;
	enum store_result	 r;
	int			 rc;

	if ((st = store_stmt(h, ST_JOB_DUE)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return (STORE_NOT_FOUND);
	if (rc != SQLITE_ROW)
		return (store_result_of(h, rc));

	if ((st = store_stmt(h, ST_JOB_CLAIM)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)lease_ms);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		job->id = sqlite3_column_int64(st, 0);
		store_copy_text(st, 1, job->submission_id,
		    sizeof(job->submission_id));
		job->action = sqlite3_column_int(st, 2);
		store_copy_text(st, 3, job->kind, sizeof(job->kind));
		store_copy_text(st, 4, job->target, sizeof(job->target));
		job->attempts = sqlite3_column_int(st, 5);
		job->max_attempts = sqlite3_column_int(st, 6);
		store_copy_text(st, 7, job->delivery_id,
		    sizeof(job->delivery_id));
		job->created_ms = (u_int64_t)sqlite3_column_int64(st, 8);
		/* RETURNING: the change is done once the statement ends. */
		rc = sqlite3_step(st);
		r = rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc);
	} else {
		r = rc == SQLITE_DONE ? STORE_NOT_FOUND : store_result_of(h, rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (r);
}

enum store_result
store_sqlite_job_finish(struct store_handle *h, const struct store_job *job,
    enum job_state state, const char *error, u_int64_t run_at, u_int64_t now)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(h, ST_JOB_FINISH)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_int64(st, 1, job->id);
	sqlite3_bind_int(st, 2, job->attempts);
	sqlite3_bind_text(st, 3, store_job_states[state], -1, SQLITE_STATIC);
	if (error != NULL)
		sqlite3_bind_text(st, 4, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)run_at);
	if (state == JOB_DONE || state == JOB_FAILED)
		sqlite3_bind_int64(st, 6, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

enum store_result
store_sqlite_job_release(struct store_handle *h, const struct store_job *job,
    u_int64_t now)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(h, ST_JOB_RELEASE)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_int64(st, 1, job->id);
	sqlite3_bind_int(st, 2, job->attempts);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

enum store_result
store_sqlite_job_record(struct store_handle *h, const struct store_job *job,
    struct store_record *rec)
{
	sqlite3_stmt		*st;
	enum store_result	 r;
	int			 rc;

	memset(rec, 0, sizeof(*rec));
	if ((st = store_stmt(h, ST_SUB_GET)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, job->submission_id, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_record_read(st, rec);
		r = STORE_OK;
	} else {
		r = rc == SQLITE_DONE ? STORE_NOT_FOUND : store_result_of(h, rc);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (r);
}

enum store_result
store_sqlite_endpoint_is_disabled(struct store_handle *h, const char *url,
    int *disabled)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(h, ST_ENDPOINT_GET)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, url, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	*disabled = rc == SQLITE_ROW;
	return (rc == SQLITE_ROW || rc == SQLITE_DONE ? STORE_OK :
	    store_result_of(h, rc));
}

enum store_result
store_sqlite_endpoint_disable(struct store_handle *h, const char *url,
    const char *reason, u_int64_t now)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_stmt(h, ST_ENDPOINT_DISABLE)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, url, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)now);
	sqlite3_bind_text(st, 3, reason, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

enum store_result
store_sqlite_job_statuses(const char *submission_id, struct store_job_status *out,
    size_t max, size_t *n)
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	struct store_job_status	*js;
	char			 state[16];
	int			 rc;

	*n = 0;
	if ((st = store_stmt(h, ST_JOB_STATUSES)) == NULL)
		return (STORE_ERROR);
	sqlite3_bind_text(st, 1, submission_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		js = &out[(*n)++];
		store_copy_text(st, 0, js->kind, sizeof(js->kind));
		store_copy_text(st, 1, state, sizeof(state));
		js->state = store_job_state_parse(state);
		js->attempts = sqlite3_column_int(st, 2);
		js->max_attempts = sqlite3_column_int(st, 3);
		js->run_at = (u_int64_t)sqlite3_column_int64(st, 4);
		store_copy_text(st, 5, js->error, sizeof(js->error));
		store_copy_text(st, 6, js->target, sizeof(js->target));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (rc == SQLITE_DONE || rc == SQLITE_ROW ? STORE_OK :
	    store_result_of(h, rc));
}

enum store_result
store_sqlite_job_counts(u_int64_t counts[STORE_JOB_STATES])
{
	struct store_handle	*h = store_reader_handle();
	sqlite3_stmt		*st;
	char			 state[16];
	int			 rc;

	memset(counts, 0, STORE_JOB_STATES * sizeof(counts[0]));
	if ((st = store_stmt(h, ST_JOB_COUNTS)) == NULL)
		return (STORE_ERROR);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_copy_text(st, 0, state, sizeof(state));
		counts[store_job_state_parse(state)] =
		    (u_int64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return (rc == SQLITE_DONE ? STORE_OK : store_result_of(h, rc));
}

/*
 * SQLite tells no one of a commit: the runners' polling finds jobs
 * queued by another process on this host.
 */
int
store_sqlite_jobs_wait(struct store_handle *h, u_int64_t timeout_ms)
{
	return (-1);
}
