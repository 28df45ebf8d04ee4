/*
 * fuzz_json_in.c: libFuzzer target for the \uXXXX decoder in front of
 * Kore's JSON parser (src/core/json_in.c), as the JSON API runs it on request
 * bodies: json_in_decode(), then kore_json_parse() of the result.
 *
 * Checked:
 *   - input holding no "\u" at all comes out byte for byte (and can only
 *     fail by ending inside an escape);
 *   - decoding is idempotent: the output decodes to itself;
 *   - valid UTF-8 in gives valid UTF-8 out (src/core/utf8.c), so surrogate
 *     pairs are combined and nothing else is invented;
 *   - a failure always says why.
 */

#include <sys/types.h>

#include <string.h>

#include <kore/kore.h>

#include "core/json_in.h"
#include "core/utf8.h"

#include "fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kore_buf		 out, again;
	struct kore_json	 j;
	const char		*why, *why2;
	int			 rc, has_u;

	has_u = size >= 2 && memmem(data, size, "\\u", 2) != NULL;

	kore_buf_init(&out, size + 16);
	why = NULL;
	rc = json_in_decode(data, size, &out, &why);
	if (rc == -1) {
		FUZZ_ASSERT(why != NULL && why[0] != '\0', "a reason");
		if (!has_u)
			FUZZ_ASSERT(strstr(why, "inside an escape") != NULL,
			    "without \\u only a cut escape fails");
		kore_buf_cleanup(&out);
		return (0);
	}
	FUZZ_ASSERT(rc == 0, "0 or -1");

	if (!has_u) {
		FUZZ_ASSERT(out.offset == size && (size == 0 ||
		    memcmp(out.data, data, size) == 0),
		    "no \\u: copied byte for byte");
	}
	if (utf8_valid((const char *)data, size))
		FUZZ_ASSERT(utf8_valid((const char *)out.data, out.offset),
		    "UTF-8 stays UTF-8");

	kore_buf_init(&again, out.offset + 16);
	why2 = NULL;
	rc = json_in_decode(out.data, out.offset, &again, &why2);
	FUZZ_ASSERT(rc == 0, "the output decodes again");
	FUZZ_ASSERT(again.offset == out.offset && (out.offset == 0 ||
	    memcmp(again.data, out.data, out.offset) == 0),
	    "decoding is idempotent");
	kore_buf_cleanup(&again);

	kore_json_init(&j, out.data, out.offset);
	(void)kore_json_parse(&j);
	kore_json_cleanup(&j);

	kore_buf_cleanup(&out);
	return (0);
}
