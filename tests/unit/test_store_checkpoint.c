/*
 * test_store_checkpoint.c: the submissions' writer leaves checkpoints to
 * another connection (src/store/store_sqlite.c, src/worker/checkpoint.c): its log
 * grows until store_checkpoint() runs, store_checkpoint() keeps the log
 * from growing past a bound, and it never waits for a slow reader. Also
 * the other upkeep of a store filled in bulk: store_search_optimize().
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "store/store.h"

#include "store_tmp.h"

/* 1,000 pages of 4 KB plus their frame headers, and some slack. */
#define LOG_BOUND	(3 * 1000 * (4096 + 24))
#define BATCH		20

static char	db_path[64];
static char	wal_path[80];
static int	seq;

static void
ckpt_setup(void)
{
	store_tmp_open(db_path, sizeof(db_path), "ckpt");
	(void)snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
}

static void
ckpt_teardown(void)
{
	store_tmp_remove(db_path);
}

TestSuite(store_checkpoint, .init = ckpt_setup, .fini = ckpt_teardown);

/* Commits one batch of BATCH submissions of about 2 KB each. */
static void
commit_batch(void)
{
	static char		 data[2100];
	struct store_submission	 subs[BATCH], *ptrs[BATCH];
	char			 keys[BATCH][32];
	size_t			 i;

	if (data[0] == '\0') {
		(void)snprintf(data, sizeof(data), "{\"message\":\"");
		for (i = strlen(data); i < sizeof(data) - 3; i++)
			data[i] = (char)('a' + i % 26);
		(void)strcpy(data + i, "\"}");
	}
	memset(subs, 0, sizeof(subs));
	for (i = 0; i < BATCH; i++, seq++) {
		(void)snprintf(subs[i].id, sizeof(subs[i].id), "id%020d", seq);
		(void)snprintf(keys[i], sizeof(keys[i]), "key%d", seq);
		subs[i].form = "contact";
		subs[i].key = keys[i];
		(void)snprintf(subs[i].hash, sizeof(subs[i].hash), "h%d", seq);
		subs[i].data = data;
		subs[i].client = "127.0.0.1";
		subs[i].created_ms = 1700000000000ULL + (u_int64_t)seq;
		ptrs[i] = &subs[i];
	}
	store_submissions_insert(ptrs, BATCH);
	for (i = 0; i < BATCH; i++)
		cr_assert_eq(subs[i].result, STORE_OK, "submission %d",
		    seq - BATCH + (int)i);
}

static off_t
log_size(void)
{
	struct stat	st;

	cr_assert_eq(stat(wal_path, &st), 0, "no log at %s", wal_path);
	return (st.st_size);
}

Test(store_checkpoint, the_writer_alone_never_checkpoints)
{
	int	i;

	for (i = 0; i < 400; i++)
		commit_batch();
	cr_assert(store_log_needs_checkpoint());
	cr_assert_gt(log_size(), LOG_BOUND, "the log stayed at %lld bytes",
	    (long long)log_size());
}

Test(store_checkpoint, checkpoints_keep_the_log_bounded)
{
	struct store_handle	*h;
	int			 i, checkpoints;

	h = store_handle_new();
	checkpoints = 0;
	for (i = 0; i < 400; i++) {
		commit_batch();
		if (store_log_needs_checkpoint()) {
			store_checkpoint(h);
			checkpoints++;
		}
	}
	store_handle_free(h);
	cr_assert_gt(checkpoints, 0);
	cr_assert_leq(log_size(), LOG_BOUND, "the log grew to %lld bytes",
	    (long long)log_size());
}

Test(store_checkpoint, a_slow_reader_is_not_waited_for)
{
	struct store_handle	*h;
	struct timespec		 t0, t1;
	sqlite3			*reader;
	double			 ms;
	int			 i;

	for (i = 0; i < 60; i++)
		commit_batch();

	/* A reader on this snapshot, as a long export would be. */
	cr_assert_eq(sqlite3_open(db_path, &reader), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM "
	    "submissions", NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < 400 && !store_log_needs_checkpoint(); i++)
		commit_batch();
	cr_assert(store_log_needs_checkpoint(), "the log never grew");

	h = store_handle_new();
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	store_checkpoint(h);
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	/* The store's busy handler would have waited 5 s for the reader. */
	cr_assert_lt(ms, 1000.0, "the checkpoint waited %.0f ms", ms);

	/* Once the reader is gone, the log starts over. */
	cr_assert_eq(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(reader);
	store_checkpoint(h);
	commit_batch();
	cr_assert(!store_log_needs_checkpoint(),
	    "the log did not start over after a checkpoint");
	store_handle_free(h);
}

/* One integer from a query on a connection of its own. */
static int
count_of(const char *sql)
{
	sqlite3		*conn;
	sqlite3_stmt	*st;
	int		 n;

	cr_assert_eq(sqlite3_open(db_path, &conn), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(conn, sql, -1, &st, NULL), SQLITE_OK,
	    "%s: %s", sql, sqlite3_errmsg(conn));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW, "%s", sql);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(conn);
	return (n);
}

Test(store_checkpoint, optimize_merges_the_search_index_and_keeps_it_whole)
{
	struct store_handle	*h;
	int			 i, records;

	/* Every batch adds segments to the search index. */
	for (i = 0; i < 40; i++)
		commit_batch();
	records = count_of("SELECT count(*) FROM submissions_fts_data");

	h = store_handle_new();
	store_search_optimize(h);
	store_handle_free(h);

	cr_assert_lt(count_of("SELECT count(*) FROM submissions_fts_data"),
	    records, "the index was not merged (%d records before)", records);
	/* Every message is one long word, "mnop...": commit_batch(). */
	cr_assert_eq(count_of("SELECT count(*) FROM submissions_fts WHERE "
	    "submissions_fts MATCH 'mnopq*'"), 40 * BATCH,
	    "rows went missing from the index");
}
