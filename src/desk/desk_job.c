/*
 * desk_job.c: see desk_job.h.
 */

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "desk/desk_job.h"
#include "web/page.h"

/* A request's state across its sleep. */
struct desk_state {
	struct desk_job		*job;
};

static void	desk_job_run(struct offload *);
static void	desk_job_free(struct thread_job *);
static void	desk_state_free(struct http_request *);

int
desk_serve(struct http_request *req, const struct desk_route *r)
{
	struct desk_state	*st;
	struct desk_job		*j;

	if ((st = http_state_get(req)) != NULL) {
		if (!offload_done(req, &st->job->o))
			return (KORE_RESULT_RETRY);
	} else {
		if (!page_request_ok(req, r->methods, r->allow))
			return (KORE_RESULT_OK);
		st = http_state_create(req, sizeof(*st), desk_state_free);
		st->job = j = offload_new(r->size, desk_job_run,
		    desk_job_free);
		j->route = r;
		admin_session_token(req, j->token_hash);
		j->posted = req->method == HTTP_METHOD_POST;
		if (j->posted)
			j->body_status = admin_post_read(req, &j->body,
			    &j->body_error);
		else
			admin_query_read(req, &j->body);
		if (r->read != NULL)
			r->read(req, j);
		if (!offload_run(req, &j->o))
			return (KORE_RESULT_RETRY);
	}
	j = st->job;
	if (j->reply.kind == DESK_REPLY_OWN)
		j->route->send(req, j);
	else
		desk_reply_send(req, &j->reply);
	return (KORE_RESULT_OK);
}

/* The session, a POST's body and token, then the route's store calls. */
static void
desk_job_run(struct offload *o)
{
	struct desk_job		*j = (struct desk_job *)o;

	if (!admin_session_check(j->token_hash, j->route->need, &j->a,
	    &j->reply))
		return;
	if (j->body_status != 0) {
		desk_reply_error(&j->reply, j->body_status,
		    j->body_status == 413 ? "Too much data" :
		    "Request not understood", j->body_error, "/admin",
		    "Back to the desk");
		return;
	}
	/* Every POST, whatever else its route accepts. */
	if (j->posted && !admin_csrf_check(&j->a, &j->body, &j->reply))
		return;
	j->route->run(j);
}

static void
desk_job_free(struct thread_job *job)
{
	struct desk_job		*j = (struct desk_job *)job;

	if (j->route->cleanup != NULL)
		j->route->cleanup(j);
	body_cleanup(&j->body);
	desk_reply_cleanup(&j->reply);
	kore_free(j);
}

/* The request is freed: its job goes now, or once it is back. */
static void
desk_state_free(struct http_request *req)
{
	struct desk_state	*st = http_state_get(req);

	if (st != NULL)
		offload_release(&st->job->o);
}
