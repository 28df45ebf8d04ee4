/*
 * json_in.h: prepares JSON from clients for Kore's parser, which rejects
 * \uXXXX escapes although every JSON encoder may write them (Python's
 * json.dumps does by default). Escapes are turned into UTF-8 bytes inside
 * strings; everything else is copied as it is.
 */

#ifndef FORMWORK_JSON_IN_H
#define FORMWORK_JSON_IN_H

#include <sys/types.h>

#include <stddef.h>

struct kore_buf;

/*
 * Appends data[0..len) to out with \u escapes decoded. Returns -1 with a
 * sentence in *why on a broken escape (a lone surrogate, bad hex) or an
 * escaped control character other than \b \f \n \r \t.
 */
int	json_in_decode(const u_int8_t *data, size_t len, struct kore_buf *out,
	    const char **why);

#endif
