/*
 * routes_metrics.c: GET /metrics, the counters of worker/metrics.c in
 * Prometheus's text format, for the scraper (no HTML, never cached),
 * made off the event loop on a remote store (offload.h).
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "worker/metrics.h"
#include "web/offload.h"
#include "web/page.h"
#include "web/routes.h"

/*
 * The text, made on a database thread on a remote store (the queue's
 * depth is a query); the counters are atomic words any thread may read.
 */
struct metrics_job {
	struct offload	 o;
	struct kore_buf	 b;
};

/* A request's state across its sleep. */
struct metrics_state {
	struct metrics_job	*job;
};

static void	metrics_run(struct offload *);
static void	metrics_job_free(struct thread_job *);
static void	metrics_state_free(struct http_request *);

int
page_metrics(struct http_request *req)
{
	struct metrics_state	*st;
	struct metrics_job	*m;

	if ((st = http_state_get(req)) != NULL) {
		if (!offload_done(req, &st->job->o))
			return (KORE_RESULT_RETRY);
	} else {
		if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
		    "GET, HEAD"))
			return (KORE_RESULT_OK);
		st = http_state_create(req, sizeof(*st), metrics_state_free);
		st->job = offload_new(sizeof(*st->job), metrics_run,
		    metrics_job_free);
		kore_buf_init(&st->job->b, 4096);
		if (!offload_run(req, &st->job->o))
			return (KORE_RESULT_RETRY);
	}
	m = st->job;
	page_security_headers(req);
	http_response_header(req, "content-type",
	    "text/plain; version=0.0.4; charset=utf-8");
	http_response_header(req, "cache-control", "no-store");
	page_respond(req, 200, m->b.data, m->b.offset);
	return (KORE_RESULT_OK);
}

static void
metrics_run(struct offload *o)
{
	metrics_text(&((struct metrics_job *)o)->b);
}

static void
metrics_job_free(struct thread_job *job)
{
	struct metrics_job	*m = (struct metrics_job *)job;

	kore_buf_cleanup(&m->b);
	kore_free(m);
}

/* The request is freed: its job goes now, or once it is back. */
static void
metrics_state_free(struct http_request *req)
{
	struct metrics_state	*st = http_state_get(req);

	if (st != NULL)
		offload_release(&st->job->o);
}
