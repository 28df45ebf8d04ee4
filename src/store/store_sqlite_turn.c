/*
 * store_sqlite_turn.c: the writers' turns at SQLite's write lock (see
 * store_sqlite_turn.h).
 */

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>

#include <kore/kore.h>

#include "core/util.h"
#include "store/store_sqlite_turn.h"

static pthread_mutex_t	*turn = NULL;
/* Only ever the writer thread's (one per process). */
static int		 turn_held = 0;

void
store_sqlite_turn_init(void)
{
	pthread_mutexattr_t	attr;
	char			err[128];

	if (turn != NULL)
		return;
	if ((turn = util_shared_new(sizeof(*turn), "writers' turns", err,
	    sizeof(err))) == NULL) {
		kore_log(LOG_WARNING, "%s (the writers poll instead)", err);
		return;
	}
	if (pthread_mutexattr_init(&attr) != 0 ||
	    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(turn, &attr) != 0) {
		kore_log(LOG_WARNING, "writers' turns: cannot make the mutex "
		    "(the writers poll instead)");
		turn = NULL;
	}
	(void)pthread_mutexattr_destroy(&attr);
}

void
store_sqlite_turn_take(void)
{
	if (turn == NULL || turn_held)
		return;
	/* Its last holder died in its turn: nothing of it is left. */
	if (pthread_mutex_lock(turn) == EOWNERDEAD)
		(void)pthread_mutex_consistent(turn);
	turn_held = 1;
}

void
store_sqlite_turn_give(void)
{
	if (!turn_held)
		return;
	turn_held = 0;
	(void)pthread_mutex_unlock(turn);
}
