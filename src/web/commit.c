/*
 * commit.c: the worker's writer thread and its queue (see commit.h).
 *
 * Three lists, all under one mutex: queued (waiting for the writer),
 * in_writer (the batch being committed) and done (committed, waiting for
 * the event loop). The writer notifies the event loop through its task
 * channel with at most one unread message at a time: Kore's task events
 * are edge-triggered, so the loop always drains the whole done list per
 * message rather than trusting one message per batch.
 *
 * Only the event loop touches item->req and calls Kore's http functions.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "worker/checkpoint.h"
#include "web/commit.h"
#include "queue/queue.h"
#include "store/store.h"

#define COMMIT_BATCH_MAX	512
#define COMMIT_STOP_WAIT_S	3

TAILQ_HEAD(commit_list, commit_item);

static struct kore_task		commit_task;
static pthread_mutex_t		commit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		commit_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t		commit_park = PTHREAD_COND_INITIALIZER;
static struct commit_list	commit_queued;
static struct commit_list	commit_pending;	/* not yet back from it */
static struct commit_list	commit_done;
static int			commit_notified;
static int			commit_started;
static int			commit_stopping;
static int			commit_stopped;

static int	commit_writer(struct kore_task *);
static void	commit_on_done(struct kore_task *);

void
commit_init(void)
{
	if (commit_started)
		return;
	TAILQ_INIT(&commit_queued);
	TAILQ_INIT(&commit_pending);
	TAILQ_INIT(&commit_done);
	kore_task_create(&commit_task, commit_writer);
	kore_task_bind_callback(&commit_task, commit_on_done);
	kore_task_run(&commit_task);
	commit_started = 1;
}

void
commit_stop(void)
{
	struct timespec		until;

	if (!commit_started)
		return;
	(void)clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += COMMIT_STOP_WAIT_S;
	pthread_mutex_lock(&commit_lock);
	commit_stopping = 1;
	pthread_cond_broadcast(&commit_cond);
	while (!commit_stopped) {
		if (pthread_cond_timedwait(&commit_cond, &commit_lock,
		    &until) != 0)
			break;
	}
	pthread_mutex_unlock(&commit_lock);
}

struct commit_item *
commit_item_new(void)
{
	struct commit_item	*item;
	size_t			 i;

	item = kore_calloc(1, sizeof(*item));
	for (i = 0; i < COMMIT_MAX_CLAIMS; i++)
		item->claims[i].value = item->values[i];
	item->sub.claims = item->claims;
	item->sub.jobs = item->jobs;
	item->sub.form = item->form;
	item->sub.key = item->key;
	item->sub.client = item->client;
	return (item);
}

/*
 * The in-flight list is only ever touched by the event loop, so it needs
 * no lock: it links items through their own entry, not the writer's.
 */
int
commit_in_flight(const char *form, const char *key)
{
	struct commit_item	*item;

	TAILQ_FOREACH(item, &commit_pending, plist) {
		if (strcmp(item->key, key) == 0 &&
		    strcmp(item->form, form) == 0)
			return (1);
	}
	return (0);
}

void
commit_enqueue(struct commit_item *item, struct http_request *req)
{
	item->req = req;
	item->sub.data = item->data;
	http_request_sleep(req);
	TAILQ_INSERT_TAIL(&commit_pending, item, plist);

	pthread_mutex_lock(&commit_lock);
	TAILQ_INSERT_TAIL(&commit_queued, item, list);
	pthread_mutex_unlock(&commit_lock);
	pthread_cond_signal(&commit_cond);
}

void
commit_item_release(struct commit_item *item)
{
	if (item == NULL)
		return;
	if (!item->done) {
		/* The writer still has it: commit_on_done() frees it. */
		item->req = NULL;
		return;
	}
	kore_free(item->data);
	kore_free(item);
}

/*
 * The writer thread: once something is queued it takes the database's
 * write lock, then everything queued by then (the other workers' writers
 * may have held the lock a while: what arrived meanwhile joins this
 * batch rather than waiting for the next one), commits it as one batch,
 * hands it to the event loop, and waits for more. It never ends.
 */
static int
commit_writer(struct kore_task *t)
{
	struct store_submission	*subs[COMMIT_BATCH_MAX];
	struct commit_item	*batch[COMMIT_BATCH_MAX];
	struct commit_item	*item;
	enum store_result	 begun;
	size_t			 n, i;
	int			 notify;
	u_int8_t		 msg;

	for (;;) {
		pthread_mutex_lock(&commit_lock);
		while (TAILQ_EMPTY(&commit_queued) && !commit_stopping)
			pthread_cond_wait(&commit_cond, &commit_lock);
		if (TAILQ_EMPTY(&commit_queued)) {
			/* Stopping, and nothing left to commit. */
			pthread_mutex_unlock(&commit_lock);
			break;
		}
		pthread_mutex_unlock(&commit_lock);

		begun = store_batch_begin();

		pthread_mutex_lock(&commit_lock);
		n = 0;
		while (n < COMMIT_BATCH_MAX &&
		    (item = TAILQ_FIRST(&commit_queued)) != NULL) {
			TAILQ_REMOVE(&commit_queued, item, list);
			batch[n] = item;
			subs[n] = &item->sub;
			n++;
		}
		pthread_mutex_unlock(&commit_lock);

		if (begun == STORE_OK) {
			store_batch_commit(subs, n);
			checkpoint_nudge();
		} else {
			for (i = 0; i < n; i++)
				subs[i]->result = begun;
		}
		for (i = 0; i < n; i++) {
			if (subs[i]->result == STORE_OK && subs[i]->njobs > 0) {
				queue_wake();
				break;
			}
		}

		pthread_mutex_lock(&commit_lock);
		for (i = 0; i < n; i++)
			TAILQ_INSERT_TAIL(&commit_done, batch[i], list);
		notify = !commit_notified;
		commit_notified = 1;
		pthread_mutex_unlock(&commit_lock);

		if (notify) {
			msg = 1;
			kore_task_channel_write(t, &msg, sizeof(msg));
		}
	}

	store_writer_close();
	pthread_mutex_lock(&commit_lock);
	commit_stopped = 1;
	pthread_cond_broadcast(&commit_cond);
	/* Park until exit, for the reason given in queue.c's runner. */
	for (;;)
		pthread_cond_wait(&commit_park, &commit_lock);

	return (KORE_RESULT_OK);
}

/* Event loop: wakes the requests whose submissions are committed. */
static void
commit_on_done(struct kore_task *t)
{
	struct commit_list	 done;
	struct commit_item	*item;
	u_int8_t		 msg;

	if (kore_task_finished(t)) {
		kore_log(LOG_ERR, "%s: the writer thread stopped", __func__);
		return;
	}
	(void)kore_task_channel_read(t, &msg, sizeof(msg));

	TAILQ_INIT(&done);
	pthread_mutex_lock(&commit_lock);
	TAILQ_CONCAT(&done, &commit_done, list);
	commit_notified = 0;
	pthread_mutex_unlock(&commit_lock);

	while ((item = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, item, list);
		TAILQ_REMOVE(&commit_pending, item, plist);
		item->done = 1;
		if (item->req != NULL)
			http_request_wakeup(item->req);
		else
			commit_item_release(item);
	}
}
