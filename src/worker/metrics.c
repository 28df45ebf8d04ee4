/*
 * metrics.c: the shared counters and their Prometheus text. Queue depth
 * by state is read from the store at scrape time, so it is right for
 * every node sharing the database; the other figures are this node's.
 * The page that serves them is web/routes_metrics.c: nothing here knows
 * of pages.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/util.h"
#include "worker/metrics.h"
#include "store/store.h"
#include "store/store_vocab.h"

#define METRICS_STATUS_MAX	600

static const char *metrics_routes[][2] = {
	{ "page_index", "/" },
	{ "page_form", "/f/{slug}" },
	{ "page_result", "/s/{id}" },
	{ "page_api_submit", "/api/forms/{slug}/submissions" },
	{ "page_api_submission", "/api/submissions/{id}" },
	{ "page_healthz", "/healthz" },
	{ "page_metrics", "/metrics" },
	{ "page_asset", "/assets/{name}" },
	{ "page_not_found", "other" },
};
#define METRICS_NROUTES	(sizeof(metrics_routes) / sizeof(metrics_routes[0]))

static const u_int64_t metrics_buckets[] = {
	10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000,
	300000
};
#define METRICS_NBUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))

static const char *metrics_outcomes[] = { "done", "retry", "failed" };

/* A durable write's latency, in microseconds: 1 ms to 2.5 s. */
static const u_int64_t metrics_commit_buckets[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000
};
_Static_assert(sizeof(metrics_commit_buckets) /
    sizeof(metrics_commit_buckets[0]) == METRICS_COMMIT_BUCKETS,
    "METRICS_COMMIT_BUCKETS");

static const char *metrics_commit_phases[METRICS_COMMIT_PHASES] = {
	"wait", "write", "sync", "answer"
};

struct metrics_shm {
	u_int64_t	requests[METRICS_NROUTES][METRICS_STATUS_MAX];
	u_int64_t	attempts[3];
	u_int64_t	latency_le[METRICS_NBUCKETS + 1];	/* + +Inf */
	u_int64_t	latency_sum_ms;
	u_int64_t	latency_count;
	u_int64_t	commit_batches;
	u_int64_t	commit_rows;		/* in those batches */
	u_int64_t	commit_phase_us[METRICS_COMMIT_PHASES];
	u_int64_t	commit_le[METRICS_COMMIT_BUCKETS + 1];	/* + +Inf */
	u_int64_t	commit_sum_us;
	u_int64_t	commit_count;
};

static struct metrics_shm	*shm = NULL;

int
metrics_init(char *err, size_t errlen)
{
	shm = util_shared_new(sizeof(*shm), "metrics", err, errlen);
	return (shm == NULL ? -1 : 0);
}

void
metrics_request(const struct http_request *req, int status)
{
	size_t		i;

	if (shm == NULL || req->hdlr == NULL || status < 0 ||
	    status >= METRICS_STATUS_MAX)
		return;
	for (i = 0; i < METRICS_NROUTES; i++) {
		if (strcmp(metrics_routes[i][0], req->hdlr->func) == 0) {
			__atomic_add_fetch(&shm->requests[i][status], 1,
			    __ATOMIC_RELAXED);
			return;
		}
	}
}

void
metrics_job_attempt(const char *outcome)
{
	size_t		i;

	for (i = 0; shm != NULL && i < 3; i++) {
		if (strcmp(metrics_outcomes[i], outcome) == 0)
			__atomic_add_fetch(&shm->attempts[i], 1,
			    __ATOMIC_RELAXED);
	}
}

void
metrics_job_latency(u_int64_t ms)
{
	size_t		i;

	if (shm == NULL)
		return;
	for (i = 0; i < METRICS_NBUCKETS && ms > metrics_buckets[i]; i++)
		;
	__atomic_add_fetch(&shm->latency_le[i], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&shm->latency_sum_ms, ms, __ATOMIC_RELAXED);
	__atomic_add_fetch(&shm->latency_count, 1, __ATOMIC_RELAXED);
}

void
metrics_commit_tally(struct metrics_commit_tally *t,
    const u_int64_t us[METRICS_COMMIT_PHASES])
{
	u_int64_t	total;
	size_t		i;

	total = 0;
	for (i = 0; i < METRICS_COMMIT_PHASES; i++) {
		t->phase_us[i] += us[i];
		total += us[i];
	}
	for (i = 0; i < METRICS_COMMIT_BUCKETS &&
	    total > metrics_commit_buckets[i]; i++)
		;
	t->le[i]++;
	t->sum_us += total;
	t->count++;
}

void
metrics_commit_add(const struct metrics_commit_tally *t)
{
	size_t		i;

	if (shm == NULL || t->count == 0)
		return;
	for (i = 0; i < METRICS_COMMIT_PHASES; i++)
		__atomic_add_fetch(&shm->commit_phase_us[i], t->phase_us[i],
		    __ATOMIC_RELAXED);
	for (i = 0; i <= METRICS_COMMIT_BUCKETS; i++) {
		if (t->le[i] > 0)
			__atomic_add_fetch(&shm->commit_le[i], t->le[i],
			    __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&shm->commit_sum_us, t->sum_us, __ATOMIC_RELAXED);
	__atomic_add_fetch(&shm->commit_count, t->count, __ATOMIC_RELAXED);
}

void
metrics_commit_batch(size_t n)
{
	if (shm == NULL)
		return;
	__atomic_add_fetch(&shm->commit_batches, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&shm->commit_rows, n, __ATOMIC_RELAXED);
}

static u_int64_t
metrics_load(const u_int64_t *v)
{
	return (__atomic_load_n(v, __ATOMIC_RELAXED));
}

/*
 * A histogram's TYPE line and samples: le[] counts per bucket (the last
 * is +Inf), bounds[] and *sum in units of 1 / per_second seconds.
 */
static void
metrics_histogram(struct kore_buf *b, const char *name, const u_int64_t *le,
    const u_int64_t *bounds, size_t nbounds, double per_second,
    const u_int64_t *sum, const u_int64_t *count)
{
	u_int64_t	cum;
	size_t		i;

	kore_buf_appendf(b, "# TYPE %s histogram\n", name);
	cum = 0;
	for (i = 0; i < nbounds; i++) {
		cum += metrics_load(&le[i]);
		kore_buf_appendf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
		    (double)bounds[i] / per_second, (unsigned long long)cum);
	}
	cum += metrics_load(&le[nbounds]);
	kore_buf_appendf(b, "%s_bucket{le=\"+Inf\"} %llu\n"
	    "%s_sum %.6f\n%s_count %llu\n", name, (unsigned long long)cum,
	    name, (double)metrics_load(sum) / per_second, name,
	    (unsigned long long)metrics_load(count));
}

static void
metrics_commit_text(struct kore_buf *b)
{
	size_t		i;

	kore_buf_appendf(b, "# HELP formwork_commit_batches_total Write "
	    "transactions of submissions (group commits).\n"
	    "# TYPE formwork_commit_batches_total counter\n"
	    "formwork_commit_batches_total %llu\n"
	    "# HELP formwork_commit_batched_total Submissions written in "
	    "those transactions.\n"
	    "# TYPE formwork_commit_batched_total counter\n"
	    "formwork_commit_batched_total %llu\n",
	    (unsigned long long)metrics_load(&shm->commit_batches),
	    (unsigned long long)metrics_load(&shm->commit_rows));

	kore_buf_appendf(b, "# HELP formwork_commit_phase_seconds_total "
	    "Submissions' time from the hand-over to the writer to the "
	    "answer, summed, by phase: wait (for a batch: the writer's "
	    "previous one, the database's write lock), write (the batch's "
	    "statements and commit), sync (until the log is on disk), "
	    "answer (until the request is woken).\n"
	    "# TYPE formwork_commit_phase_seconds_total counter\n");
	for (i = 0; i < METRICS_COMMIT_PHASES; i++)
		kore_buf_appendf(b, "formwork_commit_phase_seconds_total"
		    "{phase=\"%s\"} %.6f\n", metrics_commit_phases[i],
		    (double)metrics_load(&shm->commit_phase_us[i]) / 1e6);

	kore_buf_appendf(b, "# HELP formwork_commit_seconds Time from a "
	    "submission's hand-over to the writer to its request's wake-up, "
	    "on disk (the four phases).\n");
	metrics_histogram(b, "formwork_commit_seconds", shm->commit_le,
	    metrics_commit_buckets, METRICS_COMMIT_BUCKETS, 1e6,
	    &shm->commit_sum_us, &shm->commit_count);
}

void
metrics_text(struct kore_buf *b)
{
	u_int64_t		 v, depth[STORE_JOB_STATES];
	size_t			 i, k;

	kore_buf_appendf(b, "# HELP formwork_http_requests_total Requests "
	    "answered, by route and status.\n"
	    "# TYPE formwork_http_requests_total counter\n");
	for (i = 0; i < METRICS_NROUTES; i++) {
		for (k = 0; k < METRICS_STATUS_MAX; k++) {
			v = metrics_load(&shm->requests[i][k]);
			if (v == 0)
				continue;
			kore_buf_appendf(b, "formwork_http_requests_total"
			    "{route=\"%s\",status=\"%zu\"} %llu\n",
			    metrics_routes[i][1], k, (unsigned long long)v);
		}
	}

	kore_buf_appendf(b, "# HELP formwork_jobs Jobs in the queue, by "
	    "state.\n# TYPE formwork_jobs gauge\n");
	if (store_job_counts(depth) == STORE_OK) {
		for (i = 0; i < STORE_JOB_STATES; i++)
			kore_buf_appendf(b, "formwork_jobs{state=\"%s\"} "
			    "%llu\n", store_job_states[i],
			    (unsigned long long)depth[i]);
	}

	kore_buf_appendf(b, "# HELP formwork_job_attempts_total Attempts "
	    "at running jobs, by outcome (retry counts retries).\n"
	    "# TYPE formwork_job_attempts_total counter\n");
	for (i = 0; i < 3; i++)
		kore_buf_appendf(b, "formwork_job_attempts_total"
		    "{outcome=\"%s\"} %llu\n", metrics_outcomes[i],
		    (unsigned long long)metrics_load(&shm->attempts[i]));

	kore_buf_appendf(b, "# HELP formwork_job_latency_seconds Time from "
	    "a submission to the end of its job.\n");
	metrics_histogram(b, "formwork_job_latency_seconds", shm->latency_le,
	    metrics_buckets, METRICS_NBUCKETS, 1000.0, &shm->latency_sum_ms,
	    &shm->latency_count);

	metrics_commit_text(b);
}
