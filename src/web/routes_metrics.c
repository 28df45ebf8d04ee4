/*
 * routes_metrics.c: GET /metrics, the counters of worker/metrics.c in
 * Prometheus's text format, for the scraper (no HTML, never cached).
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "worker/metrics.h"
#include "web/page.h"
#include "web/routes.h"

int
page_metrics(struct http_request *req)
{
	struct kore_buf		b;

	if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
	    "GET, HEAD"))
		return (KORE_RESULT_OK);

	kore_buf_init(&b, 4096);
	metrics_text(&b);
	page_security_headers(req);
	http_response_header(req, "content-type",
	    "text/plain; version=0.0.4; charset=utf-8");
	http_response_header(req, "cache-control", "no-store");
	page_respond(req, 200, b.data, b.offset);
	kore_buf_cleanup(&b);
	return (KORE_RESULT_OK);
}
