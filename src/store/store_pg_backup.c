/*
 * store_pg_backup.c: the operator's copies of a PostgreSQL store
 * (formworkctl backup and restore; see store.h), made by PostgreSQL's
 * own tools: pg_dump writes the copy, in its custom format, and
 * pg_restore puts one back. They know every kind of object the schema
 * has (functions, triggers, identity sequences, the unaccent extension)
 * and keep up with each PostgreSQL release; a copy written here by hand
 * would have to, table by table.
 *
 * A backup is pg_dump's one snapshot (a repeatable-read transaction,
 * which holds up no writer) into a file beside the target, synced and
 * renamed over it once pg_dump succeeded (store_file.c), as SQLite's
 * backup is. A restore first reads the copy's schema version out of the
 * archive and looks at the target, so that a copy this build cannot run
 * or a database that holds a site's data is refused before anything is
 * written; then pg_restore runs as one transaction, so a restore that
 * fails leaves the database as it was. A copy of an older schema is
 * migrated by the first connection afterwards, as a server's start
 * would, and the result is checked and counted table by table.
 *
 * The tools run as child processes from argument vectors (never through
 * a shell), found on PATH (Debian's postgresql-client-15), with
 * --no-password (they never ask on a terminal). Their --dbname is the
 * URL's connection string without its password, which goes into their
 * environment as PGPASSWORD instead: anyone may read a process's
 * arguments (ps), only its user its environment. What they write on
 * standard error, its first STORE_PG_TOOL_SAYS bytes, becomes the
 * error's sentence. Nothing here runs in a server.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <sodium.h>

#include "store/store_file.h"
#include "store/store_pg.h"

/* How the tools are given the password (libpq reads it). */
#define PG_PASSWORD_VAR		"PGPASSWORD="
/* How much of a tool's standard error goes into the error message. */
#define STORE_PG_TOOL_SAYS	320
/* Enough for pg_restore's script of the schema_version table. */
#define STORE_PG_SCRIPT_MAX	(64 * 1024)

extern char	**environ;

static int	store_pg_tool(const char *const [], const char *, int, char *,
		    size_t);
static int	store_pg_target(const char *, char **, char **, char *,
		    size_t);
static int	store_pg_spawn(char *const [], char *const [], int, char *,
		    size_t);
static int	store_pg_archive_version(const char *, int *, char *, size_t);
static int	store_pg_schema_made(PGconn *, int *, char *, size_t);
static int	store_pg_restored_say(const char *,
		    void (*)(const char *, void *), void *, char *, size_t);

int
store_pg_backup(const char *url, const char *file, char *err,
    size_t errlen)
{
	const char	*args[] = { "pg_dump", "--format=custom",
			    "--no-password", "--dbname", NULL, NULL };
	char		 part[4096], *dsn, *password;
	int		 fd, rc;

	if (store_file_partial(file, part, sizeof(part), err, errlen) == -1)
		return (-1);
	if (store_pg_target(url, &dsn, &password, err, errlen) == -1)
		return (-1);
	args[4] = dsn;
	/* A copy holds password hashes: for its owner's eyes only. */
	if ((fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		(void)snprintf(err, errlen, "cannot write the backup: %s: %s",
		    part, strerror(errno));
		kore_free(dsn);
		kore_free(password);
		return (-1);
	}
	rc = store_pg_tool(args, password, fd, err, errlen);
	kore_free(dsn);
	kore_free(password);
	if (close(fd) == -1 && rc == 0) {
		(void)snprintf(err, errlen, "%s: %s", part, strerror(errno));
		rc = -1;
	}
	if (rc == -1) {
		(void)unlink(part);
		(void)snprintf(err + strlen(err), errlen - strlen(err),
		    "; no backup was written");
		return (-1);
	}
	return (store_file_install(part, file, err, errlen));
}

int
store_pg_restore(const char *url, const char *file,
    void (*say)(const char *, void *), void *arg, char *err, size_t errlen)
{
	/*
	 * --clean drops what an empty schema has (a node that started once
	 * made its tables) before the copy's own are made. The objects
	 * belong to whoever restores: the copy's owner may not exist here.
	 */
	const char	*args[] = { "pg_restore", "--single-transaction",
			    "--exit-on-error", "--clean", "--if-exists",
			    "--no-owner", "--no-privileges", "--no-password",
			    "--dbname", NULL, "--", file, NULL };
	PGconn		*conn;
	char		*dsn, *password;
	int		 version, holds, rc, made = 0;

	if (store_pg_archive_version(file, &version, err, errlen) == -1)
		return (-1);
	if (version < 1 || version > store_pg_nmigrations) {
		(void)snprintf(err, errlen, "%s: not a Formwork backup this "
		    "version can use (schema version %d, this Formwork's is "
		    "%d); nothing was restored", file, version,
		    store_pg_nmigrations);
		return (-1);
	}
	if ((conn = store_pg_open(url, err, errlen)) == NULL)
		return (-1);
	rc = store_pg_holds_data(conn, &holds, err, errlen);
	if (rc == 0)
		rc = store_pg_schema_made(conn, &made, err, errlen);
	PQfinish(conn);
	if (rc == -1)
		return (-1);
	/*
	 * --clean drops the copy's objects only: what a later migration
	 * made would stay in the way of the copy's (or of the migrations
	 * that bring the copy forward).
	 */
	if (!holds && made > version) {
		(void)snprintf(err, errlen, "a newer Formwork (schema version "
		    "%d) has set this database up, and the backup is of "
		    "schema version %d: restore it into a database no node "
		    "has used yet (create one); nothing was restored", made,
		    version);
		return (-1);
	}
	if (holds) {
		(void)snprintf(err, errlen, "the database already holds "
		    "Formwork data; restore puts a backup into an empty "
		    "database only (create one, or drop this one's tables); "
		    "nothing was restored");
		return (-1);
	}
	if (store_pg_target(url, &dsn, &password, err, errlen) == -1)
		return (-1);
	args[9] = dsn;
	rc = store_pg_tool(args, password, STDOUT_FILENO, err, errlen);
	kore_free(dsn);
	kore_free(password);
	if (rc == -1) {
		(void)snprintf(err + strlen(err), errlen - strlen(err),
		    "; nothing was restored");
		return (-1);
	}
	return (store_pg_restored_say(url, say, arg, err, errlen));
}

/* The schema version a node's migrations gave the database (0: none). */
static int
store_pg_schema_made(PGconn *conn, int *made, char *err, size_t errlen)
{
	PGresult	*res;
	int		 ok;

	*made = 0;
	res = PQexec(conn, "SELECT to_regclass('schema_version') IS NOT NULL");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	if (ok && PQgetvalue(res, 0, 0)[0] == 't') {
		PQclear(res);
		res = PQexec(conn, "SELECT coalesce(max(version), 0) FROM "
		    "schema_version");
		ok = PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1;
		if (ok)
			*made = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
	}
	PQclear(res);
	if (!ok) {
		(void)snprintf(err, errlen, "cannot read the database: %s",
		    PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
		return (-1);
	}
	return (0);
}

int
store_pg_holds_data(PGconn *conn, int *holds, char *err, size_t errlen)
{
	struct kore_buf	 sql;
	PGresult	*res;
	size_t		 i;
	int		 col, ok;

	/* A table that is not there holds nothing (and cannot be read). */
	kore_buf_init(&sql, 512);
	kore_buf_appendf(&sql, "SELECT true");
	for (i = 0; i < STORE_PG_NTABLES; i++)
		kore_buf_appendf(&sql, ", to_regclass('%s') IS NOT NULL",
		    store_pg_tables[i].name);
	res = PQexec(conn, kore_buf_stringify(&sql, NULL));
	kore_buf_reset(&sql);
	kore_buf_appendf(&sql, "SELECT true");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
	for (i = 0, col = 1; ok && i < STORE_PG_NTABLES; i++, col++) {
		if (!store_pg_tables[i].made &&
		    PQgetvalue(res, 0, col)[0] == 't')
			kore_buf_appendf(&sql, " AND NOT EXISTS (SELECT 1 "
			    "FROM %s)", store_pg_tables[i].name);
	}
	PQclear(res);
	res = ok ? PQexec(conn, kore_buf_stringify(&sql, NULL)) : NULL;
	kore_buf_cleanup(&sql);
	if (!ok || PQresultStatus(res) != PGRES_TUPLES_OK) {
		(void)snprintf(err, errlen, "cannot read the database: %s",
		    PQerrorMessage(conn));
		err[strcspn(err, "\n")] = '\0';
		PQclear(res);
		return (-1);
	}
	*holds = PQgetvalue(res, 0, 0)[0] != 't';
	PQclear(res);
	return (0);
}

/*
 * The highest schema version the archive's schema_version table holds
 * (0 when it has none: no Formwork backup), read from the script
 * pg_restore writes of that table's rows alone.
 */
static int
store_pg_archive_version(const char *file, int *version, char *err,
    size_t errlen)
{
	const char	*args[] = { "pg_restore", "--data-only",
			    "--table=schema_version", "--file=-", "--", file,
			    NULL };
	char		*script, *line, *next, *end;
	ssize_t		 n;
	size_t		 len;
	long		 v;
	int		 fd, rows;

	if ((fd = memfd_create("formwork-restore", MFD_CLOEXEC)) == -1) {
		(void)snprintf(err, errlen, "memfd_create: %s",
		    strerror(errno));
		return (-1);
	}
	if (store_pg_tool(args, NULL, fd, err, errlen) == -1) {
		(void)close(fd);
		(void)snprintf(err + strlen(err), errlen - strlen(err),
		    "; nothing was restored");
		return (-1);
	}
	script = kore_malloc(STORE_PG_SCRIPT_MAX + 1);
	len = 0;
	while (len < STORE_PG_SCRIPT_MAX && (n = pread(fd, script + len,
	    STORE_PG_SCRIPT_MAX - len, (off_t)len)) > 0)
		len += (size_t)n;
	(void)close(fd);
	script[len] = '\0';

	/* COPY public.schema_version (version) FROM stdin; rows; \. */
	*version = 0;
	rows = 0;
	for (line = script; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (strncmp(line, "COPY ", 5) == 0 &&
		    strstr(line, "schema_version") != NULL) {
			rows = 1;
			continue;
		}
		if (!rows)
			continue;
		if (strcmp(line, "\\.") == 0)
			break;
		v = strtol(line, &end, 10);
		if (*end == '\0' && end != line && v > *version &&
		    v < 1000000)
			*version = (int)v;
	}
	kore_free(script);
	return (0);
}

/*
 * After pg_restore: the first connection migrates a copy of an older
 * schema, as a server's start would; then the version must be this
 * build's, and each table's rows are said.
 */
static int
store_pg_restored_say(const char *url, void (*say)(const char *, void *),
    void *arg, char *err, size_t errlen)
{
	struct store_pg_conn	 c;
	struct kore_buf		 sql;
	PGresult		*res;
	char			 line[128];
	size_t			 i;
	int			 version;

	store_pg_configure(url);
	memset(&c, 0, sizeof(c));
	if (store_pg_connect(&c, err, errlen) == -1)
		return (-1);
	kore_buf_init(&sql, 1024);
	kore_buf_appendf(&sql, "SELECT (SELECT max(version) FROM "
	    "schema_version)");
	for (i = 0; i < STORE_PG_NTABLES; i++)
		kore_buf_appendf(&sql, ", (SELECT count(*) FROM %s)",
		    store_pg_tables[i].name);
	res = PQexec(c.conn, kore_buf_stringify(&sql, NULL));
	kore_buf_cleanup(&sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		(void)snprintf(err, errlen, "restored, but cannot read it "
		    "back: %s", PQerrorMessage(c.conn));
		err[strcspn(err, "\n")] = '\0';
		PQclear(res);
		store_pg_drop(&c);
		return (-1);
	}
	version = (int)store_pg_num(res, 0, 0);
	if (version != store_pg_nmigrations) {
		(void)snprintf(err, errlen, "restored, but its schema version "
		    "is %d where this Formwork's is %d", version,
		    store_pg_nmigrations);
		PQclear(res);
		store_pg_drop(&c);
		return (-1);
	}
	(void)snprintf(line, sizeof(line), "schema version %d", version);
	say(line, arg);
	for (i = 0; i < STORE_PG_NTABLES; i++) {
		(void)snprintf(line, sizeof(line), "%s: %s",
		    store_pg_tables[i].name, PQgetvalue(res, 0, (int)i + 1));
		say(line, arg);
	}
	PQclear(res);
	store_pg_drop(&c);
	return (0);
}

/*
 * url as the tools take it: *dsn, a connection string of its settings
 * but the password, and *password (NULL when it has none); both freed
 * with kore_free. libpq parses url as the server would connect with it.
 */
static int
store_pg_target(const char *url, char **dsn, char **password, char *err,
    size_t errlen)
{
	PQconninfoOption	*opts, *o;
	struct kore_buf		 b;
	const char		*v;
	char			*msg;

	msg = NULL;
	if ((opts = PQconninfoParse(url, &msg)) == NULL) {
		(void)snprintf(err, errlen, "FORMWORK_DB is not a PostgreSQL "
		    "address libpq reads: %s", msg ? msg : "out of memory");
		PQfreemem(msg);
		return (-1);
	}
	*password = NULL;
	kore_buf_init(&b, 128);
	/* The servers' defaults first: a setting of the URL's overrides. */
	kore_buf_appendf(&b, "connect_timeout=%s gssencmode=disable",
	    STORE_PG_CONNECT_S);
	for (o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL)
			continue;
		if (strcmp(o->keyword, "password") == 0) {
			*password = kore_strdup(o->val);
			continue;
		}
		/* keyword='value', with ' and \ escaped as libpq reads them */
		kore_buf_appendf(&b, " %s='", o->keyword);
		for (v = o->val; *v != '\0'; v++) {
			if (*v == '\'' || *v == '\\')
				kore_buf_append(&b, "\\", 1);
			kore_buf_append(&b, v, 1);
		}
		kore_buf_append(&b, "'", 1);
	}
	PQconninfoFree(opts);
	*dsn = kore_strdup(kore_buf_stringify(&b, NULL));
	kore_buf_cleanup(&b);
	return (0);
}

/*
 * Runs args[0], found on PATH, with args (ended by NULL), its standard
 * input empty, its standard output into out, PGPASSWORD set to password
 * in its environment (when NULL, the environment's own PGPASSWORD, if
 * any, stays), and waits for it: 0 when it exits
 * with 0, else -1 with a sentence in err that ends with what it wrote on
 * its standard error.
 */
static int
store_pg_tool(const char *const args[], const char *password, int out,
    char *err, size_t errlen)
{
	char		**argv, **envp, *secret;
	size_t		  n, i, e, len;
	int		  rc;

	/* exec() takes its arguments as writable strings: copies. */
	for (n = 0; args[n] != NULL; n++)
		;
	argv = kore_calloc(n + 1, sizeof(*argv));
	for (i = 0; i < n; i++)
		argv[i] = kore_strdup(args[i]);
	/* The environment's own strings, but for the password's. */
	for (e = 0; environ[e] != NULL; e++)
		;
	envp = kore_calloc(e + 2, sizeof(*envp));
	for (i = 0, e = 0; environ[i] != NULL; i++) {
		if (password == NULL || strncmp(environ[i], PG_PASSWORD_VAR,
		    sizeof(PG_PASSWORD_VAR) - 1) != 0)
			envp[e++] = environ[i];
	}
	secret = NULL;
	if (password != NULL) {
		len = sizeof(PG_PASSWORD_VAR) + strlen(password);
		secret = kore_malloc(len);
		(void)snprintf(secret, len, "%s%s", PG_PASSWORD_VAR, password);
		envp[e] = secret;
	}
	rc = store_pg_spawn(argv, envp, out, err, errlen);
	for (i = 0; i < n; i++)
		kore_free(argv[i]);
	kore_free(argv);
	kore_free(envp);
	if (secret != NULL) {
		sodium_memzero(secret, len);
		kore_free(secret);
	}
	return (rc);
}

static int
store_pg_spawn(char *const argv[], char *const envp[], int out, char *err,
    size_t errlen)
{
	posix_spawn_file_actions_t	 fa;
	pid_t				 pid;
	ssize_t				 n;
	size_t				 have, i, j;
	char				 said[STORE_PG_TOOL_SAYS + 1], buf[512];
	int				 pipefd[2], rc, status;

	if (pipe2(pipefd, O_CLOEXEC) == -1) {
		(void)snprintf(err, errlen, "pipe: %s", strerror(errno));
		return (-1);
	}
	(void)posix_spawn_file_actions_init(&fa);
	(void)posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	(void)posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
	(void)posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, envp);
	(void)posix_spawn_file_actions_destroy(&fa);
	(void)close(pipefd[1]);
	if (rc != 0) {
		(void)close(pipefd[0]);
		if (rc == ENOENT)
			(void)snprintf(err, errlen, "%s is not installed (on "
			    "Debian: apt-get install postgresql-client-15)",
			    argv[0]);
		else
			(void)snprintf(err, errlen, "cannot run %s: %s",
			    argv[0], strerror(rc));
		return (-1);
	}

	/* Read to the end, keeping the first bytes: the tool never blocks. */
	have = 0;
	while ((n = read(pipefd[0], buf, sizeof(buf))) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < (size_t)n && have < STORE_PG_TOOL_SAYS; i++)
			said[have++] = buf[i];
	}
	(void)close(pipefd[0]);
	/* One line: PostgreSQL's hints follow on lines of their own. */
	for (i = 0, j = 0; i < have; i++) {
		if (!isspace((unsigned char)said[i]))
			said[j++] = said[i];
		else if (j > 0 && said[j - 1] != ' ')
			said[j++] = ' ';
	}
	while (j > 0 && said[j - 1] == ' ')
		j--;
	said[j] = '\0';
	have = j;

	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			(void)snprintf(err, errlen, "waitpid: %s",
			    strerror(errno));
			return (-1);
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return (0);
	if (WIFEXITED(status))
		(void)snprintf(err, errlen, "%s failed (exit status %d): %s",
		    argv[0], WEXITSTATUS(status), have > 0 ? said :
		    "it said nothing");
	else
		(void)snprintf(err, errlen, "%s was killed by signal %d",
		    argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return (-1);
}
