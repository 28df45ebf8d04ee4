/*
 * test_body.c: tests for the form body parser (src/core/body.c), which exists
 * because Kore's own parameter parser drops values holding encoded CR, LF
 * or TAB. Covers application/x-www-form-urlencoded and
 * multipart/form-data, the error statuses, and hostile input.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kore/kore.h>

#include "core/body.h"

#include "table.h"

#define CT_URLENC	"application/x-www-form-urlencoded"
#define CT_MULTI	"multipart/form-data; boundary=XyZ123"

/* One multipart part's headers and value. */
#define PART(name, val)							\
	"Content-Disposition: form-data; name=\"" name "\"\r\n\r\n" val

static struct body	bt_body;

static void
bt_setup(void)
{
	memset(&bt_body, 0, sizeof(bt_body));
	TAILQ_INIT(&bt_body.fields);
}

static void
bt_teardown(void)
{
	body_cleanup(&bt_body);
}

TestSuite(body, .init = bt_setup, .fini = bt_teardown);

/* Parses a NUL-terminated body into bt_body. */
static enum body_status
bt_parse(const char *ctype, const char *data)
{
	body_cleanup(&bt_body);
	return (body_parse(ctype, (const u_int8_t *)data, strlen(data),
	    &bt_body));
}

/* The nth field (0-based), failing the test when there are fewer. */
static struct body_field *
bt_nth(size_t n)
{
	struct body_field	*f;
	size_t			 i;

	i = 0;
	TAILQ_FOREACH(f, &bt_body.fields, list) {
		if (i++ == n)
			return (f);
	}
	cr_assert_fail("no field #%zu (body has %zu)", n, bt_body.count);
	return (NULL);
}

/* Field n of what was parsed is name = value (len bytes, NUL after). */
static void
bt_expect(const char *what, size_t n, const char *name, const char *value,
    size_t len)
{
	struct body_field	*f;

	f = bt_nth(n);
	cr_assert_str_eq(f->name, name, "%s: field #%zu", what, n);
	cr_assert_eq(f->len, len, "%s: field %s: len %zu, want %zu", what,
	    name, f->len, len);
	cr_assert(memcmp(f->value, value, len) == 0,
	    "%s: field %s: value differs", what, name);
	cr_assert_eq(f->value[len], '\0', "%s: field %s: value is not "
	    "NUL-terminated", what, name);
}

/* ---- one body, one answer ---------------------------------------------- */

/*
 * A body of type ctype (NUL-terminated data) and the answer it gets:
 * status st and, when that is BODY_OK, exactly the nfields fields f.
 */
struct bt_case {
	const char		*what;
	const char		*ctype;
	const char		*data;
	enum body_status	 st;
	size_t			 nfields;
	struct {
		const char	*name;
		const char	*value;
		size_t		 len;
	}			 f[3];
};

/* Multipart data with a good delimiter and part, for bad boundaries. */
#define BT_ONE_PART	"--XyZ123\r\n" PART("a", "1") "\r\n--XyZ123--"

static const struct bt_case	bt_accepted[] = {
	/* urlencoded */
	{ "pairs in order", CT_URLENC, "name=Ann&email=a%40b.com&n=3",
	    BODY_OK, 3, { { "name", "Ann", 3 }, { "email", "a@b.com", 7 },
	    { "n", "3", 1 } } },
	{ "plus is a space", CT_URLENC, "msg=hello+big+world&a+b=x",
	    BODY_OK, 2, { { "msg", "hello big world", 15 },
	    { "a b", "x", 1 } } },
	{ "an encoded plus stays a plus", CT_URLENC, "e=a%2Bb%2bc", BODY_OK,
	    1, { { "e", "a+b+c", 5 } } },
	{ "CR, LF and TAB are kept in values", CT_URLENC,
	    "message=line+one%0D%0Aline%09two%0Athree", BODY_OK, 1,
	    { { "message", "line one\r\nline\ttwo\nthree", 24 } } },
	{ "= after the first is part of the value", CT_URLENC,
	    "q=a=b==c&r==", BODY_OK, 2, { { "q", "a=b==c", 6 },
	    { "r", "=", 1 } } },
	{ "empty pieces are skipped", CT_URLENC, "&&a=1&&&b=2&", BODY_OK, 2,
	    { { "a", "1", 1 }, { "b", "2", 1 } } },
	{ "an empty body has no fields", CT_URLENC, "", BODY_OK, 0, { } },
	{ "a name without = gets an empty value", CT_URLENC,
	    "flag&x=1&other", BODY_OK, 3, { { "flag", "", 0 },
	    { "x", "1", 1 }, { "other", "", 0 } } },
	{ "empty values are kept", CT_URLENC, "a=&b=", BODY_OK, 2,
	    { { "a", "", 0 }, { "b", "", 0 } } },
	{ "UTF-8 and mixed-case hex are decoded", CT_URLENC, "n=h%C3%a9llo",
	    BODY_OK, 1, { { "n", "h\xc3\xa9llo", 6 } } },
	/* Decoding never judges text: invalid UTF-8 reaches the field. */
	{ "invalid bytes are kept for the validator", CT_URLENC,
	    "n=%FF%FE&m=a%00b", BODY_OK, 2, { { "n", "\xff\xfe", 2 },
	    { "m", "a\0b", 3 } } },
	{ "a charset parameter", CT_URLENC "; charset=UTF-8", "a=1",
	    BODY_OK, 1, { { "a", "1", 1 } } },
	{ "the type in other cases, charset without a space",
	    "Application/X-WWW-Form-URLEncoded;charset=utf-8", "b=2", BODY_OK,
	    1, { { "b", "2", 1 } } },

	/* multipart */
	{ "two parts, boundary unquoted", CT_MULTI,
	    "--XyZ123\r\n" PART("name", "Ann") "\r\n"
	    "--XyZ123\r\n" PART("email", "a@b.com") "\r\n"
	    "--XyZ123--\r\n", BODY_OK, 2, { { "name", "Ann", 3 },
	    { "email", "a@b.com", 7 } } },
	{ "two parts, boundary quoted", "multipart/form-data; "
	    "boundary=\"----WebKitFormBoundary7MA4YWxk\"",
	    "------WebKitFormBoundary7MA4YWxk\r\n" PART("a", "1") "\r\n"
	    "------WebKitFormBoundary7MA4YWxk\r\n" PART("b", "two") "\r\n"
	    "------WebKitFormBoundary7MA4YWxk--\r\n", BODY_OK, 2,
	    { { "a", "1", 1 }, { "b", "two", 3 } } },
	{ "a charset after the boundary",
	    "multipart/form-data; boundary=XyZ123; charset=UTF-8",
	    BT_ONE_PART, BODY_OK, 1, { { "a", "1", 1 } } },
	{ "a value keeps CRLF and is not url-decoded", CT_MULTI,
	    "--XyZ123\r\n" PART("message", "line one\r\nline two\r\n\r\n"
	    "a+b%20c") "\r\n--XyZ123--\r\n", BODY_OK, 1,
	    { { "message", "line one\r\nline two\r\n\r\na+b%20c", 29 } } },
	{ "a value may mention the boundary without CRLF", CT_MULTI,
	    "--XyZ123\r\n" PART("m", "see --XyZ123 here") "\r\n"
	    "--XyZ123--\r\n", BODY_OK, 1,
	    { { "m", "see --XyZ123 here", 17 } } },
	{ "an empty value and extra headers", CT_MULTI,
	    "--XyZ123\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "content-disposition: form-data; name=\"e\"\r\n"
	    "\r\n"
	    "\r\n--XyZ123--\r\n", BODY_OK, 1, { { "e", "", 0 } } },
	{ "preamble and epilogue are ignored", CT_MULTI,
	    "This is a preamble.\r\n"
	    "--XyZ123\r\n" PART("a", "1") "\r\n"
	    "--XyZ123--\r\nepilogue", BODY_OK, 1, { { "a", "1", 1 } } },
	{ "a field called filename is not a file", CT_MULTI,
	    "--XyZ123\r\n" PART("filename", "x") "\r\n--XyZ123--\r\n",
	    BODY_OK, 1, { { "filename", "x", 1 } } },
	{ "a name of 64 bytes", CT_MULTI, "--XyZ123\r\n"
	    PART("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
	    "v") "\r\n--XyZ123--\r\n", BODY_OK, 1,
	    { { "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
	    "v", 1 } } },
};

static const struct bt_case	bt_refused[] = {
	/* urlencoded */
	{ "escape with a bad first digit", CT_URLENC, "a=%G1",
	    BODY_MALFORMED },
	{ "escape with a bad second digit", CT_URLENC, "a=%1G",
	    BODY_MALFORMED },
	{ "% at the end", CT_URLENC, "a=x%", BODY_MALFORMED },
	{ "escape cut at the end", CT_URLENC, "a=%4", BODY_MALFORMED },
	{ "escape cut before &", CT_URLENC, "a=%4&b=1", BODY_MALFORMED },
	{ "% in a name", CT_URLENC, "a%=1", BODY_MALFORMED },
	{ "%% before hex digits", CT_URLENC, "a=%%41", BODY_MALFORMED },
	{ "NUL in a name", CT_URLENC, "na%00me=x", BODY_MALFORMED },
	{ "a name that is NUL", CT_URLENC, "a=1&%00=x", BODY_MALFORMED },
	{ "an empty name", CT_URLENC, "=value", BODY_MALFORMED },
	{ "an empty name after a field", CT_URLENC, "a=1&=2",
	    BODY_MALFORMED },
	{ "JSON", "application/json", "{\"a\":1}", BODY_UNSUPPORTED },
	{ "text", "text/plain", "a=1", BODY_UNSUPPORTED },
	{ "no type", "", "a=1", BODY_UNSUPPORTED },
	/* A longer type that merely starts with the form type. */
	{ "a type that starts like the form type", CT_URLENC "x", "a=1",
	    BODY_UNSUPPORTED },

	/* multipart: files */
	{ "a file part", CT_MULTI,
	    "--XyZ123\r\n" PART("a", "1") "\r\n"
	    "--XyZ123\r\n"
	    "Content-Disposition: form-data; name=\"f\"; "
	    "filename=\"photo-of-my-cat.jpg\"\r\n"
	    "Content-Type: image/jpeg\r\n\r\n"
	    "\xff\xd8\xff\r\n--XyZ123--\r\n", BODY_FILE },
	{ "an empty filename is still a file", CT_MULTI,
	    "--XyZ123\r\n"
	    "Content-Disposition: form-data; name=\"f\"; filename=\"\"\r\n"
	    "Content-Type: application/octet-stream\r\n\r\n"
	    "\r\n--XyZ123--\r\n", BODY_FILE },
	{ "filename before name", CT_MULTI,
	    "--XyZ123\r\n"
	    "Content-Disposition: form-data; filename=\"x\"; name=\"f\"\r\n"
	    "\r\nabc\r\n--XyZ123--\r\n", BODY_FILE },

	/* multipart: the boundary */
	{ "no boundary", "multipart/form-data", BT_ONE_PART,
	    BODY_MALFORMED },
	{ "a charset but no boundary", "multipart/form-data; charset=UTF-8",
	    BT_ONE_PART, BODY_MALFORMED },
	{ "an empty boundary", "multipart/form-data; boundary=",
	    BT_ONE_PART, BODY_MALFORMED },
	{ "an empty quoted boundary", "multipart/form-data; boundary=\"\"",
	    BT_ONE_PART, BODY_MALFORMED },
	{ "an unterminated quoted boundary",
	    "multipart/form-data; boundary=\"XyZ123", BT_ONE_PART,
	    BODY_MALFORMED },
	{ "another boundary in the body", CT_MULTI,
	    "--Other\r\n" PART("a", "1") "\r\n--Other--\r\n", BODY_MALFORMED },
	{ "garbage after a delimiter", CT_MULTI,
	    "--XyZ123junk\r\n" PART("a", "1") "\r\n--XyZ123--\r\n",
	    BODY_MALFORMED },

	/* multipart: cut short */
	{ "no closing delimiter", CT_MULTI,
	    "--XyZ123\r\n" PART("a", "1") "\r\n--XyZ123\r\n"
	    PART("b", "cut off here"), BODY_MALFORMED },
	{ "cut inside the headers", CT_MULTI,
	    "--XyZ123\r\nContent-Disposition: form-data; name=\"a\"",
	    BODY_MALFORMED },
	{ "cut right after a delimiter", CT_MULTI,
	    "--XyZ123\r\n" PART("a", "1") "\r\n--XyZ123", BODY_MALFORMED },
	{ "only a delimiter", CT_MULTI, "--XyZ123", BODY_MALFORMED },
	{ "only a delimiter line", CT_MULTI, "--XyZ123\r\n",
	    BODY_MALFORMED },
	{ "empty", CT_MULTI, "", BODY_MALFORMED },

	/* multipart: the part's name */
	{ "form-data without a name", CT_MULTI,
	    "--XyZ123\r\nContent-Disposition: form-data\r\n\r\n1\r\n"
	    "--XyZ123--", BODY_MALFORMED },
	{ "no Content-Disposition", CT_MULTI,
	    "--XyZ123\r\nContent-Type: text/plain\r\n\r\n1\r\n"
	    "--XyZ123--", BODY_MALFORMED },
	{ "an attachment, not form-data", CT_MULTI,
	    "--XyZ123\r\nContent-Disposition: attachment; name=\"a\"\r\n"
	    "\r\n1\r\n--XyZ123--", BODY_MALFORMED },
	{ "a name of 65 bytes", CT_MULTI, "--XyZ123\r\n"
	    PART("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
	    "v") "\r\n--XyZ123--\r\n", BODY_MALFORMED },
};

/* The answer to c: its status, and the fields it should give. */
static void
bt_check(const struct bt_case *c)
{
	struct body_field	*f;
	enum body_status	 st;
	size_t			 i, n;

	st = bt_parse(c->ctype, c->data);
	cr_assert_eq(st, c->st, "%s: status %d, want %d", c->what, st,
	    c->st);
	if (c->st != BODY_OK && c->st != BODY_UNSUPPORTED)
		return;
	n = 0;
	TAILQ_FOREACH(f, &bt_body.fields, list)
		n++;
	cr_assert_eq(bt_body.count, c->nfields, "%s: %zu fields, want %zu",
	    c->what, bt_body.count, c->nfields);
	cr_assert_eq(n, c->nfields, "%s: %zu fields listed, want %zu",
	    c->what, n, c->nfields);
	for (i = 0; i < c->nfields; i++)
		bt_expect(c->what, i, c->f[i].name, c->f[i].value,
		    c->f[i].len);
}

TABLE_TEST(body, accepted, bt_accepted);

ParameterizedTest(size_t *i, body, accepted)
{
	bt_check(&bt_accepted[*i]);
}

TABLE_TEST(body, refused, bt_refused);

ParameterizedTest(size_t *i, body, refused)
{
	bt_check(&bt_refused[*i]);
}

/* ---- urlencoded ---------------------------------------------------- */

Test(body, urlencoded_name_over_64_bytes_is_malformed)
{
	char	buf[128];

	memset(buf, 'n', 64);
	memcpy(buf + 64, "=v", 3);
	cr_assert_eq(bt_parse(CT_URLENC, buf), BODY_OK, "64 bytes is fine");
	cr_assert_eq(strlen(bt_nth(0)->name), 64);
	cr_assert_str_eq(bt_nth(0)->value, "v");

	memset(buf, 'n', 65);
	memcpy(buf + 65, "=v", 3);
	cr_assert_eq(bt_parse(CT_URLENC, buf), BODY_MALFORMED);
}

Test(body, urlencoded_name_length_counts_decoded_bytes)
{
	struct kore_buf	*b;
	int		 i;

	/* 64 decoded bytes written as 192 encoded ones: fine. */
	b = kore_buf_alloc(256);
	for (i = 0; i < 64; i++)
		kore_buf_appendf(b, "%%41");
	kore_buf_appendf(b, "=v");
	cr_assert_eq(bt_parse(CT_URLENC, kore_buf_stringify(b, NULL)),
	    BODY_OK);
	cr_assert_eq(strlen(bt_nth(0)->name), 64);
	kore_buf_free(b);
}

Test(body, urlencoded_256_fields_ok_257_too_many)
{
	struct kore_buf	*b;
	const char	*s;
	size_t		 len256, len;
	int		 i;

	b = kore_buf_alloc(4096);
	for (i = 0; i < BODY_MAX_FIELDS; i++)
		kore_buf_appendf(b, "%sf%d=%d", i ? "&" : "", i, i);
	len256 = b->offset;
	kore_buf_appendf(b, "&last=1");
	s = kore_buf_stringify(b, &len);

	body_cleanup(&bt_body);
	cr_assert_eq(body_parse(CT_URLENC, (const u_int8_t *)s, len256,
	    &bt_body), BODY_OK);
	cr_assert_eq(bt_body.count, BODY_MAX_FIELDS);
	cr_assert_str_eq(bt_nth(255)->name, "f255");

	body_cleanup(&bt_body);
	cr_assert_eq(body_parse(CT_URLENC, (const u_int8_t *)s, len,
	    &bt_body), BODY_TOO_MANY);
	kore_buf_free(b);
}

Test(body, urlencoded_too_many_even_when_values_repeat)
{
	struct kore_buf	*b;
	int		 i;

	b = kore_buf_alloc(4096);
	for (i = 0; i < 300; i++)
		kore_buf_appendf(b, "a=1&");
	cr_assert_eq(bt_parse(CT_URLENC, kore_buf_stringify(b, NULL)),
	    BODY_TOO_MANY);
	kore_buf_free(b);
}

Test(body, null_content_type_unsupported_and_initialises_body)
{
	struct body	b;

	/* Garbage in the struct must not matter: body_parse initialises. */
	memset(&b, 0xa5, sizeof(b));
	cr_assert_eq(body_parse(NULL, (const u_int8_t *)"a=1", 3, &b),
	    BODY_UNSUPPORTED);
	cr_assert_eq(b.count, 0);
	cr_assert(TAILQ_EMPTY(&b.fields));
	body_cleanup(&b);
}

Test(body, find_returns_first_field_of_that_name)
{
	struct body_field	*f;

	cr_assert_eq(bt_parse(CT_URLENC, "a=1&b=2&a=3"), BODY_OK);
	cr_assert_eq(bt_body.count, 3);
	f = body_find(&bt_body, "a");
	cr_assert_not_null(f);
	cr_assert_str_eq(f->value, "1");
	cr_assert_str_eq(body_find(&bt_body, "b")->value, "2");
	cr_assert_null(body_find(&bt_body, "c"));
	cr_assert_null(body_find(&bt_body, "A"));
}

Test(body, cleanup_empties_the_body)
{
	cr_assert_eq(bt_parse(CT_URLENC, "a=1&b=2"), BODY_OK);
	body_cleanup(&bt_body);
	cr_assert_eq(bt_body.count, 0);
	cr_assert(TAILQ_EMPTY(&bt_body.fields));
	cr_assert_null(body_find(&bt_body, "a"));
	/* A second cleanup is harmless. */
	body_cleanup(&bt_body);
}

Test(body, cleanup_after_failure_frees_parsed_fields)
{
	/* Fields before the bad one were added; cleanup frees them. */
	cr_assert_eq(bt_parse(CT_URLENC, "a=1&b=2&c=%ZZ"), BODY_MALFORMED);
	body_cleanup(&bt_body);
	cr_assert_eq(bt_body.count, 0);
}

/*
 * Values over 8 KiB are allocated outside Kore's pools, where valgrind
 * sees them: these show body_cleanup() frees values on every path.
 */
Test(body, cleanup_frees_large_values_on_success_and_failure)
{
	struct kore_buf	*b;
	size_t		 i;

	b = kore_buf_alloc(40000);
	kore_buf_appendf(b, "big=");
	for (i = 0; i < 10000; i++)
		kore_buf_appendf(b, "%c", 'a' + (int)(i % 26));
	kore_buf_appendf(b, "&big2=");
	for (i = 0; i < 3000; i++)
		kore_buf_appendf(b, "%%C3%%A9");
	cr_assert_eq(bt_parse(CT_URLENC, kore_buf_stringify(b, NULL)),
	    BODY_OK);
	cr_assert_eq(bt_nth(0)->len, 10000);
	cr_assert_eq(bt_nth(1)->len, 6000);
	kore_buf_free(b);

	/* A broken escape at the end of a large value. */
	b = kore_buf_alloc(40000);
	kore_buf_appendf(b, "ok=1&big=");
	for (i = 0; i < 10000; i++)
		kore_buf_appendf(b, "x");
	kore_buf_appendf(b, "%%Z");
	cr_assert_eq(bt_parse(CT_URLENC, kore_buf_stringify(b, NULL)),
	    BODY_MALFORMED);
	kore_buf_free(b);

	/* Multipart: a large value, then a file part. */
	b = kore_buf_alloc(40000);
	kore_buf_appendf(b, "--XyZ123\r\nContent-Disposition: form-data; "
	    "name=\"big\"\r\n\r\n");
	for (i = 0; i < 10000; i++)
		kore_buf_appendf(b, "y");
	kore_buf_appendf(b, "\r\n--XyZ123\r\nContent-Disposition: "
	    "form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nhi\r\n"
	    "--XyZ123--\r\n");
	cr_assert_eq(bt_parse(CT_MULTI, kore_buf_stringify(b, NULL)),
	    BODY_FILE);
	cr_assert_eq(bt_body.count, 1);
	cr_assert_eq(bt_nth(0)->len, 10000);
	kore_buf_free(b);
}

Test(body, status_text_describes_each_failure)
{
	cr_assert_not_null(strstr(body_status_text(BODY_UNSUPPORTED),
	    "urlencoded"));
	cr_assert_not_null(strstr(body_status_text(BODY_FILE), "upload"));
	cr_assert_gt(strlen(body_status_text(BODY_MALFORMED)), 10);
	cr_assert_gt(strlen(body_status_text(BODY_TOO_MANY)), 10);
	cr_assert_str_neq(body_status_text(BODY_MALFORMED),
	    body_status_text(BODY_TOO_MANY));
}

/* ---- multipart ----------------------------------------------------- */

Test(body, multipart_keeps_binary_bytes)
{
	static const char	data[] =
	    "--XyZ123\r\n" PART("n", "a\0\xff" "b") "\r\n--XyZ123--\r\n";

	body_cleanup(&bt_body);
	cr_assert_eq(body_parse(CT_MULTI, (const u_int8_t *)data,
	    sizeof(data) - 1, &bt_body), BODY_OK);
	bt_expect("binary bytes", 0, "n", "a\0\xff" "b", 4);
}

Test(body, multipart_boundary_over_70_chars_is_malformed)
{
	char	ctype[128], data[256];
	char	bnd[72];

	memset(bnd, 'b', 70);
	bnd[70] = '\0';
	(void)snprintf(ctype, sizeof(ctype),
	    "multipart/form-data; boundary=%s", bnd);
	(void)snprintf(data, sizeof(data), "--%s\r\n" PART("a", "1")
	    "\r\n--%s--\r\n", bnd, bnd);
	cr_assert_eq(bt_parse(ctype, data), BODY_OK, "70 is allowed");

	memset(bnd, 'b', 71);
	bnd[71] = '\0';
	(void)snprintf(ctype, sizeof(ctype),
	    "multipart/form-data; boundary=%s", bnd);
	(void)snprintf(data, sizeof(data), "--%s\r\n" PART("a", "1")
	    "\r\n--%s--\r\n", bnd, bnd);
	cr_assert_eq(bt_parse(ctype, data), BODY_MALFORMED);
}

Test(body, multipart_257_fields_too_many)
{
	struct kore_buf	*b;
	int		 i;

	b = kore_buf_alloc(65536);
	for (i = 0; i < BODY_MAX_FIELDS + 1; i++) {
		kore_buf_appendf(b, "--XyZ123\r\nContent-Disposition: "
		    "form-data; name=\"f%d\"\r\n\r\n%d\r\n", i, i);
	}
	kore_buf_appendf(b, "--XyZ123--\r\n");
	cr_assert_eq(bt_parse(CT_MULTI, kore_buf_stringify(b, NULL)),
	    BODY_TOO_MANY);
	kore_buf_free(b);
}

/* A small deterministic generator, so failures reproduce. */
static u_int32_t
bt_rand(u_int32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (*s);
}

Test(body, multipart_random_bytes_never_ok_and_never_crash)
{
	static const char	*alpha = "-\r\n\"XyZ123=; :abcnme";
	u_int8_t		*data;
	u_int32_t		 seed;
	size_t			 len, i;
	int			 round;
	enum body_status	 st;

	seed = 0x1234567;
	for (round = 0; round < 2000; round++) {
		len = bt_rand(&seed) % 300;
		data = kore_malloc(len + 1);
		for (i = 0; i < len; i++) {
			/* Half fully random, half from a hostile alphabet. */
			if (round & 1)
				data[i] = (u_int8_t)bt_rand(&seed);
			else
				data[i] = (u_int8_t)alpha[bt_rand(&seed) %
				    strlen(alpha)];
		}
		body_cleanup(&bt_body);
		/* Exactly len bytes: the parser must not look past them. */
		st = body_parse(CT_MULTI, data, len, &bt_body);
		cr_assert_neq(st, BODY_OK, "round %d: random bytes parsed",
		    round);
		body_cleanup(&bt_body);
		(void)body_parse(CT_URLENC, data, len, &bt_body);
		kore_free(data);
	}
}

Test(body, multipart_truncations_of_a_valid_body_never_ok)
{
	static const char	full[] =
	    "--XyZ123\r\n" PART("a", "1") "\r\n"
	    "--XyZ123\r\n" PART("b", "x\r\ny") "\r\n--XyZ123--";
	u_int8_t		*copy;
	size_t			 len;

	for (len = 0; len < sizeof(full) - 1; len++) {
		/* An exact-size copy so ASan sees any over-read. */
		copy = kore_malloc(len ? len : 1);
		memcpy(copy, full, len);
		body_cleanup(&bt_body);
		cr_assert_neq(body_parse(CT_MULTI, copy, len, &bt_body),
		    BODY_OK, "prefix of %zu bytes parsed", len);
		kore_free(copy);
	}
	body_cleanup(&bt_body);
	cr_assert_eq(body_parse(CT_MULTI, (const u_int8_t *)full,
	    sizeof(full) - 1, &bt_body), BODY_OK);
	cr_assert_eq(bt_body.count, 2);
}
