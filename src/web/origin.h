/*
 * origin.h: posting from the owner's own pages (SPEC section 10), as far
 * as where a request comes from and where a visitor is sent: a form's
 * allowed origins, the CORS answers for them, the cross-site check every
 * other POST passes, and the addresses a visitor may be sent to after a
 * POST (_next, a form's redirect).
 *
 * A form without allowed_origins never reaches the calls that read
 * them: its pages and POSTs are answered as before the list existed.
 */

#ifndef FORMWORK_ORIGIN_H
#define FORMWORK_ORIGIN_H

#include <stddef.h>

#include "core/url.h"

struct form;
struct http_request;

/* Where a request says it comes from, for one form. */
enum origin_kind {
	ORIGIN_NONE = 0,	/* no Origin (nor Referer, where asked for) */
	ORIGIN_SELF,		/* this site */
	ORIGIN_LISTED,		/* one of the form's allowed_origins */
	ORIGIN_OTHER,		/* anything else, "null" included */
};

/*
 * Parent, at start-up, once the settings and the forms are loaded: reads
 * FORMWORK_BASE_URL's origin and checks each form's redirect against it
 * and the form's allowed origins. -1 with a sentence in err.
 */
int	origin_init(char *err, size_t errlen);

/*
 * Classifies req's Origin header for form, or without one (when referer
 * is set) its Referer's origin; the origin found, normalised, is written
 * to origin ("" when none).
 */
enum origin_kind	origin_classify(struct http_request *,
			    const struct form *, int referer,
			    char origin[URL_ORIGIN_MAX]);

/*
 * The check a POST of Formwork's own form page passes (SPEC section 4):
 * 1 when Sec-Fetch-Site, or failing that Origin, says it comes from
 * another site. Clients that send neither (curl, old browsers) are
 * judged by the form token alone.
 */
int	origin_cross_site(struct http_request *);

/*
 * The CORS headers of an answer to a listed origin: Allow-Origin,
 * Vary: Origin, and Expose-Headers: Location for the POST's Location.
 */
void	origin_cors(struct http_request *, const char *origin);

/*
 * Answers OPTIONS on a route of form that takes POSTs (allow: its
 * methods): 204, with the CORS preflight headers when the Origin is a
 * listed one, and none otherwise.
 */
void	origin_preflight(struct http_request *, const struct form *,
	    const char *allow);

/*
 * 1 when a visitor may be sent to url after posting form: an absolute
 * http(s) URL (of at most 2000 bytes) on one of the form's allowed
 * origins or on FORMWORK_BASE_URL's origin.
 */
int	origin_next_allowed(const struct form *, const char *url);

#endif
