/*
 * routes_admin_audit.c: GET /admin/audit, the log of every admin action
 * (who, what, when, before and after), newest first, AUDIT_PAGE lines a
 * page by keyset on the line's id (admin).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "desk/desk_job.h"
#include "desk/admin_view.h"
#include "core/body.h"
#include "web/page.h"
#include "web/routes.h"
#include "store/store_admin.h"

#define AUDIT_PAGE	100

struct audit_state {
	struct kore_json_item	*rows;
	size_t			 n;
	int64_t			 last_id;
};

static void	audit_run(struct desk_job *);
static void	audit_row(const struct store_audit *, void *);

static const struct desk_route audit_route = {
	HTTP_METHOD_GET | HTTP_METHOD_HEAD, "GET, HEAD", ROLE_ADMIN,
	sizeof(struct desk_job), NULL, audit_run, NULL, NULL
};

int
page_admin_audit(struct http_request *req)
{
	return (desk_serve(req, &audit_route));
}

static void
audit_run(struct desk_job *j)
{
	struct kore_json_item	*ctx;
	struct audit_state	 as;
	struct body_field	*fb;
	char			 next[64], *end;
	long long		 before;

	before = 0;
	if ((fb = body_find(&j->body, "before")) != NULL) {
		before = strtoll(fb->value, &end, 10);
		if (fb->len == 0 || *end != '\0' || before < 1) {
			desk_reply_error(&j->reply, 400, "Link not understood",
			    "This page link is damaged; start again from the "
			    "newest entries.", "/admin/audit",
			    "Show the audit log");
			return;
		}
	}

	ctx = page_ctx_new();
	admin_ctx_add(ctx, &j->a);
	memset(&as, 0, sizeof(as));
	as.rows = kore_json_create_array(ctx, "entries");
	if (store_audit_each(before, AUDIT_PAGE + 1, audit_row, &as) !=
	    STORE_OK) {
		kore_json_item_free(ctx);
		desk_reply_store_failed(&j->reply, STORE_ERROR);
		return;
	}
	kore_json_create_literal(ctx, "has_entries", as.n > 0 ?
	    KORE_JSON_TRUE : KORE_JSON_FALSE);
	if (as.n > AUDIT_PAGE) {
		(void)snprintf(next, sizeof(next), "/admin/audit?before=%lld",
		    (long long)as.last_id);
		kore_json_create_string(ctx, "next", next);
	}
	desk_reply_page(&j->reply, 200, "Audit log", "admin_audit", ctx);
}

static void
audit_row(const struct store_audit *e, void *arg)
{
	struct audit_state	*as = arg;
	struct kore_json_item	*o;
	char			 when[64];

	/* The extra line only says there is a next page. */
	if (++as->n > AUDIT_PAGE)
		return;
	as->last_id = e->id;
	o = kore_json_create_object(as->rows, NULL);
	admin_view_when(e->at_ms, when, sizeof(when));
	kore_json_create_string(o, "when", when);
	kore_json_create_string(o, "user", e->user);
	kore_json_create_string(o, "action", e->action);
	kore_json_create_string(o, "subject", e->subject);
	kore_json_create_string(o, "before", e->before ? e->before : "");
	kore_json_create_string(o, "after", e->after ? e->after : "");
	/* Reviewed or retried submissions still exist: link to them. */
	kore_json_create_literal(o, "is_submission",
	    (strcmp(e->action, "review") == 0 ||
	    strcmp(e->action, "retry") == 0) ? KORE_JSON_TRUE :
	    KORE_JSON_FALSE);
}
