/*
 * mime.h: writes mail messages (RFC 5322 headers, RFC 2045 MIME, RFC
 * 2047 encoded words) from values people typed. Pure formatting, no
 * sending and no Kore server, so the unit tests and fuzzers reach it.
 *
 * Nothing a visitor sends can add or break a header: a free text value
 * (a subject) has every control character, CR and LF among them, turned
 * into a space and is written as encoded words whenever it is not plain
 * printable ASCII; an address is written only when mime_address_ok()
 * accepts it, which refuses anything but one plain ASCII address.
 */

#ifndef FORMWORK_MIME_H
#define FORMWORK_MIME_H

#include <sys/types.h>

#include <stddef.h>
#include <time.h>

struct kore_buf;

/*
 * 1 when s[0..len) is one plain address, local@domain: the local part a
 * dot-atom of ASCII letters, digits and !#$%&'*+/=?^_`{|}~-, the domain
 * labels of letters, digits and '-' (a bare host name too), at most 64
 * and 254 bytes. No spaces, quotes, angle brackets, commas or controls:
 * such a string can be put between < and > in any header as it is.
 */
int	mime_address_ok(const char *s, size_t len);

/* One message, as mime_message_write() writes it. */
struct mime_message {
	const char	 *from;		/* an address (mime_address_ok) */
	const char	 *from_name;	/* its display name, or NULL */
	const char *const *to;		/* addresses (mime_address_ok) */
	size_t		  nto;
	const char *const *cc;
	size_t		  ncc;
	const char	 *reply_to;	/* an address, or NULL */
	const char	 *subject;	/* any UTF-8 text */
	const char	 *message_id;	/* "local@domain", written in <> */
	time_t		  date;
	int		  auto_replied;	/* RFC 3834: Auto-Submitted */
	const char	 *submission;	/* X-Formwork-Submission, or NULL */
	const char	 *text;		/* the text part (UTF-8), always */
	size_t		  textlen;
	const char	 *html;		/* the HTML part, or NULL */
	size_t		  htmllen;
};

/*
 * Appends the whole message to out: ASCII headers of at most 78
 * columns, then the text as base64 UTF-8, or, with html, both parts
 * as multipart/alternative (text first, as RFC 2046 orders them). A
 * Bcc header is never written: those recipients are the envelope's.
 */
void	mime_message_write(struct kore_buf *out, const struct mime_message *);

/*
 * Appends "name: value" and CRLF, value being free text: control
 * characters become spaces, and a value that is not short printable
 * ASCII is written as RFC 2047 encoded words (UTF-8, base64) of at
 * most 75 characters, on folded lines, never splitting a character.
 */
void	mime_header_text(struct kore_buf *out, const char *name,
	    const char *value);

#endif
