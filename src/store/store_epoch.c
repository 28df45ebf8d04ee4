/*
 * store_epoch.c: a counter that moves whenever a stored submission's
 * result page may change outside the submit path (a review, a retry, a
 * deletion, a prune). Readers that keep answers derived from the store
 * (result_cache.c) note the counter before reading and trust what they
 * kept only while it has not moved.
 *
 * The counter lives in a small file beside the database, mapped shared:
 * the Kore parent maps it before forking, so every worker sees the same
 * word, and formworkctl maps the same file, so a prune run from the
 * command line reaches the running server too. That makes it per host:
 * store.h says what nodes sharing one database need instead.
 */

#include <sys/types.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store/store_sqlite.h"

#define STORE_EPOCH_SUFFIX	"-epoch"

static u_int64_t	*store_epoch_word = NULL;

static int	store_epoch_file(const char *, char *, size_t, char *, size_t);
static int	store_epoch_fill(int);

int
store_epoch_open(const char *db_path, char *err, size_t errlen)
{
	char		path[4096];
	void		*map;
	int		fd;

	if (store_epoch_word != NULL)
		return (0);
	if ((fd = store_epoch_file(db_path, path, sizeof(path), err,
	    errlen)) == -1)
		return (-1);
	/*
	 * The word is written, not made by ftruncate(): a hole would be
	 * allocated only when the mapping is first touched, and on a full
	 * disk that touch is a SIGBUS instead of an error.
	 */
	if (store_epoch_fill(fd) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void)close(fd);
		return (-1);
	}
	map = mmap(NULL, sizeof(u_int64_t), PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0);
	(void)close(fd);
	if (map == MAP_FAILED) {
		(void)snprintf(err, errlen, "%s: mmap: %s", path,
		    strerror(errno));
		return (-1);
	}
	store_epoch_word = map;
	return (0);
}

u_int64_t
store_sqlite_epoch(void)
{
	if (store_epoch_word == NULL)
		return (0);
	return (__atomic_load_n(store_epoch_word, __ATOMIC_ACQUIRE));
}

void
store_sqlite_epoch_bump(void)
{
	if (store_epoch_word != NULL)
		(void)__atomic_add_fetch(store_epoch_word, 1, __ATOMIC_RELEASE);
}

/*
 * The lock is taken on its own open of the file: flock() locks belong to
 * an open file, so the fd is kept for good (a server's workers inherit
 * it across fork, and a lock ends only when the last of them exits, even
 * by kill -9). A restore's exclusive lock ends with formworkctl.
 */
int
store_sqlite_lock(const char *db_path, int exclusive, char *err, size_t errlen)
{
	char		path[4096];
	int		fd;

	if ((fd = store_epoch_file(db_path, path, sizeof(path), err,
	    errlen)) == -1)
		return (-1);
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			(void)snprintf(err, errlen, "%s is in use by a "
			    "running Formwork server: stop it first", db_path);
		else
			(void)snprintf(err, errlen, "%s: flock: %s", path,
			    strerror(errno));
		(void)close(fd);
		return (-1);
	}
	return (0);
}

/* Opens (creating) the counter's file beside db_path; -1 with err. */
static int
store_epoch_file(const char *db_path, char *path, size_t len, char *err,
    size_t errlen)
{
	int		fd;

	if ((size_t)snprintf(path, len, "%s%s", db_path, STORE_EPOCH_SUFFIX) >=
	    len) {
		(void)snprintf(err, errlen, "%s: path too long", db_path);
		return (-1);
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return (fd);
}

/* Gives a new counter file its 8 bytes, zero, for real; 0 or -1. */
static int
store_epoch_fill(int fd)
{
	struct stat	st;
	u_int64_t	zero;

	if (fstat(fd, &st) == -1)
		return (-1);
	if (st.st_size >= (off_t)sizeof(zero))
		return (0);
	zero = 0;
	if (pwrite(fd, &zero, sizeof(zero), 0) != (ssize_t)sizeof(zero))
		return (-1);
	return (fsync(fd));
}
