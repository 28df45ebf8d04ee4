/*
 * test_store_sync.c: what the submissions' writer acknowledges is on
 * disk (src/store/store_sqlite.c). The store runs on a VFS that passes every
 * call to SQLite's own and counts, for the write-ahead log, the bytes
 * written since its last sync and the syncs: when a batch returns STORE_OK
 * nothing written to the log may still wait for a sync, and a batch costs
 * one sync, whatever its size (group commit).
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "store/store.h"

#include "store_tmp.h"

struct shim_file {
	sqlite3_file	 base;
	sqlite3_file	*real;		/* follows this struct */
	int		 wal;
};

static sqlite3_vfs	*real_vfs;
static sqlite3_vfs	 shim_vfs;
static size_t		 wal_unsynced;	/* bytes written, not yet synced */
static int		 wal_syncs;
static char		 db_path[64];

#define REAL(f)		(((struct shim_file *)(f))->real)

static int
shim_close(sqlite3_file *f)
{
	return (REAL(f)->pMethods->xClose(REAL(f)));
}

static int
shim_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
	return (REAL(f)->pMethods->xRead(REAL(f), buf, n, off));
}

static int
shim_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
	if (((struct shim_file *)f)->wal)
		wal_unsynced += (size_t)n;
	return (REAL(f)->pMethods->xWrite(REAL(f), buf, n, off));
}

static int
shim_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	return (REAL(f)->pMethods->xTruncate(REAL(f), size));
}

static int
shim_sync(sqlite3_file *f, int flags)
{
	int	rc;

	rc = REAL(f)->pMethods->xSync(REAL(f), flags);
	if (rc == SQLITE_OK && ((struct shim_file *)f)->wal) {
		wal_unsynced = 0;
		wal_syncs++;
	}
	return (rc);
}

static int
shim_size(sqlite3_file *f, sqlite3_int64 *size)
{
	return (REAL(f)->pMethods->xFileSize(REAL(f), size));
}

static int
shim_lock(sqlite3_file *f, int level)
{
	return (REAL(f)->pMethods->xLock(REAL(f), level));
}

static int
shim_unlock(sqlite3_file *f, int level)
{
	return (REAL(f)->pMethods->xUnlock(REAL(f), level));
}

static int
shim_check_lock(sqlite3_file *f, int *out)
{
	return (REAL(f)->pMethods->xCheckReservedLock(REAL(f), out));
}

static int
shim_control(sqlite3_file *f, int op, void *arg)
{
	return (REAL(f)->pMethods->xFileControl(REAL(f), op, arg));
}

static int
shim_sector(sqlite3_file *f)
{
	return (REAL(f)->pMethods->xSectorSize(REAL(f)));
}

static int
shim_device(sqlite3_file *f)
{
	return (REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)));
}

static int
shim_shm_map(sqlite3_file *f, int pg, int pgsz, int extend,
    void volatile **out)
{
	return (REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, out));
}

static int
shim_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
	return (REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags));
}

static void
shim_shm_barrier(sqlite3_file *f)
{
	REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int
shim_shm_unmap(sqlite3_file *f, int delete)
{
	return (REAL(f)->pMethods->xShmUnmap(REAL(f), delete));
}

static int
shim_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **out)
{
	return (REAL(f)->pMethods->xFetch(REAL(f), off, n, out));
}

static int
shim_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return (REAL(f)->pMethods->xUnfetch(REAL(f), off, p));
}

static const sqlite3_io_methods shim_io = {
	3, shim_close, shim_read, shim_write, shim_truncate, shim_sync,
	shim_size, shim_lock, shim_unlock, shim_check_lock, shim_control,
	shim_sector, shim_device, shim_shm_map, shim_shm_lock,
	shim_shm_barrier, shim_shm_unmap, shim_fetch, shim_unfetch
};

static int
shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
    int *out)
{
	struct shim_file	*sf = (struct shim_file *)f;
	int			 rc;

	sf->real = (sqlite3_file *)(sf + 1);
	sf->wal = (flags & SQLITE_OPEN_WAL) != 0;
	rc = real_vfs->xOpen(real_vfs, name, sf->real, flags, out);
	/* SQLite calls xClose only when pMethods is set. */
	f->pMethods = sf->real->pMethods != NULL ? &shim_io : NULL;
	return (rc);
}

static void
sync_setup(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	shim_vfs = *real_vfs;
	shim_vfs.zName = "formwork-test-sync";
	shim_vfs.szOsFile = (int)sizeof(struct shim_file) + real_vfs->szOsFile;
	shim_vfs.xOpen = shim_open;
	cr_assert_eq(sqlite3_vfs_register(&shim_vfs, 1), SQLITE_OK);

	store_tmp_open(db_path, sizeof(db_path), "sync");
}

static void
sync_teardown(void)
{
	store_tmp_remove(db_path);
}

TestSuite(store_sync, .init = sync_setup, .fini = sync_teardown);

/* Fills subs[i] as a valid contact submission numbered from first. */
static void
make_batch(struct store_submission *subs, struct store_submission **ptrs,
    char (*keys)[32], size_t n, int first)
{
	size_t	i;

	memset(subs, 0, n * sizeof(*subs));
	for (i = 0; i < n; i++) {
		(void)snprintf(subs[i].id, sizeof(subs[i].id), "id%020d",
		    first + (int)i);
		(void)snprintf(keys[i], sizeof(keys[i]), "key%d",
		    first + (int)i);
		subs[i].form = "contact";
		subs[i].key = keys[i];
		(void)snprintf(subs[i].hash, sizeof(subs[i].hash), "h%d",
		    first + (int)i);
		subs[i].data = "{\"name\":\"Ada\",\"message\":\"hello\"}";
		subs[i].client = "127.0.0.1";
		subs[i].created_ms = 1700000000000ULL + (u_int64_t)i;
		subs[i].result = STORE_ERROR;
		ptrs[i] = &subs[i];
	}
}

static int
stored_rows(void)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int		 n;

	cr_assert_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(db, "SELECT count(*) FROM "
	    "submissions", -1, &st, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return (n);
}

Test(store_sync, acknowledged_batch_is_synced)
{
	struct store_submission	 subs[1], *ptrs[1];
	char			 keys[1][32];

	make_batch(subs, ptrs, keys, 1, 0);
	store_submissions_insert(ptrs, 1);
	cr_assert_eq(subs[0].result, STORE_OK);
	cr_assert_gt(wal_syncs, 0, "the log was never synced");
	cr_assert_eq(wal_unsynced, 0, "%zu bytes of the log not synced when "
	    "the batch was acknowledged", wal_unsynced);
	cr_assert_eq(stored_rows(), 1);
}

Test(store_sync, one_sync_per_batch)
{
	struct store_submission	 subs[64], *ptrs[64];
	char			 keys[64][32];
	size_t			 i;
	int			 before;

	/* The first batch also creates the log; count from the second. */
	make_batch(subs, ptrs, keys, 1, 0);
	store_submissions_insert(ptrs, 1);
	cr_assert_eq(subs[0].result, STORE_OK);

	make_batch(subs, ptrs, keys, 64, 1);
	before = wal_syncs;
	store_submissions_insert(ptrs, 64);
	for (i = 0; i < 64; i++)
		cr_assert_eq(subs[i].result, STORE_OK, "submission %zu", i);
	cr_assert_eq(wal_syncs - before, 1, "64 submissions took %d syncs",
	    wal_syncs - before);
	cr_assert_eq(wal_unsynced, 0);
	cr_assert_eq(stored_rows(), 65);
}

Test(store_sync, every_batch_is_synced)
{
	struct store_submission	 subs[8], *ptrs[8];
	char			 keys[8][32];
	int			 b;

	for (b = 0; b < 20; b++) {
		make_batch(subs, ptrs, keys, 8, b * 8);
		store_submissions_insert(ptrs, 8);
		cr_assert_eq(subs[7].result, STORE_OK, "batch %d", b);
		cr_assert_eq(wal_unsynced, 0, "batch %d acknowledged with "
		    "%zu bytes of the log not synced", b, wal_unsynced);
	}
	cr_assert_eq(stored_rows(), 160);
}
