/*
 * origin.c: origins, CORS and where a visitor may be sent (see origin.h).
 * Every origin is compared in url_origin()'s normal form, which the
 * forms module also stores the allowed ones in; base_origin is
 * FORMWORK_BASE_URL's, made by the parent and inherited by the workers.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/config.h"
#include "core/forms.h"
#include "web/origin.h"
#include "web/page.h"

#define ORIGIN_NEXT_MAX		2000
/* Browsers keep a preflight's answer at most this long (Chromium: 2 h). */
#define ORIGIN_MAX_AGE		"7200"

static char	base_origin[URL_ORIGIN_MAX];

static int	origin_self(struct http_request *, const char *);
static int	origin_listed(const struct form *, const char *);

int
origin_init(char *err, size_t errlen)
{
	struct form	*f;
	char		 o[URL_ORIGIN_MAX];

	if (url_origin(config.base_url, base_origin,
	    sizeof(base_origin)) == -1) {
		(void)snprintf(err, errlen, "FORMWORK_BASE_URL '%s' is not an "
		    "http:// or https:// address", config.base_url);
		return (-1);
	}
	TAILQ_FOREACH(f, forms_loaded(), list) {
		if (f->redirect == NULL || origin_next_allowed(f, f->redirect))
			continue;
		(void)url_origin(f->redirect, o, sizeof(o));
		(void)snprintf(err, errlen, "%s: 'redirect' leads to %s, which "
		    "is neither in the form's 'allowed_origins' nor "
		    "FORMWORK_BASE_URL's origin (%s)", f->path, o,
		    base_origin);
		return (-1);
	}
	return (0);
}

enum origin_kind
origin_classify(struct http_request *req, const struct form *form,
    int referer, char origin[URL_ORIGIN_MAX])
{
	const char	*v;

	origin[0] = '\0';
	if (!http_request_header(req, "origin", &v)) {
		if (!referer || !http_request_header(req, "referer", &v))
			return (ORIGIN_NONE);
		if (url_origin(v, origin, URL_ORIGIN_MAX) == -1)
			return (ORIGIN_OTHER);
		/* A Referer from this site is what Origin would have said. */
		if (strcmp(origin, base_origin) == 0)
			return (ORIGIN_SELF);
		return (origin_listed(form, origin) ? ORIGIN_LISTED :
		    ORIGIN_OTHER);
	}
	if (origin_self(req, v))
		return (ORIGIN_SELF);
	if (url_origin(v, origin, URL_ORIGIN_MAX) == -1) {
		origin[0] = '\0';
		return (ORIGIN_OTHER);
	}
	return (origin_listed(form, origin) ? ORIGIN_LISTED : ORIGIN_OTHER);
}

int
origin_cross_site(struct http_request *req)
{
	const char	*site, *origin;

	if (http_request_header(req, "sec-fetch-site", &site))
		return (strcmp(site, "same-origin") != 0 &&
		    strcmp(site, "none") != 0);
	if (!http_request_header(req, "origin", &origin))
		return (0);
	return (!origin_self(req, origin));
}

/* 1 when an Origin header names this site: its public address or Host. */
static int
origin_self(struct http_request *req, const char *origin)
{
	const char	*host, *p;

	if (strcmp(origin, config.base_url) == 0)
		return (1);
	if (!http_request_header(req, "host", &host))
		return (0);
	if ((p = strstr(origin, "://")) == NULL)
		return (0);
	return (strcasecmp(p + 3, host) == 0);
}

static int
origin_listed(const struct form *form, const char *origin)
{
	size_t		i;

	for (i = 0; i < form->norigins; i++) {
		if (strcmp(form->origins[i], origin) == 0)
			return (1);
	}
	return (0);
}

void
origin_cors(struct http_request *req, const char *origin)
{
	http_response_header(req, "access-control-allow-origin", origin);
	http_response_header(req, "vary", "Origin");
	http_response_header(req, "access-control-expose-headers",
	    "Location");
}

/*
 * A preflight asks whether the real request may be sent: only a listed
 * origin is told yes. Anyone else gets an ordinary answer to OPTIONS
 * (which the browser takes for no), never an error page: OPTIONS is a
 * method these routes now take.
 */
void
origin_preflight(struct http_request *req, const struct form *form,
    const char *allow)
{
	char		origin[URL_ORIGIN_MAX];

	if (origin_classify(req, form, 0, origin) == ORIGIN_LISTED) {
		http_response_header(req, "access-control-allow-origin",
		    origin);
		http_response_header(req, "access-control-allow-methods",
		    "POST");
		http_response_header(req, "access-control-allow-headers",
		    "Content-Type, Accept, Idempotency-Key");
		http_response_header(req, "access-control-max-age",
		    ORIGIN_MAX_AGE);
	}
	http_response_header(req, "vary", "Origin");
	http_response_header(req, "allow", allow);
	http_response_header(req, "cache-control", "no-store");
	page_security_headers(req);
	page_respond(req, 204, NULL, 0);
}

int
origin_next_allowed(const struct form *form, const char *url)
{
	char		origin[URL_ORIGIN_MAX];

	if (strlen(url) > ORIGIN_NEXT_MAX ||
	    url_origin(url, origin, sizeof(origin)) == -1)
		return (0);
	return (strcmp(origin, base_origin) == 0 ||
	    origin_listed(form, origin));
}
