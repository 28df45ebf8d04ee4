/*
 * utf8.h: UTF-8 checks on byte strings that came from users. Pure
 * functions with no Kore types, so they are unit-tested directly.
 */

#ifndef FORMWORK_UTF8_H
#define FORMWORK_UTF8_H

#include <stddef.h>

/* Returns 1 when s[0..len) is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing above U+10FFFF), else 0. */
int	utf8_valid(const char *s, size_t len);

/* Number of code points in well-formed UTF-8 s[0..len). */
size_t	utf8_length(const char *s, size_t len);

/* Returns 1 when s holds a C0 control other than TAB, LF and CR, or DEL. */
int	utf8_has_controls(const char *s, size_t len);

#endif
