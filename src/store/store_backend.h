/*
 * store_backend.h: the table through which store.h and store_admin.h
 * reach the backend that FORMWORK_DB names: each backend fills one
 * struct store_backend with its own functions (store_sqlite_backend in
 * store_sqlite.c), and store.c's functions of the same names call
 * through it. Only store.c and the backends include this file; the
 * callers above src/store/ never learn which backend they talk to.
 *
 * Why a table and not a build-time choice: one build serves either
 * store (a node on SQLite today, on PostgreSQL tomorrow, and
 * formworkctl migrate talks to both at once). The cost on the hot paths
 * is one indirect call; no argument is copied or converted on the way.
 */

#ifndef FORMWORK_STORE_BACKEND_H
#define FORMWORK_STORE_BACKEND_H

#include "store/store_admin.h"

/* Each member does what store.h / store_admin.h say of store_<member>. */
struct store_backend {
	const char	*name;		/* "sqlite", "postgresql", in messages */
	int		 remote;	/* store_remote() */
	int (*init)(const char *path, char *err, size_t errlen);
	u_int64_t (*epoch)(void);
	void (*epoch_bump)(void);
	int (*lock)(const char *path, int exclusive, char *err, size_t errlen);
	int (*backup)(const char *path, const char *file, char *err,
	    size_t errlen);
	int (*restore)(const char *path, const char *file,
	    void (*say)(const char *, void *), void *arg, char *err,
	    size_t errlen);
	int (*check)(const char *path, void (*say)(const char *, void *),
	    void *arg, char *err, size_t errlen);
	void (*configure)(const char *path);
	void (*worker_open)(void);
	void (*writer_close)(void);
	int (*log_needs_checkpoint)(void);
	void (*checkpoint)(struct store_handle *h);
	void (*search_optimize)(struct store_handle *h);
	void (*close)(void);
	int (*ping)(void);
	void (*submissions_insert)(struct store_submission **subs, size_t n);
	enum store_result (*batch_begin)(void);
	void (*batch_commit)(struct store_submission **subs, size_t n);
	enum store_result (*batch_sync)(struct store_handle *h);
	enum store_result (*key_find)(const char *form, const char *key,
	    char id[TOKEN_ID_LEN + 1], char hash[VALIDATE_HASH_LEN + 1]);
	enum store_result (*repeat_find)(const char *form, const char *repeat,
	    u_int64_t now, char id[TOKEN_ID_LEN + 1],
	    char hash[VALIDATE_HASH_LEN + 1]);
	enum store_result (*unique_check)(const char *form, const char *field,
	    const char *value);
	enum store_result (*client_count)(const char *client,
	    u_int64_t since_ms, u_int64_t *count);
	enum store_result (*submission_get)(const char *id,
	    struct store_record *rec);
	struct store_handle *(*handle_new)(void);
	void (*handle_free)(struct store_handle *h);
	enum store_result (*job_claim)(struct store_handle *h, u_int64_t now,
	    u_int64_t lease_ms, struct store_job *job);
	enum store_result (*job_finish)(struct store_handle *h,
	    const struct store_job *job, enum job_state state,
	    const char *error, u_int64_t run_at, u_int64_t now,
	    const struct store_attempt *at);
	enum store_result (*job_release)(struct store_handle *h,
	    const struct store_job *job, u_int64_t now);
	enum store_result (*job_record)(struct store_handle *h,
	    const struct store_job *job, struct store_record *rec);
	enum store_result (*endpoint_is_disabled)(struct store_handle *h,
	    const char *url, int *disabled);
	enum store_result (*endpoint_disable)(struct store_handle *h,
	    const char *url, const char *reason, u_int64_t now);
	enum store_result (*autoreply_claim)(struct store_handle *h,
	    const char *address, int64_t job, u_int64_t now,
	    u_int64_t window_ms, int *granted);
	enum store_result (*alert_take)(struct store_handle *h, u_int64_t now,
	    u_int64_t gather_ms, u_int64_t interval_ms, size_t max,
	    void (*cb)(const struct store_alert_item *, void *), void *arg,
	    size_t *n);
	enum store_result (*alert_giveback)(struct store_handle *h,
	    u_int64_t taken_ms, u_int64_t retry_at);
	int (*jobs_wait)(struct store_handle *h, u_int64_t timeout_ms);
	enum store_result (*job_counts)(u_int64_t counts[STORE_JOB_STATES]);
	enum store_result (*job_statuses)(const char *submission_id,
	    struct store_job_status *out, size_t max, size_t *n);
	enum store_result (*user_add)(struct store_handle *h, const char *name,
	    enum store_role role, const char *pwhash, u_int64_t now);
	enum store_result (*user_get)(struct store_handle *h, const char *name,
	    struct store_user *u);
	enum store_result (*user_each)(struct store_handle *h,
	    void (*cb)(const struct store_user *, void *), void *arg);
	enum store_result (*user_role_set)(struct store_handle *h,
	    const char *name, enum store_role role);
	enum store_result (*user_pwhash_set)(struct store_handle *h,
	    const char *name, const char *pwhash);
	enum store_result (*user_delete)(struct store_handle *h,
	    const char *name);
	enum store_result (*session_add)(const char *token_hash,
	    int64_t user_id, const char *client, u_int64_t now);
	enum store_result (*session_get)(const char *token_hash,
	    struct store_session *s);
	enum store_result (*session_touch)(const char *token_hash,
	    u_int64_t now);
	enum store_result (*session_delete)(const char *token_hash);
	enum store_result (*login_failures)(const char *subject,
	    u_int64_t since, u_int64_t *count, u_int64_t *oldest);
	enum store_result (*login_failure_add)(const char *subject,
	    u_int64_t now);
	enum store_result (*login_failures_clear)(const char *subject);
	enum store_result (*rows_each)(struct store_handle *h,
	    const struct store_filter *f, size_t limit,
	    int (*cb)(const struct store_row *, void *), void *arg);
	int (*cursor_valid)(const char *s);
	enum store_result (*review_counts)(const char *form,
	    u_int64_t counts[STORE_REVIEW_STATES]);
	enum store_result (*reviews_each)(const char *id,
	    void (*cb)(const struct store_review *, void *), void *arg);
	enum store_result (*review_set)(struct store_review_change *c);
	enum store_result (*jobs_retry)(const char *id, const char *user,
	    u_int64_t now, int *n);
	enum store_result (*job_resend)(const char *id, int64_t job,
	    const char *user, u_int64_t now);
	enum store_result (*jobs_failed_count)(u_int64_t *n);
	enum store_result (*deliveries_each)(const char *id,
	    void (*cb)(const struct store_delivery *, void *), void *arg);
	enum store_result (*submission_delete)(const char *id,
	    const char *user, u_int64_t now);
	enum store_result (*audit_add)(const char *user, const char *action,
	    const char *subject, const char *before, const char *after,
	    u_int64_t now);
	enum store_result (*audit_each)(int64_t before_id, size_t limit,
	    void (*cb)(const struct store_audit *, void *), void *arg);
	enum store_result (*export_add)(const char *id, const char *user,
	    u_int64_t now);
	enum store_result (*export_finish)(struct store_handle *h,
	    const char *id, int ok, u_int64_t rows, const char *error,
	    u_int64_t now);
	enum store_result (*exports_abandon)(struct store_handle *h,
	    u_int64_t now);
	enum store_result (*export_get)(const char *id, char state[16],
	    u_int64_t *rows, char error[256]);
	enum store_result (*prune)(struct store_handle *h, u_int64_t before_ms,
	    u_int64_t session_idle_before_ms, struct store_prune *out);
};

extern const struct store_backend	store_sqlite_backend;
extern const struct store_backend	store_pg_backend;

/* The backend that serves db, a path or a URL (FORMWORK_DB). */
const struct store_backend	*store_backend_for(const char *db);

#endif
