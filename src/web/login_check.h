/*
 * login_check.h: the worker's password-checking thread. An argon2id
 * verification takes tens of milliseconds and 64 MB on purpose; done on
 * the event loop it would stall every other request of the worker, so
 * the login handler queues it here and sleeps until it is done
 * (thread_queue.h). Kore's task pool cannot be used per login: its
 * threads are held for good by the writer and the runners, and a new
 * task is queued round-robin behind them. It sits in web/, beside
 * commit.c, rather than in desk/ with its one user: the Kore hooks in
 * web/app.c start and stop it, and a layer never includes a higher one.
 */

#ifndef FORMWORK_LOGIN_CHECK_H
#define FORMWORK_LOGIN_CHECK_H

#include "core/password.h"
#include "web/thread_queue.h"

struct http_request;

struct login_check {
	struct thread_job	 job;	/* first; job.done: checked */
	char			 pwhash[PASSWORD_HASH_MAX];
	char			 password[PASSWORD_MAX + 1];

	/* Set by the thread. */
	int			 ok;		/* the password matches */
	char			 rehash[PASSWORD_HASH_MAX]; /* "" or new */
};

/* Starts and stops this worker's thread. */
void	login_check_init(void);
void	login_check_stop(void);

struct login_check	*login_check_new(void);

/* Queues c for req and puts req to sleep until it is checked. */
void	login_check_enqueue(struct login_check *, struct http_request *);

/* Frees c, or lets the thread free it when it still has it. */
void	login_check_release(struct login_check *);

#endif
