/*
 * desk_reply.h: a desk page's answer, made where the page's store calls
 * run (on a database thread on PostgreSQL, see desk_job.h) and sent on
 * the event loop afterwards, since Kore's response functions belong to
 * the loop. It holds the template and its context rather than the
 * rendered page: the template set compiles indented partials the first
 * time they are used, so it is only ever used from the event loop.
 */

#ifndef FORMWORK_DESK_REPLY_H
#define FORMWORK_DESK_REPLY_H

#include <sys/types.h>

#include <stddef.h>

struct http_request;
struct kore_buf;
struct kore_json_item;

#define DESK_REPLY_HEADERS	4

enum desk_reply_kind {
	DESK_REPLY_NONE = 0,
	DESK_REPLY_PAGE,		/* tmpl with ctx, titled title */
	DESK_REPLY_SEE_OTHER,		/* 303 to location */
	DESK_REPLY_SIGN_IN,		/* 303 to the sign-in page, back after */
	DESK_REPLY_STORE_FAILED,	/* form_store_failed(status) */
	DESK_REPLY_DATA,		/* data as it is, e.g. a CSV */
	DESK_REPLY_OWN,			/* the route's own send (desk_job.h) */
};

struct desk_reply {
	enum desk_reply_kind	 kind;
	int			 status;	/* or the store result */
	char			 title[96];
	const char		*tmpl;
	struct kore_json_item	*ctx;
	char			*location;
	struct kore_buf		*data;
	const char		*hname[DESK_REPLY_HEADERS];
	char			*hvalue[DESK_REPLY_HEADERS];
	size_t			 nheaders;
};

/*
 * Any thread: what to answer. Each replaces the answer made before
 * (keeping the headers); a page takes ctx, to be freed with the reply.
 */
void	desk_reply_page(struct desk_reply *, int status, const char *title,
	    const char *tmpl, struct kore_json_item *ctx);
void	desk_reply_error(struct desk_reply *, int status, const char *heading,
	    const char *message, const char *href, const char *link_text);
void	desk_reply_see_other(struct desk_reply *, const char *location);
void	desk_reply_sign_in(struct desk_reply *);
void	desk_reply_store_failed(struct desk_reply *, int store_result);
void	desk_reply_data(struct desk_reply *, int status, const void *data,
	    size_t len);
void	desk_reply_own(struct desk_reply *);

/* Any thread: a header line to send with the answer (name a literal). */
void	desk_reply_header(struct desk_reply *, const char *name,
	    const char *value);

/* The event loop: sends r's answer for req (not DESK_REPLY_OWN). */
void	desk_reply_send(struct http_request *, struct desk_reply *);

/* Frees what r holds. */
void	desk_reply_cleanup(struct desk_reply *);

#endif
