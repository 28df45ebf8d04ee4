/*
 * checkpoint.c: the worker's checkpointer thread (see checkpoint.h).
 * Nudges that arrive while a checkpoint runs fold into one more run.
 */

#include <sys/types.h>

#include <pthread.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/tasks.h>

#include "worker/checkpoint.h"
#include "store/store.h"

#define CHECKPOINT_STOP_WAIT_S	3

static struct kore_task	checkpoint_task;
static pthread_mutex_t	checkpoint_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	checkpoint_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t	checkpoint_park = PTHREAD_COND_INITIALIZER;
static int		checkpoint_wanted;
static int		checkpoint_started;
static int		checkpoint_stopping;
static int		checkpoint_stopped;

static int	checkpoint_thread(struct kore_task *);

void
checkpoint_init(void)
{
	if (checkpoint_started)
		return;
	kore_task_create(&checkpoint_task, checkpoint_thread);
	kore_task_run(&checkpoint_task);
	checkpoint_started = 1;
}

void
checkpoint_stop(void)
{
	struct timespec		until;

	if (!checkpoint_started)
		return;
	(void)clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += CHECKPOINT_STOP_WAIT_S;
	pthread_mutex_lock(&checkpoint_lock);
	checkpoint_stopping = 1;
	pthread_cond_broadcast(&checkpoint_cond);
	while (!checkpoint_stopped) {
		if (pthread_cond_timedwait(&checkpoint_cond, &checkpoint_lock,
		    &until) != 0)
			break;
	}
	pthread_mutex_unlock(&checkpoint_lock);
}

void
checkpoint_nudge(void)
{
	if (!store_log_needs_checkpoint())
		return;
	pthread_mutex_lock(&checkpoint_lock);
	checkpoint_wanted = 1;
	pthread_mutex_unlock(&checkpoint_lock);
	pthread_cond_signal(&checkpoint_cond);
}

static int
checkpoint_thread(struct kore_task *t)
{
	struct store_handle	*h;

	h = store_handle_new();
	pthread_mutex_lock(&checkpoint_lock);
	for (;;) {
		while (!checkpoint_wanted && !checkpoint_stopping)
			pthread_cond_wait(&checkpoint_cond, &checkpoint_lock);
		if (checkpoint_stopping)
			break;
		checkpoint_wanted = 0;
		pthread_mutex_unlock(&checkpoint_lock);
		store_checkpoint(h);
		pthread_mutex_lock(&checkpoint_lock);
	}
	store_handle_free(h);
	checkpoint_stopped = 1;
	pthread_cond_broadcast(&checkpoint_cond);
	/* Park until exit, for the reason given in queue.c's runner. */
	for (;;)
		pthread_cond_wait(&checkpoint_park, &checkpoint_lock);

	return (KORE_RESULT_OK);
}
