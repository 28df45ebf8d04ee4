/*
 * csv.h: RFC 4180 cells for exports, made safe to open in a spreadsheet:
 * a cell starting with = + - @ TAB or CR would be read as a formula (or
 * hide one), so it is prefixed with a single quote (OWASP's advice).
 */

#ifndef FORMWORK_CSV_H
#define FORMWORK_CSV_H

struct kore_buf;

/*
 * Appends s as one cell (after a comma unless it is the first of its
 * row), quoted when it holds , " CR or LF.
 */
void	csv_cell(struct kore_buf *, const char *s, int first);

/*
 * The same for a value Formwork made itself (an id, a date, a state),
 * which may start with '-' and must stay as it is.
 */
void	csv_cell_ours(struct kore_buf *, const char *s, int first);

/* Ends a record: CRLF, as RFC 4180 asks. */
void	csv_row_end(struct kore_buf *);

#endif
