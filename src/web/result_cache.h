/*
 * result_cache.h: the finished result pages this worker has served, so
 * that the next request for one is answered without a trip to the
 * database: a revalidation (If-None-Match) with its 304 from the kept
 * ETag, a plain GET with its 200 from the kept bytes.
 *
 * A finished page (every action done or failed) only changes through the
 * desk or formworkctl, and those move the store's epoch: an entry is
 * trusted only while the epoch is the one noted before the page was read.
 *
 * Bounded per worker: 1,024 entries (an id and an ETag each, 120 KB),
 * pages of at most 16 KB, and 1 MB of pages in all. A page over either
 * bound is answered from the database as before; its ETag is kept.
 */

#ifndef FORMWORK_RESULT_CACHE_H
#define FORMWORK_RESULT_CACHE_H

#include <sys/types.h>

#include <stddef.h>

/* What is kept of a finished page; valid until the next keep. */
struct result_cache_hit {
	const char	*etag;
	const void	*page;		/* NULL: only the ETag is kept */
	size_t		 len;
};

/* 1, with hit set, when id's finished page is kept and still current. */
int	result_cache_find(const char *id, struct result_cache_hit *hit);

/*
 * Keeps id's ETag and, when page is not NULL and within the bounds, a
 * copy of its len bytes; epoch is store_epoch() as read before the page
 * was.
 */
void	result_cache_keep(const char *id, const char *etag, u_int64_t epoch,
	    const void *page, size_t len);

#endif
