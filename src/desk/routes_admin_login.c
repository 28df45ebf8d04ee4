/*
 * routes_admin_login.c: GET and POST /admin/login, POST /admin/logout.
 *
 * A login answers the same way, after the same work, whether the name
 * exists or not (an unknown name is checked against a decoy hash), so
 * neither the page nor its timing tells which names exist. Failures are
 * counted per account and per client address; past the limit the answer
 * is 429 with Retry-After, even for the right password.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <sodium.h>

#include "desk/admin_session.h"
#include "core/body.h"
#include "core/config.h"
#include "web/login_check.h"
#include "web/page.h"
#include "web/routes.h"
#include "store/store_admin.h"
#include "web/submit.h"
#include "core/token.h"
#include "core/util.h"

#define LOGIN_SLUG		"admin-login"
#define LOGIN_WINDOW_MS		(15 * 60 * 1000ULL)
#define LOGIN_CLIENT_FACTOR	4	/* a client may try a few accounts */
#define LOGIN_BAD		"Wrong username or password."

struct login_state {
	struct body		 body;
	struct login_check	*check;
	int64_t			 user_id;	/* 0: no such user */
	char			 user[STORE_NAME_MAX + 1];
	char			 client[64];
	char			 next[256];
};

static void	login_form_send(struct http_request *, int, const char *,
		    const char *, const char *);
static int	login_post(struct http_request *);
static int	login_post_checked(struct http_request *, struct login_state *);
static int	login_limited(struct http_request *, const char *, u_int64_t,
		    u_int64_t);
static void	login_next(const char *, char *, size_t);
static void	login_state_free(struct http_request *);

int
page_admin_login(struct http_request *req)
{
	struct body_field	*next;
	struct body		 q;

	if (!page_request_ok(req, HTTP_METHOD_GET | HTTP_METHOD_HEAD |
	    HTTP_METHOD_POST, "GET, HEAD, POST"))
		return (KORE_RESULT_OK);
	if (req->method == HTTP_METHOD_POST)
		return (login_post(req));

	admin_query_read(req, &q);
	next = body_find(&q, "next");
	login_form_send(req, 200, next ? next->value : "/admin", "", NULL);
	body_cleanup(&q);
	return (KORE_RESULT_OK);
}

int
page_admin_logout(struct http_request *req)
{
	struct admin	a;
	struct body	b;

	if (!page_request_ok(req, HTTP_METHOD_POST, "POST"))
		return (KORE_RESULT_OK);
	if (!admin_session_require(req, ROLE_VIEWER, &a))
		return (KORE_RESULT_OK);
	if (admin_post_read(req, &a, &b)) {
		(void)store_audit_add(a.user, "logout", a.user, "", "",
		    util_now_ms());
		admin_session_end(req, &a);
		admin_see_other(req, "/admin/login");
	}
	body_cleanup(&b);
	return (KORE_RESULT_OK);
}

/* The login form, with a fresh token; message says what went wrong. */
static void
login_form_send(struct http_request *req, int status, const char *next,
    const char *user, const char *message)
{
	struct kore_json_item	*ctx;
	char			 key[TOKEN_ID_LEN + 1], csrf[TOKEN_CSRF_MAX];
	char			 safe[256];

	token_id_new(key);
	token_csrf_new(LOGIN_SLUG, key, util_now_ms(), csrf);
	login_next(next, safe, sizeof(safe));
	ctx = page_ctx_new();
	kore_json_create_string(ctx, "key", key);
	kore_json_create_string(ctx, "csrf", csrf);
	kore_json_create_string(ctx, "next", safe);
	kore_json_create_string(ctx, "user", user);
	if (message != NULL)
		kore_json_create_string(ctx, "message", message);
	page_send(req, status, PAGE_NO_STORE, "Sign in", "admin_login", ctx);
}

static int
login_post(struct http_request *req)
{
	struct login_state	*ls;
	struct store_user	 u;
	struct body_field	*fu, *fp, *fk, *fc, *fn;
	enum store_result	 sr;
	const char		*ctype;
	char			 subject[STORE_NAME_MAX + 16];
	u_int64_t		 issued, now;

	if (http_state_exists(req)) {
		ls = http_state_get(req);
		return (login_post_checked(req, ls));
	}
	ls = http_state_create(req, sizeof(*ls), login_state_free);
	TAILQ_INIT(&ls->body.fields);
	now = util_now_ms();

	if (!http_request_header(req, "content-type", &ctype))
		ctype = NULL;
	if (req->content_length > 8192 || body_parse(ctype, req->http_body ?
	    req->http_body->data : NULL, req->http_body ?
	    req->http_body->length : 0, &ls->body) != BODY_OK) {
		page_error(req, 400, "Request not understood", "The sign-in "
		    "form could not be read. Open it again and sign in.",
		    "/admin/login", "Open the sign-in page");
		return (KORE_RESULT_OK);
	}
	fu = body_find(&ls->body, "username");
	fp = body_find(&ls->body, "password");
	fk = body_find(&ls->body, "_key");
	fc = body_find(&ls->body, "_csrf");
	fn = body_find(&ls->body, "next");
	login_next(fn ? fn->value : "/admin", ls->next, sizeof(ls->next));

	if (token_csrf_check(fc ? fc->value : NULL, LOGIN_SLUG,
	    fk ? fk->value : NULL, now, config.form_ttl_ms, &issued) !=
	    TOKEN_VALID) {
		page_error(req, 403, "Request refused", "This sign-in form is "
		    "too old or did not come from this site. Open it again "
		    "and sign in.", "/admin/login", "Open the sign-in page");
		return (KORE_RESULT_OK);
	}
	if (fu == NULL || fp == NULL || fu->len == 0 || fp->len == 0 ||
	    fu->len > STORE_NAME_MAX || fp->len > PASSWORD_MAX ||
	    strlen(fu->value) != fu->len || strlen(fp->value) != fp->len) {
		login_form_send(req, 422, ls->next, fu && fu->len <=
		    STORE_NAME_MAX ? fu->value : "", "Enter your username "
		    "and your password.");
		return (KORE_RESULT_OK);
	}
	(void)snprintf(ls->user, sizeof(ls->user), "%s", fu->value);
	submit_client(req, ls->client, sizeof(ls->client));

	(void)snprintf(subject, sizeof(subject), "user:%s", ls->user);
	if (login_limited(req, subject, config.login_limit, now))
		return (KORE_RESULT_OK);
	(void)snprintf(subject, sizeof(subject), "client:%s", ls->client);
	if (login_limited(req, subject, config.login_limit *
	    LOGIN_CLIENT_FACTOR, now))
		return (KORE_RESULT_OK);

	ls->check = login_check_new();
	if ((sr = store_user_get(NULL, ls->user, &u)) == STORE_OK) {
		ls->user_id = u.id;
		(void)snprintf(ls->check->pwhash, sizeof(ls->check->pwhash),
		    "%s", u.pwhash);
	} else if (sr == STORE_NOT_FOUND) {
		(void)snprintf(ls->check->pwhash, sizeof(ls->check->pwhash),
		    "%s", password_decoy());
	} else {
		page_error(req, 503, "Try again", "Sign-in is not possible "
		    "just now. Try again in a moment.", "/admin/login",
		    "Open the sign-in page");
		return (KORE_RESULT_OK);
	}
	(void)snprintf(ls->check->password, sizeof(ls->check->password), "%s",
	    fp->value);
	sodium_memzero(fp->value, fp->len);
	login_check_enqueue(ls->check, req);
	return (KORE_RESULT_RETRY);
}

/* Back from the password thread. */
static int
login_post_checked(struct http_request *req, struct login_state *ls)
{
	char		subject[STORE_NAME_MAX + 16];
	u_int64_t	now;

	if (ls->check == NULL || !ls->check->job.done) {
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}
	now = util_now_ms();
	if (!ls->check->ok || ls->user_id == 0) {
		(void)snprintf(subject, sizeof(subject), "user:%s", ls->user);
		(void)store_login_failure_add(subject, now);
		(void)snprintf(subject, sizeof(subject), "client:%s",
		    ls->client);
		(void)store_login_failure_add(subject, now);
		login_form_send(req, 401, ls->next, ls->user, LOGIN_BAD);
		return (KORE_RESULT_OK);
	}

	/* Limits were raised since this hash was made: store a new one. */
	if (ls->check->rehash[0] != '\0')
		(void)store_user_pwhash_set(NULL, ls->user, ls->check->rehash);
	(void)snprintf(subject, sizeof(subject), "user:%s", ls->user);
	(void)store_login_failures_clear(subject);
	if (!admin_session_start(req, ls->user_id, ls->client)) {
		page_error(req, 503, "Try again", "Sign-in is not possible "
		    "just now. Try again in a moment.", "/admin/login",
		    "Open the sign-in page");
		return (KORE_RESULT_OK);
	}
	(void)store_audit_add(ls->user, "login", ls->user, "", ls->client, now);
	admin_see_other(req, ls->next);
	return (KORE_RESULT_OK);
}

/* 429 when subject failed limit times in the window; returns 1 then. */
static int
login_limited(struct http_request *req, const char *subject, u_int64_t limit,
    u_int64_t now)
{
	u_int64_t	count, oldest, wait;
	char		secs[32];

	if (store_login_failures(subject, now - LOGIN_WINDOW_MS, &count,
	    &oldest) != STORE_OK || count < limit)
		return (0);
	wait = oldest + LOGIN_WINDOW_MS > now ?
	    (oldest + LOGIN_WINDOW_MS - now + 999) / 1000 : 1;
	(void)snprintf(secs, sizeof(secs), "%llu", (unsigned long long)wait);
	http_response_header(req, "retry-after", secs);
	page_error(req, 429, "Too many attempts", "Sign-in is paused after "
	    "several wrong passwords. Wait a few minutes and try again, or "
	    "ask an administrator to reset your password.", "/admin/login",
	    "Open the sign-in page");
	return (1);
}

/* Only a path of the desk: never a redirect to another site. */
static void
login_next(const char *next, char *out, size_t len)
{
	if (next == NULL || strncmp(next, "/admin", 6) != 0 ||
	    (next[6] != '\0' && next[6] != '/' && next[6] != '?') ||
	    strpbrk(next, "\\\r\n") != NULL || strstr(next, "//") != NULL ||
	    strstr(next, "/.") != NULL ||
	    strlen(next) >= len || strncmp(next, "/admin/login", 12) == 0)
		next = "/admin";
	(void)snprintf(out, len, "%s", next);
}

static void
login_state_free(struct http_request *req)
{
	struct login_state	*ls = http_state_get(req);

	if (ls == NULL)
		return;
	body_cleanup(&ls->body);
	login_check_release(ls->check);
}
