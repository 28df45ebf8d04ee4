/*
 * store_migrate.c: formworkctl migrate --to postgresql://... (see
 * store.h): copies an SQLite store, every table, into an empty
 * PostgreSQL database, for a site moving from one machine to several.
 * The one file that speaks to both backends at once; nothing here runs
 * in a server.
 *
 * The two schemas have the same tables and columns (store_pg_sql.c), so
 * each table is read with one SELECT of its columns and written with one
 * COPY of the same columns, all in one PostgreSQL transaction: a copy
 * that stops half way leaves the target empty, and a second attempt
 * starts over. PostgreSQL's own triggers are off while rows arrive as
 * they are (a copied job must not mark its submission's actions pending
 * again, nor notify anyone); what they keep is computed once at the end
 * (the counts per review state), and the identity columns go on after
 * the highest id copied. The source is locked against a server starting
 * meanwhile (store_lock).
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "store/store_pg.h"
#include "store/store_sqlite.h"

/* Flushed to PostgreSQL when a COPY's buffer grows past this. */
#define STORE_MIGRATE_CHUNK	(256 * 1024)

static int	store_migrate_table(sqlite3 *, PGconn *, size_t, u_int64_t *,
		    char *, size_t);
static void	store_migrate_value(struct kore_buf *, const char *);

int
store_migrate(const char *from, const char *to,
    void (*say)(const char *, void *), void *arg, char *err, size_t errlen)
{
	struct store_pg_conn	 c;
	sqlite3			*src;
	u_int64_t		 counts[STORE_PG_NTABLES];
	char			 line[256];
	size_t			 i;
	int			 rc, holds;

	if (!store_is_file(from) || store_is_file(to)) {
		(void)snprintf(err, errlen, "migrate copies an SQLite store "
		    "(FORMWORK_DB a file) to PostgreSQL (--to postgresql://"
		    "...)");
		return (-1);
	}
	/* Brings the source up to date first, as a server's start would. */
	if (store_sqlite_lock(from, 1, err, errlen) == -1 ||
	    store_sqlite_init(from, err, errlen) == -1 ||
	    store_connect_flags(from, SQLITE_OPEN_READONLY, &src, err,
	    errlen) == -1)
		return (-1);
	store_pg_configure(to);
	memset(&c, 0, sizeof(c));
	/* Migrates the target's schema (an empty database gets all of it). */
	if (store_pg_connect(&c, err, errlen) == -1) {
		sqlite3_close(src);
		return (-1);
	}
	rc = -1;
	if (store_pg_holds_data(c.conn, &holds, err, errlen) == -1)
		goto out;
	if (holds) {
		(void)snprintf(err, errlen, "the target database already holds "
		    "Formwork data; migrate copies into an empty one only "
		    "(nothing was copied)");
		goto out;
	}
	if (store_pg_exec(c.conn, "BEGIN", err, errlen) == -1)
		goto out;
	for (i = 0; i < STORE_PG_NTABLES; i++) {
		(void)snprintf(line, sizeof(line), "ALTER TABLE %s DISABLE "
		    "TRIGGER USER", store_pg_tables[i].name);
		if (store_pg_tables[i].made)
			(void)snprintf(line, sizeof(line), "DELETE FROM %s",
			    store_pg_tables[i].name);
		if (store_pg_exec(c.conn, line, err, errlen) == -1)
			goto fail;
		if (store_pg_tables[i].copy_trigger != NULL) {
			(void)snprintf(line, sizeof(line), "ALTER TABLE %s "
			    "ENABLE TRIGGER %s", store_pg_tables[i].name,
			    store_pg_tables[i].copy_trigger);
			if (store_pg_exec(c.conn, line, err, errlen) == -1)
				goto fail;
		}
		if (store_migrate_table(src, c.conn, i, &counts[i], err,
		    errlen) == -1)
			goto fail;
		(void)snprintf(line, sizeof(line), "ALTER TABLE %s ENABLE "
		    "TRIGGER USER", store_pg_tables[i].name);
		if (store_pg_exec(c.conn, line, err, errlen) == -1)
			goto fail;
		if (!store_pg_tables[i].ided)
			continue;
		(void)snprintf(line, sizeof(line), "SELECT setval("
		    "pg_get_serial_sequence('%s', 'id'), coalesce(max(id), 0) "
		    "+ 1, false) FROM %s", store_pg_tables[i].name,
		    store_pg_tables[i].name);
		if (store_pg_exec(c.conn, line, err, errlen) == -1)
			goto fail;
	}
	if (store_pg_exec(c.conn, "INSERT INTO review_counts SELECT form, "
	    "review, 0, count(*) FROM submissions GROUP BY form, review", err,
	    errlen) == -1 ||
	    store_pg_exec(c.conn, "ANALYZE", err, errlen) == -1 ||
	    store_pg_exec(c.conn, "COMMIT", err, errlen) == -1)
		goto fail;
	for (i = 0; i < STORE_PG_NTABLES; i++) {
		(void)snprintf(line, sizeof(line), "%s: %llu",
		    store_pg_tables[i].name,
		    (unsigned long long)counts[i]);
		say(line, arg);
	}
	rc = 0;
	goto out;
fail:
	(void)store_pg_exec(c.conn, "ROLLBACK", NULL, 0);
out:
	store_pg_drop(&c);
	sqlite3_close(src);
	return (rc);
}

/* Copies table i, row by row, through one COPY; *n rows. */
static int
store_migrate_table(sqlite3 *src, PGconn *dst, size_t i, u_int64_t *n,
    char *err, size_t errlen)
{
	struct kore_buf	 sql, rows;
	sqlite3_stmt	*st;
	PGresult	*res;
	int		 rc, col, ncols, ok;

	*n = 0;
	kore_buf_init(&sql, 256);
	kore_buf_appendf(&sql, "SELECT %s FROM %s",
	    store_pg_tables[i].columns, store_pg_tables[i].name);
	rc = sqlite3_prepare_v2(src, kore_buf_stringify(&sql, NULL), -1, &st,
	    NULL);
	kore_buf_cleanup(&sql);
	if (rc != SQLITE_OK) {
		(void)snprintf(err, errlen, "%s: %s",
		    store_pg_tables[i].name, sqlite3_errmsg(src));
		return (-1);
	}
	kore_buf_init(&sql, 256);
	kore_buf_appendf(&sql, "COPY %s (%s) FROM STDIN",
	    store_pg_tables[i].name, store_pg_tables[i].columns);
	res = PQexec(dst, kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		(void)snprintf(err, errlen, "%s: %s",
		    store_pg_tables[i].name, PQerrorMessage(dst));
		PQclear(res);
		sqlite3_finalize(st);
		return (-1);
	}
	PQclear(res);

	ok = 1;
	ncols = sqlite3_column_count(st);
	kore_buf_init(&rows, STORE_MIGRATE_CHUNK + 4096);
	while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		for (col = 0; col < ncols; col++) {
			if (col > 0)
				kore_buf_append(&rows, "\t", 1);
			store_migrate_value(&rows,
			    (const char *)sqlite3_column_text(st, col));
		}
		kore_buf_append(&rows, "\n", 1);
		(*n)++;
		if (rows.offset >= STORE_MIGRATE_CHUNK) {
			ok = PQputCopyData(dst, (const char *)rows.data,
			    (int)rows.offset) == 1;
			kore_buf_reset(&rows);
		}
	}
	if (ok && rows.offset > 0)
		ok = PQputCopyData(dst, (const char *)rows.data,
		    (int)rows.offset) == 1;
	kore_buf_cleanup(&rows);
	if (rc != SQLITE_DONE) {
		(void)snprintf(err, errlen, "%s: %s",
		    store_pg_tables[i].name, sqlite3_errmsg(src));
		ok = 0;
	}
	sqlite3_finalize(st);
	(void)PQputCopyEnd(dst, ok ? NULL : "the copy stopped");
	res = PQgetResult(dst);
	if (ok && PQresultStatus(res) != PGRES_COMMAND_OK) {
		(void)snprintf(err, errlen, "%s: %s",
		    store_pg_tables[i].name, PQerrorMessage(dst));
		ok = 0;
	}
	PQclear(res);
	while ((res = PQgetResult(dst)) != NULL)
		PQclear(res);
	return (ok ? 0 : -1);
}

/* v in COPY's text format: \N for NULL, \\, \t, \n and \r escaped. */
static void
store_migrate_value(struct kore_buf *out, const char *v)
{
	const char	*p;

	if (v == NULL) {
		kore_buf_append(out, "\\N", 2);
		return;
	}
	for (p = v; *p != '\0'; p++) {
		switch (*p) {
		case '\\':
			kore_buf_append(out, "\\\\", 2);
			break;
		case '\t':
			kore_buf_append(out, "\\t", 2);
			break;
		case '\n':
			kore_buf_append(out, "\\n", 2);
			break;
		case '\r':
			kore_buf_append(out, "\\r", 2);
			break;
		default:
			kore_buf_append(out, p, 1);
			break;
		}
	}
}
