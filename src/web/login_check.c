/*
 * login_check.c: the password-checking thread (see login_check.h). Two
 * lists under the thread's lock, queued and done; the thread wakes the
 * event loop with worker_thread.h's message protocol (at most one unread
 * message, and the loop drains the whole done list per message, because
 * Kore's task events are edge-triggered). Only the event loop touches
 * c->req.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <pthread.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>
#include <sodium.h>

#include "web/login_check.h"
#include "worker/worker_thread.h"

TAILQ_HEAD(login_check_list, login_check);

/* Its lock guards check_queued and check_done. */
static struct worker_thread	check_thread;
static struct login_check_list	check_queued =
				    TAILQ_HEAD_INITIALIZER(check_queued);
static struct login_check_list	check_done =
				    TAILQ_HEAD_INITIALIZER(check_done);

static void	login_check_thread(struct kore_task *);
static void	login_check_on_done(struct kore_task *);

void
login_check_init(void)
{
	worker_thread_start(&check_thread, "password checker", 1,
	    login_check_thread, login_check_on_done);
}

void
login_check_stop(void)
{
	worker_thread_stop(&check_thread);
}

struct login_check *
login_check_new(void)
{
	return (kore_calloc(1, sizeof(struct login_check)));
}

void
login_check_enqueue(struct login_check *c, struct http_request *req)
{
	c->req = req;
	http_request_sleep(req);
	pthread_mutex_lock(&check_thread.lock);
	TAILQ_INSERT_TAIL(&check_queued, c, list);
	pthread_mutex_unlock(&check_thread.lock);
	pthread_cond_signal(&check_thread.cond);
}

void
login_check_release(struct login_check *c)
{
	if (c == NULL)
		return;
	if (!c->done && c->req != NULL) {
		/* The thread still has it: login_check_on_done() frees it. */
		c->req = NULL;
		return;
	}
	sodium_memzero(c->password, sizeof(c->password));
	kore_free(c);
}

/*
 * The thread: checks one password at a time, in arrival order, until the
 * worker stops and none is left.
 */
static void
login_check_thread(struct kore_task *t)
{
	struct login_check	*c;
	int			 notify;

	for (;;) {
		pthread_mutex_lock(&check_thread.lock);
		while (TAILQ_EMPTY(&check_queued) &&
		    !worker_thread_stopping(&check_thread))
			pthread_cond_wait(&check_thread.cond,
			    &check_thread.lock);
		if ((c = TAILQ_FIRST(&check_queued)) == NULL) {
			pthread_mutex_unlock(&check_thread.lock);
			break;
		}
		TAILQ_REMOVE(&check_queued, c, list);
		pthread_mutex_unlock(&check_thread.lock);

		c->ok = password_verify(c->pwhash, c->password);
		c->rehash[0] = '\0';
		if (c->ok && password_needs_rehash(c->pwhash) &&
		    password_hash(c->password, c->rehash) == -1)
			c->rehash[0] = '\0';
		sodium_memzero(c->password, sizeof(c->password));

		pthread_mutex_lock(&check_thread.lock);
		TAILQ_INSERT_TAIL(&check_done, c, list);
		notify = worker_thread_notify_claim(&check_thread);
		pthread_mutex_unlock(&check_thread.lock);
		if (notify)
			worker_thread_notify_send(t);
	}
}

/* Event loop: wakes the requests whose passwords are checked. */
static void
login_check_on_done(struct kore_task *t)
{
	struct login_check_list	 done;
	struct login_check	*c;

	if (!worker_thread_notify_read(&check_thread, t))
		return;

	TAILQ_INIT(&done);
	pthread_mutex_lock(&check_thread.lock);
	TAILQ_CONCAT(&done, &check_done, list);
	worker_thread_notify_reset(&check_thread);
	pthread_mutex_unlock(&check_thread.lock);

	while ((c = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, c, list);
		c->done = 1;
		if (c->req != NULL)
			http_request_wakeup(c->req);
		else
			login_check_release(c);
	}
}
