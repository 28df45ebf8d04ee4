/*
 * store.c: store.h's and store_admin.h's functions, each passing its
 * call to the backend in use (store_backend.h). The backend is chosen
 * by the database the process was configured with: a call that names
 * one (store_init, store_configure, store_lock, and formworkctl's copies)
 * chooses by that name; the rest go to the last one chosen, SQLite
 * until anything is. Nothing here touches a database itself.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>

#include "store/store_backend.h"

static const struct store_backend	*store_be = &store_sqlite_backend;

static const struct store_backend	*store_use(const char *);

/*
 * A URL in one of the two forms libpq takes is PostgreSQL's; anything
 * else names an SQLite file.
 */
const struct store_backend *
store_backend_for(const char *db)
{
	if (strncmp(db, "postgresql://", 13) == 0 ||
	    strncmp(db, "postgres://", 11) == 0)
		return (&store_pg_backend);
	return (&store_sqlite_backend);
}

int
store_remote(void)
{
	return (store_be->remote);
}

int
store_is_file(const char *db)
{
	return (store_backend_for(db) == &store_sqlite_backend);
}

/* Chooses db's backend for this process's later calls. */
static const struct store_backend *
store_use(const char *db)
{
	store_be = store_backend_for(db);
	return (store_be);
}

int
store_init(const char *path, char *err, size_t errlen)
{
	return (store_use(path)->init(path, err, errlen));
}

int
store_lock(const char *path, int exclusive, char *err, size_t errlen)
{
	return (store_use(path)->lock(path, exclusive, err, errlen));
}

int
store_backup(const char *path, const char *file, char *err, size_t errlen)
{
	return (store_use(path)->backup(path, file, err, errlen));
}

int
store_restore(const char *path, const char *file,
    void (*say)(const char *, void *), void *arg, char *err, size_t errlen)
{
	return (store_use(path)->restore(path, file, say, arg, err, errlen));
}

int
store_check(const char *path, void (*say)(const char *, void *), void *arg,
    char *err, size_t errlen)
{
	return (store_use(path)->check(path, say, arg, err, errlen));
}

void
store_configure(const char *path)
{
	store_use(path)->configure(path);
}

void
store_record_cleanup(struct store_record *rec)
{
	kore_free(rec->data);
	kore_free(rec->subject);
	rec->data = NULL;
	rec->subject = NULL;
}

u_int64_t
store_epoch(void)
{
	return (store_be->epoch());
}

void
store_epoch_bump(void)
{
	store_be->epoch_bump();
}

void
store_worker_open(void)
{
	store_be->worker_open();
}

void
store_writer_close(void)
{
	store_be->writer_close();
}

int
store_log_needs_checkpoint(void)
{
	return (store_be->log_needs_checkpoint());
}

void
store_checkpoint(struct store_handle *h)
{
	store_be->checkpoint(h);
}

void
store_search_optimize(struct store_handle *h)
{
	store_be->search_optimize(h);
}

void
store_close(void)
{
	store_be->close();
}

int
store_ping(void)
{
	return (store_be->ping());
}

void
store_submissions_insert(struct store_submission **subs, size_t n)
{
	store_be->submissions_insert(subs, n);
}

enum store_result
store_batch_begin(void)
{
	return (store_be->batch_begin());
}

void
store_batch_commit(struct store_submission **subs, size_t n)
{
	store_be->batch_commit(subs, n);
}

enum store_result
store_batch_sync(struct store_handle *h)
{
	return (store_be->batch_sync(h));
}

enum store_result
store_key_find(const char *form, const char *key, char id[TOKEN_ID_LEN + 1],
    char hash[VALIDATE_HASH_LEN + 1])
{
	return (store_be->key_find(form, key, id, hash));
}

enum store_result
store_repeat_find(const char *form, const char *repeat, u_int64_t now,
    char id[TOKEN_ID_LEN + 1], char hash[VALIDATE_HASH_LEN + 1])
{
	return (store_be->repeat_find(form, repeat, now, id, hash));
}

enum store_result
store_unique_check(const char *form, const char *field, const char *value)
{
	return (store_be->unique_check(form, field, value));
}

enum store_result
store_client_count(const char *client, u_int64_t since_ms, u_int64_t *count)
{
	return (store_be->client_count(client, since_ms, count));
}

enum store_result
store_submission_get(const char *id, struct store_record *rec)
{
	return (store_be->submission_get(id, rec));
}

struct store_handle *
store_handle_new(void)
{
	return (store_be->handle_new());
}

void
store_handle_free(struct store_handle *h)
{
	store_be->handle_free(h);
}

enum store_result
store_job_claim(struct store_handle *h, u_int64_t now, u_int64_t lease_ms,
    struct store_job *job)
{
	return (store_be->job_claim(h, now, lease_ms, job));
}

enum store_result
store_job_finish(struct store_handle *h, const struct store_job *job,
    enum job_state state, const char *error, u_int64_t run_at, u_int64_t now,
    const struct store_attempt *at)
{
	return (store_be->job_finish(h, job, state, error, run_at, now, at));
}

enum store_result
store_job_release(struct store_handle *h, const struct store_job *job,
    u_int64_t now)
{
	return (store_be->job_release(h, job, now));
}

enum store_result
store_job_record(struct store_handle *h, const struct store_job *job,
    struct store_record *rec)
{
	return (store_be->job_record(h, job, rec));
}

enum store_result
store_endpoint_is_disabled(struct store_handle *h, const char *url,
    int *disabled)
{
	return (store_be->endpoint_is_disabled(h, url, disabled));
}

enum store_result
store_endpoint_disable(struct store_handle *h, const char *url,
    const char *reason, u_int64_t now)
{
	return (store_be->endpoint_disable(h, url, reason, now));
}

enum store_result
store_autoreply_claim(struct store_handle *h, const char *address, int64_t job,
    u_int64_t now, u_int64_t window_ms, int *granted)
{
	return (store_be->autoreply_claim(h, address, job, now, window_ms,
	    granted));
}

enum store_result
store_alert_take(struct store_handle *h, u_int64_t now, u_int64_t gather_ms,
    u_int64_t interval_ms, size_t max,
    void (*cb)(const struct store_alert_item *, void *), void *arg, size_t *n)
{
	return (store_be->alert_take(h, now, gather_ms, interval_ms, max, cb,
	    arg, n));
}

enum store_result
store_alert_giveback(struct store_handle *h, u_int64_t taken_ms,
    u_int64_t retry_at)
{
	return (store_be->alert_giveback(h, taken_ms, retry_at));
}

int
store_jobs_wait(struct store_handle *h, u_int64_t timeout_ms)
{
	return (store_be->jobs_wait(h, timeout_ms));
}

enum store_result
store_job_counts(u_int64_t counts[STORE_JOB_STATES])
{
	return (store_be->job_counts(counts));
}

enum store_result
store_job_statuses(const char *submission_id, struct store_job_status *out,
    size_t max, size_t *n)
{
	return (store_be->job_statuses(submission_id, out, max, n));
}

enum store_result
store_user_add(struct store_handle *h, const char *name, enum store_role role,
    const char *pwhash, u_int64_t now)
{
	return (store_be->user_add(h, name, role, pwhash, now));
}

enum store_result
store_user_get(struct store_handle *h, const char *name, struct store_user *u)
{
	return (store_be->user_get(h, name, u));
}

enum store_result
store_user_each(struct store_handle *h, void (*cb)(const struct store_user *,
    void *), void *arg)
{
	return (store_be->user_each(h, cb, arg));
}

enum store_result
store_user_role_set(struct store_handle *h, const char *name,
    enum store_role role)
{
	return (store_be->user_role_set(h, name, role));
}

enum store_result
store_user_pwhash_set(struct store_handle *h, const char *name,
    const char *pwhash)
{
	return (store_be->user_pwhash_set(h, name, pwhash));
}

enum store_result
store_user_delete(struct store_handle *h, const char *name)
{
	return (store_be->user_delete(h, name));
}

enum store_result
store_session_add(const char *token_hash, int64_t user_id, const char *client,
    u_int64_t now)
{
	return (store_be->session_add(token_hash, user_id, client, now));
}

enum store_result
store_session_get(const char *token_hash, struct store_session *s)
{
	return (store_be->session_get(token_hash, s));
}

enum store_result
store_session_touch(const char *token_hash, u_int64_t now)
{
	return (store_be->session_touch(token_hash, now));
}

enum store_result
store_session_delete(const char *token_hash)
{
	return (store_be->session_delete(token_hash));
}

enum store_result
store_login_failures(const char *subject, u_int64_t since, u_int64_t *count,
    u_int64_t *oldest)
{
	return (store_be->login_failures(subject, since, count, oldest));
}

enum store_result
store_login_failure_add(const char *subject, u_int64_t now)
{
	return (store_be->login_failure_add(subject, now));
}

enum store_result
store_login_failures_clear(const char *subject)
{
	return (store_be->login_failures_clear(subject));
}

enum store_result
store_rows_each(struct store_handle *h, const struct store_filter *f,
    size_t limit, int (*cb)(const struct store_row *, void *), void *arg)
{
	return (store_be->rows_each(h, f, limit, cb, arg));
}

int
store_cursor_valid(const char *s)
{
	return (store_be->cursor_valid(s));
}

enum store_result
store_review_counts(const char *form, u_int64_t counts[STORE_REVIEW_STATES])
{
	return (store_be->review_counts(form, counts));
}

enum store_result
store_reviews_each(const char *id, void (*cb)(const struct store_review *,
    void *), void *arg)
{
	return (store_be->reviews_each(id, cb, arg));
}

enum store_result
store_review_set(struct store_review_change *c)
{
	return (store_be->review_set(c));
}

enum store_result
store_jobs_retry(const char *id, const char *user, u_int64_t now, int *n)
{
	return (store_be->jobs_retry(id, user, now, n));
}

enum store_result
store_job_resend(const char *id, int64_t job, const char *user, u_int64_t now)
{
	return (store_be->job_resend(id, job, user, now));
}

enum store_result
store_jobs_failed_count(u_int64_t *n)
{
	return (store_be->jobs_failed_count(n));
}

enum store_result
store_deliveries_each(const char *id, void (*cb)(const struct store_delivery *,
    void *), void *arg)
{
	return (store_be->deliveries_each(id, cb, arg));
}

enum store_result
store_submission_delete(const char *id, const char *user, u_int64_t now)
{
	return (store_be->submission_delete(id, user, now));
}

enum store_result
store_audit_add(const char *user, const char *action, const char *subject,
    const char *before, const char *after, u_int64_t now)
{
	return (store_be->audit_add(user, action, subject, before, after,
	    now));
}

enum store_result
store_audit_each(int64_t before_id, size_t limit,
    void (*cb)(const struct store_audit *, void *), void *arg)
{
	return (store_be->audit_each(before_id, limit, cb, arg));
}

enum store_result
store_export_add(const char *id, const char *user, u_int64_t now)
{
	return (store_be->export_add(id, user, now));
}

enum store_result
store_export_finish(struct store_handle *h, const char *id, int ok,
    u_int64_t rows, const char *error, u_int64_t now)
{
	return (store_be->export_finish(h, id, ok, rows, error, now));
}

enum store_result
store_exports_abandon(struct store_handle *h, u_int64_t now)
{
	return (store_be->exports_abandon(h, now));
}

enum store_result
store_export_get(const char *id, char state[16], u_int64_t *rows,
    char error[256])
{
	return (store_be->export_get(id, state, rows, error));
}

enum store_result
store_prune(struct store_handle *h, u_int64_t before_ms,
    u_int64_t session_idle_before_ms, struct store_prune *out)
{
	return (store_be->prune(h, before_ms, session_idle_before_ms, out));
}
