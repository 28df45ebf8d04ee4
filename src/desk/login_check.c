/*
 * login_check.c: the password-checking thread (see login_check.h). Two
 * lists under one mutex, queued and done; the thread notifies the event
 * loop through its task channel with at most one unread message, and
 * the loop drains the whole done list per message (Kore's task events
 * are edge-triggered). Only the event loop touches c->req.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <pthread.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>
#include <sodium.h>

#include "desk/login_check.h"

#define LOGIN_CHECK_STOP_WAIT_S	3

TAILQ_HEAD(login_check_list, login_check);

static struct kore_task		check_task;
static pthread_mutex_t		check_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		check_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t		check_park = PTHREAD_COND_INITIALIZER;
static struct login_check_list	check_queued;
static struct login_check_list	check_done;
static int			check_notified;
static int			check_started;
static int			check_stopping;
static int			check_stopped;

static int	login_check_thread(struct kore_task *);
static void	login_check_on_done(struct kore_task *);

void
login_check_init(void)
{
	if (check_started)
		return;
	TAILQ_INIT(&check_queued);
	TAILQ_INIT(&check_done);
	kore_task_create(&check_task, login_check_thread);
	kore_task_bind_callback(&check_task, login_check_on_done);
	kore_task_run(&check_task);
	check_started = 1;
}

void
login_check_stop(void)
{
	struct timespec		until;

	if (!check_started)
		return;
	(void)clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += LOGIN_CHECK_STOP_WAIT_S;
	pthread_mutex_lock(&check_lock);
	check_stopping = 1;
	pthread_cond_broadcast(&check_cond);
	while (!check_stopped) {
		if (pthread_cond_timedwait(&check_cond, &check_lock,
		    &until) != 0)
			break;
	}
	pthread_mutex_unlock(&check_lock);
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
	pthread_mutex_lock(&check_lock);
	TAILQ_INSERT_TAIL(&check_queued, c, list);
	pthread_mutex_unlock(&check_lock);
	pthread_cond_signal(&check_cond);
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

/* The thread: checks one password at a time, in arrival order. */
static int
login_check_thread(struct kore_task *t)
{
	struct login_check	*c;
	int			 notify;
	u_int8_t		 msg;

	for (;;) {
		pthread_mutex_lock(&check_lock);
		while (TAILQ_EMPTY(&check_queued) && !check_stopping)
			pthread_cond_wait(&check_cond, &check_lock);
		if ((c = TAILQ_FIRST(&check_queued)) == NULL) {
			pthread_mutex_unlock(&check_lock);
			break;
		}
		TAILQ_REMOVE(&check_queued, c, list);
		pthread_mutex_unlock(&check_lock);

		c->ok = password_verify(c->pwhash, c->password);
		c->rehash[0] = '\0';
		if (c->ok && password_needs_rehash(c->pwhash) &&
		    password_hash(c->password, c->rehash) == -1)
			c->rehash[0] = '\0';
		sodium_memzero(c->password, sizeof(c->password));

		pthread_mutex_lock(&check_lock);
		TAILQ_INSERT_TAIL(&check_done, c, list);
		notify = !check_notified;
		check_notified = 1;
		pthread_mutex_unlock(&check_lock);
		if (notify) {
			msg = 1;
			kore_task_channel_write(t, &msg, sizeof(msg));
		}
	}

	pthread_mutex_lock(&check_lock);
	check_stopped = 1;
	pthread_cond_broadcast(&check_cond);
	/* Park until exit, for the reason given in queue.c's runner. */
	for (;;)
		pthread_cond_wait(&check_park, &check_lock);

	return (KORE_RESULT_OK);
}

/* Event loop: wakes the requests whose passwords are checked. */
static void
login_check_on_done(struct kore_task *t)
{
	struct login_check_list	 done;
	struct login_check	*c;
	u_int8_t		 msg;

	if (kore_task_finished(t)) {
		kore_log(LOG_ERR, "%s: the password thread stopped", __func__);
		return;
	}
	(void)kore_task_channel_read(t, &msg, sizeof(msg));

	TAILQ_INIT(&done);
	pthread_mutex_lock(&check_lock);
	TAILQ_CONCAT(&done, &check_done, list);
	check_notified = 0;
	pthread_mutex_unlock(&check_lock);

	while ((c = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, c, list);
		c->done = 1;
		if (c->req != NULL)
			http_request_wakeup(c->req);
		else
			login_check_release(c);
	}
}
