/*
 * thread_queue.h: work that a request hands to one of its worker's
 * background threads and sleeps on until it is done: the password
 * checker's (login_check.c) and the challenge verifiers' (captcha.c).
 * The pattern of commit.c for one job at a time: the handler queues a
 * job and puts its request to sleep; a thread takes it, does it, and
 * hands it back; the event loop marks it done and wakes the request,
 * which reads the result when it runs again.
 *
 * A job is its user's struct with a struct thread_job first. Two lists
 * under the threads' lock, queued and done, and worker_thread.h's
 * message protocol between the threads and the event loop: at most one
 * message unread, and the loop takes the whole done list per message,
 * because Kore's task events are edge-triggered. Only the event loop
 * touches job->req and job->done.
 */

#ifndef FORMWORK_THREAD_QUEUE_H
#define FORMWORK_THREAD_QUEUE_H

#include <sys/types.h>
#include <sys/queue.h>

#include "worker/worker_thread.h"

struct http_request;
struct kore_task;

struct thread_job {
	struct http_request	*req;	/* NULL once the request is gone */
	int			 done;	/* handed back: the result is set */
	/* Frees the whole job (its user's struct). */
	void			(*free)(struct thread_job *);
	TAILQ_ENTRY(thread_job)	 list;
};

TAILQ_HEAD(thread_job_list, thread_job);

struct thread_queue {
	struct worker_thread	 wt;	/* first: the task's thread is the queue */
	struct thread_job_list	 queued;
	struct thread_job_list	 done;
};

/* Starts (once) n threads named name, each running run(t). */
void	thread_queue_start(struct thread_queue *, const char *name,
	    u_int64_t n, void (*run)(struct kore_task *));

/* Worker shutdown: the threads finish what is queued and end. */
void	thread_queue_stop(struct thread_queue *);

/* Event loop: queues job for req and puts req to sleep until it is done. */
void	thread_queue_add(struct thread_queue *, struct thread_job *,
	    struct http_request *);

/*
 * A thread: the next job, waiting for one; NULL once the worker stops
 * and none is left (the thread's loop then returns).
 */
struct thread_job	*thread_queue_next(struct thread_queue *);

/* A thread: hands job back, its result set, and tells the event loop. */
void	thread_queue_finish(struct thread_queue *, struct kore_task *,
	    struct thread_job *);

/*
 * Event loop: the request is done with job (or gone): freed now, or, while
 * a thread still has it, by the event loop once it is handed back.
 * Accepts NULL.
 */
void	thread_job_release(struct thread_job *);

#endif
