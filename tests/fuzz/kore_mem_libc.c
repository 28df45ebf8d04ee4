/*
 * kore_mem_libc.c: Kore's memory API (mem.c) mapped straight onto libc,
 * for the fuzz build only. It replaces /usr/share/kore/src/mem.c and
 * pool.c, which carve small allocations (<= 8 KB) out of preallocated
 * pool regions: an overflow of such a block lands in the next block of the
 * same region, which AddressSanitizer considers valid memory, so it would
 * go unnoticed. With plain malloc every kore_malloc gets its own redzones.
 *
 * What buf.c, json.c and utils.c need from outside themselves (checked
 * with nm -u): kore_malloc, kore_calloc, kore_realloc, kore_free,
 * kore_strdup, plus worker, kore_foreground, kore_progname,
 * kore_keymgr_cleanup and kore_msg_send, which src/ctl/kore_glue.c
 * provides (its constructor calls kore_mem_init, a no-op here). The
 * tagging calls are provided too so nothing falls back to mem.c.
 *
 * Kore's semantics are kept where they matter to callers: allocation
 * failure and Kore's own checks stop the process (abort() rather than
 * fatal(), so the sanitizer prints a stack), kore_malloc(0) returns a
 * usable pointer, and kore_realloc(p, 0) does not free p and return NULL
 * as glibc's does.
 * Must not be linked together with mem.c or pool.c.
 */

#include <sys/types.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kore.h"

/* One tag per pointer is all Kore ever uses; a short list is enough. */
struct mem_tag {
	void			*ptr;
	u_int32_t		 id;
	struct mem_tag		*next;
};

static struct mem_tag	*mem_tags;

static void	mem_abort(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));

static void
mem_abort(const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fputc('\n', stderr);
	abort();
}

void
kore_mem_init(void)
{
}

void
kore_mem_cleanup(void)
{
}

void *
kore_malloc(size_t len)
{
	void		*p;

	/* malloc(0) may return NULL; Kore always hands out a pointer. */
	if ((p = malloc(len)) == NULL && len == 0)
		p = malloc(1);
	if (p == NULL)
		mem_abort("kore_malloc(%zu): out of memory", len);

	return (p);
}

void *
kore_calloc(size_t memb, size_t len)
{
	void		*p;

	/* Kore's mem.c divides SIZE_MAX by memb: 0 is a SIGFPE there. */
	if (memb == 0)
		mem_abort("kore_calloc(0, %zu): division by zero in Kore", len);
	if (SIZE_MAX / memb < len)
		mem_abort("kore_calloc(): memb * len > SIZE_MAX");
	if ((p = calloc(memb, len)) == NULL && len == 0)
		p = calloc(1, 1);
	if (p == NULL)
		mem_abort("kore_calloc(%zu, %zu): out of memory", memb, len);

	return (p);
}

void *
kore_realloc(void *ptr, size_t len)
{
	void		*p;

	if (len == 0) {
		kore_free(ptr);
		return (kore_malloc(0));
	}
	/* ASan's realloc always moves, so stale pointers are caught. */
	if ((p = realloc(ptr, len)) == NULL)
		mem_abort("kore_realloc(%zu): out of memory", len);

	return (p);
}

void
kore_free(void *ptr)
{
	if (ptr != NULL)
		kore_mem_untag(ptr);
	free(ptr);
}

char *
kore_strdup(const char *str)
{
	char		*p;

	if ((p = strdup(str)) == NULL)
		mem_abort("kore_strdup: out of memory");

	return (p);
}

void *
kore_malloc_tagged(size_t len, u_int32_t tag)
{
	void		*p;

	p = kore_malloc(len);
	kore_mem_tag(p, tag);

	return (p);
}

void
kore_mem_tag(void *ptr, u_int32_t id)
{
	struct mem_tag	*t;

	if (kore_mem_lookup(id) != NULL)
		mem_abort("kore_mem_tag: tag %u taken", id);
	if ((t = malloc(sizeof(*t))) == NULL)
		mem_abort("kore_mem_tag: out of memory");
	t->ptr = ptr;
	t->id = id;
	t->next = mem_tags;
	mem_tags = t;
}

void
kore_mem_untag(void *ptr)
{
	struct mem_tag	**tp, *t;

	for (tp = &mem_tags; (t = *tp) != NULL; tp = &t->next) {
		if (t->ptr == ptr) {
			*tp = t->next;
			free(t);
			return;
		}
	}
}

void *
kore_mem_lookup(u_int32_t id)
{
	struct mem_tag	*t;

	for (t = mem_tags; t != NULL; t = t->next) {
		if (t->id == id)
			return (t->ptr);
	}

	return (NULL);
}
