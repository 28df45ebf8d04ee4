/*
 * page.c: renders templates into the layout and sends HTML responses
 * with the security headers. It owns the compiled template set and the
 * start-up's build id, made by the parent before fork and only read
 * afterwards.
 */

#include <sys/types.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <sodium.h>

#include "web/captcha.h"
#include "core/forms.h"
#include "worker/accept_share.h"
#include "worker/metrics.h"
#include "web/page.h"
#include "core/tmpl.h"

#define PAGE_HEADERS_MAX	(8 * 1024)

static struct tmpl_set	*page_set = NULL;
static char		 page_build[17];	/* 16 hex digits */

static int	page_build_hash_dir(crypto_generichash_state *, const char *,
		    char *, size_t);
static int	page_build_hash(crypto_generichash_state *, const char *,
		    char *, size_t);
static int	page_template_read(const char *, const char *, char *,
		    size_t);

int
page_build_id_make(const char *templates, const char *forms, char *err,
    size_t errlen)
{
	crypto_generichash_state	 st;
	Dl_info				 self;
	u_int8_t			 raw[8];

	(void)crypto_generichash_init(&st, NULL, 0, sizeof(raw));
	if (dladdr((void *)page_build_id_make, &self) == 0 ||
	    self.dli_fname == NULL) {
		(void)snprintf(err, errlen, "cannot find this module's file");
		return (-1);
	}
	if (page_build_hash(&st, self.dli_fname, err, errlen) == -1 ||
	    page_build_hash_dir(&st, templates, err, errlen) == -1 ||
	    page_build_hash_dir(&st, forms, err, errlen) == -1)
		return (-1);
	(void)crypto_generichash_final(&st, raw, sizeof(raw));
	sodium_bin2hex(page_build, sizeof(page_build), raw, sizeof(raw));
	return (0);
}

/* Adds the files of dir (not below it), by name, to the digest. */
static int
page_build_hash_dir(crypto_generichash_state *st, const char *dir,
    char *err, size_t errlen)
{
	struct dirent	**names;
	char		  path[PATH_MAX];
	int		  i, n, rc;

	if ((n = scandir(dir, &names, NULL, alphasort)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return (-1);
	}
	rc = 0;
	for (i = 0; i < n; i++) {
		if (rc == 0 && names[i]->d_name[0] != '.' &&
		    names[i]->d_type != DT_DIR &&
		    (size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    names[i]->d_name) < sizeof(path)) {
			(void)crypto_generichash_update(st,
			    (const u_int8_t *)names[i]->d_name,
			    strlen(names[i]->d_name) + 1);
			rc = page_build_hash(st, path, err, errlen);
		}
		free(names[i]);
	}
	free(names);
	return (rc);
}

/* Adds the bytes of the file at path to the digest. */
static int
page_build_hash(crypto_generichash_state *st, const char *path, char *err,
    size_t errlen)
{
	u_int8_t	buf[65536];
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		(void)crypto_generichash_update(st, buf, (size_t)n);
	(void)close(fd);
	if (n == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

const char *
page_build_id(void)
{
	return (page_build);
}

int
page_templates_load(const char *dir, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 len;
	int		 rc;

	if ((d = opendir(dir)) == NULL) {
		(void)snprintf(err, errlen, "%s: cannot open: %s", dir,
		    strerror(errno));
		return (-1);
	}
	page_set = tmpl_set_new();
	rc = 0;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".html") != 0)
			continue;
		rc = page_template_read(dir, de->d_name, err, errlen);
	}
	(void)closedir(d);

	if (rc == 0 && (!tmpl_set_has(page_set, "layout") ||
	    !tmpl_set_has(page_set, "error"))) {
		(void)snprintf(err, errlen, "%s: layout.html and error.html "
		    "are required", dir);
		rc = -1;
	}
	return (rc);
}

static int
page_template_read(const char *dir, const char *file, char *err,
    size_t errlen)
{
	char		 path[512], name[128];

	(void)snprintf(path, sizeof(path), "%s/%s", dir, file);
	(void)snprintf(name, sizeof(name), "%.*s", (int)(strlen(file) - 5),
	    file);
	return (tmpl_set_add_file(page_set, name, path, err, errlen));
}

struct kore_json_item *
page_ctx_new(void)
{
	return (kore_json_create_object(NULL, NULL));
}

void
page_respond(struct http_request *req, int status, const void *data,
    size_t len)
{
	metrics_request(req, status);
	http_response(req, status, data, len);
	accept_share_answered(req->owner);
}

void
page_url_encode(struct kore_buf *out, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p) != NULL)
			kore_buf_append(out, p, 1);
		else
			kore_buf_appendf(out, "%%%c%c", hex[*p >> 4],
			    hex[*p & 0x0f]);
	}
}

/*
 * The headers of every page: no inline script or style anywhere, so the
 * CSP can be strict; result URLs are capabilities, never leaked in a
 * Referer; frame-ancestors replaces X-Frame-Options in every browser.
 * They go to Kore as one entry whose value carries the other lines: Kore
 * copies each entry's name and value and formats it with "%s: %s\r\n"
 * (http_response_header, http_response_normal), and four entries per
 * page cost the form page a measurable share of its rate.
 */
#define PAGE_CSP_TAIL	"frame-ancestors 'none'; base-uri 'none'"
#define PAGE_OTHER_LINES \
	"\r\nx-content-type-options: nosniff\r\n" \
	"referrer-policy: no-referrer\r\n" \
	"cross-origin-opener-policy: same-origin"
#define PAGE_SECURITY_LINES \
	"default-src 'none'; style-src 'self'; img-src 'self'; " \
	"form-action 'self'; " PAGE_CSP_TAIL PAGE_OTHER_LINES
#define PAGE_HTML_TYPE	"\r\ncontent-type: text/html; charset=utf-8"
#define PAGE_HTML_LINES	PAGE_SECURITY_LINES PAGE_HTML_TYPE

void
page_security_headers(struct http_request *req)
{
	http_response_header(req, "content-security-policy",
	    PAGE_SECURITY_LINES);
}

void
page_send(struct http_request *req, int status, int flags, const char *title,
    const char *tmpl, struct kore_json_item *ctx)
{
	struct kore_buf		 out;

	kore_buf_init(&out, 8192);
	page_render(title, tmpl, ctx, &out);
	page_send_html(req, status, flags, out.data, out.offset);
	kore_buf_cleanup(&out);
}

void
page_render(const char *title, const char *tmpl, struct kore_json_item *ctx,
    struct kore_buf *out)
{
	struct kore_buf		 content;
	struct kore_json_item	*layout;
	size_t			 len;
	char			*s;

	kore_buf_init(&content, 4096);
	if (tmpl_render(page_set, tmpl, ctx, &content) == -1)
		kore_log(LOG_ERR, "%s: no template '%s'", __func__, tmpl);
	kore_json_item_free(ctx);

	layout = kore_json_create_object(NULL, NULL);
	kore_json_create_string(layout, "title", title);
	s = kore_buf_stringify(&content, &len);
	kore_json_create_string(layout, "content", s);
	kore_buf_cleanup(&content);

	(void)tmpl_render(page_set, "layout", layout, out);
	kore_json_item_free(layout);
}

void
page_send_html(struct http_request *req, int status, int flags,
    const void *data, size_t len)
{
	http_response_header(req, "content-security-policy",
	    (flags & PAGE_NO_STORE) ? PAGE_HTML_LINES "\r\ncache-control: "
	    "no-store" : PAGE_HTML_LINES);
	page_respond(req, status, data, len);
}

/*
 * Made once per form and worker by the caller, who keeps it: the usual
 * policy with the provider's sources added where its widget needs them,
 * and the allowed origins added to form-action.
 */
char *
page_form_lines(const struct form *form)
{
	const struct captcha_widget	*w;
	struct kore_buf			 b;
	size_t				 i, len;
	char				*s;

	w = captcha_widget(form);
	if (w == NULL && form->norigins == 0)
		return (NULL);
	kore_buf_init(&b, 512);
	kore_buf_appendf(&b, "default-src 'none'; style-src 'self'%s%s; "
	    "img-src 'self'; ", w ? " " : "", w ? w->sources : "");
	if (w != NULL)
		kore_buf_appendf(&b, "script-src %s; frame-src %s; "
		    "connect-src %s; ", w->sources, w->sources, w->sources);
	kore_buf_appendf(&b, "form-action 'self'");
	for (i = 0; i < form->norigins; i++)
		kore_buf_appendf(&b, " %s", form->origins[i]);
	kore_buf_appendf(&b, "; " PAGE_CSP_TAIL PAGE_OTHER_LINES
	    PAGE_HTML_TYPE "\r\ncache-control: no-store");
	s = kore_buf_stringify(&b, &len);
	s = kore_strdup(s);
	kore_buf_cleanup(&b);
	return (s);
}

void
page_send_html_lines(struct http_request *req, int status, const char *lines,
    const void *data, size_t len)
{
	http_response_header(req, "content-security-policy", lines);
	page_respond(req, status, data, len);
}

void
page_error(struct http_request *req, int status, const char *heading,
    const char *message, const char *href, const char *link_text)
{
	page_send(req, status, PAGE_NO_STORE, heading, "error",
	    page_error_ctx(status, heading, message, href, link_text));
}

struct kore_json_item *
page_error_ctx(int status, const char *heading, const char *message,
    const char *href, const char *link_text)
{
	struct kore_json_item	*ctx;

	ctx = page_ctx_new();
	kore_json_create_string(ctx, "heading", heading);
	kore_json_create_string(ctx, "message", message);
	kore_json_create_string(ctx, "href", href ? href : "/");
	kore_json_create_string(ctx, "link_text",
	    link_text ? link_text : "Go to the list of forms");
	kore_json_create_integer_u64(ctx, "status", (u_int64_t)status);
	return (ctx);
}

int
page_request_ok(struct http_request *req, int methods, const char *allow)
{
	struct http_header	*hdr;
	size_t			 total;
	char			 msg[160];

	/*
	 * The limit is here, at 8 KB (what nginx and Apache allow a header
	 * line), so a request over it gets a page saying what to do. Kore
	 * reads up to http_header_max (16 KB in the shipped configuration)
	 * and closes the connection beyond that.
	 */
	total = 0;
	TAILQ_FOREACH(hdr, &req->req_headers, list)
		total += strlen(hdr->header) + strlen(hdr->value) + 4;
	if (total > PAGE_HEADERS_MAX) {
		page_error(req, 431, "Request headers too large", "Your browser "
		    "sent more header data (often cookies) than this site "
		    "accepts. Clear this site's cookies and try again.", NULL,
		    NULL);
		return (0);
	}
	if (!(req->method & methods)) {
		http_response_header(req, "allow", allow);
		(void)snprintf(msg, sizeof(msg), "This address does not accept "
		    "a %s request. It accepts: %s.",
		    http_method_text(req->method), allow);
		page_error(req, 405, "Method not allowed", msg, NULL, NULL);
		return (0);
	}
	return (1);
}
