/*
 * kore_glue.c: the few symbols Kore's buf/mem/pool/utils/json code refers
 * to outside those files, so formworkctl and the unit tests can link them
 * without the server. kore_mem_init() must run before any kore_*
 * allocation; the constructor below does it once.
 */

#include <sys/types.h>

#include <kore.h>

struct kore_worker	*worker = NULL;
int			 kore_foreground = 1;
char			*kore_progname = "formwork";

void	kore_keymgr_cleanup(int);
void	kore_msg_send(u_int16_t, u_int8_t, const void *, size_t);

void
kore_keymgr_cleanup(int final)
{
}

void
kore_msg_send(u_int16_t dst, u_int8_t id, const void *data, size_t len)
{
}

static void	stubs_init(void) __attribute__((constructor));

static void
stubs_init(void)
{
	kore_mem_init();
}
