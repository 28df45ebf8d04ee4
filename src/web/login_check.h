/*
 * login_check.h: the worker's password-checking thread. An argon2id
 * verification takes tens of milliseconds and 64 MB on purpose; done on
 * the event loop it would stall every other request of the worker, so
 * the login handler queues it here and sleeps until it is done (the
 * pattern of commit.c). Kore's task pool cannot be used per login: its
 * threads are held for good by the writer and the runners, and a new
 * task is queued round-robin behind them. It sits in web/, beside
 * commit.c, rather than in desk/ with its one user: the Kore hooks in
 * web/app.c start and stop it, and a layer never includes a higher one.
 */

#ifndef FORMWORK_LOGIN_CHECK_H
#define FORMWORK_LOGIN_CHECK_H

#include <sys/queue.h>

#include "core/password.h"

struct http_request;

struct login_check {
	char			 pwhash[PASSWORD_HASH_MAX];
	char			 password[PASSWORD_MAX + 1];

	/* Set by the thread. */
	int			 ok;		/* the password matches */
	char			 rehash[PASSWORD_HASH_MAX]; /* "" or new */

	struct http_request	*req;	/* NULL once the request is gone */
	int			 done;
	TAILQ_ENTRY(login_check) list;
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
