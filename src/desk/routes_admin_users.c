/*
 * routes_admin_users.c: GET /admin/users, who can use the desk and with
 * which role (admin). Accounts are managed with formworkctl, on the
 * server, so a stolen session cannot create or promote one.
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "desk/desk_job.h"
#include "desk/admin_view.h"
#include "web/page.h"
#include "web/routes.h"
#include "store/store_admin.h"

static void	users_run(struct desk_job *);
static void	users_row(const struct store_user *, void *);

static const struct desk_route users_route = {
	HTTP_METHOD_GET | HTTP_METHOD_HEAD, "GET, HEAD", ROLE_ADMIN,
	sizeof(struct desk_job), NULL, users_run, NULL, NULL
};

int
page_admin_users(struct http_request *req)
{
	return (desk_serve(req, &users_route));
}

static void
users_run(struct desk_job *j)
{
	struct kore_json_item	*ctx, *arr;

	ctx = page_ctx_new();
	admin_ctx_add(ctx, &j->a);
	arr = kore_json_create_array(ctx, "users");
	if (store_user_each(NULL, users_row, arr) != STORE_OK) {
		kore_json_item_free(ctx);
		desk_reply_store_failed(&j->reply, STORE_ERROR);
		return;
	}
	desk_reply_page(&j->reply, 200, "Users", "admin_users", ctx);
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
