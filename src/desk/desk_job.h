/*
 * desk_job.h: every desk request as one job of offload.h, so that on
 * PostgreSQL no store call of the desk waits on the event loop, the
 * session lookup included. A route says what it needs; the job then
 * goes in three steps:
 *
 *   event loop       the session cookie, the query string (GET, HEAD)
 *                    or the POSTed form, and whatever the route's read()
 *                    copies from the request;
 *   database thread  the session (303 to the sign-in page, 403 below
 *                    the route's role), a POST's CSRF token, then the
 *                    route's run(): its store calls, and the answer in
 *                    job->reply (desk_reply.h) ...
 *   event loop       ... which is sent.
 *
 * On SQLite the thread's step runs on the loop in the same call
 * (offload_run). A route's job is its own struct with a struct desk_job
 * first. run() never touches the request: Kore's request and response
 * functions belong to the event loop.
 */

#ifndef FORMWORK_DESK_JOB_H
#define FORMWORK_DESK_JOB_H

#include "core/body.h"
#include "desk/admin_session.h"
#include "desk/desk_reply.h"
#include "web/offload.h"

struct http_request;
struct desk_job;

struct desk_route {
	int		 methods;	/* HTTP_METHOD_* bits */
	const char	*allow;		/* their names, for a 405 */
	enum store_role	 need;		/* the least role */
	size_t		 size;		/* of the route's job */
	/* Event loop, before: copies what run() needs (or NULL). */
	void		(*read)(struct http_request *, struct desk_job *);
	/* Database thread: the store calls and the answer. */
	void		(*run)(struct desk_job *);
	/* Frees what read() and run() left in the job (or NULL). */
	void		(*cleanup)(struct desk_job *);
	/* Event loop, after: sends a DESK_REPLY_OWN answer (or NULL). */
	void		(*send)(struct http_request *, struct desk_job *);
};

struct desk_job {
	struct offload		 o;		/* first */
	const struct desk_route	*route;
	char			 token_hash[STORE_HASH_HEX + 1]; /* "": none */
	struct body		 body;		/* query or POSTed form */
	int			 posted;	/* a POST: CSRF-checked */
	int			 body_status;	/* 0, or 4xx: unreadable */
	const char		*body_error;	/* a sentence saying why */
	struct admin		 a;		/* set before run() */
	struct desk_reply	 reply;
};

/*
 * The handler of route r for req: returns KORE_RESULT_OK once answered,
 * or KORE_RESULT_RETRY while the job is on a database thread (the
 * handler is called again and calls this again).
 */
int	desk_serve(struct http_request *, const struct desk_route *r);

#endif
