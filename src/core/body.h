/*
 * body.h: parsing of form bodies (application/x-www-form-urlencoded and
 * multipart/form-data) into name/value pairs.
 *
 * Kore's own parser drops undeclared parameters and any value holding an
 * encoded CR, LF or TAB (so a textarea would lose its text), so forms
 * declared at run time are parsed here, from req->http_body. Values are
 * returned as decoded bytes; checking them (UTF-8, controls) is the
 * validator's job, so the visitor gets a message at the field.
 */

#ifndef FORMWORK_BODY_H
#define FORMWORK_BODY_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stddef.h>

#define BODY_MAX_FIELDS		256
#define BODY_MAX_NAME		64

struct body_field {
	char			*name;	/* decoded, NUL-terminated */
	char			*value;	/* decoded, NUL-terminated */
	size_t			 len;	/* of value, without the NUL */
	TAILQ_ENTRY(body_field)	 list;
};

struct body {
	TAILQ_HEAD(, body_field)	fields;
	size_t				count;
};

enum body_status {
	BODY_OK = 0,
	BODY_UNSUPPORTED,	/* not a form content type: 415 */
	BODY_MALFORMED,		/* bad encoding or structure: 400 */
	BODY_TOO_MANY,		/* more than BODY_MAX_FIELDS pairs: 400 */
	BODY_FILE,		/* a file part: forms take no uploads: 400 */
};

/*
 * Parses data[0..len) according to content_type (which may be NULL).
 * Always initialises out; the caller frees it with body_cleanup(), also
 * on failure.
 */
enum body_status	body_parse(const char *content_type,
			    const u_int8_t *data, size_t len, struct body *out);

void			body_cleanup(struct body *);

/*
 * Appends a decoded pair (for bodies read by other parsers, e.g. JSON).
 * Fails like body_parse() on too many fields or a bad name.
 */
enum body_status	body_field_add(struct body *, const char *name,
			    const char *value, size_t len);

/* First field called name, or NULL. */
struct body_field	*body_find(struct body *, const char *name);

/* A sentence for the visitor describing a failed status. */
const char		*body_status_text(enum body_status);

#endif
