/*
 * store_sqlite_turn.h: the workers' writers take turns at SQLite's write
 * lock through a mutex they share, made by the parent before it forks.
 *
 * SQLite cannot wait for its write lock: a writer that finds it taken
 * polls (store_busy_wait(), every 250 µs), so the writer that was waiting
 * starts up to a quarter of a millisecond after the lock came free, while
 * the other may already have taken it back for its next batch. A mutex
 * wakes the waiting writer as the other lets go. Only the batch writers
 * take a turn, before BEGIN IMMEDIATE and until their COMMIT or ROLLBACK;
 * the other connections (runners, the desk, formworkctl) still meet the
 * writers at SQLite's lock. The mutex is robust: a worker that dies in
 * its turn (SQLite's lock goes with the process) does not block the next.
 * Measured in tests/bench/README.md (sixth session): POST at 16
 * connections +22%, at 64 +8% (3 interleaved rounds each).
 */

#ifndef FORMWORK_STORE_SQLITE_TURN_H
#define FORMWORK_STORE_SQLITE_TURN_H

/* The parent, before forking: the shared mutex (without it, no turns). */
void	store_sqlite_turn_init(void);

/* The writer thread: waits for its turn. */
void	store_sqlite_turn_take(void);

/* The writer thread: ends its turn, if it has one. */
void	store_sqlite_turn_give(void);

#endif
