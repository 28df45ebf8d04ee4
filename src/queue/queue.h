/*
 * queue.h: the runners of the durable queue of actions. Each worker
 * starts FORMWORK_RUNNERS runner threads (Kore tasks), each with its own
 * database connection. A runner claims a due job with a lease, runs its
 * action, and records the outcome: done, a retry later (exponential
 * backoff with jitter, or the receiver's Retry-After), or failed for good
 * once the attempts are used up. Jobs committed by this worker start at
 * once (the writer wakes the runners), and on PostgreSQL so do jobs
 * committed by any node (a listener thread per worker waits for the
 * database's notification, store_jobs_wait); others, retries and jobs
 * whose runner died are found by polling every QUEUE_POLL_MS.
 */

#ifndef FORMWORK_QUEUE_H
#define FORMWORK_QUEUE_H

#define QUEUE_POLL_MS		100
/* How long the listener waits for news before it checks for a stop. */
#define QUEUE_LISTEN_MS		500

/* Starts this worker's runners. */
void	queue_init(void);

/* New jobs were committed: wakes the runners (any thread may call it). */
void	queue_wake(void);

/*
 * Worker shutdown: asks the runners to stop and waits (a few seconds at
 * most) until they have (worker_thread.h says why). An action in
 * progress is aborted through its stop check (actions.h) and retried
 * later.
 */
void	queue_stop(void);

#endif
