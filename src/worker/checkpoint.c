/*
 * checkpoint.c: the worker's checkpointer thread (see checkpoint.h).
 * Nudges that arrive while a checkpoint runs fold into one more run.
 */

#include <sys/types.h>

#include <pthread.h>

#include <kore/kore.h>
#include <kore/tasks.h>

#include "worker/checkpoint.h"
#include "worker/worker_thread.h"
#include "store/store.h"

/* Its lock guards checkpoint_wanted. */
static struct worker_thread	checkpoint_thread;
static int			checkpoint_wanted;

static void	checkpoint_run(struct kore_task *);

void
checkpoint_init(void)
{
	worker_thread_start(&checkpoint_thread, "checkpointer", 1,
	    checkpoint_run, NULL);
}

void
checkpoint_stop(void)
{
	worker_thread_stop(&checkpoint_thread);
}

void
checkpoint_nudge(void)
{
	if (!store_log_needs_checkpoint())
		return;
	pthread_mutex_lock(&checkpoint_thread.lock);
	checkpoint_wanted = 1;
	pthread_mutex_unlock(&checkpoint_thread.lock);
	pthread_cond_signal(&checkpoint_thread.cond);
}

/* The thread: one checkpoint per run of nudges, until the worker stops. */
static void
checkpoint_run(struct kore_task *t)
{
	struct store_handle	*h;

	h = store_handle_new();
	pthread_mutex_lock(&checkpoint_thread.lock);
	for (;;) {
		while (!checkpoint_wanted &&
		    !worker_thread_stopping(&checkpoint_thread))
			pthread_cond_wait(&checkpoint_thread.cond,
			    &checkpoint_thread.lock);
		if (worker_thread_stopping(&checkpoint_thread))
			break;
		checkpoint_wanted = 0;
		pthread_mutex_unlock(&checkpoint_thread.lock);
		store_checkpoint(h);
		pthread_mutex_lock(&checkpoint_thread.lock);
	}
	pthread_mutex_unlock(&checkpoint_thread.lock);
	store_handle_free(h);
}
