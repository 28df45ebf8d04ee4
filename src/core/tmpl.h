/*
 * tmpl.h: a Mustache template engine (the spec's interpolation, sections,
 * inverted sections, comments, partials and set-delimiter modules).
 *
 * Templates are compiled once (at start-up) into a node tree and rendered
 * many times. The data model is Kore's own JSON item tree
 * (struct kore_json_item): objects, arrays, strings, numbers, literals.
 * Every {{name}} is HTML-escaped; only {{{name}}} and {{& name}} are raw.
 */

#ifndef FORMWORK_TMPL_H
#define FORMWORK_TMPL_H

#include <stddef.h>

struct kore_buf;
struct kore_json_item;

/* A named collection of templates; partials are resolved within it. */
struct tmpl_set;

/* Returns a new empty set. Free with tmpl_set_free(). */
struct tmpl_set	*tmpl_set_new(void);
void		 tmpl_set_free(struct tmpl_set *);

/*
 * Compiles src (len bytes, need not be NUL-terminated) under name and adds
 * it to the set, replacing an earlier one of the same name. On a syntax
 * error returns -1 and writes "name:line: problem" into err.
 */
int	tmpl_set_add(struct tmpl_set *, const char *name, const char *src,
	    size_t len, char *err, size_t errlen);

/*
 * The same with the source read from the file at path (at most 512 KB);
 * a file that cannot be read is an error naming path.
 */
int	tmpl_set_add_file(struct tmpl_set *, const char *name,
	    const char *path, char *err, size_t errlen);

/* Returns 1 when the set holds a template of that name. */
int	tmpl_set_has(struct tmpl_set *, const char *name);

/*
 * Renders template name with data as the root context, appending to out.
 * A missing partial renders as empty text, as the spec says. Returns -1
 * only when name is not in the set.
 */
int	tmpl_render(struct tmpl_set *, const char *name,
	    struct kore_json_item *data, struct kore_buf *out);

/*
 * The same for plain text (a mail's subject or text part): nothing is
 * HTML-escaped, so {{name}} inserts the value as it is.
 */
int	tmpl_render_text(struct tmpl_set *, const char *name,
	    struct kore_json_item *data, struct kore_buf *out);

/* Appends s (len bytes) to out with & < > " ' escaped. */
void	tmpl_escape_html(struct kore_buf *out, const char *s, size_t len);

#endif
