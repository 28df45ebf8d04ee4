/*
 * admin_session.h: who is asking, on every /admin page. A session is a
 * 256-bit random token in an HttpOnly, SameSite=Strict cookie; the store
 * keeps only its hash, so a copy of the database opens no session. It
 * ends after FORMWORK_SESSION_IDLE without use, FORMWORK_SESSION_MAX
 * after login, or at logout. Each session has its own CSRF token, a MAC
 * of the session's hash, which every admin form carries.
 */

#ifndef FORMWORK_ADMIN_SESSION_H
#define FORMWORK_ADMIN_SESSION_H

#include <sys/types.h>

#include "store/store_admin.h"
#include "core/token.h"

struct body;
struct desk_reply;
struct http_request;
struct kore_json_item;

struct admin {
	char		 user[STORE_NAME_MAX + 1];
	enum store_role	 role;
	char		 token_hash[STORE_HASH_HEX + 1];
	char		 csrf[TOKEN_CSRF_MAX];
};

/*
 * Which calls run where: on the event loop those taking the request; the
 * others wherever the desk's store calls run (a database thread on
 * PostgreSQL, desk_job.h), answering through a desk_reply.
 */

/* Event loop: the hash of req's session cookie, or "" without one. */
void	admin_session_token(struct http_request *,
	    char token_hash[STORE_HASH_HEX + 1]);

/*
 * The session of token_hash into a. Without a valid one it answers 303
 * to the sign-in page (which brings the user back) and returns 0; when
 * the user's role is below need it answers 403 and returns 0.
 */
int	admin_session_check(const char *token_hash, enum store_role need,
	    struct admin *, struct desk_reply *);

/*
 * Event loop, for a POST: parses the body into b (the caller frees it
 * with body_cleanup, also on failure). Returns 0, or the 4xx status when
 * the body is too large or unreadable, with a sentence in *why.
 */
int	admin_post_read(struct http_request *, struct body *b,
	    const char **why);

/* Checks b's _csrf against a's session; answers 403 and returns 0 if not. */
int	admin_csrf_check(const struct admin *, struct body *b,
	    struct desk_reply *);

/* Event loop: parses req's query string into b (free it with body_cleanup). */
void	admin_query_read(struct http_request *, struct body *b);

/* Starts a session for user_id: stores its hash, sets the cookie. */
int	admin_session_start(struct desk_reply *, int64_t user_id,
	    const char *client);

/* Ends a's session and clears the cookie. */
void	admin_session_end(struct desk_reply *, const struct admin *);

/*
 * Adds the user, role flags, CSRF token and the number of actions that
 * failed for good, which every admin page shows.
 */
void	admin_ctx_add(struct kore_json_item *, const struct admin *);

/* Event loop: 303 See Other to location (a path of this site). */
void	admin_see_other(struct http_request *, const char *location);

/* Event loop: 303 to the sign-in page, which sends the user back to req. */
void	admin_sign_in_redirect(struct http_request *);

#endif
