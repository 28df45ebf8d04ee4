/*
 * checkpoint.h: the worker's checkpointer thread. SQLite copies the
 * write-ahead log back into the database (a checkpoint) in whichever
 * connection's commit finds the log past 1,000 pages: a checkpoint writes
 * and syncs thousands of pages, and in the submissions' writer every
 * request of that batch would wait for it before its 303. So the writer
 * leaves checkpoints to this thread, with a connection of its own, and
 * goes on committing meanwhile.
 */

#ifndef FORMWORK_CHECKPOINT_H
#define FORMWORK_CHECKPOINT_H

/* Starts this worker's checkpointer thread. */
void	checkpoint_init(void);

/* Worker shutdown: ends the thread (after a running checkpoint). */
void	checkpoint_stop(void);

/* The writer, after a commit: checkpoints if the log has grown enough. */
void	checkpoint_nudge(void);

#endif
