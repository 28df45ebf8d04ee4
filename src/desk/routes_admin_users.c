/*
 * routes_admin_users.c: GET /admin/users, who can use the desk and with
 * which role (admin). Accounts are managed with formworkctl, on the
 * server, so a stolen session cannot create or promote one.
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "desk/admin_session.h"
#include "desk/admin_view.h"
#include "web/page.h"
#include "web/routes.h"
#include "store/store_admin.h"

static void	users_row(const struct store_user *, void *);

int
page_admin_users(struct http_request *req)
{
	struct kore_json_item	*ctx, *arr;
	struct admin		 a;

	if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD,
	    "GET, HEAD"))
		return (KORE_RESULT_OK);
	if (!admin_session_require(req, ROLE_ADMIN, &a))
		return (KORE_RESULT_OK);

	ctx = page_ctx_new();
	admin_ctx_add(ctx, &a);
	arr = kore_json_create_array(ctx, "users");
	if (store_user_each(NULL, users_row, arr) != STORE_OK) {
		kore_json_item_free(ctx);
		form_store_failed(req, STORE_ERROR);
		return (KORE_RESULT_OK);
	}
	page_send(req, 200, PAGE_NO_STORE, "Users", "admin_users", ctx);
	return (KORE_RESULT_OK);
}

static void
users_row(const struct store_user *u, void *arg)
{
	struct kore_json_item	*o;
	char			 when[64];

	o = kore_json_create_object(arg, NULL);
	kore_json_create_string(o, "name", u->name);
	kore_json_create_string(o, "role", store_role_name(u->role));
	admin_view_when(u->created_ms, when, sizeof(when));
	kore_json_create_string(o, "created", when);
}
