/*
 * fuzz_mime.c: libFuzzer target for mail headers (src/core/mime.c): no
 * value, however it is made, may add a header line or break one.
 *
 * Input: arbitrary bytes, used up to the first NUL as a subject and as a
 * candidate address. Checked: mime_header_text() writes exactly one
 * header, "Subject: " and CRLF at its end, whose every other line break
 * is a fold (CRLF then a space), in printable ASCII, no line longer than
 * 78 columns; an address mime_address_ok() accepts holds only letters,
 * digits, '@', '.', '-' and the local part's other atext, no more than
 * 254 bytes, so it can be put between < and > as it is.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>

#include "core/mime.h"

#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kore_buf	 out;
	const char	*p, *s;
	char		*in;
	size_t		 i, n, col;

	in = malloc(len + 1);
	FUZZ_ASSERT(in != NULL, "malloc");
	memcpy(in, data, len);
	in[len] = '\0';

	kore_buf_init(&out, 128);
	mime_header_text(&out, "Subject", in);
	s = (const char *)out.data;
	n = out.offset;
	FUZZ_ASSERT(n >= 11 && memcmp(s, "Subject: ", 9) == 0, "the name");
	FUZZ_ASSERT(memcmp(s + n - 2, "\r\n", 2) == 0, "ends the header");
	col = 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '\r') {
			FUZZ_ASSERT(i + 1 < n && s[i + 1] == '\n', "CR alone");
			FUZZ_ASSERT(i + 2 == n || s[i + 2] == ' ',
			    "a line break that is no fold");
			i++;
			col = 0;
			continue;
		}
		FUZZ_ASSERT(s[i] >= 0x20 && s[i] < 0x7f, "printable ASCII");
		FUZZ_ASSERT(++col <= 78, "at most 78 columns");
	}
	kore_buf_cleanup(&out);

	n = strlen(in);
	if (mime_address_ok(in, n)) {
		FUZZ_ASSERT(n <= 254, "at most 254 bytes");
		for (p = in; *p != '\0'; p++)
			FUZZ_ASSERT(strchr("<>\",; ()[]\\:\r\n\t", *p) == NULL &&
			    *p > 0x20 && *p < 0x7f, "a plain address");
	}
	free(in);
	return (0);
}
