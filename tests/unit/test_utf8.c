/*
 * test_utf8.c: tests for the UTF-8 checks (src/core/utf8.c) applied to every
 * submitted value: well-formedness per RFC 3629, code point counting for
 * length limits, and control character detection.
 */

#include <string.h>

#include <criterion/criterion.h>

#include "core/utf8.h"

/* utf8_valid() over a string literal that may hold NUL bytes. */
#define U8_VALID(lit)	utf8_valid((lit), sizeof(lit) - 1)
#define U8_LEN(lit)	utf8_length((lit), sizeof(lit) - 1)
#define U8_CTRL(lit)	utf8_has_controls((lit), sizeof(lit) - 1)

Test(utf8, accepts_plain_ascii)
{
	cr_assert_eq(U8_VALID("Hello, world! 0123 ~"), 1);
}

Test(utf8, accepts_empty_string)
{
	cr_assert_eq(utf8_valid("", 0), 1);
	cr_assert_eq(utf8_length("", 0), 0);
}

Test(utf8, accepts_two_three_and_four_byte_sequences)
{
	cr_assert_eq(U8_VALID("h\xc3\xa9llo"), 1);		/* é */
	cr_assert_eq(U8_VALID("\xe6\x97\xa5\xe6\x9c\xac"), 1);	/* 日本 */
	cr_assert_eq(U8_VALID("\xf0\x9f\x98\x80"), 1);		/* 😀 */
	cr_assert_eq(U8_VALID("\xc2\x80"), 1);			/* U+0080 */
	cr_assert_eq(U8_VALID("\xe0\xa0\x80"), 1);		/* U+0800 */
	cr_assert_eq(U8_VALID("\xf0\x90\x80\x80"), 1);		/* U+10000 */
}

Test(utf8, accepts_boundary_code_points)
{
	cr_assert_eq(U8_VALID("\xed\x9f\xbf"), 1);		/* U+D7FF */
	cr_assert_eq(U8_VALID("\xee\x80\x80"), 1);		/* U+E000 */
	cr_assert_eq(U8_VALID("\xef\xbf\xbf"), 1);		/* U+FFFF */
	cr_assert_eq(U8_VALID("\xf4\x8f\xbf\xbf"), 1);		/* U+10FFFF */
}

Test(utf8, rejects_two_byte_overlong)
{
	cr_assert_eq(U8_VALID("\xc0\x80"), 0);
	cr_assert_eq(U8_VALID("\xc1\xbf"), 0);
	cr_assert_eq(U8_VALID("a\xc0\xafz"), 0);		/* overlong '/' */
}

Test(utf8, rejects_three_and_four_byte_overlongs)
{
	cr_assert_eq(U8_VALID("\xe0\x80\x80"), 0);
	cr_assert_eq(U8_VALID("\xe0\x9f\xbf"), 0);
	cr_assert_eq(U8_VALID("\xf0\x80\x80\x80"), 0);
	cr_assert_eq(U8_VALID("\xf0\x8f\xbf\xbf"), 0);
}

Test(utf8, rejects_surrogates)
{
	cr_assert_eq(U8_VALID("\xed\xa0\x80"), 0);		/* U+D800 */
	cr_assert_eq(U8_VALID("\xed\xbf\xbf"), 0);		/* U+DFFF */
	cr_assert_eq(U8_VALID("\xed\xa0\xbd\xed\xb8\x80"), 0);	/* CESU pair */
}

Test(utf8, rejects_code_points_above_u10ffff)
{
	cr_assert_eq(U8_VALID("\xf4\x90\x80\x80"), 0);		/* U+110000 */
	cr_assert_eq(U8_VALID("\xf5\x80\x80\x80"), 0);
	cr_assert_eq(U8_VALID("\xf7\xbf\xbf\xbf"), 0);
	cr_assert_eq(U8_VALID("\xf8\x88\x80\x80\x80"), 0);	/* 5 bytes */
	cr_assert_eq(U8_VALID("\xff"), 0);
	cr_assert_eq(U8_VALID("\xfe"), 0);
}

Test(utf8, rejects_truncated_sequences)
{
	cr_assert_eq(U8_VALID("\xc3"), 0);
	cr_assert_eq(U8_VALID("abc\xe6\x97"), 0);
	cr_assert_eq(U8_VALID("\xf0\x9f\x98"), 0);
	/* A lead byte followed by ASCII instead of continuations. */
	cr_assert_eq(U8_VALID("\xc3" "a"), 0);
	cr_assert_eq(U8_VALID("\xe6\x97" "a"), 0);
	cr_assert_eq(U8_VALID("\xf0\x9f\x98" "a"), 0);
}

Test(utf8, truncation_is_judged_by_length_not_nul)
{
	/* The full sequence is in memory but only part is in the range. */
	const char	*s = "\xc3\xa9";

	cr_assert_eq(utf8_valid(s, 1), 0);
	cr_assert_eq(utf8_valid(s, 2), 1);
}

Test(utf8, rejects_lone_continuation_bytes)
{
	cr_assert_eq(U8_VALID("\x80"), 0);
	cr_assert_eq(U8_VALID("abc\xbf"), 0);
	cr_assert_eq(U8_VALID("\xc3\xa9\xa9"), 0);		/* one too many */
}

Test(utf8, length_counts_code_points_not_bytes)
{
	cr_assert_eq(U8_LEN("hello"), 5);
	cr_assert_eq(U8_LEN("h\xc3\xa9llo"), 5);
	cr_assert_eq(U8_LEN("\xf0\x9f\x98\x80"), 1);
	cr_assert_eq(U8_LEN("\xe6\x97\xa5\xe6\x9c\xac"), 2);
	cr_assert_eq(U8_LEN("a\xf0\x9f\x98\x80" "b\xc3\xa9"), 4);
}

Test(utf8, length_counts_nul_and_controls_as_characters)
{
	cr_assert_eq(U8_LEN("a\0b"), 3);
	cr_assert_eq(U8_LEN("a\r\nb"), 4);
}

Test(utf8, controls_flag_nul_escape_and_delete)
{
	cr_assert_eq(U8_CTRL("ab\0cd"), 1);
	cr_assert_eq(U8_CTRL("\x1b[31mred"), 1);
	cr_assert_eq(U8_CTRL("abc\x7f"), 1);
	cr_assert_eq(U8_CTRL("\x01"), 1);
	cr_assert_eq(U8_CTRL("\x1f"), 1);
	cr_assert_eq(U8_CTRL("a\x0b" "b"), 1);			/* VT */
	cr_assert_eq(U8_CTRL("a\x0c" "b"), 1);			/* FF */
	cr_assert_eq(U8_CTRL("\x08"), 1);			/* BS */
}

Test(utf8, controls_allow_tab_lf_cr_and_text)
{
	cr_assert_eq(U8_CTRL("a\tb\nc\r\nd"), 0);
	cr_assert_eq(U8_CTRL("plain text ~ 123"), 0);
	cr_assert_eq(U8_CTRL("h\xc3\xa9llo \xf0\x9f\x98\x80"), 0);
	cr_assert_eq(utf8_has_controls("", 0), 0);
}

Test(utf8, controls_only_look_inside_the_given_length)
{
	const char	s[] = { 'a', 'b', 0x01 };

	cr_assert_eq(utf8_has_controls(s, 2), 0);
	cr_assert_eq(utf8_has_controls(s, 3), 1);
}
