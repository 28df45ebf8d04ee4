/*
 * ref_static.c: the GET ceiling for tests/bench. A minimal Kore handler
 * that answers with a static page read once at start-up, so it serves a
 * body of exactly the size (and content) of the app's own page.
 *
 *   GET /form     the body of REF_FORM_FILE (the app's GET /f/contact page)
 *   GET /result   the body of REF_RESULT_FILE (the app's GET /s/{id} page)
 *                 with an ETag; If-None-Match with that ETag gives 304
 *   GET /healthz  "ok\n" (readiness check of the harness)
 *
 * Built by tests/bench/run.sh with a plain cc command, like the app's
 * Makefile: cc $(KORE_FEATURES) -fPIC -shared -o ref_static.so ref_static.c
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>

#define REF_ETAG	"\"ref-static-0123456789abcdef0123456789abcdef\""

int	ref_form(struct http_request *);
int	ref_result(struct http_request *);
int	ref_healthz(struct http_request *);
void	kore_parent_configure(int, char **);

static u_int8_t	*form_body, *result_body;
static size_t	 form_len, result_len;

static u_int8_t *
ref_slurp(const char *env, size_t *len)
{
	const char	*path;
	FILE		*f;
	u_int8_t	*buf;
	long		 n;

	if ((path = getenv(env)) == NULL)
		fatal("ref_static: %s is not set", env);
	if ((f = fopen(path, "rb")) == NULL)
		fatal("ref_static: cannot open %s", path);
	(void)fseek(f, 0, SEEK_END);
	n = ftell(f);
	(void)fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (buf == NULL || fread(buf, 1, (size_t)n, f) != (size_t)n)
		fatal("ref_static: cannot read %s", path);
	(void)fclose(f);
	*len = (size_t)n;
	return (buf);
}

/* Runs once in the parent; the workers inherit the pages across fork. */
void
kore_parent_configure(int argc, char **argv)
{
	form_body = ref_slurp("REF_FORM_FILE", &form_len);
	result_body = ref_slurp("REF_RESULT_FILE", &result_len);
}

int
ref_form(struct http_request *req)
{
	http_response_header(req, "content-type", "text/html; charset=utf-8");
	http_response(req, 200, form_body, form_len);
	return (KORE_RESULT_OK);
}

int
ref_result(struct http_request *req)
{
	const char	*inm;

	http_response_header(req, "etag", REF_ETAG);
	if (http_request_header(req, "if-none-match", &inm) &&
	    strcmp(inm, REF_ETAG) == 0) {
		http_response(req, 304, NULL, 0);
		return (KORE_RESULT_OK);
	}
	http_response_header(req, "content-type", "text/html; charset=utf-8");
	http_response(req, 200, result_body, result_len);
	return (KORE_RESULT_OK);
}

int
ref_healthz(struct http_request *req)
{
	http_response(req, 200, "ok\n", 3);
	return (KORE_RESULT_OK);
}
