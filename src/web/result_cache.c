/*
 * result_cache.c: a direct-mapped table of finished result pages' ETags,
 * one per worker (no locks: only the event loop uses it). A collision
 * replaces the older entry; a miss only costs the ordinary database read.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "web/result_cache.h"
#include "store/store.h"
#include "core/token.h"

/* 1,024 entries of 120 bytes: 120 KB at most, touched as it fills. */
#define RESULT_CACHE_SLOTS	1024
#define RESULT_CACHE_ETAG_MAX	88

struct result_cache_entry {
	u_int64_t	epoch;
	char		id[TOKEN_ID_LEN + 1];
	char		etag[RESULT_CACHE_ETAG_MAX + 1];
};

static struct result_cache_entry	result_cache[RESULT_CACHE_SLOTS];

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

int
result_cache_fresh(const char *id, const char *etag)
{
	const struct result_cache_entry	*e = result_cache_slot(id);

	return (e->id[0] != '\0' && strcmp(e->id, id) == 0 &&
	    strcmp(e->etag, etag) == 0 && e->epoch == store_epoch());
}

void
result_cache_keep(const char *id, const char *etag, u_int64_t epoch)
{
	struct result_cache_entry	*e = result_cache_slot(id);

	if (strlen(id) > TOKEN_ID_LEN ||
	    strlen(etag) > RESULT_CACHE_ETAG_MAX)
		return;
	(void)snprintf(e->id, sizeof(e->id), "%s", id);
	(void)snprintf(e->etag, sizeof(e->etag), "%s", etag);
	e->epoch = epoch;
}
