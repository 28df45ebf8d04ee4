/*
 * offload.h: a request's store calls, off the event loop when the store
 * is a server across the network (PostgreSQL, store_remote()): the
 * handler puts what it needs into a job, the job runs on one of the
 * worker's database threads while the request sleeps, and the handler,
 * run again, answers from the job's results. On SQLite, whose reads
 * are local and take less than the hand-off to a thread would, the job
 * runs at once on the event loop and the handler goes on in the same
 * call. The pattern of thread_queue.h (a job is its user's struct with
 * a struct offload first), so a slow database slows the requests that
 * need it and never the pages and assets that do not.
 */

#ifndef FORMWORK_OFFLOAD_H
#define FORMWORK_OFFLOAD_H

#include "core/forms.h"
#include "store/store.h"
#include "web/thread_queue.h"

struct http_request;

struct offload {
	struct thread_job	 job;	/* first */
	/* The store calls, on a database thread or the event loop. */
	void			(*run)(struct offload *);
};

/* Starts the worker's database threads when the store is remote. */
void	offload_init(void);

/* Worker shutdown: the threads finish what is queued and end. */
void	offload_stop(void);

/* How many threads offload_init() starts (0 on a local store). */
u_int64_t	offload_threads(void);

/*
 * A job of size bytes (struct offload first, the rest zeroed) that runs
 * run; freed with free_fn (which frees what the job holds, then the job
 * with kore_free), or kore_free when NULL.
 */
void	*offload_new(size_t size, void (*run)(struct offload *),
	    void (*free_fn)(struct thread_job *));

/*
 * Runs o for req: returns 1 once it has run (at once, on SQLite), or 0
 * with req asleep until a database thread has run it: the handler then
 * returns KORE_RESULT_RETRY, and when it runs again o->job.done is set.
 * A job that is done may be run again (a request in several steps).
 */
int	offload_run(struct http_request *, struct offload *);

/*
 * The handler, run again while o is out: 1 once o is done; else 0 with
 * req asleep again (the handler returns KORE_RESULT_RETRY).
 */
int	offload_done(struct http_request *, struct offload *);

/* The request is done with o (or gone): freed now or once it is back. */
void	offload_release(struct offload *);

/* A submission and its jobs' progress, as the result page reads them. */
struct offload_submission {
	struct offload		 o;
	char			 id[TOKEN_ID_LEN + 1];
	enum store_result	 sr;		/* of the submission */
	enum store_result	 sr_jobs;	/* of its jobs */
	struct store_record	 rec;
	struct store_job_status	 js[FORM_MAX_ACTIONS];
	size_t			 n;
};

/* A job reading the submission id (a valid token id). */
struct offload_submission	*offload_submission_new(const char *id);

#endif
