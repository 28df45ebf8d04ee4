/*
 * store_file.c: a backup file is whole or absent (store_file.h). Every
 * backend writes its copy under a name of its own beside the target and
 * renames it into place once it is synced; a copy that failed half way
 * is removed. Shared by store_sqlite_backup.c and store_pg_backup.c.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store_file.h"

static int	store_file_sync(const char *, char *, size_t);

int
store_file_partial(const char *file, char *part, size_t partlen, char *err,
    size_t errlen)
{
	if ((size_t)snprintf(part, partlen, "%s.partial", file) >= partlen) {
		(void)snprintf(err, errlen, "%s: path too long", file);
		return (-1);
	}
	if (unlink(part) == -1 && errno != ENOENT) {
		(void)snprintf(err, errlen, "cannot write the backup: %s: %s",
		    part, strerror(errno));
		return (-1);
	}
	return (0);
}

int
store_file_install(const char *part, const char *file, char *err,
    size_t errlen)
{
	char		dir[4096];

	if (store_file_sync(part, err, errlen) == -1) {
		(void)unlink(part);
		return (-1);
	}
	if (rename(part, file) == -1) {
		(void)snprintf(err, errlen, "%s: %s", file, strerror(errno));
		(void)unlink(part);
		return (-1);
	}
	/* dirname() may change its argument: a copy of the name. */
	(void)snprintf(dir, sizeof(dir), "%s", file);
	return (store_file_sync(dirname(dir), err, errlen));
}

/* fsync() of a file or directory, so a rename is durable too. */
static int
store_file_sync(const char *path, char *err, size_t errlen)
{
	int		 fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if ((rc = fsync(fd)) == -1)
		(void)snprintf(err, errlen, "%s: fsync: %s", path,
		    strerror(errno));
	(void)close(fd);
	return (rc);
}
