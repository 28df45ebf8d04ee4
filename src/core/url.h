/*
 * url.h: the origin (scheme, host and port) of an absolute http(s) URL,
 * as browsers write it in an Origin header: what the allowed origins of
 * a form, the Origin and Referer of a request and a redirect address are
 * compared by. Pure functions with no Kore types, so they are unit-tested
 * directly.
 */

#ifndef FORMWORK_URL_H
#define FORMWORK_URL_H

#include <stddef.h>

/* "https://" + a host of 253 bytes + ":65535", and the NUL. */
#define URL_ORIGIN_MAX	272

/*
 * Writes url's origin into out, normalised as a browser sends it: scheme
 * and host in lower case, the scheme's default port left out. Returns
 * the length of url's part that is the origin (so that url[n] is '\0',
 * '/', '?' or '#'), or -1 when url is not an absolute http:// or
 * https:// URL Formwork accepts: one holding a space, a control, a
 * backslash or a byte above 0x7e (browsers percent-encode those), user
 * information ("user@host"), an empty or malformed host, or a port
 * outside 1..65535.
 */
int	url_origin(const char *url, char *out, size_t len);

#endif
