/*
 * worker_thread.h: a worker's long-lived background threads (the
 * submissions' writer, the checkpointer, the password checker, the
 * queue's runners). Each is a Kore task that runs for the life of the
 * worker; this helper starts them, stops them and parks them, and carries
 * the one message protocol by which a thread wakes the event loop.
 *
 * Why stopping is done this way: Kore unloads the module (dlclose) right
 * after kore_worker_teardown() and then frees its own task structures
 * (kore_mem_cleanup), so no thread may still be running the module's
 * code then, nor go back to Kore's task loop. A stop asks the threads to
 * end and waits for them, WORKER_THREAD_STOP_WAIT_S at most (one stuck
 * in a slow call must not hold the worker's exit up forever); a thread
 * whose loop has ended parks on a condition variable nobody signals,
 * until the process exits.
 *
 * The contract for a user (one static struct worker_thread per kind of
 * thread, all fields the helper's):
 *
 *   - worker_thread_start() runs first (in kore_worker_configure, before
 *     any request): nothing touches lock or cond before it.
 *   - lock guards the user's own queues too, and cond is the one its
 *     threads sleep on: new work and a stop arrive under the same lock,
 *     so no wake-up is lost. Timed waits on cond measure CLOCK_MONOTONIC.
 *   - run(t) is one thread's loop. It returns, without lock held, once
 *     worker_thread_stopping() is true and it has finished whatever must
 *     not be lost (the writer commits what is queued); it must not call
 *     kore_task_* functions that end the task. The helper then counts it
 *     as ended and parks it.
 *   - A thread that ends otherwise was killed: by the sandbox (Kore's
 *     seccomp policy kills the thread that made a system call no filter
 *     allows, and says nothing) or by a fault of its own. The event loop
 *     looks once a second (worker_thread_watch in the .c), until the
 *     stop has begun, and then ends the worker, so that Kore starts a
 *     new one. It cannot see a thread killed while holding a lock the
 *     event loop then waits for: keep lock-held sections to list work.
 *   - A thread that hands results back to the event loop passes on_done to
 *     the start and uses the worker_thread_notify_* calls below: at most
 *     one message is unread at a time, and the loop takes every result
 *     there is per message, because Kore's task events are edge-triggered
 *     (a second message written before the first is read may never be
 *     seen as an event of its own).
 */

#ifndef FORMWORK_WORKER_THREAD_H
#define FORMWORK_WORKER_THREAD_H

#include <sys/types.h>

#include <pthread.h>

#define WORKER_THREAD_STOP_WAIT_S	3

struct kore_task;
struct worker_thread_task;

struct worker_thread {
	pthread_mutex_t			 lock;
	pthread_cond_t			 cond;
	pthread_cond_t			 park;	/* never signalled */
	const char			*name;	/* "writer", in log lines */
	void				(*run)(struct kore_task *);
	struct worker_thread_task	*tasks;
	u_int64_t			 count;		/* threads started */
	u_int64_t			 running;	/* not yet ended */
	struct worker_thread		*next_started;	/* the watch's list */
	int				 started;
	int				 stopping;	/* atomic */
	int				 notified;	/* a message unread */
};

/*
 * Starts n threads named name (for the log), each running run(t) in a
 * Kore task of its own; on_done (or NULL) is bound as the event loop's
 * callback for their messages. A second call does nothing.
 */
void	worker_thread_start(struct worker_thread *, const char *name,
	    u_int64_t n, void (*run)(struct kore_task *),
	    void (*on_done)(struct kore_task *));

/*
 * Worker shutdown: sets stopping, wakes every thread (a broadcast on
 * cond) and waits until all of them have ended, or for
 * WORKER_THREAD_STOP_WAIT_S; logs how many are still busy after that.
 * Does nothing when the threads were never started.
 */
void	worker_thread_stop(struct worker_thread *);

/*
 * 1 once worker_thread_stop() was called. Any thread may read it, with or
 * without lock held (a thread in a long call polls it to give up early).
 */
static inline int
worker_thread_stopping(struct worker_thread *wt)
{
	return (__atomic_load_n(&wt->stopping, __ATOMIC_RELAXED));
}

/*
 * A thread, with lock held, right after it handed results to the event
 * loop: returns 1 when the loop has no message unread, and counts one as
 * sent; the caller then calls worker_thread_notify_send() once it has
 * released lock (writing under the lock would keep the loop waiting).
 */
static inline int
worker_thread_notify_claim(struct worker_thread *wt)
{
	if (wt->notified)
		return (0);
	wt->notified = 1;
	return (1);
}

/* The worker_thread one of whose threads runs task t (on_done's t). */
struct worker_thread	*worker_thread_of(struct kore_task *);

/* A thread, without lock: the message worker_thread_notify_claim() allowed. */
void	worker_thread_notify_send(struct kore_task *);

/*
 * The event loop, first thing in on_done: reads the message. Returns 0,
 * after logging it, when the task has ended instead (nothing to take).
 */
int	worker_thread_notify_read(struct worker_thread *, struct kore_task *);

/*
 * The event loop, with lock held, as it takes every result there is:
 * results handed back from now on need a new message.
 */
static inline void
worker_thread_notify_reset(struct worker_thread *wt)
{
	wt->notified = 0;
}

#endif
