/*
 * result_cache.h: the ETags of finished result pages this worker has
 * served, so a browser revalidating one (If-None-Match) gets its 304
 * without a trip to the database.
 *
 * A finished page (every action done or failed) only changes through the
 * desk or formworkctl, and those move the store's epoch: an entry is
 * trusted only while the epoch is the one noted before the page was read.
 */

#ifndef FORMWORK_RESULT_CACHE_H
#define FORMWORK_RESULT_CACHE_H

#include <sys/types.h>

/* 1 when id's finished page was served with this etag and still is. */
int	result_cache_fresh(const char *id, const char *etag);

/* Keeps id's etag; epoch is store_epoch() as read before the page was. */
void	result_cache_keep(const char *id, const char *etag, u_int64_t epoch);

#endif
