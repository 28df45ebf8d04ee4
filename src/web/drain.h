/*
 * drain.h: a worker's graceful stop. Kore ends its event loop on SIGTERM
 * at once, dropping every connection with it, including requests that
 * were read and are waiting for their group commit. drain_run(), called
 * first thing in kore_worker_teardown(), runs the loop a while longer
 * instead: it stops taking connections, answers every request it has
 * read (each answer closes its connection), closes idle connections and
 * returns once none is left or DRAIN_MAX_MS has passed.
 */

#ifndef FORMWORK_DRAIN_H
#define FORMWORK_DRAIN_H

#define DRAIN_MAX_MS	10000

void	drain_run(void);

#endif
