/*
 * test_store_turn.c: the workers' writers' turns at SQLite's write lock
 * (src/store/store_sqlite_turn.c), between real forked processes as
 * Kore's workers are.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "store/store_sqlite_turn.h"
#include "store_tmp.h"

static char	db_path[64];

static void
setup(void)
{
	/* store_configure() makes the shared mutex, as in Kore's parent. */
	store_tmp_open(db_path, sizeof(db_path), "turn");
}

static void
teardown(void)
{
	store_tmp_remove(db_path);
}

static double
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
}

TestSuite(store_turn, .init = setup, .fini = teardown, .timeout = 10);

Test(store_turn, a_turn_excludes_the_other_workers_writer)
{
	int	fds[2], status;
	pid_t	pid;
	char	c;
	double	t0, waited;

	cr_assert_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		store_sqlite_turn_take();
		(void)write(fds[1], "t", 1);
		usleep(200 * 1000);
		store_sqlite_turn_give();
		_exit(0);
	}
	cr_assert_eq(read(fds[0], &c, 1), 1);
	t0 = now_ms();
	store_sqlite_turn_take();
	waited = now_ms() - t0;
	store_sqlite_turn_give();
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert_geq(waited, 150.0, "took the turn after %.1f ms", waited);
	cr_assert_lt(waited, 2000.0, "took the turn after %.1f ms", waited);
}

Test(store_turn, a_worker_that_dies_in_its_turn_does_not_block_the_next)
{
	int	status;
	pid_t	pid;

	if ((pid = fork()) == 0) {
		store_sqlite_turn_take();
		(void)kill(getpid(), SIGKILL);
		_exit(1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status));
	/* The suite's timeout fails this if the mutex stayed held. */
	store_sqlite_turn_take();
	store_sqlite_turn_give();
	/* And the turn works as before after the recovery. */
	store_sqlite_turn_take();
	store_sqlite_turn_give();
}

Test(store_turn, giving_without_a_turn_does_nothing)
{
	store_sqlite_turn_give();
	store_sqlite_turn_take();
	store_sqlite_turn_give();
	store_sqlite_turn_give();
	store_sqlite_turn_take();
	store_sqlite_turn_give();
}
