/*
 * test_json_out.c: tests for JSON string writing (src/core/json_out.c), used
 * for webhook payloads and the JSON API: every character that RFC 8259
 * requires escaping is escaped, UTF-8 passes through, and the output
 * reads back through Kore's own parser unchanged.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kore/kore.h>

#include "core/json_out.h"

/* json_out_string(s) as a kore_malloc'd C string. */
static char *
jo_render(const char *s)
{
	struct kore_buf	 b;
	char		*out;

	kore_buf_init(&b, 64);
	json_out_string(&b, s);
	out = kore_strdup(kore_buf_stringify(&b, NULL));
	kore_buf_cleanup(&b);
	return (out);
}

static void
jo_expect(const char *in, const char *want)
{
	char	*got;

	got = jo_render(in);
	cr_expect_str_eq(got, want, "input \"%s\"", in);
	kore_free(got);
}

/* Writes {"v": s} and reads v back with kore_json_parse. */
static void
jo_round_trip(const char *s)
{
	struct kore_buf		 b;
	struct kore_json	 j;
	struct kore_json_item	*it;
	const char		*text;
	size_t			 len;

	kore_buf_init(&b, 64);
	kore_buf_appendf(&b, "{\"v\":");
	json_out_string(&b, s);
	kore_buf_appendf(&b, ",\"after\":1}");
	text = kore_buf_stringify(&b, &len);

	kore_json_init(&j, text, len);
	cr_assert(kore_json_parse(&j), "kore_json_parse(%s): %s", text,
	    kore_json_strerror(&j));
	it = kore_json_find_string(j.root, "v");
	cr_assert_not_null(it, "no string v in %s", text);
	cr_assert_str_eq(it->data.string, s, "round trip through %s", text);
	cr_assert_not_null(kore_json_find_integer_u64(j.root, "after"),
	    "the string ran past its end in %s", text);
	kore_json_cleanup(&j);
	kore_buf_cleanup(&b);
}

Test(json_out, plain_text_is_quoted)
{
	jo_expect("hello world", "\"hello world\"");
	jo_expect("", "\"\"");
}

Test(json_out, escapes_quote_and_backslash)
{
	jo_expect("say \"hi\"", "\"say \\\"hi\\\"\"");
	jo_expect("C:\\dir\\", "\"C:\\\\dir\\\\\"");
	jo_expect("\"", "\"\\\"\"");
	jo_expect("\\\"", "\"\\\\\\\"\"");
}

Test(json_out, escapes_newline_return_and_tab)
{
	jo_expect("a\nb", "\"a\\nb\"");
	jo_expect("a\r\nb", "\"a\\r\\nb\"");
	jo_expect("\tx\t", "\"\\tx\\t\"");
}

Test(json_out, other_controls_as_u00xx)
{
	jo_expect("\x01", "\"\\u0001\"");
	jo_expect("a\x1b[0m", "\"a\\u001b[0m\"");
	jo_expect("\x1f", "\"\\u001f\"");
	jo_expect("\b\f", "\"\\u0008\\u000c\"");
	jo_expect("\x0b", "\"\\u000b\"");
}

Test(json_out, no_raw_control_bytes_in_output)
{
	char	 in[32], *out;
	size_t	 i;

	for (i = 0; i < 31; i++)
		in[i] = (char)(i + 1);
	in[31] = '\0';
	out = jo_render(in);
	for (i = 0; out[i] != '\0'; i++)
		cr_assert_geq((unsigned char)out[i], 0x20, "raw byte 0x%02x",
		    (unsigned char)out[i]);
	kore_free(out);
}

Test(json_out, utf8_passes_through_unchanged)
{
	jo_expect("h\xc3\xa9llo", "\"h\xc3\xa9llo\"");
	jo_expect("\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80",
	    "\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"");
	jo_expect("\xe2\x80\xa8", "\"\xe2\x80\xa8\"");	/* U+2028 */
}

Test(json_out, slash_and_delete_need_no_escape)
{
	jo_expect("a/b</script>", "\"a/b</script>\"");
	jo_expect("\x7f", "\"\x7f\"");
}

Test(json_out, appends_to_existing_buffer_content)
{
	struct kore_buf	 b;

	kore_buf_init(&b, 16);
	kore_buf_appendf(&b, "[");
	json_out_string(&b, "a\"b");
	kore_buf_appendf(&b, ",");
	json_out_string(&b, "c");
	kore_buf_appendf(&b, "]");
	cr_assert_str_eq(kore_buf_stringify(&b, NULL), "[\"a\\\"b\",\"c\"]");
	kore_buf_cleanup(&b);
}

Test(json_out, round_trips_through_kore_json_parse)
{
	jo_round_trip("");
	jo_round_trip("plain");
	jo_round_trip("quote \" and backslash \\ and both \\\"");
	jo_round_trip("line one\nline two\r\nthree\ttabbed");
	jo_round_trip("h\xc3\xa9llo \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
	jo_round_trip("a/b </script> {\"k\": [1, 2]}");
	jo_round_trip("trailing backslash \\");
	jo_round_trip("\\n is not a newline");
}

Test(json_out, round_trips_a_long_string)
{
	char	*s;
	size_t	 i;

	s = kore_malloc(5001);
	for (i = 0; i < 5000; i++)
		s[i] = "ab\"\\\n\r\t\xc3\xa9"[i % 9];
	s[5000] = '\0';
	/* The cut may split é: that is fine for JSON, only bytes matter. */
	if ((unsigned char)s[4999] == 0xc3)
		s[4999] = 'x';
	jo_round_trip(s);
	kore_free(s);
}
