/*
 * url.c: origins of http(s) URLs (see url.h).
 *
 * It is strict on purpose, because what it accepts decides where a
 * visitor may be sent after a POST: anything a browser could read
 * differently from this parser (a backslash, which WHATWG URL parsing
 * takes for a slash; user information, which hides the real host after
 * an '@'; bytes a browser would have percent-encoded) is refused rather
 * than guessed at.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/url.h"

static int	url_host_ok(const char *, size_t);

int
url_origin(const char *url, char *out, size_t len)
{
	const char	*p, *auth, *colon;
	size_t		 n, hlen, i;
	long		 port;
	int		 https;
	char		*end, host[256];

	for (p = url; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '\\')
			return (-1);
	}
	if (strncasecmp(url, "http://", 7) == 0) {
		https = 0;
		auth = url + 7;
	} else if (strncasecmp(url, "https://", 8) == 0) {
		https = 1;
		auth = url + 8;
	} else {
		return (-1);
	}
	n = strcspn(auth, "/?#");
	if (n == 0 || memchr(auth, '@', n) != NULL)
		return (-1);

	/* The port follows the last ':' unless it is inside [v6]. */
	colon = NULL;
	for (i = n; i > 0; i--) {
		if (auth[i - 1] == ']')
			break;
		if (auth[i - 1] == ':') {
			colon = auth + i - 1;
			break;
		}
	}
	hlen = colon != NULL ? (size_t)(colon - auth) : n;
	if (hlen == 0 || hlen >= sizeof(host) || !url_host_ok(auth, hlen))
		return (-1);
	for (i = 0; i < hlen; i++)
		host[i] = (char)tolower((unsigned char)auth[i]);
	host[hlen] = '\0';

	port = https ? 443 : 80;
	if (colon != NULL) {
		if (colon + 1 == auth + n || colon[1] < '0' || colon[1] > '9')
			return (-1);
		port = strtol(colon + 1, &end, 10);
		if (end != auth + n || port < 1 || port > 65535)
			return (-1);
	}
	if (port == (https ? 443 : 80))
		(void)snprintf(out, len, "%s://%s", https ? "https" : "http",
		    host);
	else
		(void)snprintf(out, len, "%s://%s:%ld",
		    https ? "https" : "http", host, port);
	return ((int)(auth + n - url));
}

/*
 * A registered name (letters, digits, '-', '.', '_'; not starting or
 * ending with '.') or an IPv6 address in brackets (hex digits, ':' and
 * '.' for a mapped IPv4 tail).
 */
static int
url_host_ok(const char *h, size_t n)
{
	size_t		i;

	if (h[0] == '[') {
		if (n < 4 || h[n - 1] != ']')
			return (0);
		for (i = 1; i + 1 < n; i++) {
			if (strchr("0123456789abcdefABCDEF:.", h[i]) == NULL)
				return (0);
		}
		return (1);
	}
	if (h[0] == '.' || h[n - 1] == '.')
		return (0);
	for (i = 0; i < n; i++) {
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '-' ||
		    h[i] == '.' || h[i] == '_'))
			return (0);
	}
	return (1);
}
