/*
 * result_cache.c: a direct-mapped table of finished result pages, one per
 * worker (no locks: only the event loop uses it). A collision replaces
 * the older entry; a miss only costs the ordinary database read.
 *
 * Pages are copies in Kore's memory, counted against a budget. Once the
 * epoch has moved, every kept page is stale, so the first keep after it
 * frees them all: the budget never stays spent on pages no one can be
 * served again.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>

#include "web/result_cache.h"
#include "store/store.h"
#include "core/token.h"

#define RESULT_CACHE_SLOTS	1024
#define RESULT_CACHE_ETAG_MAX	88
#define RESULT_CACHE_PAGE_MAX	(16 * 1024)
#define RESULT_CACHE_BUDGET	(1024 * 1024)

struct result_cache_entry {
	u_int64_t	 epoch;
	char		 id[TOKEN_ID_LEN + 1];
	char		 etag[RESULT_CACHE_ETAG_MAX + 1];
	u_int8_t	*page;		/* kore_malloc'd; NULL: ETag only */
	size_t		 len;
};

static struct result_cache_entry	result_cache[RESULT_CACHE_SLOTS];
static size_t				result_cache_bytes;
/* The epoch the kept pages were read under. */
static u_int64_t			result_cache_epoch;

static struct result_cache_entry *
result_cache_slot(const char *id)
{
	const unsigned char	*p;
	u_int32_t		 h;

	/* FNV-1a; ids are random, any spread will do. */
	h = 2166136261u;
	for (p = (const unsigned char *)id; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	return (&result_cache[h % RESULT_CACHE_SLOTS]);
}

/* Frees e's page, if it has one. */
static void
result_cache_drop(struct result_cache_entry *e)
{
	if (e->page == NULL)
		return;
	kore_free(e->page);
	result_cache_bytes -= e->len;
	e->page = NULL;
	e->len = 0;
}

int
result_cache_find(const char *id, struct result_cache_hit *hit)
{
	const struct result_cache_entry	*e = result_cache_slot(id);

	if (e->id[0] == '\0' || strcmp(e->id, id) != 0 ||
	    e->epoch != store_epoch())
		return (0);
	hit->etag = e->etag;
	hit->page = e->page;
	hit->len = e->len;
	return (1);
}

void
result_cache_keep(const char *id, const char *etag, u_int64_t epoch,
    const void *page, size_t len)
{
	struct result_cache_entry	*e = result_cache_slot(id);
	size_t				 i;

	/* Read before a change: it may be stale already. */
	if (epoch != store_epoch() || strlen(id) > TOKEN_ID_LEN ||
	    strlen(etag) > RESULT_CACHE_ETAG_MAX)
		return;
	if (epoch != result_cache_epoch) {
		for (i = 0; i < RESULT_CACHE_SLOTS; i++)
			result_cache_drop(&result_cache[i]);
		result_cache_epoch = epoch;
	}
	result_cache_drop(e);
	(void)snprintf(e->id, sizeof(e->id), "%s", id);
	(void)snprintf(e->etag, sizeof(e->etag), "%s", etag);
	e->epoch = epoch;
	if (page == NULL || len == 0 || len > RESULT_CACHE_PAGE_MAX ||
	    result_cache_bytes + len > RESULT_CACHE_BUDGET)
		return;
	e->page = kore_malloc(len);
	memcpy(e->page, page, len);
	e->len = len;
	result_cache_bytes += len;
}
