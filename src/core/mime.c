/*
 * mime.c: mail messages as bytes (see mime.h). Every header line this
 * file writes is ASCII and at most 78 columns (RFC 5322 2.1.1); every
 * body is base64, so no line of a value, however long or strange, can
 * reach the SMTP dialogue or the header block as it is.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <sodium.h>

#include "core/mime.h"
#include "core/utf8.h"

#define MIME_LINE_MAX		78
/*
 * Bytes of text per encoded word: 39 bytes are 52 base64 characters,
 * and "=?UTF-8?B?" + 52 + "?=" is 64, inside RFC 2047's 75, so that a
 * word fits after a header name of up to 12 characters.
 */
#define MIME_WORD_BYTES		39
#define MIME_WORD_COST		64
#define MIME_BODY_COLS		76

static void	mime_clean(struct kore_buf *, const char *);
static int	mime_plain(const char *, size_t);
static size_t	mime_words(struct kore_buf *, const char *, size_t, size_t);
static void	mime_addresses(struct kore_buf *, const char *,
		    const char *const *, size_t);
static void	mime_base64(struct kore_buf *, const void *, size_t);
static void	mime_body(struct kore_buf *, const char *, size_t);
static void	mime_part_headers(struct kore_buf *, const char *);

int
mime_address_ok(const char *s, size_t len)
{
	const char	*at, *p, *end;
	size_t		 label;

	end = s + len;
	if (len > 254 || (at = memchr(s, '@', len)) == NULL || at == s ||
	    at - s > 64 || memchr(at + 1, '@', (size_t)(end - at - 1)) != NULL)
		return (0);
	for (p = s; p < at; p++) {
		if (*p == '.' ? p > s && p + 1 < at && p[-1] != '.' :
		    isalnum((unsigned char)*p) || (*p != '\0' &&
		    strchr("!#$%&'*+/=?^_`{|}~-", *p) != NULL))
			continue;
		return (0);
	}
	label = 0;
	for (p = at + 1; p < end; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return (0);
			label = 0;
		} else if (*p == '-' ? label > 0 :
		    isalnum((unsigned char)*p)) {
			if (++label > 63)
				return (0);
		} else {
			return (0);
		}
	}
	return (label > 0 && p[-1] != '-');
}

void
mime_message_write(struct kore_buf *out, const struct mime_message *m)
{
	struct kore_buf		 hdr;
	struct tm		 tm;
	u_int8_t		 rnd[16];
	char			 date[64], boundary[48];
	size_t			 col;

	kore_buf_appendf(out, "From: ");
	col = 6;
	if (m->from_name != NULL) {
		kore_buf_init(&hdr, 64);
		mime_clean(&hdr, m->from_name);
		kore_buf_append(&hdr, "", 1);
		if (mime_plain((const char *)hdr.data, hdr.offset - 1) &&
		    strcspn((const char *)hdr.data, "\"(),.:;<>@[\\]") ==
		    hdr.offset - 1) {
			kore_buf_append(out, hdr.data, hdr.offset - 1);
			col += hdr.offset - 1;
		} else {
			col = mime_words(out, (const char *)hdr.data,
			    hdr.offset - 1, col);
		}
		kore_buf_cleanup(&hdr);
		if (col + strlen(m->from) + 3 > MIME_LINE_MAX)
			kore_buf_appendf(out, "\r\n");
		kore_buf_appendf(out, " ");
	}
	kore_buf_appendf(out, "<%s>\r\n", m->from);
	mime_addresses(out, "To", m->to, m->nto);
	if (m->ncc > 0)
		mime_addresses(out, "Cc", m->cc, m->ncc);
	if (m->reply_to != NULL)
		mime_addresses(out, "Reply-To", &m->reply_to, 1);
	mime_header_text(out, "Subject", m->subject);

	(void)gmtime_r(&m->date, &tm);
	(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	kore_buf_appendf(out, "Date: %s\r\n", date);
	kore_buf_appendf(out, "Message-ID: <%s>\r\n", m->message_id);
	if (m->auto_replied)
		kore_buf_appendf(out, "Auto-Submitted: auto-replied\r\n");
	if (m->submission != NULL)
		kore_buf_appendf(out, "X-Formwork-Submission: %s\r\n",
		    m->submission);
	kore_buf_appendf(out, "MIME-Version: 1.0\r\n");

	if (m->html == NULL) {
		mime_part_headers(out, "text/plain");
		mime_body(out, m->text, m->textlen);
		return;
	}

	/* "=_" cannot occur in base64 text: the parts never hold it. */
	randombytes_buf(rnd, sizeof(rnd));
	(void)snprintf(boundary, sizeof(boundary), "=_fw_");
	sodium_bin2hex(boundary + 5, sizeof(boundary) - 5, rnd, sizeof(rnd));
	kore_buf_appendf(out, "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"%s\"\r\n\r\n", boundary);
	kore_buf_appendf(out, "--%s\r\n", boundary);
	mime_part_headers(out, "text/plain");
	mime_body(out, m->text, m->textlen);
	kore_buf_appendf(out, "--%s\r\n", boundary);
	mime_part_headers(out, "text/html");
	mime_body(out, m->html, m->htmllen);
	kore_buf_appendf(out, "--%s--\r\n", boundary);
}

void
mime_header_text(struct kore_buf *out, const char *name, const char *value)
{
	struct kore_buf		 v;
	size_t			 len, col;

	kore_buf_init(&v, 128);
	mime_clean(&v, value);
	len = v.offset;
	kore_buf_append(&v, "", 1);
	kore_buf_appendf(out, "%s: ", name);
	col = strlen(name) + 2;
	/* "=?" would be read back as an encoded word: encode it too. */
	if (mime_plain((const char *)v.data, len) &&
	    col + len <= MIME_LINE_MAX &&
	    strstr((const char *)v.data, "=?") == NULL)
		kore_buf_append(out, v.data, len);
	else if (len > 0)
		(void)mime_words(out, (const char *)v.data, len, col);
	kore_buf_appendf(out, "\r\n");
	kore_buf_cleanup(&v);
}

/*
 * Copies s into out as one line of well-formed UTF-8: controls (CR and
 * LF among them) become spaces, a byte that starts no valid character
 * becomes '?', and white space at either end is dropped.
 */
static void
mime_clean(struct kore_buf *out, const char *s)
{
	const unsigned char	*p;
	size_t			 n, start;

	start = out->offset;
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : 2;
		if (n > 1 && (strnlen((const char *)p, n) < n ||
		    !utf8_valid((const char *)p, n))) {
			kore_buf_append(out, "?", 1);
			n = 1;
		} else if (n == 1 && (*p < 0x20 || *p == 0x7f)) {
			if (out->offset > start)
				kore_buf_append(out, " ", 1);
		} else {
			kore_buf_append(out, p, n);
		}
	}
	while (out->offset > start && out->data[out->offset - 1] == ' ')
		out->offset--;
	while (out->offset > start && out->data[start] == ' ') {
		memmove(out->data + start, out->data + start + 1,
		    out->offset - start - 1);
		out->offset--;
	}
}

/* 1 when s[0..len) is printable ASCII. */
static int
mime_plain(const char *s, size_t len)
{
	size_t		i;

	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return (0);
	}
	return (1);
}

/*
 * Writes s[0..len) as encoded words, starting at column col and folding
 * before a word that would pass the line limit; returns the column
 * after the last word.
 */
static size_t
mime_words(struct kore_buf *out, const char *s, size_t len, size_t col)
{
	char		b64[sodium_base64_ENCODED_LEN(MIME_WORD_BYTES,
			    sodium_base64_VARIANT_ORIGINAL)];
	size_t		n;
	int		first;

	for (first = 1; len > 0; first = 0) {
		n = len > MIME_WORD_BYTES ? MIME_WORD_BYTES : len;
		while (n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		if (!first) {
			/* Words are apart: a folded line starts with one. */
			kore_buf_append(out, "\r\n ", 3);
			col = 1;
		}
		sodium_bin2base64(b64, sizeof(b64), (const u_int8_t *)s, n,
		    sodium_base64_VARIANT_ORIGINAL);
		kore_buf_appendf(out, "=?UTF-8?B?%s?=", b64);
		col += strlen(b64) + 12;
		s += n;
		len -= n;
	}
	if (col > MIME_LINE_MAX)
		col = MIME_WORD_COST;
	return (col);
}

/* "name: <a>, <b>", folded before an address that would not fit. */
static void
mime_addresses(struct kore_buf *out, const char *name,
    const char *const *addrs, size_t n)
{
	size_t		i, col, len;

	kore_buf_appendf(out, "%s:", name);
	col = strlen(name) + 1;
	for (i = 0; i < n; i++) {
		len = strlen(addrs[i]) + 3;
		if (i > 0) {
			kore_buf_append(out, ",", 1);
			col++;
		}
		if (i > 0 && col + len > MIME_LINE_MAX) {
			kore_buf_append(out, "\r\n", 2);
			col = 0;
		}
		kore_buf_appendf(out, " <%s>", addrs[i]);
		col += len;
	}
	kore_buf_append(out, "\r\n", 2);
}

static void
mime_part_headers(struct kore_buf *out, const char *type)
{
	kore_buf_appendf(out, "Content-Type: %s; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", type);
}

/* The text with CRLF line ends (its canonical form), in base64. */
static void
mime_body(struct kore_buf *out, const char *text, size_t len)
{
	struct kore_buf		crlf;
	size_t			i, run;

	kore_buf_init(&crlf, len + len / 16 + 16);
	for (i = run = 0; i < len; i++) {
		if (text[i] != '\n' || (i > 0 && text[i - 1] == '\r'))
			continue;
		kore_buf_append(&crlf, text + run, i - run);
		kore_buf_append(&crlf, "\r", 1);
		run = i;
	}
	kore_buf_append(&crlf, text + run, len - run);
	mime_base64(out, crlf.data, crlf.offset);
	kore_buf_cleanup(&crlf);
}

/* Base64 wrapped at 76 columns (RFC 2045 6.8). */
static void
mime_base64(struct kore_buf *out, const void *data, size_t len)
{
	char		*b64;
	size_t		 n, i;

	n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = kore_malloc(n);
	sodium_bin2base64(b64, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	for (i = 0; b64[i] != '\0'; i += MIME_BODY_COLS) {
		n = strlen(b64 + i);
		kore_buf_append(out, b64 + i, n > MIME_BODY_COLS ?
		    MIME_BODY_COLS : n);
		kore_buf_append(out, "\r\n", 2);
	}
	kore_free(b64);
}
