/*
 * routes_admin_list.c: GET /admin, the desk's list of submissions:
 * counts per review state, filters, search, and pages of ADMIN_PAGE rows,
 * newest first, by keyset (a "next" link carrying the last row's cursor).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "desk/admin_filter.h"
#include "desk/desk_job.h"
#include "desk/admin_view.h"
#include "core/body.h"
#include "core/forms.h"
#include "web/page.h"
#include "web/routes.h"

#define ADMIN_PAGE	50

struct list_state {
	struct kore_json_item	*rows;
	size_t			 n;
	char			 cursor[STORE_CURSOR_MAX];	/* last row's */
	int			 more;
};

static void	list_run(struct desk_job *);
static int	list_row(const struct store_row *, void *);

static const struct desk_route list_route = {
	HTTP_METHOD_GET | HTTP_METHOD_HEAD, "GET, HEAD", ROLE_VIEWER,
	sizeof(struct desk_job), NULL, list_run, NULL, NULL
};

int
page_admin_list(struct http_request *req)
{
	return (desk_serve(req, &list_route));
}

static void
list_run(struct desk_job *j)
{
	struct kore_json_item	*ctx, *counts, *o;
	struct admin_filter	 f;
	struct list_state	 ls;
	struct kore_buf		 href;
	u_int64_t		 n[STORE_REVIEW_STATES], total;
	char			 err[160];
	size_t			 i;

	if (admin_filter_parse(&j->body, &f, err, sizeof(err)) == -1) {
		desk_reply_error(&j->reply, 400, "Filter not understood", err,
		    "/admin", "Show all submissions");
		return;
	}

	ctx = page_ctx_new();
	admin_ctx_add(ctx, &j->a);
	admin_filter_ctx(ctx, &f);

	memset(&ls, 0, sizeof(ls));
	ls.rows = kore_json_create_array(ctx, "rows");
	/* One row more than a page tells whether there is a next page. */
	if (store_rows_each(NULL, &f.sf, ADMIN_PAGE + 1, list_row, &ls) !=
	    STORE_OK || store_review_counts(f.sf.form, n) != STORE_OK) {
		kore_json_item_free(ctx);
		desk_reply_error(&j->reply, 503, "Try again", "The list could "
		    "not be read just now. Reload the page in a moment.",
		    "/admin", "Reload");
		return;
	}

	counts = kore_json_create_array(ctx, "counts");
	total = 0;
	for (i = 0; i < STORE_REVIEW_STATES; i++) {
		o = kore_json_create_object(counts, NULL);
		kore_json_create_string(o, "state", store_review_states[i]);
		kore_json_create_integer_u64(o, "n", n[i]);
		total += n[i];
	}
	kore_json_create_integer_u64(ctx, "total", total);
	kore_json_create_literal(ctx, "empty", ls.n == 0 ? KORE_JSON_TRUE :
	    KORE_JSON_FALSE);
	kore_json_create_literal(ctx, "paged", f.sf.after != NULL ?
	    KORE_JSON_TRUE : KORE_JSON_FALSE);

	kore_buf_init(&href, 256);
	admin_filter_query(&f, &href);
	kore_json_create_string(ctx, "filters", kore_buf_stringify(&href,
	    NULL));
	if (ls.more) {
		kore_buf_reset(&href);
		kore_buf_appendf(&href, "/admin?");
		admin_filter_query(&f, &href);
		kore_buf_appendf(&href, "%safter=",
		    href.offset > 7 ? "&" : "");
		page_url_encode(&href, ls.cursor);
		kore_json_create_string(ctx, "next", kore_buf_stringify(&href,
		    NULL));
	}
	kore_buf_cleanup(&href);

	desk_reply_page(&j->reply, 200, "Submissions", "admin_list", ctx);
}

static int
list_row(const struct store_row *row, void *arg)
{
	struct list_state	*ls = arg;

	if (ls->n == ADMIN_PAGE) {
		ls->more = 1;
		return (0);
	}
	admin_view_row(ls->rows, row);
	ls->n++;
	(void)snprintf(ls->cursor, sizeof(ls->cursor), "%s", row->cursor);
	return (1);
}
