/*
 * drain.c: a worker's graceful stop (see drain.h).
 *
 * It runs the same steps as Kore's worker loop (wait for events, run
 * timers, process requests, prune closed connections), on Kore's own
 * lists, after that loop has ended; it must not touch a connection Kore
 * is about to free, so it only ever asks Kore to disconnect.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "web/drain.h"

#define DRAIN_TICK_MS	10

static void	drain_listeners_close(void);
static int	drain_connection_idle(struct connection *);
static int	drain_idle_close(void);

void
drain_run(void)
{
	u_int64_t	 deadline, now;
	int		 busy;

	/* Every answer from now on says "Connection: close" and ends it. */
	http_keepalive_time = 0;
	drain_listeners_close();

	deadline = kore_time_ms() + DRAIN_MAX_MS;
	for (;;) {
		busy = drain_idle_close();
		kore_connection_prune(KORE_CONNECTION_PRUNE_DISCONNECT);
		if (busy == 0)
			break;
		if (kore_time_ms() >= deadline) {
			kore_log(LOG_NOTICE, "stop: %s", "connections left "
			    "after the drain time are closed");
			break;
		}
		kore_platform_event_wait(DRAIN_TICK_MS);
		now = kore_time_ms();
		kore_timer_run(now);
		http_process();
		kore_connection_check_timeout(now);
	}
}

/*
 * Takes the connections the kernel has already completed on each
 * listener (their request may be sent already), then closes this
 * worker's copy of the listener: the others' copies, and the parent's,
 * keep the port until they stop too. Kore skips a listener whose fd is
 * -1 when it frees it later.
 */
static void
drain_listeners_close(void)
{
	struct kore_server	*srv;
	struct listener		*l;

	LIST_FOREACH(srv, &kore_servers, list) {
		LIST_FOREACH(l, &srv->listeners, list) {
			if (l->fd == -1)
				continue;
			l->evt.flags |= KORE_EVENT_READ;
			kore_listener_accept(l, 0);
			(void)close(l->fd);
			l->fd = -1;
		}
	}
}

/*
 * A connection is idle when it holds no request, has nothing left to
 * send, has received no part of a next request and has no unread bytes
 * in the kernel: closing one with unread bytes would reset it, and those
 * bytes may be a whole request the client sent before the signal.
 */
static int
drain_connection_idle(struct connection *c)
{
	char		 byte;
	ssize_t		 n;

	if (c->state != CONN_STATE_ESTABLISHED)
		return (0);
	if (!TAILQ_EMPTY(&c->http_requests) || !TAILQ_EMPTY(&c->send_queue))
		return (0);
	if (c->rnb != NULL && c->rnb->s_off > 0)
		return (0);
	/* EAGAIN: nothing unread; 0 or another error: it is gone anyway. */
	n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	return (n <= 0);
}

/*
 * Closes the idle HTTP connections; returns how many others are left
 * (the list also holds Kore's own channel to the parent, never idle).
 */
static int
drain_idle_close(void)
{
	struct connection	*c, *next;
	int			 busy;

	busy = 0;
	for (c = TAILQ_FIRST(&connections); c != NULL; c = next) {
		next = TAILQ_NEXT(c, list);
		if (c->proto != CONN_PROTO_HTTP)
			continue;
		if (drain_connection_idle(c))
			kore_connection_disconnect(c);
		else
			busy++;
	}
	return (busy);
}
