/*
 * store.h: Formwork's storage interface, in the app's own nouns, with
 * store_admin.h (the desk's part) and store_vocab.h (the names every
 * backend shares). The calls name no SQL, table or query plan; the two
 * that tend SQLite's own machinery (the write-ahead log's checkpoints,
 * the search index's upkeep) say what a backend without it does.
 *
 * The SQLite implementation is the store_sqlite*.c files (one database
 * file in WAL mode) and store_epoch.c; a PostgreSQL one can implement
 * the same calls for several nodes sharing one database. Each Kore
 * worker opens its own connections, lazily, after fork.
 *
 * Writes go through store_submissions_insert(), which takes a batch: all
 * of it is committed in one transaction (one fsync), each submission with
 * its own outcome, so a caller that gathers concurrent requests gets group
 * commit for free.
 */

#ifndef FORMWORK_STORE_H
#define FORMWORK_STORE_H

#include <sys/types.h>

#include <stddef.h>

#include "core/token.h"
#include "core/validate.h"
#include "store/store_vocab.h"

struct store_handle;	/* a thread's own connection (store_handle_new) */

enum store_result {
	STORE_OK = 0,
	STORE_KEY_USED,		/* this form instance was already stored */
	STORE_UNIQUE_TAKEN,	/* a unique field's value is in use */
	STORE_NOT_FOUND,
	STORE_BUSY,		/* the database stayed locked: retry later */
	STORE_UNWRITABLE,	/* disk full, read-only or failing: retry later */
	STORE_CONFLICT,		/* changed since the version the caller saw */
	STORE_ERROR,
};

struct store_claim {
	const char		*field;
	const char		*value;		/* normalised (lowercase) */
};

/* An action to run once its submission is stored, written with it. */
struct store_job_spec {
	const char		*kind;		/* "email" or "webhook" */
	const char		*target;	/* address or URL */
	int			 action;	/* index in the form's actions */
	int			 max_attempts;
};

/* A submission to insert; the store fills in the outcome fields. */
struct store_submission {
	char			 id[TOKEN_ID_LEN + 1];
	const char		*form;
	const char		*key;
	char			 hash[VALIDATE_HASH_LEN + 1];
	const char		*data;		/* JSON object of the values */
	const char		*client;
	int			 spam;
	u_int64_t		 created_ms;
	struct store_claim	*claims;
	size_t			 nclaims;
	struct store_job_spec	*jobs;
	size_t			 njobs;

	/*
	 * Posted from the owner's own pages (SPEC section 10). repeat: for
	 * a submission without a form instance key, a digest of its form,
	 * client and values: another with the same digest stored less
	 * than STORE_REPEAT_WINDOW_MS before makes this one STORE_KEY_USED
	 * (prior_id that one), as a used key does. subject and reply_to:
	 * the notification's, kept beside the values (NULL: none).
	 */
	const char		*repeat;
	const char		*subject;
	const char		*reply_to;

	enum store_result	 result;
	char			 prior_id[TOKEN_ID_LEN + 1];	/* KEY_USED */
	char			 prior_hash[VALIDATE_HASH_LEN + 1];
	const char		*taken_field;		/* UNIQUE_TAKEN */
};

/* A stored submission, as the result page needs it. */
struct store_record {
	char			 id[TOKEN_ID_LEN + 1];
	char			 form[64];
	char			*data;		/* kore_free it */
	int			 spam;
	int			 version;
	u_int64_t		 created_ms;
	char			 review[16];	/* a store_review_states */
	char			 client[64];
	char			 actions[16];	/* a store_action_states */
	char			*subject;	/* kore_free it; NULL: none */
	char			 reply_to[256];	/* "": none */
};

/* How long a submission without a key stands for its repeats. */
#define STORE_REPEAT_WINDOW_MS	(10 * 60 * 1000)

/*
 * 1 when db (FORMWORK_DB) names a file, SQLite's, whose directory the
 * caller makes before store_init(); 0 for a database server's URL
 * (postgresql://... or postgres://...: PostgreSQL).
 */
int	store_is_file(const char *db);

/*
 * Creates the database file if needed and brings its schema up to date.
 * Called once by the parent before the workers start; it closes the
 * connection again so none is shared across fork.
 */
int	store_init(const char *path, char *err, size_t errlen);

/*
 * The result pages' change counter, and it is per host: a word in a file
 * beside the database (store_epoch.c), mapped shared by every process on
 * this machine. It moves after each committed change made through the
 * desk or formworkctl here (reviews, retries, deletions, prunes), so a
 * worker may keep the finished result pages it served, ETag and bytes
 * (result_cache.c), and answer the next request for one without a read.
 * A change made on another node does not move it. A store that several
 * nodes share (PostgreSQL) must therefore keep the counter in the
 * database instead, bumped in each changing transaction and read with
 * each page, or have the result pages bypass the per-node page cache.
 * Opened by store_init(); 0 and no-op until then.
 */
int		store_epoch_open(const char *path, char *err, size_t errlen);
u_int64_t	store_epoch(void);
void		store_epoch_bump(void);

/*
 * Who uses the store on this host, through a lock on the counter's file:
 * a server holds it shared for its whole life (its workers inherit it),
 * store_restore() needs it alone. -1 with a sentence in err when the
 * lock cannot be had (exclusive: someone else holds it).
 */
int	store_lock(const char *path, int exclusive, char *err, size_t errlen);

/* ---- the operator's copies (formworkctl backup, restore, check) ---- */

/*
 * Writes a consistent copy of the store at path into file, while servers
 * go on reading and writing it: the copy is one snapshot, synced, and
 * replaces file only once complete (SQLite's own file; PostgreSQL's
 * pg_dump archive in its custom format).
 */
int	store_backup(const char *path, const char *file, char *err,
	    size_t errlen);

/*
 * Puts the copy in file back as the store at path, after checking that
 * it is a sound Formwork store, all of it or nothing. SQLite: refused
 * while a server holds the store (store_lock). PostgreSQL: refused while
 * the database holds any site's data (every node stopped, the copy goes
 * into an empty database); say is then called once per table with what
 * was restored. A copy of an older schema is brought to this build's.
 */
int	store_restore(const char *path, const char *file,
	    void (*say)(const char *, void *), void *arg, char *err,
	    size_t errlen);

/*
 * Checks the store at path without changing it: integrity, foreign keys,
 * the search index and the schema version. Calls say once per problem
 * or, with none, once with a summary; returns the number of problems,
 * or -1 (err) when the store cannot be read at all.
 */
int	store_check(const char *path, void (*say)(const char *, void *),
	    void *arg, char *err, size_t errlen);

/*
 * formworkctl migrate: copies the SQLite store at from (locked: no
 * server may be using it; brought to this build's schema first) into
 * the PostgreSQL database at to, which must hold no Formwork data,
 * every table in one transaction. Calls say once per table with its
 * name and the rows copied. -1 with a sentence in err, nothing copied.
 */
int	store_migrate(const char *from, const char *to,
	    void (*say)(const char *, void *), void *arg, char *err,
	    size_t errlen);

/* Remembers the path the workers' connections open. */
void	store_configure(const char *path);

/*
 * Per worker, at start: opens its two connections (event loop and writer
 * thread) before any client can use up the worker's file descriptors.
 * A connection that fails here is retried on first use.
 */
void	store_worker_open(void);

/* The writer thread, as it ends: closes its connection. */
void	store_writer_close(void);

/*
 * The writer's connection never checkpoints the write-ahead log itself
 * (checkpoint.h says why): after each batch the writer asks whether the
 * log has grown past SQLite's usual 1,000 pages, and if so has
 * store_checkpoint() run on another connection (h, opened on first use).
 * A backend whose server tends its own log answers 0 and does nothing.
 */
int	store_log_needs_checkpoint(void);
void	store_checkpoint(struct store_handle *h);

/*
 * Compacts the search index, on h's connection, for a store filled in
 * bulk (formworkctl generate); a backend whose index needs no such
 * upkeep does nothing.
 */
void	store_search_optimize(struct store_handle *h);

/*
 * Worker shutdown, once the threads have ended: closes the reader. On
 * PostgreSQL it closes the calling thread's own connection, so a thread
 * that used the calls without a handle calls it too as it ends.
 */
void	store_close(void);

/*
 * 1 when the store is a server reached over the network (PostgreSQL):
 * its calls wait for a round trip, so none belongs on an event loop, and
 * what other nodes change never shows in this host's change counter.
 */
int	store_remote(void);

/* 1 when the store answers a trivial query. */
int	store_ping(void);

/* Inserts n submissions in one transaction; sets each one's result. */
void	store_submissions_insert(struct store_submission **, size_t n);

/*
 * The same in steps, for a writer that gathers its batch while it waits
 * and writes the next one while the last is synced: store_batch_begin()
 * takes the database's write lock (waiting for another process's
 * transaction to end), store_batch_commit() then inserts and commits
 * what has arrived meanwhile. A batch begun must be committed, even an
 * empty one. A committed batch is acknowledged only once a later
 * store_batch_sync() has returned STORE_OK: it makes every batch
 * committed before it was called durable, on h, a handle of the calling
 * thread's own (store_handle_new), so it may run while the writer goes
 * on. A backend whose commits are durable by themselves returns STORE_OK
 * at once.
 */
enum store_result	store_batch_begin(void);
void			store_batch_commit(struct store_submission **,
			    size_t n);
enum store_result	store_batch_sync(struct store_handle *h);

/* Looks up the submission stored for a form instance. */
enum store_result	store_key_find(const char *form, const char *key,
			    char id[TOKEN_ID_LEN + 1],
			    char hash[VALIDATE_HASH_LEN + 1]);

/*
 * Looks up the submission stored for form with the repeat digest repeat
 * (store_submission.repeat) less than STORE_REPEAT_WINDOW_MS before now.
 */
enum store_result	store_repeat_find(const char *form, const char *repeat,
			    u_int64_t now, char id[TOKEN_ID_LEN + 1],
			    char hash[VALIDATE_HASH_LEN + 1]);

/* STORE_UNIQUE_TAKEN when value is already claimed for form.field. */
enum store_result	store_unique_check(const char *form,
			    const char *field, const char *value);

/* Number of submissions from client since since_ms (for rate limits). */
enum store_result	store_client_count(const char *client,
			    u_int64_t since_ms, u_int64_t *count);

enum store_result	store_submission_get(const char *id,
			    struct store_record *);
void			store_record_cleanup(struct store_record *);

/* ---- the queue of actions ---------------------------------------- */

/* A job claimed by a runner. */
struct store_job {
	int64_t			 id;
	char			 submission_id[TOKEN_ID_LEN + 1];
	int			 action;
	char			 kind[16];
	char			 target[512];
	int			 attempts;	/* this one included */
	int			 max_attempts;
	char			 delivery_id[TOKEN_ID_LEN + 5];
	u_int64_t		 created_ms;
};

/* A job's progress, as the result page shows it. */
struct store_job_status {
	int64_t			 id;
	char			 delivery_id[TOKEN_ID_LEN + 5];
	char			 kind[16];
	char			 target[256];
	enum job_state		 state;
	int			 attempts;
	int			 max_attempts;
	u_int64_t		 run_at;
	char			 error[256];
};

/*
 * A connection of a thread's own (a runner, the checkpointer, an export,
 * formworkctl), for the calls that take one.
 */
struct store_handle	*store_handle_new(void);
void			 store_handle_free(struct store_handle *);

/*
 * Claims the job due first (queued and due, or running with an expired
 * lease), marking it running until now + lease_ms. STORE_NOT_FOUND when
 * nothing is due.
 */
enum store_result	store_job_claim(struct store_handle *, u_int64_t now,
			    u_int64_t lease_ms, struct store_job *);

/* One attempt of a job, as the delivery log keeps it. */
struct store_attempt {
	u_int64_t		 started_ms;
	u_int64_t		 duration_ms;
	enum attempt_outcome	 outcome;
	int			 code;		/* SMTP reply, HTTP status; 0 */
	const char		*error;		/* "" when none */
	const char		*response;	/* what the other end said */
};

/*
 * Records an attempt: the job's new state (run_at is the next try when
 * queued) and the attempt's line in the delivery log, together. The
 * line is kept even when the job has meanwhile been claimed again (this
 * runner's lease ran out): the attempt happened all the same.
 */
enum store_result	store_job_finish(struct store_handle *,
			    const struct store_job *, enum job_state,
			    const char *error, u_int64_t run_at, u_int64_t now,
			    const struct store_attempt *);

/*
 * Gives a claimed job back, as if this attempt had not been made: queued
 * again, due now, lease ended (a runner stopping with the server).
 */
enum store_result	store_job_release(struct store_handle *,
			    const struct store_job *, u_int64_t now);

/* The submission a job belongs to. */
enum store_result	store_job_record(struct store_handle *,
			    const struct store_job *, struct store_record *);

/* Webhook endpoints disabled after a 410 Gone. */
enum store_result	store_endpoint_is_disabled(struct store_handle *,
			    const char *url, int *disabled);
enum store_result	store_endpoint_disable(struct store_handle *,
			    const char *url, const char *reason, u_int64_t now);

/*
 * An autoreply may go to address (lowercased) at most once per
 * window_ms: *granted is 1 when none went there within the window
 * before now, or when job itself claimed it (its own retry), and the
 * address is then claimed for job; else 0, and the caller drops it.
 */
enum store_result	store_autoreply_claim(struct store_handle *,
			    const char *address, int64_t job, u_int64_t now,
			    u_int64_t window_ms, int *granted);

/* A job that failed for good, as the owner's alert lists it. */
struct store_alert_item {
	char			 submission_id[TOKEN_ID_LEN + 1];
	char			 form[64];
	char			 kind[16];
	char			 target[256];
	char			 error[256];
	u_int64_t		 failed_ms;
};

/*
 * The owner's alert digest. When jobs have failed for good that no
 * digest has listed yet, the first of them at least gather_ms ago, and
 * the last digest was taken at least interval_ms ago (on any node),
 * marks them all as listed, calls cb with each (at most max, oldest
 * first) and sets *n to how many there were; else *n is 0. The caller
 * sends the digest, or gives it back with store_alert_giveback().
 */
enum store_result	store_alert_take(struct store_handle *, u_int64_t now,
			    u_int64_t gather_ms, u_int64_t interval_ms,
			    size_t max,
			    void (*cb)(const struct store_alert_item *, void *),
			    void *, size_t *n);

/*
 * The digest taken at taken_ms could not be sent: its jobs count as not
 * listed again, and the next digest may be taken from retry_at on.
 */
enum store_result	store_alert_giveback(struct store_handle *,
			    u_int64_t taken_ms, u_int64_t retry_at);

/*
 * A thread's wait, on its own connection h, for news of jobs queued by
 * any node: 1 when some may have been (a commit that queued one, or a
 * lost connection, after which nothing is known), 0 after timeout_ms
 * without. -1 at once when this backend sends no such news (SQLite:
 * polling finds what other processes queue).
 */
int			store_jobs_wait(struct store_handle *,
			    u_int64_t timeout_ms);

/* Event loop: the number of jobs in each state (indexed by job_state). */
enum store_result	store_job_counts(u_int64_t counts[STORE_JOB_STATES]);

/* Event loop: the jobs of a submission, in action order (at most max). */
enum store_result	store_job_statuses(const char *submission_id,
			    struct store_job_status *, size_t max, size_t *n);

#endif
