/*
 * offload.c: the worker's database threads and their queue (see
 * offload.h). Each thread uses the store's calls as any thread does: on
 * PostgreSQL each has a connection of its own, opened on first use.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "web/offload.h"

#define OFFLOAD_THREADS		4

static struct thread_queue	offload_queue;

static void	offload_thread(struct kore_task *);
static void	offload_free(struct thread_job *);
static void	offload_submission_run(struct offload *);
static void	offload_submission_free(struct thread_job *);

u_int64_t
offload_threads(void)
{
	return (store_remote() ? OFFLOAD_THREADS : 0);
}

void
offload_init(void)
{
	if (offload_threads() > 0)
		thread_queue_start(&offload_queue, "database",
		    offload_threads(), offload_thread);
}

void
offload_stop(void)
{
	if (offload_threads() > 0)
		thread_queue_stop(&offload_queue);
}

void *
offload_new(size_t size, void (*run)(struct offload *),
    void (*free_fn)(struct thread_job *))
{
	struct offload	*o;

	o = kore_calloc(1, size);
	o->run = run;
	o->job.free = free_fn != NULL ? free_fn : offload_free;
	return (o);
}

int
offload_run(struct http_request *req, struct offload *o)
{
	if (offload_threads() == 0) {
		o->run(o);
		o->job.done = 1;
		return (1);
	}
	o->job.done = 0;	/* o may be back from a run before */
	thread_queue_add(&offload_queue, &o->job, req);
	return (0);
}

int
offload_done(struct http_request *req, struct offload *o)
{
	if (o->job.done)
		return (1);
	http_request_sleep(req);
	return (0);
}

void
offload_release(struct offload *o)
{
	if (o != NULL)
		thread_job_release(&o->job);
}

static void
offload_free(struct thread_job *job)
{
	kore_free(job);
}

/* A database thread: runs jobs in arrival order until the worker stops. */
static void
offload_thread(struct kore_task *t)
{
	struct offload	*o;

	while ((o = (struct offload *)thread_queue_next(&offload_queue)) !=
	    NULL) {
		o->run(o);
		thread_queue_finish(&offload_queue, t, &o->job);
	}
	store_close();
}

struct offload_submission *
offload_submission_new(const char *id)
{
	struct offload_submission	*s;

	s = offload_new(sizeof(*s), offload_submission_run,
	    offload_submission_free);
	(void)snprintf(s->id, sizeof(s->id), "%s", id);
	return (s);
}

static void
offload_submission_run(struct offload *o)
{
	struct offload_submission	*s = (struct offload_submission *)o;

	s->sr_jobs = STORE_ERROR;
	if ((s->sr = store_submission_get(s->id, &s->rec)) == STORE_OK)
		s->sr_jobs = store_job_statuses(s->id, s->js,
		    FORM_MAX_ACTIONS, &s->n);
}

static void
offload_submission_free(struct thread_job *job)
{
	struct offload_submission	*s = (struct offload_submission *)job;

	store_record_cleanup(&s->rec);
	kore_free(s);
}
