/*
 * admin_view.h: how the desk shows stored submissions: a list row, a
 * date, and a field's raw value (for the detail page and the CSV).
 */

#ifndef FORMWORK_ADMIN_VIEW_H
#define FORMWORK_ADMIN_VIEW_H

#include <sys/types.h>

#include <stddef.h>

struct kore_buf;
struct kore_json_item;
struct store_row;

/* Appends one row's object (id, form, date, states, summary) to arr. */
void	admin_view_row(struct kore_json_item *arr, const struct store_row *);

/* "2026-11-22 09:40 UTC" */
void	admin_view_when(u_int64_t ms, char *out, size_t len);

/*
 * Appends the value of field name in the stored values object to out:
 * the string, or the strings of a list joined by ", ". Returns 0 when
 * the field is absent.
 */
int	admin_view_value(const struct kore_json_item *values,
	    const char *name, struct kore_buf *out);

#endif
