/*
 * metrics.h: counters for GET /metrics (Prometheus text format). They
 * live in one shared memory region mapped by the parent before fork, so
 * every worker adds to the same numbers without a lock (atomic adds).
 */

#ifndef FORMWORK_METRICS_H
#define FORMWORK_METRICS_H

#include <sys/types.h>

#include <stddef.h>

struct http_request;
struct kore_buf;

int	metrics_init(char *err, size_t errlen);

/* One answered request, by its handler and status. */
void	metrics_request(const struct http_request *, int status);

/* One finished attempt of a job: done, retry or failed. */
void	metrics_job_attempt(const char *outcome);

/* A job finished (done or failed) latency_ms after its submission. */
void	metrics_job_latency(u_int64_t latency_ms);

/*
 * Where one submission's time went between its hand-over to the writer
 * and its request's wake-up, in microseconds (web/commit.c measures):
 */
enum metrics_commit_phase {
	METRICS_COMMIT_WAIT,	/* for a batch: the writer's last, the lock */
	METRICS_COMMIT_WRITE,	/* its batch's statements and COMMIT */
	METRICS_COMMIT_SYNC,	/* until the log is on disk */
	METRICS_COMMIT_ANSWER,	/* until the event loop wakes the request */
	METRICS_COMMIT_PHASES
};

#define METRICS_COMMIT_BUCKETS	11	/* 1 ms to 2.5 s, and +Inf */

/*
 * Submissions' times added up by one thread (no shared memory touched)
 * and then added to the shared counters at once: the workers' event
 * loops would otherwise contend for the counters' cache lines a few
 * times per submission.
 */
struct metrics_commit_tally {
	u_int64_t	phase_us[METRICS_COMMIT_PHASES];
	u_int64_t	le[METRICS_COMMIT_BUCKETS + 1];
	u_int64_t	sum_us;
	u_int64_t	count;
};

void	metrics_commit_tally(struct metrics_commit_tally *,
	    const u_int64_t us[METRICS_COMMIT_PHASES]);
void	metrics_commit_add(const struct metrics_commit_tally *);

/* The writer committed a batch (one write transaction) of n. */
void	metrics_commit_batch(size_t n);

/*
 * Appends every figure to b in the Prometheus text format (0.0.4), the
 * queue's depth read from the store now.
 */
void	metrics_text(struct kore_buf *b);

#endif
