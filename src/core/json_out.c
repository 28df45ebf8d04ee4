/*
 * json_out.c: writes JSON strings with the escapes RFC 8259 requires.
 * Owns no memory; appends to the caller's buffer.
 */

#include <sys/types.h>

#include <kore/kore.h>

#include "core/json_out.h"

void
json_out_string(struct kore_buf *b, const char *s)
{
	const char	*run;

	kore_buf_append(b, "\"", 1);
	for (run = s; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x20 && *s != '"' && *s != '\\')
			continue;
		kore_buf_append(b, run, s - run);
		switch (*s) {
		case '"':
			kore_buf_append(b, "\\\"", 2);
			break;
		case '\\':
			kore_buf_append(b, "\\\\", 2);
			break;
		case '\n':
			kore_buf_append(b, "\\n", 2);
			break;
		case '\r':
			kore_buf_append(b, "\\r", 2);
			break;
		case '\t':
			kore_buf_append(b, "\\t", 2);
			break;
		default:
			kore_buf_appendf(b, "\\u%04x", (unsigned char)*s);
			break;
		}
		run = s + 1;
	}
	kore_buf_append(b, run, s - run);
	kore_buf_append(b, "\"", 1);
}
