/*
 * store_tmp.h: a store of its own for each store test suite, in /tmp:
 * made by the suite's init (store_init and store_configure on a file
 * named after the suite and the test process), removed by its fini
 * together with its log, shared memory and change counter, once the
 * process's connections are closed.
 */

#ifndef TESTS_UNIT_STORE_TMP_H
#define TESTS_UNIT_STORE_TMP_H

#include <stdio.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "store/store.h"

static inline void
store_tmp_open(char *path, size_t len, const char *suite)
{
	char	err[256];

	(void)snprintf(path, len, "/tmp/fw-%s-%d.db", suite, (int)getpid());
	cr_assert_eq(store_init(path, err, sizeof(err)), 0, "%s", err);
	store_configure(path);
}

static inline void
store_tmp_remove(const char *db)
{
	const char	*suffix[] = { "", "-wal", "-shm", "-epoch" };
	char		 path[128];
	size_t		 i;

	store_writer_close();
	store_close();
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s%s", db, suffix[i]);
		(void)unlink(path);
	}
}

#endif
