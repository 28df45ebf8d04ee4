/*
 * page.h: every HTML response goes through here: the template set, the
 * shared layout, the security headers, and the one place that maps a
 * failure to an HTTP status and a page that says what to do.
 */

#ifndef FORMWORK_PAGE_H
#define FORMWORK_PAGE_H

#include <stddef.h>

struct http_request;
struct kore_buf;
struct kore_json_item;

/* Compiles every templates/<name>.html once (parent, at start-up). */
int	page_templates_load(const char *dir, char *err, size_t errlen);

/*
 * An id of what a page is made from, part of every page's ETag: a
 * digest of this module's file, the templates and the form definitions
 * (the directories given), so a changed template or form never leaves a
 * stale page in a cache, and nodes running the same build with the same
 * files give the same page the same ETag. Made by the parent at
 * start-up (the workers inherit it), read-only afterwards; -1 with err
 * when a file cannot be read.
 */
int		 page_build_id_make(const char *templates, const char *forms,
		    char *err, size_t errlen);
const char	*page_build_id(void);

/* A fresh template context (an empty JSON object). */
struct kore_json_item	*page_ctx_new(void);

/* Cache-Control: no-store for pages that hold tokens or private data. */
#define PAGE_NO_STORE	0x01

/*
 * Renders template tmpl with ctx inside the layout, titled title, and
 * sends it with status. Frees ctx.
 */
void	page_send(struct http_request *, int status, int flags,
	    const char *title, const char *tmpl, struct kore_json_item *ctx);

/* Renders template tmpl with ctx inside the layout into out. Frees ctx. */
void	page_render(const char *title, const char *tmpl,
	    struct kore_json_item *ctx, struct kore_buf *out);

/* Sends an HTML page that is already rendered. */
void	page_send_html(struct http_request *, int status, int flags,
	    const void *data, size_t len);

/*
 * The header lines of form's page when they differ from every other
 * page's (SPEC section 10): its challenge provider's script and frames,
 * and the origins its form may send the visitor on to (a browser applies
 * form-action to the redirect after the POST too). NULL when the usual
 * lines do; otherwise kore_free it. Such a page is always no-store.
 */
struct form;
char	*page_form_lines(const struct form *);

/* Sends a rendered page with the header lines of page_form_lines(). */
void	page_send_html_lines(struct http_request *, int status,
	    const char *lines, const void *data, size_t len);

/* Sends the error page: heading, one sentence, and a link on. */
void	page_error(struct http_request *, int status, const char *heading,
	    const char *message, const char *href, const char *link_text);

/*
 * The error page's template context (template "error", titled heading),
 * for a page made away from its request: any thread may call it.
 */
struct kore_json_item	*page_error_ctx(int status, const char *heading,
			    const char *message, const char *href,
			    const char *link_text);

/*
 * The checks every handler starts with: answers 431 when the request's
 * headers are too large, or 405 with Allow when its method is not one of
 * methods (HTTP_METHOD_* bits). Returns 0 when it has answered.
 */
int	page_request_ok(struct http_request *, int methods, const char *allow);

/* Sends the response and counts it for /metrics: every answer ends here. */
void	page_respond(struct http_request *, int status, const void *data,
	    size_t len);

/* Appends s to out percent-encoded for a query string value. */
void	page_url_encode(struct kore_buf *out, const char *s);

/* Adds the security headers every response carries. */
void	page_security_headers(struct http_request *);

#endif
