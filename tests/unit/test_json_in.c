/*
 * test_json_in.c: tests for the \uXXXX decoding done before Kore's JSON
 * parser sees a client's body (src/core/json_in.c): escapes become UTF-8
 * inside strings (surrogate pairs as one 4-byte character), a decoded
 * quote, backslash or short-escape control character is written back as
 * its JSON escape so the text still means the same, everything else is
 * copied byte for byte, and broken escapes are refused with a reason.
 */

#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kore/kore.h>

#include "core/json_in.h"

/*
 * json_in_decode(in) as a kore_malloc'd C string in *out (NULL when it
 * failed); returns its result, *why the reason given.
 */
static int
ji_decode(const char *in, char **out, const char **why)
{
	struct kore_buf	 b;
	int		 rc;

	*why = NULL;
	kore_buf_init(&b, 64);
	rc = json_in_decode((const u_int8_t *)in, strlen(in), &b, why);
	*out = rc == 0 ? kore_strdup(kore_buf_stringify(&b, NULL)) : NULL;
	kore_buf_cleanup(&b);
	return (rc);
}

/* The decoder turns in into exactly want. */
static void
ji_expect(const char *in, const char *want)
{
	const char	*why;
	char		*got;
	int		 rc;

	rc = ji_decode(in, &got, &why);
	cr_assert_eq(rc, 0, "json_in_decode(%s) failed: %s", in,
	    why ? why : "(no reason)");
	cr_expect_str_eq(got, want, "json_in_decode(%s)", in);
	kore_free(got);
}

/* The decoder refuses in with -1 and a reason (that mentions hint). */
static void
ji_refused(const char *in, const char *hint)
{
	const char	*why;
	char		*got;
	int		 rc;

	rc = ji_decode(in, &got, &why);
	cr_expect_eq(rc, -1, "json_in_decode(%s) accepted it: %s", in,
	    got ? got : "");
	cr_expect_not_null(why, "json_in_decode(%s): no reason given", in);
	if (why != NULL) {
		cr_expect_gt(strlen(why), 0, "json_in_decode(%s): empty reason",
		    in);
		if (hint != NULL)
			cr_expect_not_null(strstr(why, hint),
			    "json_in_decode(%s): reason '%s' does not mention "
			    "'%s'", in, why, hint);
	}
	kore_free(got);
}

/*
 * Decodes {"v":<value>} and parses it with kore_json_parse; checks that
 * v is the string want (compared as bytes, with its length).
 */
static void
ji_parses_to(const char *value, const char *want)
{
	struct kore_buf		 in, clean;
	struct kore_json	 j;
	struct kore_json_item	*it;
	const char		*why;
	int			 rc;

	kore_buf_init(&in, 64);
	kore_buf_appendf(&in, "{\"v\":%s,\"after\":1}", value);
	kore_buf_init(&clean, 64);
	why = NULL;
	rc = json_in_decode(in.data, in.offset, &clean, &why);
	cr_assert_eq(rc, 0, "json_in_decode(%s) failed: %s", value,
	    why ? why : "(no reason)");

	kore_json_init(&j, clean.data, clean.offset);
	cr_assert(kore_json_parse(&j), "kore_json_parse after decoding %s: %s",
	    value, kore_json_strerror(&j));
	it = kore_json_find_string(j.root, "v");
	cr_assert_not_null(it, "no string v after decoding %s", value);
	cr_expect_eq(strlen(it->data.string), strlen(want),
	    "decoding %s: length %zu, want %zu", value,
	    strlen(it->data.string), strlen(want));
	cr_expect_str_eq(it->data.string, want, "decoding %s", value);
	cr_expect_not_null(kore_json_find_integer_u64(j.root, "after"),
	    "decoding %s: the member after v was lost", value);
	kore_json_cleanup(&j);
	kore_buf_cleanup(&clean);
	kore_buf_cleanup(&in);
}

/* ---- decoding -------------------------------------------------------- */

Test(json_in, two_byte_character)
{
	ji_expect("\"\\u00e9\"", "\"\xc3\xa9\"");
	ji_expect("\"caf\\u00e9!\"", "\"caf\xc3\xa9!\"");
	ji_expect("\"\\u00E9\"", "\"\xc3\xa9\"");
	ji_parses_to("\"\\u00e9\"", "\xc3\xa9");
}

Test(json_in, ascii_and_boundaries)
{
	ji_expect("\"\\u0041\"", "\"A\"");
	ji_expect("\"\\u007f\"", "\"\x7f\"");
	ji_expect("\"\\u0080\"", "\"\xc2\x80\"");
	ji_expect("\"\\u07ff\"", "\"\xdf\xbf\"");
	ji_expect("\"\\u0800\"", "\"\xe0\xa0\x80\"");
	ji_expect("\"\\uffff\"", "\"\xef\xbf\xbf\"");
}

Test(json_in, three_byte_character)
{
	ji_expect("\"\\u65e5\"", "\"\xe6\x97\xa5\"");
	ji_expect("\"\\u65e5\\u672c\"", "\"\xe6\x97\xa5\xe6\x9c\xac\"");
	ji_parses_to("\"\\u65e5\\u672c\"", "\xe6\x97\xa5\xe6\x9c\xac");
}

Test(json_in, surrogate_pair_is_one_four_byte_character)
{
	/* U+1F600 GRINNING FACE. */
	ji_expect("\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"");
	ji_expect("\"\\uD83D\\uDE00\"", "\"\xf0\x9f\x98\x80\"");
	/* The first and last characters above the BMP. */
	ji_expect("\"\\ud800\\udc00\"", "\"\xf0\x90\x80\x80\"");
	ji_expect("\"\\udbff\\udfff\"", "\"\xf4\x8f\xbf\xbf\"");
	/* Two pairs in a row, and text around them. */
	ji_expect("\"a\\ud83d\\ude00\\ud83c\\udf89b\"",
	    "\"a\xf0\x9f\x98\x80\xf0\x9f\x8e\x89" "b\"");
	ji_parses_to("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
}

Test(json_in, plain_utf8_is_copied)
{
	ji_expect("\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\"",
	    "\"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\"");
}

Test(json_in, escaped_quote_is_written_back_escaped)
{
	ji_expect("\"\\u0022\"", "\"\\\"\"");
	ji_parses_to("\"\\u0022\"", "\"");
	ji_parses_to("\"say \\u0022hi\\u0022\"", "say \"hi\"");
	/* The decoded quote does not end the string. */
	ji_parses_to("\"\\u0022,\\u0022x\\u0022:\\u0022y\"", "\",\"x\":\"y");
}

Test(json_in, escaped_backslash_is_written_back_escaped)
{
	ji_expect("\"\\u005c\"", "\"\\\\\"");
	ji_expect("\"\\u005C\"", "\"\\\\\"");
	ji_parses_to("\"\\u005c\"", "\\");
	/* A decoded backslash does not start an escape: "\n" stays two
	 * characters, backslash and n. */
	ji_parses_to("\"\\u005cn\"", "\\n");
	ji_parses_to("\"\\u005c\\u0022\"", "\\\"");
	ji_parses_to("\"\\u005cu0041\"", "\\u0041");
}

Test(json_in, short_escapes_are_kept)
{
	ji_expect("\"a\\nb\\tc\"", "\"a\\nb\\tc\"");
	ji_expect("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
	    "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"");
	ji_parses_to("\"a\\nb\\tc\"", "a\nb\tc");
	ji_parses_to("\"\\\"q\\\\\"", "\"q\\");
}

Test(json_in, decoded_short_escape_controls_become_escapes)
{
	ji_expect("\"\\u000a\"", "\"\\n\"");
	ji_expect("\"\\u0009\"", "\"\\t\"");
	ji_expect("\"\\u000d\"", "\"\\r\"");
	ji_expect("\"\\u0008\"", "\"\\b\"");
	ji_expect("\"\\u000c\"", "\"\\f\"");
	ji_parses_to("\"1\\u000a2\\u000d\\u000a3\\u0009\"", "1\n2\r\n3\t");
}

Test(json_in, text_outside_strings_is_untouched)
{
	const char	*doc = " {\n\t\"a\" : [ 1.5e3 , -2 , true , false , "
			    "null ] ,\"b\":{ } }\r\n";

	ji_expect(doc, doc);
	ji_expect("", "");
	ji_expect("[]", "[]");
	ji_expect("42", "42");
	/* A \u outside any string is not JSON, and is left alone. */
	ji_expect("\\u0041[\"\\u0042\"]\\u0043",
	    "\\u0041[\"B\"]\\u0043");
}

Test(json_in, escaped_key_becomes_a_plain_key)
{
	struct kore_buf		 clean;
	struct kore_json	 j;
	struct kore_json_item	*it;
	const char		*in = "{\"\\u0061\":\"x\",\"\\u00e9t\\u00e9\":1}";
	const char		*why;

	ji_expect(in, "{\"a\":\"x\",\"\xc3\xa9t\xc3\xa9\":1}");

	kore_buf_init(&clean, 64);
	cr_assert_eq(json_in_decode((const u_int8_t *)in, strlen(in), &clean,
	    &why), 0);
	kore_json_init(&j, clean.data, clean.offset);
	cr_assert(kore_json_parse(&j), "%s", kore_json_strerror(&j));
	it = kore_json_find_string(j.root, "a");
	cr_assert_not_null(it, "no key a");
	cr_expect_str_eq(it->data.string, "x");
	kore_json_cleanup(&j);
	kore_buf_cleanup(&clean);
}

Test(json_in, escaped_backslash_before_u_is_not_decoded)
{
	/* "\\u0041" is a backslash followed by the text u0041. */
	ji_expect("\"\\\\u0041\"", "\"\\\\u0041\"");
	ji_parses_to("\"\\\\u0041\"", "\\u0041");
	/* Two escaped backslashes, then a real escape. */
	ji_expect("\"\\\\\\\\\\u0041\"", "\"\\\\\\\\A\"");
	/* An escaped backslash, then a real escape. */
	ji_expect("\"\\\\\\u0041\"", "\"\\\\A\"");
	ji_parses_to("\"\\\\\\u0041\"", "\\A");
}

Test(json_in, escaped_quote_does_not_end_the_string)
{
	/* After \" the decoder is still inside the string. */
	ji_expect("\"a\\\"\\u0041\"", "\"a\\\"A\"");
	ji_expect("[\"\\\"\",\"\\u0042\"]", "[\"\\\"\",\"B\"]");
	/* A string that ends in an escaped backslash ends there. */
	ji_expect("[\"x\\\\\",\"\\u0043\"]", "[\"x\\\\\",\"C\"]");
}

Test(json_in, appends_to_what_the_buffer_holds)
{
	struct kore_buf	 b;
	const char	*why, *in = "\"\\u00e9\"";

	kore_buf_init(&b, 16);
	kore_buf_append(&b, "pre:", 4);
	cr_assert_eq(json_in_decode((const u_int8_t *)in, strlen(in), &b,
	    &why), 0);
	cr_expect_str_eq(kore_buf_stringify(&b, NULL), "pre:\"\xc3\xa9\"");
	kore_buf_cleanup(&b);
}

Test(json_in, only_len_bytes_are_read)
{
	struct kore_buf	 b;
	const char	*why, *in = "\"A\"\\u0042garbage";

	kore_buf_init(&b, 16);
	cr_assert_eq(json_in_decode((const u_int8_t *)in, 3, &b, &why), 0);
	cr_expect_eq(b.offset, 3);
	cr_expect_eq(memcmp(b.data, "\"A\"", 3), 0);
	kore_buf_cleanup(&b);
}

/* ---- refusals -------------------------------------------------------- */

Test(json_in, lone_low_surrogate_is_refused)
{
	ji_refused("\"\\udc00\"", "surrogate");
	ji_refused("\"\\udfff\"", "surrogate");
	ji_refused("\"a\\ude00b\"", "surrogate");
	/* A low surrogate first, then a high one: not a pair. */
	ji_refused("\"\\ude00\\ud83d\"", "surrogate");
}

Test(json_in, lone_high_surrogate_is_refused)
{
	ji_refused("\"\\ud800\"", "surrogate");
	ji_refused("\"\\ud83d\"", "surrogate");
	ji_refused("\"\\ud83dx\"", "surrogate");
	ji_refused("\"\\ud83d\\n\"", "surrogate");
	ji_refused("\"\\ud83d\\u0041\"", "surrogate");
	ji_refused("\"\\ud83d\\ud83d\"", "surrogate");
	/* At the very end of the input. */
	ji_refused("\"\\ud83d", NULL);
	ji_refused("\"\\ud83d\\", NULL);
	ji_refused("\"\\ud83d\\ude0", NULL);
}

Test(json_in, bad_hex_is_refused)
{
	ji_refused("\"\\u00g1\"", "hex");
	ji_refused("\"\\uzzzz\"", "hex");
	ji_refused("\"\\u12\"", "hex");
	ji_refused("\"\\u 123\"", "hex");
	ji_refused("\"\\u-123\"", "hex");
	ji_refused("\"\\ud83d\\udeXX\"", NULL);
}

Test(json_in, escaped_control_character_is_refused)
{
	ji_refused("\"\\u0001\"", "control");
	ji_refused("\"\\u0000\"", "control");
	ji_refused("\"\\u001f\"", "control");
	ji_refused("\"\\u001b[31m\"", "control");
}

Test(json_in, truncated_escape_at_end_is_refused)
{
	ji_refused("\"abc\\", NULL);
	ji_refused("\"\\u", NULL);
	ji_refused("\"\\u00", NULL);
	ji_refused("\"\\u00e", NULL);
}
