/*
 * test_result_cache.c: tests for the kept finished result pages (their
 * ETags and bytes, src/web/result_cache.c) and the store's shared change
 * counter they trust (src/store/store_epoch.c).
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "web/result_cache.h"
#include "store/store.h"

#define ID_A	"AAAAAAAAAAAAAAAAAAAAAA"
#define ID_B	"BBBBBBBBBBBBBBBBBBBBBB"
#define ETAG_A	"\"AAAAAAAAAAAAAAAAAAAAAA-1-0123456789abcdef-1-0\""

static char	db_path[64];

/* 1 when id's page is kept, current, under this etag. */
static int
etag_fresh(const char *id, const char *etag)
{
	struct result_cache_hit	hit;

	return (result_cache_find(id, &hit) && strcmp(hit.etag, etag) == 0);
}

/* Keeps only an ETag, as a 304 answered from the database does. */
static void
keep_etag(const char *id, const char *etag, u_int64_t epoch)
{
	result_cache_keep(id, etag, epoch, NULL, 0);
}

/* The counter is once per process; each test runs in its own process. */
static void
epoch_setup(void)
{
	char	err[256];

	(void)snprintf(db_path, sizeof(db_path), "/tmp/fw-epoch-%d.db",
	    (int)getpid());
	cr_assert_eq(store_epoch_open(db_path, err, sizeof(err)), 0, "%s",
	    err);
}

static void
epoch_teardown(void)
{
	char	path[96];

	(void)snprintf(path, sizeof(path), "%s-epoch", db_path);
	(void)unlink(path);
}

TestSuite(result_cache, .init = epoch_setup, .fini = epoch_teardown);

Test(result_cache, kept_etag_is_fresh_for_that_id_only)
{
	keep_etag(ID_A, ETAG_A, store_epoch());
	cr_assert(etag_fresh(ID_A, ETAG_A));
	cr_assert_not(etag_fresh(ID_A, "\"other\""));
	cr_assert_not(etag_fresh(ID_B, ETAG_A));
	cr_assert_not(etag_fresh(ID_A, ""));
}

Test(result_cache, nothing_kept_is_never_fresh)
{
	cr_assert_not(etag_fresh(ID_A, ETAG_A));
	cr_assert_not(etag_fresh("", ""));
}

Test(result_cache, a_change_to_the_store_voids_what_was_kept)
{
	keep_etag(ID_A, ETAG_A, store_epoch());
	store_epoch_bump();
	cr_assert_not(etag_fresh(ID_A, ETAG_A));
	/* Read again after the change, it may be kept again. */
	keep_etag(ID_A, ETAG_A, store_epoch());
	cr_assert(etag_fresh(ID_A, ETAG_A));
}

Test(result_cache, kept_with_an_epoch_read_before_a_change_is_void)
{
	u_int64_t	before = store_epoch();

	/* The page was read, then changed, then kept: not trusted. */
	store_epoch_bump();
	keep_etag(ID_A, ETAG_A, before);
	cr_assert_not(etag_fresh(ID_A, ETAG_A));
}

Test(result_cache, a_later_etag_replaces_the_earlier)
{
	keep_etag(ID_A, ETAG_A, store_epoch());
	keep_etag(ID_A, "\"newer\"", store_epoch());
	cr_assert_not(etag_fresh(ID_A, ETAG_A));
	cr_assert(etag_fresh(ID_A, "\"newer\""));
}

Test(result_cache, overlong_etag_is_not_kept)
{
	char	etag[200];

	memset(etag, 'e', sizeof(etag) - 1);
	etag[sizeof(etag) - 1] = '\0';
	keep_etag(ID_A, etag, store_epoch());
	cr_assert_not(etag_fresh(ID_A, etag));
}

Test(result_cache, many_ids_never_answer_for_each_other)
{
	char		id[32], etag[32];
	int		i, fresh;

	/* More ids than slots: collisions replace, never confuse. */
	for (i = 0; i < 3000; i++) {
		(void)snprintf(id, sizeof(id), "id%020d", i);
		(void)snprintf(etag, sizeof(etag), "\"e%d\"", i);
		keep_etag(id, etag, store_epoch());
	}
	fresh = 0;
	for (i = 0; i < 3000; i++) {
		(void)snprintf(id, sizeof(id), "id%020d", i);
		(void)snprintf(etag, sizeof(etag), "\"e%d\"", i);
		fresh += etag_fresh(id, etag);
		(void)snprintf(etag, sizeof(etag), "\"e%d\"", i + 1);
		cr_assert_not(etag_fresh(id, etag));
	}
	cr_assert_gt(fresh, 0);
	cr_assert_leq(fresh, 1024);
}

Test(result_cache, kept_page_is_served_as_kept)
{
	struct result_cache_hit	hit;
	const char		page[] = "<p>What you sent</p>";

	result_cache_keep(ID_A, ETAG_A, store_epoch(), page, sizeof(page));
	cr_assert(result_cache_find(ID_A, &hit));
	cr_assert_str_eq(hit.etag, ETAG_A);
	cr_assert_not_null(hit.page);
	cr_assert_eq(hit.len, sizeof(page));
	cr_assert_eq(memcmp(hit.page, page, sizeof(page)), 0);
	/* A copy: the caller's buffer may go. */
	cr_assert_neq(hit.page, (const void *)page);
	cr_assert_not(result_cache_find(ID_B, &hit));
}

Test(result_cache, a_kept_page_is_gone_once_the_store_changes)
{
	struct result_cache_hit	hit;
	const char		page[] = "<p>before the review</p>";

	result_cache_keep(ID_A, ETAG_A, store_epoch(), page, sizeof(page));
	store_epoch_bump();
	cr_assert_not(result_cache_find(ID_A, &hit));
	/* Nor does keeping another page bring it back. */
	result_cache_keep(ID_B, ETAG_A, store_epoch(), page, sizeof(page));
	cr_assert_not(result_cache_find(ID_A, &hit));
	cr_assert(result_cache_find(ID_B, &hit));
}

Test(result_cache, a_page_read_before_a_change_is_not_kept)
{
	struct result_cache_hit	hit;
	const char		page[] = "<p>stale</p>";
	u_int64_t		before = store_epoch();

	store_epoch_bump();
	result_cache_keep(ID_A, ETAG_A, before, page, sizeof(page));
	cr_assert_not(result_cache_find(ID_A, &hit));
}

Test(result_cache, a_large_page_keeps_only_its_etag)
{
	struct result_cache_hit	hit;
	static char		page[16 * 1024 + 1];

	memset(page, 'x', sizeof(page));
	result_cache_keep(ID_A, ETAG_A, store_epoch(), page, sizeof(page));
	cr_assert(result_cache_find(ID_A, &hit));
	cr_assert_str_eq(hit.etag, ETAG_A);
	cr_assert_null(hit.page);
	result_cache_keep(ID_A, ETAG_A, store_epoch(), page, sizeof(page) - 1);
	cr_assert(result_cache_find(ID_A, &hit));
	cr_assert_not_null(hit.page);
}

Test(result_cache, pages_kept_stay_within_a_megabyte)
{
	struct result_cache_hit	hit;
	static char		page[4096];
	char			id[32];
	int			i, pages, etags;

	/* 3,000 pages of 4 KB: 12 MB offered, at most 1 MB kept. */
	memset(page, 'p', sizeof(page));
	for (i = 0; i < 3000; i++) {
		(void)snprintf(id, sizeof(id), "id%020d", i);
		result_cache_keep(id, ETAG_A, store_epoch(), page,
		    sizeof(page));
	}
	pages = etags = 0;
	for (i = 0; i < 3000; i++) {
		(void)snprintf(id, sizeof(id), "id%020d", i);
		if (!result_cache_find(id, &hit))
			continue;
		etags++;
		pages += hit.page != NULL;
	}
	cr_assert_gt(pages, 0);
	cr_assert_leq(pages, 256);
	cr_assert_gt(etags, pages);
	/* A change frees them all: new pages are kept again. */
	store_epoch_bump();
	for (i = 0; i < 200; i++) {
		(void)snprintf(id, sizeof(id), "new%019d", i);
		result_cache_keep(id, ETAG_A, store_epoch(), page,
		    sizeof(page));
	}
	pages = 0;
	for (i = 0; i < 200; i++) {
		(void)snprintf(id, sizeof(id), "new%019d", i);
		if (result_cache_find(id, &hit) && hit.page != NULL)
			pages++;
	}
	cr_assert_gt(pages, 150);
}

/* Another process (formworkctl) maps the same file beside the database. */
Test(result_cache, a_change_made_through_another_mapping_is_seen)
{
	char		 path[96];
	u_int64_t	*other, before;
	int		 fd;

	keep_etag(ID_A, ETAG_A, store_epoch());
	(void)snprintf(path, sizeof(path), "%s-epoch", db_path);
	fd = open(path, O_RDWR);
	cr_assert_neq(fd, -1);
	other = mmap(NULL, sizeof(*other), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	cr_assert_neq(other, MAP_FAILED);
	(void)close(fd);
	before = store_epoch();
	__atomic_add_fetch(other, 1, __ATOMIC_RELEASE);
	cr_assert_eq(store_epoch(), before + 1);
	cr_assert_not(etag_fresh(ID_A, ETAG_A));
	(void)munmap(other, sizeof(*other));
}

Test(result_cache, a_child_process_shares_the_counter)
{
	u_int64_t	before = store_epoch();
	pid_t		pid;
	int		status;

	if ((pid = fork()) == 0) {
		store_epoch_bump();
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_eq(store_epoch(), before + 1);
}
