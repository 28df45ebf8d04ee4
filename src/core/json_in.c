/*
 * json_in.c: decodes \uXXXX escapes in JSON strings (see json_in.h).
 * A decoded quote or backslash is written back as \" or \\, and the
 * control characters JSON has short escapes for as those escapes, so the
 * result means exactly what the input meant.
 */

#include <sys/types.h>

#include <kore/kore.h>

#include "core/json_in.h"

static int
json_in_hex4(const u_int8_t *p, size_t avail, u_int32_t *out)
{
	u_int32_t	v;
	size_t		i;
	u_int8_t	c;

	if (avail < 4)
		return (-1);
	v = 0;
	for (i = 0; i < 4; i++) {
		c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return (-1);
	}
	*out = v;
	return (0);
}

static void
json_in_utf8(struct kore_buf *out, u_int32_t cp)
{
	u_int8_t	b[4];
	size_t		n;

	if (cp < 0x80) {
		b[0] = (u_int8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | (cp >> 6);
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | (cp >> 12);
		b[1] = 0x80 | ((cp >> 6) & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | (cp >> 18);
		b[1] = 0x80 | ((cp >> 12) & 0x3f);
		b[2] = 0x80 | ((cp >> 6) & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	kore_buf_append(out, b, n);
}

int
json_in_decode(const u_int8_t *data, size_t len, struct kore_buf *out,
    const char **why)
{
	u_int32_t	cp, lo;
	size_t		i;
	int		in_string;

	in_string = 0;
	for (i = 0; i < len; i++) {
		if (!in_string || data[i] != '\\') {
			if (data[i] == '"')
				in_string = !in_string;
			kore_buf_append(out, &data[i], 1);
			continue;
		}
		if (i + 1 >= len) {
			*why = "the JSON ends inside an escape";
			return (-1);
		}
		if (data[i + 1] != 'u') {
			kore_buf_append(out, &data[i], 2);
			i++;
			continue;
		}
		if (json_in_hex4(data + i + 2, len - i - 2, &cp) == -1) {
			*why = "a \\u escape is not four hex digits";
			return (-1);
		}
		i += 5;
		if (cp >= 0xdc00 && cp <= 0xdfff) {
			*why = "a \\u escape holds a lone low surrogate";
			return (-1);
		}
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (len - i < 7 || data[i + 1] != '\\' ||
			    data[i + 2] != 'u' ||
			    json_in_hex4(data + i + 3, len - i - 3, &lo) == -1 ||
			    lo < 0xdc00 || lo > 0xdfff) {
				*why = "a \\u escape holds a lone high surrogate";
				return (-1);
			}
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		}
		switch (cp) {
		case '"':
			kore_buf_append(out, "\\\"", 2);
			break;
		case '\\':
			kore_buf_append(out, "\\\\", 2);
			break;
		case '\b':
			kore_buf_append(out, "\\b", 2);
			break;
		case '\f':
			kore_buf_append(out, "\\f", 2);
			break;
		case '\n':
			kore_buf_append(out, "\\n", 2);
			break;
		case '\r':
			kore_buf_append(out, "\\r", 2);
			break;
		case '\t':
			kore_buf_append(out, "\\t", 2);
			break;
		default:
			if (cp < 0x20) {
				*why = "the JSON holds an escaped control "
				    "character";
				return (-1);
			}
			json_in_utf8(out, cp);
			break;
		}
	}
	return (0);
}
