/*
 * metrics.c: the shared counters and their Prometheus text. Queue depth
 * by state is read from the store at scrape time, so it is right for
 * every node sharing the database; the other figures are this node's.
 * The page that serves them is web/routes_metrics.c: nothing here knows
 * of pages.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

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

struct metrics_shm {
	u_int64_t	requests[METRICS_NROUTES][METRICS_STATUS_MAX];
	u_int64_t	attempts[3];
	u_int64_t	latency_le[METRICS_NBUCKETS + 1];	/* + +Inf */
	u_int64_t	latency_sum_ms;
	u_int64_t	latency_count;
};

static struct metrics_shm	*shm = NULL;

int
metrics_init(char *err, size_t errlen)
{
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED) {
		shm = NULL;
		(void)snprintf(err, errlen, "metrics: mmap: %s",
		    strerror(errno));
		return (-1);
	}
	return (0);
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
metrics_text(struct kore_buf *b)
{
	u_int64_t		 v, cum, depth[STORE_JOB_STATES];
	size_t			 i, k;

	kore_buf_appendf(b, "# HELP formwork_http_requests_total Requests "
	    "answered, by route and status.\n"
	    "# TYPE formwork_http_requests_total counter\n");
	for (i = 0; i < METRICS_NROUTES; i++) {
		for (k = 0; k < METRICS_STATUS_MAX; k++) {
			v = __atomic_load_n(&shm->requests[i][k],
			    __ATOMIC_RELAXED);
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
		    (unsigned long long)__atomic_load_n(&shm->attempts[i],
		    __ATOMIC_RELAXED));

	kore_buf_appendf(b, "# HELP formwork_job_latency_seconds Time from "
	    "a submission to the end of its job.\n"
	    "# TYPE formwork_job_latency_seconds histogram\n");
	cum = 0;
	for (i = 0; i <= METRICS_NBUCKETS; i++) {
		cum += __atomic_load_n(&shm->latency_le[i], __ATOMIC_RELAXED);
		if (i < METRICS_NBUCKETS)
			kore_buf_appendf(b, "formwork_job_latency_seconds_"
			    "bucket{le=\"%g\"} %llu\n",
			    (double)metrics_buckets[i] / 1000.0,
			    (unsigned long long)cum);
		else
			kore_buf_appendf(b, "formwork_job_latency_seconds_"
			    "bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	kore_buf_appendf(b, "formwork_job_latency_seconds_sum %.3f\n"
	    "formwork_job_latency_seconds_count %llu\n",
	    (double)__atomic_load_n(&shm->latency_sum_ms, __ATOMIC_RELAXED) /
	    1000.0, (unsigned long long)__atomic_load_n(&shm->latency_count,
	    __ATOMIC_RELAXED));
}
