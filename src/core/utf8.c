/*
 * utf8.c: validation and length of UTF-8 text, following RFC 3629's
 * table of well-formed byte sequences. Owns no memory.
 */

#include <stddef.h>
#include <stdint.h>

#include "core/utf8.h"

/* Returns the length of the sequence starting at s, or 0 when malformed. */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char	c, lo, hi;
	size_t		n, i;

	c = s[0];
	lo = 0x80;
	hi = 0xbf;
	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (c == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;		/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;		/* above U+10FFFF */
	} else
		return (0);

	if (n > avail)
		return (0);
	if (s[1] < lo || s[1] > hi)
		return (0);
	for (i = 2; i < n; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf)
			return (0);
	}
	return (n);
}

int
utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;

	for (i = 0; i < len; i += n) {
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return (0);
	}
	return (1);
}

size_t
utf8_length(const char *s, size_t len)
{
	size_t		i, count;

	count = 0;
	for (i = 0; i < len; i++) {
		/* Count every byte that is not a continuation byte. */
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	}
	return (count);
}

int
utf8_has_controls(const char *s, size_t len)
{
	unsigned char	c;
	size_t		i;

	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') ||
		    c == 0x7f)
			return (1);
	}
	return (0);
}
