/*
 * worker_thread.c: starts, stops and parks a worker's background threads
 * (see worker_thread.h for the contract and why they park). It knows
 * nothing of what the threads do. The calls a thread makes with its lock
 * held are inline in the header, so the writer's hot path costs what it
 * did before this helper existed; the rest runs at start, at stop and
 * once per message.
 */

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/tasks.h>

#include "worker/worker_thread.h"

/*
 * One thread's Kore task, first so that the task pointer Kore hands the
 * entry function is also a pointer to this (C11 6.7.2.1: a struct and its
 * first member share their address).
 */
struct worker_thread_task {
	struct kore_task	 task;
	struct worker_thread	*wt;
};

/* How often the event loop looks for threads that were killed. */
#define WORKER_THREAD_WATCH_MS	1000

/* Every kind of thread started in this worker, for the watch. */
static struct worker_thread	*worker_threads_started;

static int	worker_thread_main(struct kore_task *);
static void	worker_thread_watch(void *, u_int64_t);

/*
 * The tasks come from calloc(), not kore_calloc(), and are never freed:
 * Kore's task threads and the parked threads refer to them until the
 * process exits, past kore_mem_cleanup() which unmaps Kore's pools.
 */
void
worker_thread_start(struct worker_thread *wt, const char *name, u_int64_t n,
    void (*run)(struct kore_task *), void (*on_done)(struct kore_task *))
{
	pthread_condattr_t	attr;
	u_int64_t		i;

	if (wt->started)
		return;
	(void)pthread_mutex_init(&wt->lock, NULL);
	/* Timed waits measure on the monotonic clock: immune to NTP. */
	(void)pthread_condattr_init(&attr);
	(void)pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	(void)pthread_cond_init(&wt->cond, &attr);
	(void)pthread_condattr_destroy(&attr);
	(void)pthread_cond_init(&wt->park, NULL);
	wt->name = name;
	wt->run = run;
	if ((wt->tasks = calloc(n, sizeof(*wt->tasks))) == NULL)
		fatal("%s: %s threads: %s", __func__, name, errno_s);
	wt->count = n;
	wt->running = n;
	wt->started = 1;
	if (worker_threads_started == NULL)
		(void)kore_timer_add(worker_thread_watch,
		    WORKER_THREAD_WATCH_MS, NULL, 0);
	wt->next_started = worker_threads_started;
	worker_threads_started = wt;
	/*
	 * Each of these tasks holds its Kore task thread until the worker
	 * ends. Kore starts a thread per task only while it has fewer than
	 * kore_task_threads; past that it queues a task behind a running one
	 * and a task queued behind one of ours would never start. So every
	 * start reserves its own threads here rather than a count kept by
	 * hand elsewhere (which once missed a thread, and the queue's
	 * listener never ran).
	 */
	if (n > (u_int64_t)(UINT16_MAX - kore_task_threads))
		fatal("%s: too many %s threads", __func__, name);
	kore_task_threads = (u_int16_t)(kore_task_threads + n);
	for (i = 0; i < n; i++) {
		wt->tasks[i].wt = wt;
		kore_task_create(&wt->tasks[i].task, worker_thread_main);
		if (on_done != NULL)
			kore_task_bind_callback(&wt->tasks[i].task, on_done);
		kore_task_run(&wt->tasks[i].task);
	}
}

void
worker_thread_stop(struct worker_thread *wt)
{
	struct timespec		until;

	if (!wt->started)
		return;
	pthread_mutex_lock(&wt->lock);
	__atomic_store_n(&wt->stopping, 1, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&wt->cond);
	(void)clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += WORKER_THREAD_STOP_WAIT_S;
	while (wt->running > 0) {
		if (pthread_cond_timedwait(&wt->cond, &wt->lock, &until) != 0)
			break;
	}
	if (wt->running > 0)
		kore_log(LOG_WARNING, "%s: %llu %s threads still busy",
		    __func__, (unsigned long long)wt->running, wt->name);
	pthread_mutex_unlock(&wt->lock);
}

struct worker_thread *
worker_thread_of(struct kore_task *t)
{
	return (((struct worker_thread_task *)t)->wt);
}

void
worker_thread_notify_send(struct kore_task *t)
{
	u_int8_t	msg;

	msg = 1;
	kore_task_channel_write(t, &msg, sizeof(msg));
}

int
worker_thread_notify_read(struct worker_thread *wt, struct kore_task *t)
{
	u_int8_t	msg;

	if (kore_task_finished(t)) {
		kore_log(LOG_ERR, "%s: the %s thread stopped", __func__,
		    wt->name);
		return (0);
	}
	(void)kore_task_channel_read(t, &msg, sizeof(msg));
	return (1);
}

/*
 * The event loop, once a second. Our threads never end of themselves
 * (they park), so one that ended was killed: a system call the sandbox
 * refuses (the kernel's audit log names it), or a fault of its own. What
 * it held goes with it (the database's write lock, say, or a batch of
 * submissions its requests wait for), and it cannot be started again
 * in its place: the worker exits non-zero so that Kore starts a new one
 * (worker_death_policy restart). Nothing the lost thread held had been
 * acknowledged; those requests' connections close, for their clients to
 * send again. The exit is _exit(): exit()'s handlers (OpenSSL's cleanup,
 * libraries' destructors) would run under the other threads, a runner
 * in a TLS call say. pthread_tryjoin_np() only reads the thread's id
 * while it runs (the kernel clears it when the thread ends): no system
 * call. What this cannot catch: a thread killed while holding a lock
 * the event loop then waits for (a list's lock is held for a few list
 * operations, without system calls, so the window is small).
 */
static void
worker_thread_watch(void *arg, u_int64_t now)
{
	struct worker_thread	*wt;
	u_int64_t		 i;

	for (wt = worker_threads_started; wt != NULL; wt = wt->next_started) {
		if (worker_thread_stopping(wt))
			continue;
		for (i = 0; i < wt->count; i++) {
			if (pthread_tryjoin_np(wt->tasks[i].task.thread->tid,
			    NULL) != 0)
				continue;
			kore_log(LOG_ERR, "a %s thread is gone (killed by the "
			    "sandbox? the kernel's audit log names the system "
			    "call): this worker restarts", wt->name);
			(void)fflush(stdout);
			_exit(1);
		}
	}
}

/*
 * Every thread's Kore task: the user's loop, then the end. It parks
 * instead of returning: Kore's task thread would go back to waiting on
 * its own structures, which the worker frees (kore_mem_cleanup) right
 * after teardown.
 */
static int
worker_thread_main(struct kore_task *t)
{
	struct worker_thread	*wt = worker_thread_of(t);

	wt->run(t);

	pthread_mutex_lock(&wt->lock);
	wt->running--;
	pthread_cond_broadcast(&wt->cond);
	for (;;)
		pthread_cond_wait(&wt->park, &wt->lock);

	return (KORE_RESULT_OK);
}
