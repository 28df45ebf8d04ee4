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
#include "web/offload.h"
#include "core/config.h"
#include "core/forms.h"
#include "web/page.h"
#include "web/result_cache.h"
#include "web/routes.h"
#include "store/store.h"
#include "core/token.h"
#include "core/util.h"

#define RESULT_REFRESH_S	"2"

static void	result_final_headers(struct http_request *, const char *);
static void	result_not_found(struct http_request *);
static void	result_state_free(struct http_request *);

/* A request's state across its sleep: the store's answer. */
struct result_state {
	struct offload_submission	*load;
	u_int64_t			 epoch;
};

int
page_result(struct http_request *req)
{
	struct result_state	*st;
	struct result_cache_hit	 hit;
	struct kore_json_item	*ctx;
	struct offload_submission *ld;
	struct kore_buf		 page;
	struct form		*form;
	const char		*id, *inm;
	char			 etag[96];
	size_t			 i, done, failed;
	int			 refresh;

	id = req->path + strlen("/s/");
	if (!http_request_header(req, "if-none-match", &inm))
		inm = NULL;
	if ((st = http_state_get(req)) != NULL) {
		if (!offload_done(req, &st->load->o))
			return (KORE_RESULT_RETRY);
	} else {
		if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
		    "GET, HEAD"))
			return (KORE_RESULT_OK);
		/*
		 * Kept pages are this host's: trusted only where every change
		 * moves this host's counter (not on a store other nodes
		 * share, whose pages are read every time).
		 */
		if (!store_remote() && result_cache_find(id, &hit)) {
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
		if (!token_id_valid(id)) {
			result_not_found(req);
			return (KORE_RESULT_OK);
		}
		st = http_state_create(req, sizeof(*st), result_state_free);
		/* Noted before reading: a change made meanwhile voids it. */
		st->epoch = store_remote() ? 0 : store_epoch();
		st->load = offload_submission_new(id);
		if (!offload_run(req, &st->load->o))
			return (KORE_RESULT_RETRY);
	}
	ld = st->load;

	if (ld->sr == STORE_NOT_FOUND) {
		result_not_found(req);
		return (KORE_RESULT_OK);
	}
	if (ld->sr != STORE_OK || ld->sr_jobs != STORE_OK) {
		form_store_failed(req, (int)(ld->sr != STORE_OK ? ld->sr :
		    ld->sr_jobs));
		return (KORE_RESULT_OK);
	}
	if ((form = forms_find(forms_loaded(), ld->rec.form)) == NULL) {
		page_error(req, 404, "Form withdrawn", "The form this "
		    "submission belongs to is no longer offered.", NULL, NULL);
		return (KORE_RESULT_OK);
	}

	done = failed = 0;
	for (i = 0; i < ld->n; i++) {
		if (ld->js[i].state == JOB_DONE)
			done++;
		else if (ld->js[i].state == JOB_FAILED)
			failed++;
	}

	if (done + failed < ld->n) {
		ctx = form_view_result(form, &ld->rec);
		form_view_jobs(ctx, ld->js, ld->n, util_now_ms());
		if (util_now_ms() >= ld->rec.created_ms + config.wait_max_ms) {
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
	 * Final: the ETag changes if an admin retries or reviews, and on a
	 * store of this host's the page is kept until the store changes
	 * (result_cache.h).
	 */
	(void)snprintf(etag, sizeof(etag), "\"%s-%d-%s-%zu-%zu\"", ld->rec.id,
	    ld->rec.version, page_build_id(), done, failed);
	result_final_headers(req, etag);
	if (inm != NULL && strcmp(inm, etag) == 0) {
		if (!store_remote())
			result_cache_keep(ld->rec.id, etag, st->epoch, NULL, 0);
		page_respond(req, 304, NULL, 0);
	} else {
		ctx = form_view_result(form, &ld->rec);
		form_view_jobs(ctx, ld->js, ld->n, util_now_ms());
		kore_buf_init(&page, 4096);
		page_render(form->title, "result", ctx, &page);
		if (!store_remote())
			result_cache_keep(ld->rec.id, etag, st->epoch,
			    page.data, page.offset);
		page_send_html(req, 200, 0, page.data, page.offset);
		kore_buf_cleanup(&page);
	}
	return (KORE_RESULT_OK);
}

static void
result_not_found(struct http_request *req)
{
	page_error(req, 404, "Not found", "There is no submission at this "
	    "address. Check the link you followed.", NULL, NULL);
}

/* The request is freed: its job goes now, or once it is back. */
static void
result_state_free(struct http_request *req)
{
	struct result_state	*st = http_state_get(req);

	if (st != NULL)
		offload_release(&st->load->o);
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
