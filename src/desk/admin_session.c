/*
 * admin_session.c: sessions, their cookie and their CSRF token, and the
 * role check every admin request starts with (on a database thread on
 * PostgreSQL: desk_job.h).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <sodium.h>

#include "desk/admin_session.h"
#include "desk/desk_reply.h"
#include "core/body.h"
#include "core/config.h"
#include "web/page.h"
#include "core/util.h"

#define ADMIN_COOKIE		"fw_session"
#define ADMIN_TOKEN_BYTES	32		/* 256 bits */
#define ADMIN_CSRF_SLUG		"admin-session"
#define ADMIN_BODY_MAX		(64 * 1024)

static void	admin_token_hash(const char *, char [STORE_HASH_HEX + 1]);
static void	admin_cookie_set(struct desk_reply *, const char *, int);

void
admin_session_token(struct http_request *req,
    char token_hash[STORE_HASH_HEX + 1])
{
	char		*token;

	token_hash[0] = '\0';
	http_populate_cookies(req);
	if (http_request_cookie(req, ADMIN_COOKIE, &token) &&
	    strlen(token) == ADMIN_TOKEN_BYTES * 2 &&
	    strspn(token, "0123456789abcdef") == ADMIN_TOKEN_BYTES * 2)
		admin_token_hash(token, token_hash);
}

int
admin_session_check(const char *token_hash, enum store_role need,
    struct admin *a, struct desk_reply *r)
{
	struct store_session	 s;
	enum store_result	 sr;
	u_int64_t		 now;

	memset(a, 0, sizeof(*a));
	if (token_hash[0] == '\0') {
		desk_reply_sign_in(r);
		return (0);
	}
	(void)snprintf(a->token_hash, sizeof(a->token_hash), "%s", token_hash);
	if ((sr = store_session_get(a->token_hash, &s)) != STORE_OK) {
		if (sr == STORE_NOT_FOUND) {
			desk_reply_sign_in(r);
		} else {
			desk_reply_error(r, 503, "Try again", "The desk could "
			    "not read your session just now. Reload the page "
			    "in a moment.", "/admin", "Reload the desk");
		}
		return (0);
	}

	now = util_now_ms();
	if (now - s.seen_ms > config.session_idle_ms ||
	    now - s.created_ms > config.session_max_ms) {
		(void)store_session_delete(a->token_hash);
		desk_reply_sign_in(r);
		return (0);
	}
	/* Writes at most a few times per idle period, not per page. */
	if (now - s.seen_ms > config.session_idle_ms / 8)
		(void)store_session_touch(a->token_hash, now);

	(void)snprintf(a->user, sizeof(a->user), "%s", s.user);
	a->role = s.role;
	token_csrf_new(ADMIN_CSRF_SLUG, a->token_hash, s.created_ms, a->csrf);

	if (a->role < need) {
		desk_reply_error(r, 403, "Not allowed", "Your account cannot "
		    "do this. Ask an administrator if you need to.", "/admin",
		    "Back to the submissions");
		return (0);
	}
	return (1);
}

int
admin_post_read(struct http_request *req, struct body *b, const char **why)
{
	const char		*ctype;
	enum body_status	 bst;

	TAILQ_INIT(&b->fields);
	b->count = 0;
	if (req->content_length > ADMIN_BODY_MAX || (req->http_body != NULL &&
	    req->http_body->length > ADMIN_BODY_MAX)) {
		*why = "This request is larger than the desk accepts.";
		return (413);
	}
	if (!http_request_header(req, "content-type", &ctype))
		ctype = NULL;
	bst = body_parse(ctype, req->http_body ? req->http_body->data : NULL,
	    req->http_body ? req->http_body->length : 0, b);
	if (bst != BODY_OK) {
		*why = body_status_text(bst);
		return (bst == BODY_UNSUPPORTED ? 415 : 400);
	}
	return (0);
}

int
admin_csrf_check(const struct admin *a, struct body *b, struct desk_reply *r)
{
	struct body_field	*f;

	/* Constant time: the token is compared with sodium_memcmp. */
	if ((f = body_find(b, "_csrf")) == NULL ||
	    strlen(f->value) != strlen(a->csrf) ||
	    sodium_memcmp(f->value, a->csrf, strlen(a->csrf)) != 0) {
		desk_reply_error(r, 403, "Request refused", "This change did "
		    "not come from a page of the desk you have open (its "
		    "security token is missing or old). Reload the page and "
		    "try again.", "/admin", "Back to the desk");
		return (0);
	}
	return (1);
}

void
admin_query_read(struct http_request *req, struct body *b)
{
	const char	*q;

	q = req->query_string != NULL ? req->query_string : "";
	/* A malformed query string reads as whatever parsed before it. */
	(void)body_parse("application/x-www-form-urlencoded",
	    (const u_int8_t *)q, strlen(q), b);
}

int
admin_session_start(struct desk_reply *r, int64_t user_id,
    const char *client)
{
	u_int8_t	raw[ADMIN_TOKEN_BYTES];
	char		token[ADMIN_TOKEN_BYTES * 2 + 1];
	char		hash[STORE_HASH_HEX + 1];

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(token, sizeof(token), raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	admin_token_hash(token, hash);
	if (store_session_add(hash, user_id, client, util_now_ms()) !=
	    STORE_OK)
		return (0);
	admin_cookie_set(r, token, 0);
	sodium_memzero(token, sizeof(token));
	return (1);
}

void
admin_session_end(struct desk_reply *r, const struct admin *a)
{
	(void)store_session_delete(a->token_hash);
	admin_cookie_set(r, "", 1);
}

void
admin_ctx_add(struct kore_json_item *ctx, const struct admin *a)
{
	struct kore_json_item	*who;
	u_int64_t		 failed;

	who = kore_json_create_object(ctx, "admin");
	kore_json_create_string(who, "user", a->user);
	kore_json_create_string(who, "role", store_role_name(a->role));
	kore_json_create_string(who, "csrf", a->csrf);
	kore_json_create_literal(who, "can_review", a->role >= ROLE_REVIEWER ?
	    KORE_JSON_TRUE : KORE_JSON_FALSE);
	kore_json_create_literal(who, "is_admin", a->role >= ROLE_ADMIN ?
	    KORE_JSON_TRUE : KORE_JSON_FALSE);
	/* Every page says how many actions failed for good (SPEC 11). */
	if (store_jobs_failed_count(&failed) != STORE_OK)
		failed = 0;
	kore_json_create_integer_u64(who, "failed", failed);
	kore_json_create_literal(who, "has_failed", failed > 0 ?
	    KORE_JSON_TRUE : KORE_JSON_FALSE);
}

void
admin_see_other(struct http_request *req, const char *location)
{
	http_response_header(req, "location", location);
	http_response_header(req, "cache-control", "no-store");
	page_security_headers(req);
	page_respond(req, 303, NULL, 0);
}

/* The store keeps BLAKE2b(token), never the token. */
static void
admin_token_hash(const char *token, char out[STORE_HASH_HEX + 1])
{
	u_int8_t	h[STORE_HASH_HEX / 2];

	crypto_generichash(h, sizeof(h), (const u_int8_t *)token,
	    strlen(token), NULL, 0);
	sodium_bin2hex(out, STORE_HASH_HEX + 1, h, sizeof(h));
}

void
admin_sign_in_redirect(struct http_request *req)
{
	struct kore_buf	 loc, next;

	kore_buf_init(&loc, 256);
	kore_buf_appendf(&loc, "/admin/login");
	if (req->method == HTTP_METHOD_GET) {
		kore_buf_init(&next, 256);
		kore_buf_appendf(&next, "%s", req->path);
		if (req->query_string != NULL)
			kore_buf_appendf(&next, "?%s", req->query_string);
		kore_buf_appendf(&next, "%c", '\0');
		kore_buf_appendf(&loc, "?next=");
		page_url_encode(&loc, (const char *)next.data);
		kore_buf_cleanup(&next);
	}
	kore_buf_appendf(&loc, "%c", '\0');
	admin_see_other(req, (const char *)loc.data);
	kore_buf_cleanup(&loc);
}

/* Sets (or, when clear, expires) the session cookie, only for /admin. */
static void
admin_cookie_set(struct desk_reply *r, const char *token, int clear)
{
	char		 cookie[256];

	/* Kore's own cookie writer has no SameSite: write it by hand. */
	(void)snprintf(cookie, sizeof(cookie), "%s=%s; Path=/admin; "
	    "HttpOnly; SameSite=Strict%s%s", ADMIN_COOKIE, token,
	    strncmp(config.base_url, "https://", 8) == 0 ? "; Secure" : "",
	    clear ? "; Max-Age=0" : "");
	desk_reply_header(r, "set-cookie", cookie);
}
