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
struct http_request;
struct kore_json_item;

struct admin {
	char		 user[STORE_NAME_MAX + 1];
	enum store_role	 role;
	char		 token_hash[STORE_HASH_HEX + 1];
	char		 csrf[TOKEN_CSRF_MAX];
};

/*
 * The session behind req. Without a valid one it answers 303 to the
 * login page (which brings the user back here) and returns 0; when the
 * user's role is below need it answers 403 and returns 0.
 */
int	admin_session_require(struct http_request *, enum store_role need,
	    struct admin *);

/*
 * For a POST: parses the body into b (the caller frees it with
 * body_cleanup, also on failure) and checks its _csrf against a's
 * session. Answers 4xx and returns 0 when the body is unreadable or the
 * token missing or wrong.
 */
int	admin_post_read(struct http_request *, const struct admin *,
	    struct body *b);

/* Parses req's query string into b (free it with body_cleanup). */
void	admin_query_read(struct http_request *, struct body *b);

/* Starts a session for user_id: stores its hash, sets the cookie. */
int	admin_session_start(struct http_request *, int64_t user_id,
	    const char *client);

/* Ends a's session and clears the cookie. */
void	admin_session_end(struct http_request *, const struct admin *);

/*
 * Adds the user, role flags, CSRF token and the number of actions that
 * failed for good, which every admin page shows.
 */
void	admin_ctx_add(struct kore_json_item *, const struct admin *);

/* 303 See Other to location (a path of this site). */
void	admin_see_other(struct http_request *, const char *location);

#endif
