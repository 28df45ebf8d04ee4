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

#define CT_URLENC	"application/x-www-form-urlencoded"
#define CT_MULTI	"multipart/form-data; boundary=XyZ123"

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

static void
bt_expect(size_t n, const char *name, const char *value, size_t len)
{
	struct body_field	*f;

	f = bt_nth(n);
	cr_assert_str_eq(f->name, name);
	cr_assert_eq(f->len, len, "field %s: len %zu, want %zu", name,
	    f->len, len);
	cr_assert(memcmp(f->value, value, len) == 0,
	    "field %s: value differs", name);
	cr_assert_eq(f->value[len], '\0', "value is not NUL-terminated");
}

/* ---- urlencoded ---------------------------------------------------- */

Test(body, urlencoded_parses_pairs_in_order)
{
	cr_assert_eq(bt_parse(CT_URLENC, "name=Ann&email=a%40b.com&n=3"),
	    BODY_OK);
	cr_assert_eq(bt_body.count, 3);
	bt_expect(0, "name", "Ann", 3);
	bt_expect(1, "email", "a@b.com", 7);
	bt_expect(2, "n", "3", 1);
}

Test(body, urlencoded_plus_is_space)
{
	cr_assert_eq(bt_parse(CT_URLENC, "msg=hello+big+world&a+b=x"),
	    BODY_OK);
	bt_expect(0, "msg", "hello big world", 15);
	bt_expect(1, "a b", "x", 1);
}

Test(body, urlencoded_encoded_plus_stays_plus)
{
	cr_assert_eq(bt_parse(CT_URLENC, "e=a%2Bb%2bc"), BODY_OK);
	bt_expect(0, "e", "a+b+c", 5);
}

Test(body, urlencoded_keeps_crlf_and_tab_in_values)
{
	cr_assert_eq(bt_parse(CT_URLENC,
	    "message=line+one%0D%0Aline%09two%0Athree"), BODY_OK);
	bt_expect(0, "message", "line one\r\nline\ttwo\nthree", 24);
}

Test(body, urlencoded_keeps_equals_after_the_first)
{
	cr_assert_eq(bt_parse(CT_URLENC, "q=a=b==c&r=="), BODY_OK);
	bt_expect(0, "q", "a=b==c", 6);
	bt_expect(1, "r", "=", 1);
}

Test(body, urlencoded_skips_empty_pieces)
{
	cr_assert_eq(bt_parse(CT_URLENC, "&&a=1&&&b=2&"), BODY_OK);
	cr_assert_eq(bt_body.count, 2);
	bt_expect(0, "a", "1", 1);
	bt_expect(1, "b", "2", 1);
}

Test(body, urlencoded_empty_body_has_no_fields)
{
	cr_assert_eq(bt_parse(CT_URLENC, ""), BODY_OK);
	cr_assert_eq(bt_body.count, 0);
	cr_assert(TAILQ_EMPTY(&bt_body.fields));
}

Test(body, urlencoded_name_without_equals_gets_empty_value)
{
	cr_assert_eq(bt_parse(CT_URLENC, "flag&x=1&other"), BODY_OK);
	cr_assert_eq(bt_body.count, 3);
	bt_expect(0, "flag", "", 0);
	bt_expect(1, "x", "1", 1);
	bt_expect(2, "other", "", 0);
}

Test(body, urlencoded_empty_value_kept)
{
	cr_assert_eq(bt_parse(CT_URLENC, "a=&b="), BODY_OK);
	cr_assert_eq(bt_body.count, 2);
	bt_expect(0, "a", "", 0);
	bt_expect(1, "b", "", 0);
}

Test(body, urlencoded_decodes_utf8_and_mixed_case_hex)
{
	cr_assert_eq(bt_parse(CT_URLENC, "n=h%C3%a9llo"), BODY_OK);
	bt_expect(0, "n", "h\xc3\xa9llo", 6);
}

Test(body, urlencoded_keeps_invalid_bytes_for_the_validator)
{
	/* Decoding never judges text: invalid UTF-8 reaches the field. */
	cr_assert_eq(bt_parse(CT_URLENC, "n=%FF%FE&m=a%00b"), BODY_OK);
	bt_expect(0, "n", "\xff\xfe", 2);
	bt_expect(1, "m", "a\0b", 3);
}

Test(body, urlencoded_bad_escape_is_malformed)
{
	cr_assert_eq(bt_parse(CT_URLENC, "a=%G1"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_URLENC, "a=%1G"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_URLENC, "a=x%"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_URLENC, "a=%4"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_URLENC, "a=%4&b=1"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_URLENC, "a%=1"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_URLENC, "a=%%41"), BODY_MALFORMED);
}

Test(body, urlencoded_nul_in_name_is_malformed)
{
	cr_assert_eq(bt_parse(CT_URLENC, "na%00me=x"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_URLENC, "a=1&%00=x"), BODY_MALFORMED);
}

Test(body, urlencoded_empty_name_is_malformed)
{
	cr_assert_eq(bt_parse(CT_URLENC, "=value"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_URLENC, "a=1&=2"), BODY_MALFORMED);
}

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

Test(body, content_type_with_charset_parameter_accepted)
{
	cr_assert_eq(bt_parse(CT_URLENC "; charset=UTF-8", "a=1"), BODY_OK);
	bt_expect(0, "a", "1", 1);
	cr_assert_eq(bt_parse("Application/X-WWW-Form-URLEncoded;charset=utf-8",
	    "b=2"), BODY_OK);
	bt_expect(0, "b", "2", 1);
}

Test(body, other_content_types_unsupported)
{
	cr_assert_eq(bt_parse("application/json", "{\"a\":1}"),
	    BODY_UNSUPPORTED);
	cr_assert_eq(bt_parse("text/plain", "a=1"), BODY_UNSUPPORTED);
	cr_assert_eq(bt_parse("", "a=1"), BODY_UNSUPPORTED);
	/* A longer type that merely starts with the form type. */
	cr_assert_eq(bt_parse(CT_URLENC "x", "a=1"), BODY_UNSUPPORTED);
	cr_assert_eq(bt_body.count, 0);
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

#define PART(name, val)							\
	"Content-Disposition: form-data; name=\"" name "\"\r\n\r\n" val

Test(body, multipart_two_fields_unquoted_boundary)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n" PART("name", "Ann") "\r\n"
	    "--XyZ123\r\n" PART("email", "a@b.com") "\r\n"
	    "--XyZ123--\r\n"), BODY_OK);
	cr_assert_eq(bt_body.count, 2);
	bt_expect(0, "name", "Ann", 3);
	bt_expect(1, "email", "a@b.com", 7);
}

Test(body, multipart_two_fields_quoted_boundary)
{
	cr_assert_eq(bt_parse("multipart/form-data; "
	    "boundary=\"----WebKitFormBoundary7MA4YWxk\"",
	    "------WebKitFormBoundary7MA4YWxk\r\n" PART("a", "1") "\r\n"
	    "------WebKitFormBoundary7MA4YWxk\r\n" PART("b", "two") "\r\n"
	    "------WebKitFormBoundary7MA4YWxk--\r\n"), BODY_OK);
	cr_assert_eq(bt_body.count, 2);
	bt_expect(0, "a", "1", 1);
	bt_expect(1, "b", "two", 3);
}

Test(body, multipart_boundary_with_charset_after_it)
{
	cr_assert_eq(bt_parse("multipart/form-data; boundary=XyZ123; "
	    "charset=UTF-8",
	    "--XyZ123\r\n" PART("a", "1") "\r\n--XyZ123--"), BODY_OK);
	bt_expect(0, "a", "1", 1);
}

Test(body, multipart_value_keeps_crlf_and_is_not_url_decoded)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n" PART("message", "line one\r\nline two\r\n\r\n"
	    "a+b%20c") "\r\n--XyZ123--\r\n"), BODY_OK);
	bt_expect(0, "message", "line one\r\nline two\r\n\r\na+b%20c", 29);
}

Test(body, multipart_value_may_mention_the_boundary_without_crlf)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n" PART("m", "see --XyZ123 here") "\r\n"
	    "--XyZ123--\r\n"), BODY_OK);
	bt_expect(0, "m", "see --XyZ123 here", 17);
}

Test(body, multipart_empty_value_and_extra_headers)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n"
	    "Content-Type: text/plain; charset=UTF-8\r\n"
	    "content-disposition: form-data; name=\"e\"\r\n"
	    "\r\n"
	    "\r\n--XyZ123--\r\n"), BODY_OK);
	cr_assert_eq(bt_body.count, 1);
	bt_expect(0, "e", "", 0);
}

Test(body, multipart_preamble_and_epilogue_ignored)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "This is a preamble.\r\n"
	    "--XyZ123\r\n" PART("a", "1") "\r\n"
	    "--XyZ123--\r\nepilogue"), BODY_OK);
	cr_assert_eq(bt_body.count, 1);
	bt_expect(0, "a", "1", 1);
}

Test(body, multipart_keeps_binary_bytes)
{
	static const char	data[] =
	    "--XyZ123\r\n" PART("n", "a\0\xff" "b") "\r\n--XyZ123--\r\n";

	body_cleanup(&bt_body);
	cr_assert_eq(body_parse(CT_MULTI, (const u_int8_t *)data,
	    sizeof(data) - 1, &bt_body), BODY_OK);
	bt_expect(0, "n", "a\0\xff" "b", 4);
}

Test(body, multipart_file_part_rejected)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n" PART("a", "1") "\r\n"
	    "--XyZ123\r\n"
	    "Content-Disposition: form-data; name=\"f\"; "
	    "filename=\"photo-of-my-cat.jpg\"\r\n"
	    "Content-Type: image/jpeg\r\n\r\n"
	    "\xff\xd8\xff\r\n--XyZ123--\r\n"), BODY_FILE);
}

Test(body, multipart_empty_filename_is_still_a_file)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n"
	    "Content-Disposition: form-data; name=\"f\"; filename=\"\"\r\n"
	    "Content-Type: application/octet-stream\r\n\r\n"
	    "\r\n--XyZ123--\r\n"), BODY_FILE);
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n"
	    "Content-Disposition: form-data; filename=\"x\"; name=\"f\"\r\n"
	    "\r\nabc\r\n--XyZ123--\r\n"), BODY_FILE);
}

Test(body, multipart_field_called_filename_is_not_a_file)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n" PART("filename", "x") "\r\n--XyZ123--\r\n"),
	    BODY_OK);
	bt_expect(0, "filename", "x", 1);
}

Test(body, multipart_missing_boundary_is_malformed)
{
	const char	*data = "--XyZ123\r\n" PART("a", "1") "\r\n--XyZ123--";

	cr_assert_eq(bt_parse("multipart/form-data", data), BODY_MALFORMED);
	cr_assert_eq(bt_parse("multipart/form-data; charset=UTF-8", data),
	    BODY_MALFORMED);
	cr_assert_eq(bt_parse("multipart/form-data; boundary=", data),
	    BODY_MALFORMED);
	cr_assert_eq(bt_parse("multipart/form-data; boundary=\"\"", data),
	    BODY_MALFORMED);
	cr_assert_eq(bt_parse("multipart/form-data; boundary=\"XyZ123",
	    data), BODY_MALFORMED);
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

Test(body, multipart_wrong_boundary_is_malformed)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--Other\r\n" PART("a", "1") "\r\n--Other--\r\n"),
	    BODY_MALFORMED);
}

Test(body, multipart_truncated_body_is_malformed)
{
	/* No closing delimiter at all. */
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n" PART("a", "1") "\r\n--XyZ123\r\n"
	    PART("b", "cut off here")), BODY_MALFORMED);
	/* Cut inside the headers. */
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\nContent-Disposition: form-data; name=\"a\""),
	    BODY_MALFORMED);
	/* Cut right after a delimiter. */
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\n" PART("a", "1") "\r\n--XyZ123"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_MULTI, "--XyZ123"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_MULTI, "--XyZ123\r\n"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_MULTI, ""), BODY_MALFORMED);
}

Test(body, multipart_part_without_name_is_malformed)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\nContent-Disposition: form-data\r\n\r\n1\r\n"
	    "--XyZ123--"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\nContent-Type: text/plain\r\n\r\n1\r\n"
	    "--XyZ123--"), BODY_MALFORMED);
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123\r\nContent-Disposition: attachment; name=\"a\"\r\n"
	    "\r\n1\r\n--XyZ123--"), BODY_MALFORMED);
}

Test(body, multipart_name_over_64_bytes_is_malformed)
{
	cr_assert_eq(bt_parse(CT_MULTI, "--XyZ123\r\n"
	    PART("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
	    "v") "\r\n--XyZ123--\r\n"), BODY_OK, "64 bytes is fine");
	cr_assert_eq(bt_parse(CT_MULTI, "--XyZ123\r\n"
	    PART("nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
	    "v") "\r\n--XyZ123--\r\n"), BODY_MALFORMED);
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

Test(body, multipart_garbage_after_delimiter_is_malformed)
{
	cr_assert_eq(bt_parse(CT_MULTI,
	    "--XyZ123junk\r\n" PART("a", "1") "\r\n--XyZ123--\r\n"),
	    BODY_MALFORMED);
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
