/*
 * test_mime.c: tests for mail messages (src/core/mime.c): which strings
 * pass as an address, and that no value, with CR, LF, other controls,
 * non-ASCII or invalid UTF-8 in it, can add a header or break a line
 * limit; the message's shape (single part or multipart/alternative).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kore/kore.h>
#include <sodium.h>

#include "core/mime.h"

#include "table.h"

static const struct {
	const char	*addr;
	int		 ok;
} mt_addresses[] = {
	{ "a@b.com", 1 },
	{ "formwork@localhost", 1 },
	{ "first.last+tag@sub.example-x.org", 1 },
	{ "o'brien@example.ie", 1 },
	{ "", 0 },
	{ "a", 0 },
	{ "@b.com", 0 },
	{ "a@", 0 },
	{ "a@b..com", 0 },
	{ ".a@b.com", 0 },
	{ "a.@b.com", 0 },
	{ "a..b@c.com", 0 },
	{ "a b@c.com", 0 },
	{ "a@b.com\r\nBcc: evil@x.test", 0 },
	{ "a@b.com\n", 0 },
	{ "z\xc3\xbc@example.com", 0 },
	{ "a@ex\xc3\xa4mple.com", 0 },
	{ "<a@b.com>", 0 },
	{ "a@b.com, c@d.com", 0 },
	{ "a\"b@c.com", 0 },
	{ "a@-b.com", 0 },
	{ "a@b-.com", 0 },
	{ "a@b@c.com", 0 },
	{ "0123456789012345678901234567890123456789012345678901234567890123"
	    "4@x.com", 0 },
};

TABLE_TEST(mime, address_ok, mt_addresses);

ParameterizedTest(size_t *i, mime, address_ok)
{
	const char	*a = mt_addresses[*i].addr;

	cr_assert_eq(mime_address_ok(a, strlen(a)), mt_addresses[*i].ok,
	    "row %zu: %s", *i, a);
}

/*
 * Checks the header block of msg: ASCII, lines of at most 78 columns,
 * every line either a header name at its start or a folded continuation
 * (starting with a space), and returns how many lines start with name.
 */
static int
mt_header_lines(const char *msg, const char *name)
{
	const char	*p, *end, *eol;
	size_t		 nlen;
	int		 n;

	nlen = strlen(name);
	end = strstr(msg, "\r\n\r\n");
	if (end == NULL)
		end = msg + strlen(msg);
	n = 0;
	for (p = msg; p < end; p = eol + 2) {
		if ((eol = strstr(p, "\r\n")) == NULL)
			eol = msg + strlen(msg);
		cr_assert_leq(eol - p, 78, "line too long: %.*s",
		    (int)(eol - p), p);
		for (const char *c = p; c < eol; c++)
			cr_assert(*c >= 0x20 && *c < 0x7f, "not ASCII in %.*s",
			    (int)(eol - p), p);
		cr_assert(*p == ' ' || strchr(p, ':') < eol,
		    "neither a header nor a folded line: %.*s",
		    (int)(eol - p), p);
		if (strncmp(p, name, nlen) == 0 && p[nlen] == ':')
			n++;
		if (eol >= end)
			break;
	}
	return (n);
}

/* Decodes the encoded words of one header's value back to UTF-8. */
static char *
mt_decode(const char *hdr)
{
	struct kore_buf	 out;
	const char	*p, *q;
	u_int8_t	 bin[256];
	size_t		 len;
	char		*s;

	kore_buf_init(&out, 128);
	for (p = hdr; (p = strstr(p, "=?UTF-8?B?")) != NULL; p = q + 2) {
		p += 10;
		q = strstr(p, "?=");
		cr_assert_not_null(q);
		cr_assert_leq(q + 2 - (p - 10), 75, "word longer than 75");
		cr_assert_eq(sodium_base642bin(bin, sizeof(bin), p,
		    (size_t)(q - p), NULL, &len, NULL,
		    sodium_base64_VARIANT_ORIGINAL), 0);
		kore_buf_append(&out, bin, len);
	}
	s = kore_strdup(kore_buf_stringify(&out, NULL));
	kore_buf_cleanup(&out);
	return (s);
}

static char *
mt_subject(const char *value)
{
	struct kore_buf	 out;
	char		*s;

	kore_buf_init(&out, 128);
	mime_header_text(&out, "Subject", value);
	s = kore_strdup(kore_buf_stringify(&out, NULL));
	kore_buf_cleanup(&out);
	return (s);
}

Test(mime, header_text_turns_cr_lf_into_spaces)
{
	char	*h;

	h = mt_subject("Hello\r\nBcc: evil@x.test\r\n\r\nbody");
	cr_expect_str_eq(h, "Subject: Hello  Bcc: evil@x.test    body\r\n");
	cr_expect_eq(mt_header_lines(h, "Bcc"), 0);
	kore_free(h);

	/* A lone LF, CR, TAB, NUL's neighbours, DEL. */
	h = mt_subject("a\nb\rc\td\x7f" "e\x01");
	cr_expect_str_eq(h, "Subject: a b c d e\r\n");
	kore_free(h);
}

Test(mime, header_text_encodes_non_ascii_and_round_trips)
{
	const char	*v = "Neue Anmeldung f\xc3\xbcr Z\xc3\xbcrich \xe6\x97\xa5"
			    "\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80 und "
			    "noch viel mehr Text, damit gefaltet wird";
	char		*h, *d;

	h = mt_subject(v);
	cr_expect_eq(mt_header_lines(h, "Subject"), 1);
	d = mt_decode(h);
	cr_expect_str_eq(d, v);
	kore_free(d);
	kore_free(h);

	/* Non-ASCII with CR LF inside: one header, the text with spaces. */
	h = mt_subject("Z\xc3\xbc\r\nBcc: x@y.z");
	cr_expect_eq(mt_header_lines(h, "Bcc"), 0);
	d = mt_decode(h);
	cr_expect_str_eq(d, "Z\xc3\xbc  Bcc: x@y.z");
	kore_free(d);
	kore_free(h);
}

Test(mime, header_text_replaces_invalid_utf8_and_encodes_lookalikes)
{
	char	*h, *d;

	h = mt_subject("bad \xff\xc3 end");
	cr_expect_str_eq(h, "Subject: bad ?? end\r\n");
	kore_free(h);
	h = mt_subject("\xc3\xa4 bad \xe6\x97 end");
	d = mt_decode(h);
	cr_expect_str_eq(d, "\xc3\xa4 bad ?? end");
	kore_free(d);
	kore_free(h);

	/* ASCII that reads as an encoded word is encoded, not trusted. */
	h = mt_subject("=?UTF-8?B?SGk=?=");
	d = mt_decode(h);
	cr_expect_str_eq(d, "=?UTF-8?B?SGk=?=");
	kore_free(d);
	kore_free(h);

	/* Long ASCII is folded as words too. */
	h = mt_subject("0123456789 0123456789 0123456789 0123456789 "
	    "0123456789 0123456789 0123456789");
	cr_expect_eq(mt_header_lines(h, "Subject"), 1);
	kore_free(h);
}

static char *
mt_message(const char *html)
{
	static const char	*to[] = { "a@example.com", "b@example.org" };
	static const char	*cc[] = { "c@example.com" };
	struct mime_message	 m;
	struct kore_buf		 out;
	char			*s;

	memset(&m, 0, sizeof(m));
	m.from = "forms@example.com";
	m.from_name = "Kontakt \xc3\xbc";
	m.to = to;
	m.nto = 2;
	m.cc = cc;
	m.ncc = 1;
	m.reply_to = "visitor@example.net";
	m.subject = "New message from Ada";
	m.message_id = "msg_x@formwork";
	m.date = 0;
	m.auto_replied = 1;
	m.submission = "sub";
	m.text = "line one\nline two\n";
	m.textlen = strlen(m.text);
	m.html = html;
	m.htmllen = html ? strlen(html) : 0;
	kore_buf_init(&out, 1024);
	mime_message_write(&out, &m);
	s = kore_strdup(kore_buf_stringify(&out, NULL));
	kore_buf_cleanup(&out);
	return (s);
}

Test(mime, message_has_its_headers_and_one_text_part)
{
	char	*s;

	s = mt_message(NULL);
	cr_expect_eq(mt_header_lines(s, "From"), 1);
	cr_expect_not_null(strstr(s, "To: <a@example.com>, <b@example.org>\r\n"));
	cr_expect_not_null(strstr(s, "Cc: <c@example.com>\r\n"));
	cr_expect_not_null(strstr(s, "Reply-To: <visitor@example.net>\r\n"));
	cr_expect_not_null(strstr(s, "Date: Thu, 01 Jan 1970 00:00:00 +0000"));
	cr_expect_not_null(strstr(s, "Message-ID: <msg_x@formwork>\r\n"));
	cr_expect_not_null(strstr(s, "Auto-Submitted: auto-replied\r\n"));
	cr_expect_not_null(strstr(s, "Content-Type: text/plain; "
	    "charset=utf-8\r\n"));
	/* base64 of "line one\r\nline two\r\n": CRLF, the canonical form. */
	cr_expect_not_null(strstr(s, "\r\n\r\nbGluZSBvbmUNCmxpbmUgdHdvDQo=\r\n"));
	cr_expect_null(strstr(s, "Bcc"));
	cr_expect_null(strstr(s, "multipart"));
	kore_free(s);
}

Test(mime, message_with_html_is_multipart_alternative_text_first)
{
	const char	*p, *text, *html;
	char		*s, boundary[64];

	s = mt_message("<p>Hi</p>");
	cr_assert_not_null(p = strstr(s, "boundary=\""));
	cr_assert_eq(sscanf(p, "boundary=\"%63[^\"]\"", boundary), 1);
	cr_expect_eq(strncmp(boundary, "=_", 2), 0);
	cr_assert_not_null(strstr(s, "Content-Type: multipart/alternative;"));
	text = strstr(s, "Content-Type: text/plain");
	html = strstr(s, "Content-Type: text/html");
	cr_assert(text != NULL && html != NULL && text < html);
	p = strstr(s, boundary);
	cr_assert_not_null(p = strstr(p + 1, boundary));
	cr_assert_not_null(p = strstr(p + 1, boundary));
	cr_assert_not_null(p = strstr(p + 1, boundary));
	cr_expect_eq(strncmp(p + strlen(boundary), "--\r\n", 4), 0,
	    "the closing delimiter ends the message");
	kore_free(s);
}
