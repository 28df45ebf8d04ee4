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

#include "desk/desk_job.h"
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

/*
 * A sign-in's store calls, off the event loop on PostgreSQL (offload.h),
 * in two runs around the password check: the limits and the account,
 * then, once checked, what the outcome records.
 */
struct login_job {
	struct offload		 o;		/* first */
	char			 user[STORE_NAME_MAX + 1];
	char			 client[64];
	char			 next[256];
	u_int64_t		 now;

	/* First run: the account (user_id 0: no such user). */
	int64_t			 user_id;
	char			 pwhash[PASSWORD_HASH_MAX];

	/* Second run, when checked: the password's outcome. */
	int			 checked;
	int			 ok;
	char			 rehash[PASSWORD_HASH_MAX];

	/* The answer, once the sign-in ends (kind DESK_REPLY_NONE before). */
	struct desk_reply	 reply;
};

/* A request's state across its sleeps. */
struct login_state {
	struct body		 body;
	struct login_job	*job;
	struct login_check	*check;
};

static void	login_logout_run(struct desk_job *);
static struct kore_json_item *login_form_ctx(const char *, const char *,
		    const char *);
static void	login_form_send(struct http_request *, int, const char *,
		    const char *, const char *);
static int	login_post(struct http_request *);
static int	login_post_read(struct http_request *, struct login_state *);
static int	login_post_step(struct http_request *, struct login_state *);
static void	login_run(struct offload *);
static void	login_lookup(struct login_job *);
static void	login_finish(struct login_job *);
static int	login_limited(struct login_job *, const char *, u_int64_t);
static void	login_next(const char *, char *, size_t);
static void	login_job_free(struct thread_job *);
static void	login_state_free(struct http_request *);

static const struct desk_route logout_route = {
	HTTP_METHOD_POST, "POST", ROLE_VIEWER, sizeof(struct desk_job), NULL,
	login_logout_run, NULL, NULL
};

int
page_admin_login(struct http_request *req)
{
	struct body_field	*next;
	struct body		 q;

	if (http_state_exists(req))
		return (login_post_step(req, http_state_get(req)));
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
	return (desk_serve(req, &logout_route));
}

static void
login_logout_run(struct desk_job *j)
{
	(void)store_audit_add(j->a.user, "logout", j->a.user, "", "",
	    util_now_ms());
	admin_session_end(&j->reply, &j->a);
	desk_reply_see_other(&j->reply, "/admin/login");
}

/* The login form's context, with a fresh token (any thread). */
static struct kore_json_item *
login_form_ctx(const char *next, const char *user, const char *message)
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
	return (ctx);
}

/* The login form; message says what went wrong. */
static void
login_form_send(struct http_request *req, int status, const char *next,
    const char *user, const char *message)
{
	page_send(req, status, PAGE_NO_STORE, "Sign in", "admin_login",
	    login_form_ctx(next, user, message));
}

static int
login_post(struct http_request *req)
{
	struct login_state	*ls;

	ls = http_state_create(req, sizeof(*ls), login_state_free);
	TAILQ_INIT(&ls->body.fields);
	if (!login_post_read(req, ls))
		return (KORE_RESULT_OK);
	if (!offload_run(req, &ls->job->o))
		return (KORE_RESULT_RETRY);
	return (login_post_step(req, ls));
}

/*
 * Event loop: the form, its token and its fields, into a new job. Answers
 * and returns 0 when one is wrong.
 */
static int
login_post_read(struct http_request *req, struct login_state *ls)
{
	struct body_field	*fu, *fp, *fk, *fc, *fn;
	struct login_job	*lj;
	const char		*ctype;
	u_int64_t		 issued, now;

	now = util_now_ms();
	if (!http_request_header(req, "content-type", &ctype))
		ctype = NULL;
	if (req->content_length > 8192 || body_parse(ctype, req->http_body ?
	    req->http_body->data : NULL, req->http_body ?
	    req->http_body->length : 0, &ls->body) != BODY_OK) {
		page_error(req, 400, "Request not understood", "The sign-in "
		    "form could not be read. Open it again and sign in.",
		    "/admin/login", "Open the sign-in page");
		return (0);
	}
	fu = body_find(&ls->body, "username");
	fp = body_find(&ls->body, "password");
	fk = body_find(&ls->body, "_key");
	fc = body_find(&ls->body, "_csrf");
	fn = body_find(&ls->body, "next");

	if (token_csrf_check(fc ? fc->value : NULL, LOGIN_SLUG,
	    fk ? fk->value : NULL, now, config.form_ttl_ms, &issued) !=
	    TOKEN_VALID) {
		page_error(req, 403, "Request refused", "This sign-in form is "
		    "too old or did not come from this site. Open it again "
		    "and sign in.", "/admin/login", "Open the sign-in page");
		return (0);
	}
	if (fu == NULL || fp == NULL || fu->len == 0 || fp->len == 0 ||
	    fu->len > STORE_NAME_MAX || fp->len > PASSWORD_MAX ||
	    strlen(fu->value) != fu->len || strlen(fp->value) != fp->len) {
		login_form_send(req, 422, fn ? fn->value : "/admin",
		    fu && fu->len <= STORE_NAME_MAX ? fu->value : "",
		    "Enter your username and your password.");
		return (0);
	}

	lj = ls->job = offload_new(sizeof(*lj), login_run, login_job_free);
	lj->now = now;
	login_next(fn ? fn->value : "/admin", lj->next, sizeof(lj->next));
	(void)snprintf(lj->user, sizeof(lj->user), "%s", fu->value);
	submit_client(req, lj->client, sizeof(lj->client));
	return (1);
}

/*
 * Event loop, each time the sign-in is back from a thread: sends the
 * answer once there is one; else hands the password to the checker and,
 * once checked, the outcome to the store.
 */
static int
login_post_step(struct http_request *req, struct login_state *ls)
{
	struct login_job	*lj = ls->job;
	struct body_field	*fp;

	if (!offload_done(req, &lj->o))
		return (KORE_RESULT_RETRY);
	if (lj->reply.kind != DESK_REPLY_NONE) {
		desk_reply_send(req, &lj->reply);
		return (KORE_RESULT_OK);
	}
	if (ls->check == NULL) {
		ls->check = login_check_new();
		(void)snprintf(ls->check->pwhash, sizeof(ls->check->pwhash),
		    "%s", lj->pwhash);
		fp = body_find(&ls->body, "password");
		(void)snprintf(ls->check->password,
		    sizeof(ls->check->password), "%s", fp->value);
		sodium_memzero(fp->value, fp->len);
		login_check_enqueue(ls->check, req);
		return (KORE_RESULT_RETRY);
	}
	if (!ls->check->job.done) {
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}
	lj->checked = 1;
	lj->ok = ls->check->ok && lj->user_id != 0;
	(void)snprintf(lj->rehash, sizeof(lj->rehash), "%s",
	    ls->check->rehash);
	if (!offload_run(req, &lj->o))
		return (KORE_RESULT_RETRY);
	return (login_post_step(req, ls));
}

static void
login_run(struct offload *o)
{
	struct login_job	*lj = (struct login_job *)o;

	if (lj->checked)
		login_finish(lj);
	else
		login_lookup(lj);
}

/* The limits, then the account's hash (a decoy's for an unknown name). */
static void
login_lookup(struct login_job *lj)
{
	struct store_user	 u;
	enum store_result	 sr;
	char			 subject[STORE_NAME_MAX + 16];

	(void)snprintf(subject, sizeof(subject), "user:%s", lj->user);
	if (login_limited(lj, subject, config.login_limit))
		return;
	(void)snprintf(subject, sizeof(subject), "client:%s", lj->client);
	if (login_limited(lj, subject, config.login_limit *
	    LOGIN_CLIENT_FACTOR))
		return;

	if ((sr = store_user_get(NULL, lj->user, &u)) == STORE_OK) {
		lj->user_id = u.id;
		(void)snprintf(lj->pwhash, sizeof(lj->pwhash), "%s", u.pwhash);
	} else if (sr == STORE_NOT_FOUND) {
		(void)snprintf(lj->pwhash, sizeof(lj->pwhash), "%s",
		    password_decoy());
	} else {
		desk_reply_error(&lj->reply, 503, "Try again", "Sign-in is "
		    "not possible just now. Try again in a moment.",
		    "/admin/login", "Open the sign-in page");
	}
}

/* Checked: a failure counted, or the session started. */
static void
login_finish(struct login_job *lj)
{
	char		subject[STORE_NAME_MAX + 16];
	u_int64_t	now;

	now = util_now_ms();
	if (!lj->ok) {
		(void)snprintf(subject, sizeof(subject), "user:%s", lj->user);
		(void)store_login_failure_add(subject, now);
		(void)snprintf(subject, sizeof(subject), "client:%s",
		    lj->client);
		(void)store_login_failure_add(subject, now);
		desk_reply_page(&lj->reply, 401, "Sign in", "admin_login",
		    login_form_ctx(lj->next, lj->user, LOGIN_BAD));
		return;
	}

	/* Limits were raised since this hash was made: store a new one. */
	if (lj->rehash[0] != '\0')
		(void)store_user_pwhash_set(NULL, lj->user, lj->rehash);
	(void)snprintf(subject, sizeof(subject), "user:%s", lj->user);
	(void)store_login_failures_clear(subject);
	if (!admin_session_start(&lj->reply, lj->user_id, lj->client)) {
		desk_reply_error(&lj->reply, 503, "Try again", "Sign-in is "
		    "not possible just now. Try again in a moment.",
		    "/admin/login", "Open the sign-in page");
		return;
	}
	(void)store_audit_add(lj->user, "login", lj->user, "", lj->client,
	    now);
	desk_reply_see_other(&lj->reply, lj->next);
}

/* 429 when subject failed limit times in the window; returns 1 then. */
static int
login_limited(struct login_job *lj, const char *subject, u_int64_t limit)
{
	u_int64_t	count, oldest, wait, now = lj->now;
	char		secs[32];

	if (store_login_failures(subject, now - LOGIN_WINDOW_MS, &count,
	    &oldest) != STORE_OK || count < limit)
		return (0);
	wait = oldest + LOGIN_WINDOW_MS > now ?
	    (oldest + LOGIN_WINDOW_MS - now + 999) / 1000 : 1;
	(void)snprintf(secs, sizeof(secs), "%llu", (unsigned long long)wait);
	desk_reply_header(&lj->reply, "retry-after", secs);
	desk_reply_error(&lj->reply, 429, "Too many attempts", "Sign-in is "
	    "paused after several wrong passwords. Wait a few minutes and "
	    "try again, or ask an administrator to reset your password.",
	    "/admin/login", "Open the sign-in page");
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
login_job_free(struct thread_job *job)
{
	struct login_job	*lj = (struct login_job *)job;

	desk_reply_cleanup(&lj->reply);
	sodium_memzero(lj, sizeof(*lj));
	kore_free(lj);
}

static void
login_state_free(struct http_request *req)
{
	struct login_state	*ls = http_state_get(req);

	if (ls == NULL)
		return;
	body_cleanup(&ls->body);
	offload_release(ls->job != NULL ? &ls->job->o : NULL);
	login_check_release(ls->check);
}
