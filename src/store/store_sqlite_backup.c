/*
 * store_sqlite_backup.c: the operator's copies of an SQLite store
 * (formworkctl backup, restore and check; see store.h).
 *
 * A backup is VACUUM INTO a file beside the target: one read
 * transaction, so one snapshot, which in WAL mode never holds up the
 * servers' writers; it is synced and then renamed over the target, so a
 * file by that name is always a whole copy (store_file.c). A restore copies pages with
 * SQLite's online backup API into the store's own file, in one
 * transaction, after checking the copy. Nothing here runs in a server.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store_file.h"
#include "store/store_sqlite.h"

static int	store_copy_sound(sqlite3 *, const char *, char *, size_t);
static int	store_check_rows(sqlite3 *, const char *, const char *,
		    void (*)(const char *, void *), void *);
static int	store_int(sqlite3 *, const char *, int *);

int
store_sqlite_backup(const char *path, const char *file, char *err,
    size_t errlen)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 part[4096];
	int		 rc;

	/* VACUUM INTO wants no file by that name. */
	if (store_file_partial(file, part, sizeof(part), err, errlen) == -1)
		return (-1);
	if (store_connect_flags(path, SQLITE_OPEN_READWRITE, &db, err,
	    errlen) == -1)
		return (-1);
	rc = sqlite3_prepare_v2(db, "VACUUM INTO ?", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, part, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_DONE)
		(void)snprintf(err, errlen, "backup of %s: %s", path,
		    sqlite3_errmsg(db));
	sqlite3_close(db);
	/* One self-contained file: no write-ahead log beside it. */
	if (rc == SQLITE_DONE && (store_connect_flags(part,
	    SQLITE_OPEN_READWRITE, &db, err, errlen) == -1 ||
	    sqlite3_exec(db, "PRAGMA journal_mode=DELETE", NULL, NULL,
	    NULL) != SQLITE_OK || sqlite3_close(db) != SQLITE_OK))
		rc = SQLITE_ERROR;
	if (rc != SQLITE_DONE) {
		(void)unlink(part);
		return (-1);
	}
	return (store_file_install(part, file, err, errlen));
}

/* The copy replaces the file whole: nothing to say table by table. */
int
store_sqlite_restore(const char *path, const char *file,
    void (*say)(const char *, void *), void *arg, char *err, size_t errlen)
{
	sqlite3		*src, *dst;
	sqlite3_backup	*b;
	int		 rc;

	if (store_connect_flags(file, SQLITE_OPEN_READONLY, &src, err,
	    errlen) == -1)
		return (-1);
	if (store_copy_sound(src, file, err, errlen) == -1) {
		sqlite3_close(src);
		return (-1);
	}
	if (store_sqlite_lock(path, 1, err, errlen) == -1 ||
	    store_connect(path, &dst, err, errlen) == -1) {
		sqlite3_close(src);
		return (-1);
	}
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		rc = sqlite3_errcode(dst);
	} else {
		rc = sqlite3_backup_step(b, -1);
		(void)sqlite3_backup_finish(b);
	}
	if (rc != SQLITE_DONE)
		(void)snprintf(err, errlen, "restore of %s into %s: %s", file,
		    path, sqlite3_errmsg(dst));
	sqlite3_close(dst);
	sqlite3_close(src);
	if (rc != SQLITE_DONE)
		return (-1);
	/* Pages kept by a server on this host were of the old store. */
	if (store_epoch_open(path, err, errlen) == -1)
		return (-1);
	store_sqlite_epoch_bump();
	return (0);
}

int
store_sqlite_check(const char *path, void (*say)(const char *, void *),
    void *arg, char *err, size_t errlen)
{
	sqlite3		*db;
	char		 line[256];
	int		 problems, version, subs, jobs;

	if (store_connect_flags(path, SQLITE_OPEN_READWRITE, &db, err,
	    errlen) == -1)
		return (-1);
	problems = store_check_rows(db, "PRAGMA integrity_check", "ok", say,
	    arg);
	problems += store_check_rows(db, "PRAGMA foreign_key_check", NULL,
	    say, arg);
	if (sqlite3_exec(db, "INSERT INTO submissions_fts(submissions_fts) "
	    "VALUES('integrity-check')", NULL, NULL, NULL) != SQLITE_OK) {
		(void)snprintf(line, sizeof(line), "search index: %s",
		    sqlite3_errmsg(db));
		say(line, arg);
		problems++;
	}
	if (store_int(db, "PRAGMA user_version", &version) == -1)
		version = -1;
	if (version != store_schema_version) {
		(void)snprintf(line, sizeof(line), "schema version %d, this "
		    "Formwork's is %d%s", version, store_schema_version,
		    version >= 0 && version < store_schema_version ?
		    " (the server's next start migrates it)" : "");
		say(line, arg);
		problems++;
	}
	if (problems == 0 &&
	    store_int(db, "SELECT count(*) FROM submissions", &subs) == 0 &&
	    store_int(db, "SELECT count(*) FROM jobs", &jobs) == 0) {
		(void)snprintf(line, sizeof(line), "ok: integrity, foreign "
		    "keys, search index, schema version %d; %d submissions, "
		    "%d jobs", version, subs, jobs);
		say(line, arg);
	}
	sqlite3_close(db);
	return (problems);
}

/*
 * A copy worth restoring: SQLite finds nothing wrong in it and it is a
 * Formwork store this build can run (a newer schema cannot be).
 */
static int
store_copy_sound(sqlite3 *db, const char *file, char *err, size_t errlen)
{
	sqlite3_stmt	*st;
	const char	*ok;
	int		 version, good;

	good = 0;
	version = -1;
	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
	    NULL) == SQLITE_OK) {
		good = sqlite3_step(st) == SQLITE_ROW &&
		    (ok = (const char *)sqlite3_column_text(st, 0)) != NULL &&
		    strcmp(ok, "ok") == 0;
		sqlite3_finalize(st);
	}
	if (!good) {
		(void)snprintf(err, errlen, "%s: not a sound SQLite database "
		    "(%s); nothing was restored", file, sqlite3_errmsg(db));
		return (-1);
	}
	if (store_int(db, "PRAGMA user_version", &version) == -1 ||
	    version < 1 || version > store_schema_version ||
	    store_int(db, "SELECT count(*) FROM submissions", &good) == -1) {
		(void)snprintf(err, errlen, "%s: not a Formwork store this "
		    "version can use (schema version %d); nothing was "
		    "restored", file, version);
		return (-1);
	}
	return (0);
}

/* Says each row of sql but one equal to fine; returns how many. */
static int
store_check_rows(sqlite3 *db, const char *sql, const char *fine,
    void (*say)(const char *, void *), void *arg)
{
	sqlite3_stmt	*st;
	char		 line[512];
	const char	*t;
	int		 n, rc, i;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		(void)snprintf(line, sizeof(line), "%s: %s", sql,
		    sqlite3_errmsg(db));
		say(line, arg);
		return (1);
	}
	n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		t = (const char *)sqlite3_column_text(st, 0);
		if (fine != NULL && t != NULL && strcmp(t, fine) == 0)
			continue;
		line[0] = '\0';
		for (i = 0; i < sqlite3_column_count(st); i++) {
			t = (const char *)sqlite3_column_text(st, i);
			(void)snprintf(line + strlen(line),
			    sizeof(line) - strlen(line), "%s%s", i ? " " : "",
			    t ? t : "NULL");
		}
		say(line, arg);
		n++;
	}
	if (rc != SQLITE_DONE) {
		(void)snprintf(line, sizeof(line), "%s: %s", sql,
		    sqlite3_errmsg(db));
		say(line, arg);
		n++;
	}
	sqlite3_finalize(st);
	return (n);
}

/* The first column of sql's first row as an int; -1 on failure. */
static int
store_int(sqlite3 *db, const char *sql, int *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return (-1);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return (rc == SQLITE_ROW ? 0 : -1);
}
