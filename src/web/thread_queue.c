/*
 * thread_queue.c: the queue between requests and a worker's background
 * threads (see thread_queue.h). The threads are worker_thread.h's; this
 * file adds the two lists and the waking of the requests.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <pthread.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "web/thread_queue.h"

static void	thread_queue_on_done(struct kore_task *);

void
thread_queue_start(struct thread_queue *q, const char *name, u_int64_t n,
    void (*run)(struct kore_task *))
{
	if (q->wt.started)
		return;
	TAILQ_INIT(&q->queued);
	TAILQ_INIT(&q->done);
	worker_thread_start(&q->wt, name, n, run, thread_queue_on_done);
}

void
thread_queue_stop(struct thread_queue *q)
{
	worker_thread_stop(&q->wt);
}

void
thread_queue_add(struct thread_queue *q, struct thread_job *job,
    struct http_request *req)
{
	job->req = req;
	http_request_sleep(req);
	pthread_mutex_lock(&q->wt.lock);
	TAILQ_INSERT_TAIL(&q->queued, job, list);
	pthread_mutex_unlock(&q->wt.lock);
	pthread_cond_signal(&q->wt.cond);
}

struct thread_job *
thread_queue_next(struct thread_queue *q)
{
	struct thread_job	*job;

	pthread_mutex_lock(&q->wt.lock);
	while (TAILQ_EMPTY(&q->queued) && !worker_thread_stopping(&q->wt))
		pthread_cond_wait(&q->wt.cond, &q->wt.lock);
	if ((job = TAILQ_FIRST(&q->queued)) != NULL)
		TAILQ_REMOVE(&q->queued, job, list);
	pthread_mutex_unlock(&q->wt.lock);
	return (job);
}

void
thread_queue_finish(struct thread_queue *q, struct kore_task *t,
    struct thread_job *job)
{
	int		notify;

	pthread_mutex_lock(&q->wt.lock);
	TAILQ_INSERT_TAIL(&q->done, job, list);
	notify = worker_thread_notify_claim(&q->wt);
	pthread_mutex_unlock(&q->wt.lock);
	if (notify)
		worker_thread_notify_send(t);
}

void
thread_job_release(struct thread_job *job)
{
	if (job == NULL)
		return;
	if (!job->done && job->req != NULL) {
		/* A thread still has it: thread_queue_on_done() frees it. */
		job->req = NULL;
		return;
	}
	job->free(job);
}

/* Event loop: wakes the requests whose jobs are done. */
static void
thread_queue_on_done(struct kore_task *t)
{
	struct thread_queue	*q;
	struct thread_job_list	 done;
	struct thread_job	*job;

	q = (struct thread_queue *)worker_thread_of(t);
	if (!worker_thread_notify_read(&q->wt, t))
		return;

	TAILQ_INIT(&done);
	pthread_mutex_lock(&q->wt.lock);
	TAILQ_CONCAT(&done, &q->done, list);
	worker_thread_notify_reset(&q->wt);
	pthread_mutex_unlock(&q->wt.lock);

	while ((job = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, job, list);
		job->done = 1;
		if (job->req != NULL)
			http_request_wakeup(job->req);
		else
			job->free(job);
	}
}
