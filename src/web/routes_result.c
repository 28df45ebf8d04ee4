/*
 * routes_result.c: GET /s/{id}, the page a visitor lands on after the
 * 303. While any of the submission's actions is queued or running it is
 * a 202 "processing" page that reloads itself through a Refresh header
 * (no script, no <meta> refresh) and offers to stop doing so (WCAG
 * 2.2.1); once all are finished it is the 200 result page, with an ETag,
 * saying plainly what could not be done, if anything. A retry may be
 * hours away (SPEC 11): once the submission is FORMWORK_WAIT_MAX old, a
 * pending one is a 200 page too, saying that it is safe and what will
 * be tried again when, kept by no cache.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "web/form_view.h"
#include "core/config.h"
#include "core/forms.h"
#include "web/page.h"
#include "web/result_cache.h"
#include "web/routes.h"
#include "store/store.h"
#include "core/token.h"
#include "core/util.h"

#define RESULT_REFRESH_S	"2"
#define RESULT_MAX_JOBS		FORM_MAX_ACTIONS

static void	result_final_headers(struct http_request *, const char *);

int
page_result(struct http_request *req)
{
	struct store_job_status	 js[RESULT_MAX_JOBS];
	struct result_cache_hit	 hit;
	struct kore_json_item	*ctx;
	struct store_record	 rec;
	struct kore_buf		 page;
	struct form		*form;
	enum store_result	 sr;
	const char		*id, *inm;
	char			 etag[96];
	size_t			 n, i, done, failed;
	u_int64_t		 epoch;
	int			 refresh;

	if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
	    "GET, HEAD"))
		return (KORE_RESULT_OK);
	id = req->path + strlen("/s/");
	if (!http_request_header(req, "if-none-match", &inm))
		inm = NULL;
	if (result_cache_find(id, &hit)) {
		if (inm != NULL && strcmp(inm, hit.etag) == 0) {
			result_final_headers(req, hit.etag);
			page_respond(req, 304, NULL, 0);
			return (KORE_RESULT_OK);
		}
		if (hit.page != NULL) {
			result_final_headers(req, hit.etag);
			page_send_html(req, 200, 0, hit.page, hit.len);
			return (KORE_RESULT_OK);
		}
	}
	/* Noted before reading: a change made meanwhile voids what we keep. */
	epoch = store_epoch();
	if (!token_id_valid(id) ||
	    (sr = store_submission_get(id, &rec)) == STORE_NOT_FOUND) {
		page_error(req, 404, "Not found", "There is no submission at "
		    "this address. Check the link you followed.", NULL, NULL);
		return (KORE_RESULT_OK);
	}
	if (sr != STORE_OK ||
	    (sr = store_job_statuses(id, js, RESULT_MAX_JOBS, &n)) !=
	    STORE_OK) {
		store_record_cleanup(&rec);
		form_store_failed(req, sr);
		return (KORE_RESULT_OK);
	}
	if ((form = forms_find(forms_loaded(), rec.form)) == NULL) {
		store_record_cleanup(&rec);
		page_error(req, 404, "Form withdrawn", "The form this "
		    "submission belongs to is no longer offered.", NULL, NULL);
		return (KORE_RESULT_OK);
	}

	done = failed = 0;
	for (i = 0; i < n; i++) {
		if (js[i].state == JOB_DONE)
			done++;
		else if (js[i].state == JOB_FAILED)
			failed++;
	}

	if (done + failed < n) {
		ctx = form_view_result(form, &rec);
		form_view_jobs(ctx, js, n, util_now_ms());
		store_record_cleanup(&rec);
		if (util_now_ms() >= rec.created_ms + config.wait_max_ms) {
			/* Waited long enough: safe, the rest goes on later. */
			page_send(req, 200, PAGE_NO_STORE, form->title,
			    "result", ctx);
			return (KORE_RESULT_OK);
		}
		/* Processing: never cached, and reloads itself. */
		refresh = req->query_string == NULL ||
		    strcmp(req->query_string, "refresh=off") != 0;
		kore_json_create_literal(ctx, "refresh", refresh ?
		    KORE_JSON_TRUE : KORE_JSON_FALSE);
		if (refresh)
			http_response_header(req, "refresh", RESULT_REFRESH_S);
		http_response_header(req, "retry-after", RESULT_REFRESH_S);
		page_send(req, 202, PAGE_NO_STORE, form->title, "processing",
		    ctx);
		return (KORE_RESULT_OK);
	}

	/*
	 * Final: the ETag changes if an admin retries or reviews, and the
	 * page is kept until the store changes (result_cache.h).
	 */
	(void)snprintf(etag, sizeof(etag), "\"%s-%d-%s-%zu-%zu\"", rec.id,
	    rec.version, page_build_id(), done, failed);
	result_final_headers(req, etag);
	if (inm != NULL && strcmp(inm, etag) == 0) {
		result_cache_keep(rec.id, etag, epoch, NULL, 0);
		page_respond(req, 304, NULL, 0);
	} else {
		ctx = form_view_result(form, &rec);
		form_view_jobs(ctx, js, n, util_now_ms());
		kore_buf_init(&page, 4096);
		page_render(form->title, "result", ctx, &page);
		result_cache_keep(rec.id, etag, epoch, page.data, page.offset);
		page_send_html(req, 200, 0, page.data, page.offset);
		kore_buf_cleanup(&page);
	}
	store_record_cleanup(&rec);
	return (KORE_RESULT_OK);
}

/*
 * A finished page's cache headers: all a 304 carries (RFC 9110, 15.4.5);
 * the browser keeps the stored page's other headers, its
 * Content-Security-Policy among them.
 */
static void
result_final_headers(struct http_request *req, const char *etag)
{
	http_response_header(req, "etag", etag);
	/* Private: the page shows what one visitor sent. */
	http_response_header(req, "cache-control", "private, no-cache");
}
