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

static int	store_alert_due(struct store_handle *, u_int64_t, u_int64_t);
static int	store_exec_int(struct store_handle *, const char *, u_int64_t);

/* When the next digest may be taken (on any node). */
#define STORE_ALERT_NEXT	"UPDATE alert_state SET next_at = ?1"

enum store_result
store_sqlite_job_claim(struct store_handle *h, u_int64_t now,
    u_int64_t lease_ms, struct store_job *job)
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
    enum job_state state, const char *error, u_int64_t run_at, u_int64_t now,
    const struct store_attempt *at)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = store_exec(h, ST_BEGIN)) != SQLITE_DONE)
		return (store_result_of(h, rc));
	if ((st = store_stmt(h, ST_JOB_FINISH)) == NULL)
		return (store_tx_close(h, SQLITE_ERROR));
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
	if (rc != SQLITE_DONE)
		return (store_tx_close(h, rc));

	if ((st = store_stmt(h, ST_DELIVERY_INSERT)) == NULL)
		return (store_tx_close(h, SQLITE_ERROR));
	sqlite3_bind_int64(st, 1, job->id);
	sqlite3_bind_int(st, 2, job->attempts);
	sqlite3_bind_text(st, 3, job->delivery_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)at->started_ms);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)at->duration_ms);
	sqlite3_bind_text(st, 6, store_attempt_outcomes[at->outcome], -1,
	    SQLITE_STATIC);
	sqlite3_bind_int(st, 7, at->code);
	sqlite3_bind_text(st, 8, at->error, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, at->response, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return (store_tx_close(h, rc));
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
store_sqlite_job_statuses(const char *submission_id,
    struct store_job_status *out, size_t max, size_t *n)
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
		js->id = sqlite3_column_int64(st, 7);
		store_copy_text(st, 8, js->delivery_id,
		    sizeof(js->delivery_id));
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
 * One transaction: rows older than the window go first, then the
 * address is claimed unless a row for it remains; whichever job holds
 * the row may send.
 */
enum store_result
store_sqlite_autoreply_claim(struct store_handle *h, const char *address,
    int64_t job, u_int64_t now, u_int64_t window_ms, int *granted)
{
	static const char *const sql[] = {
		"DELETE FROM autoreplies WHERE sent_at <= ?3 - ?4",
		"INSERT INTO autoreplies (address, job_id, sent_at) "
		"VALUES (?1, ?2, ?3) ON CONFLICT (address) DO NOTHING",
		"SELECT job_id = ?2 FROM autoreplies WHERE address = ?1",
	};
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc;

	*granted = 0;
	if ((rc = store_exec(h, ST_BEGIN)) != SQLITE_DONE)
		return (store_result_of(h, rc));
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((st = store_prepare(h, sql[i])) == NULL) {
			rc = SQLITE_ERROR;
			break;
		}
		sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, job);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)window_ms);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*granted = sqlite3_column_int(st, 0);
			rc = SQLITE_DONE;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			break;
	}
	if (rc != SQLITE_DONE)
		*granted = 0;
	return (store_tx_close(h, rc));
}

/* 1 when a digest is due: reads only, so an idle check takes no lock. */
static int
store_alert_due(struct store_handle *h, u_int64_t now, u_int64_t gather_ms)
{
	sqlite3_stmt	*st;
	int		 due;

	if ((st = store_prepare(h, "SELECT (SELECT next_at FROM alert_state) "
	    "<= ?1 AND (SELECT min(finished_at) FROM jobs WHERE state = "
	    "'failed' AND alerted_at IS NULL) <= ?1 - ?2")) == NULL)
		return (0);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)gather_ms);
	due = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return (due);
}

enum store_result
store_sqlite_alert_take(struct store_handle *h, u_int64_t now,
    u_int64_t gather_ms, u_int64_t interval_ms, size_t max,
    void (*cb)(const struct store_alert_item *, void *), void *arg, size_t *n)
{
	struct store_alert_item	 it;
	enum store_result	 r;
	sqlite3_stmt		*st;
	int			 rc;

	*n = 0;
	if (!store_alert_due(h, now, gather_ms))
		return (STORE_OK);
	if ((rc = store_exec(h, ST_BEGIN)) != SQLITE_DONE)
		return (store_result_of(h, rc));
	/* Another node (or worker) may have taken it meanwhile. */
	if (!store_alert_due(h, now, gather_ms)) {
		(void)store_exec(h, ST_ROLLBACK);
		return (STORE_OK);
	}
	if ((st = store_prepare(h, "SELECT j.submission_id, s.form, j.kind, "
	    "j.target, coalesce(j.last_error, ''), j.finished_at FROM jobs j "
	    "JOIN submissions s ON s.id = j.submission_id "
	    "WHERE j.state = 'failed' AND j.alerted_at IS NULL "
	    "ORDER BY j.finished_at")) == NULL)
		return (store_tx_close(h, SQLITE_ERROR));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((*n)++ >= max)
			continue;
		store_copy_text(st, 0, it.submission_id,
		    sizeof(it.submission_id));
		store_copy_text(st, 1, it.form, sizeof(it.form));
		store_copy_text(st, 2, it.kind, sizeof(it.kind));
		store_copy_text(st, 3, it.target, sizeof(it.target));
		store_copy_text(st, 4, it.error, sizeof(it.error));
		it.failed_ms = (u_int64_t)sqlite3_column_int64(st, 5);
		cb(&it, arg);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		rc = store_exec_int(h, "UPDATE jobs SET alerted_at = ?1 "
		    "WHERE state = 'failed' AND alerted_at IS NULL", now);
	if (rc == SQLITE_DONE)
		rc = store_exec_int(h, STORE_ALERT_NEXT, now + interval_ms);
	if ((r = store_tx_close(h, rc)) != STORE_OK)
		*n = 0;
	return (r);
}

enum store_result
store_sqlite_alert_giveback(struct store_handle *h, u_int64_t taken_ms,
    u_int64_t retry_at)
{
	int		 rc;

	if ((rc = store_exec(h, ST_BEGIN)) != SQLITE_DONE)
		return (store_result_of(h, rc));
	rc = store_exec_int(h, "UPDATE jobs SET alerted_at = NULL "
	    "WHERE state = 'failed' AND alerted_at = ?1", taken_ms);
	if (rc == SQLITE_DONE)
		rc = store_exec_int(h, STORE_ALERT_NEXT, retry_at);
	return (store_tx_close(h, rc));
}

/* Runs sql, which returns no rows, with ?1 = v; returns SQLite's code. */
static int
store_exec_int(struct store_handle *h, const char *sql, u_int64_t v)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = store_prepare(h, sql)) == NULL)
		return (SQLITE_ERROR);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)v);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return (rc);
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
