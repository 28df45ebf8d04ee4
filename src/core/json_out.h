/*
 * json_out.h: JSON string writing, because kore_json_item_tobuf() does not
 * escape strings. Output stays readable by Kore's own parser, which
 * rejects \u escapes: only control characters (which validation already
 * refuses) are written as \u00XX.
 */

#ifndef FORMWORK_JSON_OUT_H
#define FORMWORK_JSON_OUT_H

#include <stddef.h>

struct kore_buf;

/* Appends s as a quoted, escaped JSON string. */
void	json_out_string(struct kore_buf *, const char *s);

#endif
