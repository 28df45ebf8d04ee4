/*
 * body.c: urlencoded and multipart/form-data body parsing.
 *
 * Owns the body_field list it builds (kore_malloc'd; body_cleanup frees
 * it). It never interprets values: it only decodes them, so that invalid
 * text reaches the validator and gets a message at its field.
 */

#include <sys/types.h>

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <kore/kore.h>

#include "core/body.h"

#define MULTIPART_BOUNDARY_MAX	70	/* RFC 2046 section 5.1.1 */

static enum body_status	body_urlencoded(const u_int8_t *, size_t,
			    struct body *);
static enum body_status	body_multipart(const char *, const u_int8_t *,
			    size_t, struct body *);
static enum body_status	body_add(struct body *, const u_int8_t *, size_t,
			    const u_int8_t *, size_t, int);
static int		body_unescape(const u_int8_t *, size_t, int,
			    char **, size_t *);
static int		body_ctype_is(const char *, const char *);
static int		body_param(const char *, const char *, char *, size_t);

enum body_status
body_parse(const char *content_type, const u_int8_t *data, size_t len,
    struct body *out)
{
	TAILQ_INIT(&out->fields);
	out->count = 0;
	if (data == NULL)
		data = (const u_int8_t *)"";	/* no pointer math on NULL */

	if (content_type == NULL)
		return (BODY_UNSUPPORTED);
	if (body_ctype_is(content_type, "application/x-www-form-urlencoded"))
		return (body_urlencoded(data, len, out));
	if (body_ctype_is(content_type, "multipart/form-data"))
		return (body_multipart(content_type, data, len, out));

	return (BODY_UNSUPPORTED);
}

void
body_cleanup(struct body *b)
{
	struct body_field	*f;

	while ((f = TAILQ_FIRST(&b->fields)) != NULL) {
		TAILQ_REMOVE(&b->fields, f, list);
		kore_free(f->name);
		kore_free(f->value);
		kore_free(f);
	}
	b->count = 0;
}

enum body_status
body_field_add(struct body *b, const char *name, const char *value,
    size_t len)
{
	return (body_add(b, (const u_int8_t *)name, strlen(name),
	    (const u_int8_t *)value, len, 0));
}

struct body_field *
body_find(struct body *b, const char *name)
{
	struct body_field	*f;

	TAILQ_FOREACH(f, &b->fields, list) {
		if (strcmp(f->name, name) == 0)
			return (f);
	}
	return (NULL);
}

const char *
body_status_text(enum body_status st)
{
	switch (st) {
	case BODY_OK:
		return ("ok");
	case BODY_UNSUPPORTED:
		return ("Forms must be sent as application/x-www-form-urlencoded "
		    "or multipart/form-data.");
	case BODY_MALFORMED:
		return ("The form data could not be read: it is not correctly "
		    "encoded.");
	case BODY_TOO_MANY:
		return ("The form data holds far more fields than this form "
		    "has.");
	case BODY_FILE:
		return ("This form does not accept file uploads.");
	}
	return ("The form data could not be read.");
}

/* Matches the media type of a Content-Type value, ignoring parameters. */
static int
body_ctype_is(const char *ctype, const char *want)
{
	size_t		n;

	while (*ctype == ' ')
		ctype++;
	n = strlen(want);
	if (strncasecmp(ctype, want, n) != 0)
		return (0);
	ctype += n;
	while (*ctype == ' ')
		ctype++;

	return (*ctype == '\0' || *ctype == ';');
}

/*
 * Copies the value of parameter key (e.g. boundary) of a header value into
 * out, unquoting a quoted-string. Returns 1 when found and it fits.
 */
static int
body_param(const char *hval, const char *key, char *out, size_t outlen)
{
	const char	*p;
	size_t		 klen, n;

	klen = strlen(key);
	for (p = strchr(hval, ';'); p != NULL; p = strchr(p, ';')) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, key, klen) != 0 || p[klen] != '=')
			continue;
		p += klen + 1;
		n = 0;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (n + 1 >= outlen)
					return (0);
				out[n++] = *p;
			}
			if (*p != '"')
				return (0);
		} else {
			for (; *p != '\0' && *p != ';' && *p != ' '; p++) {
				if (n + 1 >= outlen)
					return (0);
				out[n++] = *p;
			}
		}
		out[n] = '\0';
		return (n > 0);
	}
	return (0);
}

static enum body_status
body_urlencoded(const u_int8_t *data, size_t len, struct body *out)
{
	const u_int8_t		*p, *end, *amp, *eq;
	enum body_status	 st;

	p = data;
	end = data + len;
	while (p < end) {
		if ((amp = memchr(p, '&', end - p)) == NULL)
			amp = end;
		if (amp > p) {
			if ((eq = memchr(p, '=', amp - p)) == NULL)
				st = body_add(out, p, amp - p, amp, 0, 1);
			else
				st = body_add(out, p, eq - p, eq + 1,
				    amp - (eq + 1), 1);
			if (st != BODY_OK)
				return (st);
		}
		p = amp + 1;
	}
	return (BODY_OK);
}

/*
 * multipart/form-data (RFC 7578): parts separated by CRLF "--" boundary,
 * each with headers, a blank line and the content. Only
 * Content-Disposition matters; a part with a filename is an upload.
 */
static enum body_status
body_multipart(const char *ctype, const u_int8_t *data, size_t len,
    struct body *out)
{
	char			 boundary[MULTIPART_BOUNDARY_MAX + 1];
	char			 delim[MULTIPART_BOUNDARY_MAX + 5];
	char			 hdr[512], name[BODY_MAX_NAME + 1], fname[8];
	const u_int8_t		*p, *end, *hend, *next, *line, *eol;
	size_t			 dlen, hl;
	enum body_status	 st;

	if (!body_param(ctype, "boundary", boundary, sizeof(boundary)))
		return (BODY_MALFORMED);
	dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);

	/* The first delimiter may open the body without a leading CRLF. */
	end = data + len;
	if (len >= dlen - 2 && memcmp(data, delim + 2, dlen - 2) == 0)
		p = data + dlen - 2;
	else if ((p = memmem(data, len, delim, dlen)) != NULL)
		p += dlen;
	else
		return (BODY_MALFORMED);

	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return (BODY_OK);		/* close delimiter */
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
			return (BODY_MALFORMED);
		p += 2;

		if ((hend = memmem(p, end - p, "\r\n\r\n", 4)) == NULL)
			return (BODY_MALFORMED);
		name[0] = '\0';
		fname[0] = '\0';
		for (line = p; line < hend; line = eol + 2) {
			if ((eol = memmem(line, hend + 2 - line,
			    "\r\n", 2)) == NULL)
				return (BODY_MALFORMED);
			hl = eol - line;
			if (hl >= sizeof(hdr))
				return (BODY_MALFORMED);
			memcpy(hdr, line, hl);
			hdr[hl] = '\0';
			if (strncasecmp(hdr, "content-disposition:", 20) != 0)
				continue;
			if (!body_ctype_is(hdr + 20, "form-data"))
				return (BODY_MALFORMED);
			if (!body_param(hdr + 20, "name", name, sizeof(name)))
				return (BODY_MALFORMED);
			/* Any filename, even empty, marks an upload. */
			if (body_param(hdr + 20, "filename", fname,
			    sizeof(fname)) || strstr(hdr, "filename=") != NULL)
				return (BODY_FILE);
		}
		if (name[0] == '\0')
			return (BODY_MALFORMED);

		p = hend + 4;
		if ((next = memmem(p, end - p, delim, dlen)) == NULL)
			return (BODY_MALFORMED);
		st = body_add(out, (const u_int8_t *)name, strlen(name),
		    p, next - p, 0);
		if (st != BODY_OK)
			return (st);
		p = next + dlen;
	}
}

static enum body_status
body_add(struct body *b, const u_int8_t *name, size_t nlen,
    const u_int8_t *value, size_t vlen, int urlencoded)
{
	struct body_field	*f;
	char			*n, *v;
	size_t			 nl, vl;

	if (b->count >= BODY_MAX_FIELDS)
		return (BODY_TOO_MANY);
	if (!body_unescape(name, nlen, urlencoded, &n, &nl))
		return (BODY_MALFORMED);
	if (nl == 0 || nl > BODY_MAX_NAME || strlen(n) != nl) {
		kore_free(n);
		return (BODY_MALFORMED);
	}
	if (!body_unescape(value, vlen, urlencoded, &v, &vl)) {
		kore_free(n);
		return (BODY_MALFORMED);
	}

	f = kore_malloc(sizeof(*f));
	f->name = n;
	f->value = v;
	f->len = vl;
	TAILQ_INSERT_TAIL(&b->fields, f, list);
	b->count++;

	return (BODY_OK);
}

static int
body_hexval(u_int8_t c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	c = (u_int8_t)tolower(c);
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

/*
 * Copies s into a new NUL-terminated string (kore_free it), decoding
 * '+' and %XX when urlencoded. Returns 0 on a broken %-escape.
 */
static int
body_unescape(const u_int8_t *s, size_t len, int urlencoded, char **out,
    size_t *olen)
{
	char		*d;
	size_t		 i, n;
	int		 hi, lo;

	d = kore_malloc(len + 1);
	n = 0;
	for (i = 0; i < len; i++) {
		if (urlencoded && s[i] == '+') {
			d[n++] = ' ';
		} else if (urlencoded && s[i] == '%') {
			if (len - i < 3 ||
			    (hi = body_hexval(s[i + 1])) == -1 ||
			    (lo = body_hexval(s[i + 2])) == -1) {
				kore_free(d);
				return (0);
			}
			d[n++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			d[n++] = (char)s[i];
		}
	}
	d[n] = '\0';
	*out = d;
	*olen = n;

	return (1);
}
