/*
 * accept_share.c: the workers' shares of the open connections (see
 * accept_share.h).
 */

#include <sys/types.h>


#include <kore/kore.h>

#include "core/util.h"
#include "worker/accept_share.h"

/*
 * Over its share: more than the average plus this many. A little slack
 * keeps the lock from moving at every connection while the counts are
 * even, as they are most of the time.
 */
#define ACCEPT_SHARE_SLACK	2

/*
 * Counts are also published this often (ms), answers or not, and a
 * worker over its share looks again.
 */
#define ACCEPT_SHARE_TICK_MS	100

/*
 * A worker over its share refuses the lock for at most this long (ms) in
 * one go: if the others stopped taking connections (a worker stuck in a
 * long call), it takes them again rather than let them wait.
 */
#define ACCEPT_SHARE_REFUSE_MS	1000

/* One count per worker id, each on a cache line of its own. */
struct accept_share_slot {
	u_int32_t	open;
	u_int8_t	pad[60];
};

static struct accept_share_slot	*slots = NULL;
static u_int32_t		 published;
static u_int32_t		 max_connections;	/* as configured */
static u_int64_t		 refusing_since;	/* 0: not refusing */
static int			 stopping;

static void	accept_share_check(void);
static int	accept_share_over(void);
static void	accept_share_refuse(int);
static void	accept_share_tick(void *, u_int64_t);
static void	accept_share_closed(struct connection *);
static void	accept_share_publish(u_int32_t);

int
accept_share_init(char *err, size_t errlen)
{
	slots = util_shared_new(sizeof(*slots) * (KORE_WORKER_MAX + 1),
	    "accept share", err, errlen);
	return (slots == NULL ? -1 : 0);
}

void
accept_share_start(void)
{
	published = 0;
	refusing_since = 0;
	max_connections = worker_max_connections;
	if (slots == NULL || worker->id > KORE_WORKER_MAX)
		return;
	__atomic_store_n(&slots[worker->id].open, 0, __ATOMIC_RELAXED);
	(void)kore_timer_add(accept_share_tick, ACCEPT_SHARE_TICK_MS, NULL, 0);
}

void
accept_share_answered(struct connection *c)
{
	/* Kore's HTTP connections have no disconnect callback of their own. */
	if (c != NULL && c->disconnect == NULL)
		c->disconnect = accept_share_closed;
	/* Most answers: nothing was accepted or closed since the last. */
	if (worker_active_connections != published)
		accept_share_check();
}

void
accept_share_stop(void)
{
	stopping = 1;
	accept_share_refuse(0);
}

static void
accept_share_check(void)
{
	if (slots == NULL || worker->id > KORE_WORKER_MAX || stopping)
		return;
	accept_share_publish(worker_active_connections);
	accept_share_refuse(accept_share_over());
}

/* 1 when this worker holds more than its share of the open connections. */
static int
accept_share_over(void)
{
	u_int32_t	total, workers, id;

	/* Web workers are ids 1..n; Kore's count adds its two others. */
	workers = worker_count > KORE_WORKER_BASE ?
	    worker_count - KORE_WORKER_BASE : 0;
	if (workers < 2 || workers > KORE_WORKER_MAX)
		return (0);
	total = 0;
	for (id = 1; id <= workers; id++)
		total += __atomic_load_n(&slots[id].open, __ATOMIC_RELAXED);
	return (published * workers > total + ACCEPT_SHARE_SLACK * workers);
}

/*
 * Refusing the lock: Kore's loop treats a worker at its connection limit
 * as full, gives the lock up at its next turn (a message to the others)
 * and does not take it back, so the limit is lowered to what it holds
 * (Kore itself sets worker_max_connections for a while at start).
 * kore_worker_make_busy() alone would leave the lock to whichever worker
 * reads that message first, often the one that gave it up.
 */
static void
accept_share_refuse(int refuse)
{
	u_int64_t	now;

	now = kore_time_ms();
	if (refuse && refusing_since != 0 &&
	    now - refusing_since >= ACCEPT_SHARE_REFUSE_MS)
		refuse = 0;
	if (refuse) {
		if (refusing_since == 0)
			refusing_since = now;
		worker_max_connections = worker_active_connections;
	} else {
		refusing_since = 0;
		worker_max_connections = max_connections;
	}
}

static void
accept_share_tick(void *arg, u_int64_t now)
{
	accept_share_check();
}

/* Kore counts a closed connection out only after this. */
static void
accept_share_closed(struct connection *c)
{
	if (slots != NULL && worker->id <= KORE_WORKER_MAX &&
	    worker_active_connections > 0)
		accept_share_publish(worker_active_connections - 1);
}

static void
accept_share_publish(u_int32_t open)
{
	published = open;
	__atomic_store_n(&slots[worker->id].open, open, __ATOMIC_RELAXED);
}
