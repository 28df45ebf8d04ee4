/*
 * accept_share.h: keeps the workers' shares of the open connections even.
 *
 * Kore 4.1.0 hands the listening socket to one worker at a time (its
 * accept lock), and a worker keeps it until it is full or accepts
 * worker_accept_threshold connections in one go. Connections that come
 * one after another (a proxy filling its keep-alive pool, a client
 * opening its connections) therefore all land on one worker, and the
 * others idle while it serves them all for as long as they stay open.
 * Setting the threshold to 1 spreads them, but at a message to every
 * worker per accepted connection (27% fewer requests per second with a
 * connection per request, tests/bench/README.md). Instead each worker
 * publishes its number of open connections, and one holding more than
 * its share refuses the lock (it lowers its Kore connection limit to
 * what it holds, accept_share.c says why): a message per handover, not
 * per connection.
 */

#ifndef FORMWORK_ACCEPT_SHARE_H
#define FORMWORK_ACCEPT_SHARE_H

#include <stddef.h>

struct connection;

/* The parent, before the workers start: the shared counts. */
int	accept_share_init(char *err, size_t errlen);

/*
 * A worker, as it starts: it holds no connection yet; a timer publishes
 * its count between answers too.
 */
void	accept_share_start(void);

/*
 * After each answer on c (and on the timer): publishes this worker's
 * count if it changed (and again when c closes) and, with more than its
 * share, refuses the accept lock (for at most a second in one go).
 */
void	accept_share_answered(struct connection *c);

/*
 * The worker stops: its limit is what was configured again, so its drain
 * takes every connection waiting on its listener.
 */
void	accept_share_stop(void);

#endif
