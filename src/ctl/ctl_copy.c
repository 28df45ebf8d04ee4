/*
 * ctl_copy.c: formworkctl backup, restore, check and migrate (see
 * ctl_copy.h).
 * The work is the store's (store.h); this file only reads the command
 * line and says what happened.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "core/fail.h"
#include "ctl/ctl_copy.h"
#include "store/store.h"

static void	ctl_check_say(const char *, void *);

/* formworkctl backup FILE: a consistent copy, also while serving. */
int
ctl_backup(const char *path, int argc, char **argv)
{
	char		 err[512];

	if (argc != 1)
		return (fail("usage: formworkctl backup FILE"));
	if (store_backup(path, argv[0], err, sizeof(err)) == -1)
		return (fail("%s", err));
	printf("backed up %s into %s\n", path, argv[0]);
	return (0);
}

/* formworkctl restore FILE: the server must be stopped. */
int
ctl_restore(const char *path, int argc, char **argv)
{
	char		 err[512];

	if (argc != 1)
		return (fail("usage: formworkctl restore FILE"));
	if (store_restore(path, argv[0], ctl_check_say, NULL, err,
	    sizeof(err)) == -1 ||
	    store_init(path, err, sizeof(err)) == -1)
		return (fail("%s", err));
	printf("restored %s from %s\n", path, argv[0]);
	return (0);
}

/*
 * formworkctl migrate --to URL: the SQLite store (the server stopped)
 * into an empty PostgreSQL database; says what it copied, per table.
 */
int
ctl_migrate(const char *path, int argc, char **argv)
{
	char		 err[512];

	if (argc != 2 || strcmp(argv[0], "--to") != 0)
		return (fail("usage: formworkctl migrate --to "
		    "postgresql://USER@HOST/DB"));
	printf("copying %s into %s\n", path, argv[1]);
	if (store_migrate(path, argv[1], ctl_check_say, NULL, err,
	    sizeof(err)) == -1)
		return (fail("%s", err));
	printf("done: set FORMWORK_DB=%s on every node\n", argv[1]);
	return (0);
}

/* formworkctl check: changes nothing; exit status 1 on any problem. */
int
ctl_check(const char *path, int argc, char **argv)
{
	char		 err[512];
	int		 problems;

	if (argc != 0)
		return (fail("usage: formworkctl check"));
	if ((problems = store_check(path, ctl_check_say, NULL, err,
	    sizeof(err))) == -1)
		return (fail("%s", err));
	if (problems > 0)
		return (fail("%s: %d problem%s found", path, problems,
		    problems == 1 ? "" : "s"));
	return (0);
}

static void
ctl_check_say(const char *line, void *arg)
{
	printf("%s\n", line);
}
