/*
 * commit.c: the worker's writer and syncer threads and their queues (see
 * commit.h).
 *
 * Four lists: queued (waiting for the writer) under the writer's lock;
 * committed (waiting for the syncer) and done (synced, waiting for the
 * event loop) under the syncer's lock; and pending, the event loop's
 * alone (queued by it and not yet back). The syncer wakes the event loop
 * with worker_thread.h's message protocol: at most one unread message,
 * since Kore's task events are edge-triggered, so the loop drains the
 * whole done list per message rather than trusting one message per
 * batch.
 *
 * Why two threads: a batch's fsync takes as long as writing it, or
 * longer (a millisecond or more, against a few tenths for thirty rows).
 * With one thread the submissions that arrive during the fsync wait for
 * it to end before they are even written; with two, the writer commits
 * them while the syncer waits for the disk, and the next fsync covers
 * every batch committed meanwhile.
 *
 * Only the event loop touches item->req and calls Kore's http functions.
 */

#include <sys/types.h>
#include <sys/queue.h>

#include <pthread.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "core/util.h"
#include "worker/checkpoint.h"
#include "worker/metrics.h"
#include "worker/worker_thread.h"
#include "web/commit.h"
#include "queue/queue.h"
#include "store/store.h"

#define COMMIT_BATCH_MAX	512

/* Indexes of commit_item.at: the metrics' phases lie between them. */
enum { AT_QUEUED, AT_TAKEN, AT_COMMITTED, AT_SYNCED };

TAILQ_HEAD(commit_list, commit_item);

/* Its lock guards commit_queued. */
static struct worker_thread	commit_thread;
static struct commit_list	commit_queued =
				    TAILQ_HEAD_INITIALIZER(commit_queued);
/* Its lock guards commit_committed and commit_done. */
static struct worker_thread	commit_sync_thread;
static struct commit_list	commit_committed =
				    TAILQ_HEAD_INITIALIZER(commit_committed);
static struct commit_list	commit_done =
				    TAILQ_HEAD_INITIALIZER(commit_done);
static struct commit_list	commit_pending =	/* not yet back */
				    TAILQ_HEAD_INITIALIZER(commit_pending);

static int	commit_wait(struct worker_thread *, struct commit_list *);
static void	commit_writer(struct kore_task *);
static void	commit_syncer(struct kore_task *);
static void	commit_on_done(struct kore_task *);
static void	commit_measured(struct metrics_commit_tally *,
		    const struct commit_item *, u_int64_t);

void
commit_init(void)
{
	worker_thread_start(&commit_sync_thread, "syncer", 1, commit_syncer,
	    commit_on_done);
	worker_thread_start(&commit_thread, "writer", 1, commit_writer, NULL);
}

/* The writer first: the syncer then syncs the last it committed. */
void
commit_stop(void)
{
	worker_thread_stop(&commit_thread);
	worker_thread_stop(&commit_sync_thread);
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
 * no lock: it links items through their own entry, not the threads'.
 */
int
commit_in_flight(const char *form, const char *key)
{
	struct commit_item	*item;

	TAILQ_FOREACH(item, &commit_pending, plist) {
		if (strcmp(item->repeat[0] != '\0' ? item->repeat : item->key,
		    key) == 0 && strcmp(item->form, form) == 0)
			return (1);
	}
	return (0);
}

void
commit_enqueue(struct commit_item *item, struct http_request *req)
{
	item->req = req;
	item->at[AT_QUEUED] = util_mono_us();
	item->sub.data = item->data;
	http_request_sleep(req);
	TAILQ_INSERT_TAIL(&commit_pending, item, plist);

	pthread_mutex_lock(&commit_thread.lock);
	TAILQ_INSERT_TAIL(&commit_queued, item, list);
	pthread_mutex_unlock(&commit_thread.lock);
	pthread_cond_signal(&commit_thread.cond);
}

void
commit_item_release(struct commit_item *item)
{
	if (item == NULL)
		return;
	if (!item->done) {
		/* A thread still has it: commit_on_done() frees it. */
		item->req = NULL;
		return;
	}
	kore_free(item->data);
	kore_free(item->subject);
	kore_free(item);
}

/*
 * A thread's wait for its list: returns 1, with wt's lock held, once
 * list has items, or 0, without it, once the worker stops and nothing is
 * left on it.
 */
static int
commit_wait(struct worker_thread *wt, struct commit_list *list)
{
	pthread_mutex_lock(&wt->lock);
	while (TAILQ_EMPTY(list) && !worker_thread_stopping(wt))
		pthread_cond_wait(&wt->cond, &wt->lock);
	if (TAILQ_EMPTY(list)) {
		pthread_mutex_unlock(&wt->lock);
		return (0);
	}
	return (1);
}

/*
 * The writer thread: once something is queued it takes the database's
 * write lock, then everything queued by then (the other workers' writers
 * may have held the lock a while: what arrived meanwhile joins this
 * batch rather than waiting for the next one), commits it as one batch,
 * hands it to the syncer, and waits for more, until the worker stops and
 * nothing is left to commit.
 */
static void
commit_writer(struct kore_task *t)
{
	struct store_submission	*subs[COMMIT_BATCH_MAX];
	struct commit_item	*batch[COMMIT_BATCH_MAX];
	struct commit_item	*item;
	enum store_result	 begun;
	u_int64_t		 now;
	size_t			 n, i;

	while (commit_wait(&commit_thread, &commit_queued)) {
		pthread_mutex_unlock(&commit_thread.lock);

		begun = store_batch_begin();
		now = util_mono_us();

		pthread_mutex_lock(&commit_thread.lock);
		n = 0;
		while (n < COMMIT_BATCH_MAX &&
		    (item = TAILQ_FIRST(&commit_queued)) != NULL) {
			TAILQ_REMOVE(&commit_queued, item, list);
			item->at[AT_TAKEN] = now;
			batch[n] = item;
			subs[n] = &item->sub;
			n++;
		}
		pthread_mutex_unlock(&commit_thread.lock);

		if (begun == STORE_OK) {
			store_batch_commit(subs, n);
			metrics_commit_batch(n);
			checkpoint_nudge();
		} else {
			for (i = 0; i < n; i++)
				subs[i]->result = begun;
		}
		now = util_mono_us();
		for (i = 0; i < n; i++)
			batch[i]->at[AT_COMMITTED] = now;

		pthread_mutex_lock(&commit_sync_thread.lock);
		for (i = 0; i < n; i++)
			TAILQ_INSERT_TAIL(&commit_committed, batch[i], list);
		pthread_mutex_unlock(&commit_sync_thread.lock);
		pthread_cond_signal(&commit_sync_thread.cond);
	}

	store_writer_close();
}

/*
 * The syncer thread: once something is committed it takes everything
 * committed by then, makes it durable with one sync, wakes the runners
 * if any of it has actions, and hands it to the event loop; until the
 * worker stops (after the writer) and nothing is left to sync. A failed
 * sync fails what it was to cover: committed, but not known to be on
 * disk, so not acknowledged.
 */
static void
commit_syncer(struct kore_task *t)
{
	struct store_handle	*h;
	struct commit_list	 got;
	struct commit_item	*item;
	enum store_result	 synced;
	u_int64_t		 now;
	int			 jobs, notify;

	h = store_handle_new();
	while (commit_wait(&commit_sync_thread, &commit_committed)) {
		TAILQ_INIT(&got);
		TAILQ_CONCAT(&got, &commit_committed, list);
		pthread_mutex_unlock(&commit_sync_thread.lock);

		synced = store_batch_sync(h);
		now = util_mono_us();
		jobs = 0;
		TAILQ_FOREACH(item, &got, list) {
			item->at[AT_SYNCED] = now;
			if (synced != STORE_OK)
				item->sub.result = synced;
			else if (item->sub.result == STORE_OK &&
			    item->sub.njobs > 0)
				jobs = 1;
		}
		if (jobs)
			queue_wake();

		pthread_mutex_lock(&commit_sync_thread.lock);
		TAILQ_CONCAT(&commit_done, &got, list);
		notify = worker_thread_notify_claim(&commit_sync_thread);
		pthread_mutex_unlock(&commit_sync_thread.lock);

		if (notify)
			worker_thread_notify_send(t);
	}
	store_handle_free(h);
}

/* Event loop: wakes the requests whose submissions are on disk. */
static void
commit_on_done(struct kore_task *t)
{
	struct metrics_commit_tally	 tally;
	struct commit_list		 done;
	struct commit_item		*item;
	u_int64_t			 now;

	if (!worker_thread_notify_read(&commit_sync_thread, t))
		return;

	TAILQ_INIT(&done);
	pthread_mutex_lock(&commit_sync_thread.lock);
	TAILQ_CONCAT(&done, &commit_done, list);
	worker_thread_notify_reset(&commit_sync_thread);
	pthread_mutex_unlock(&commit_sync_thread.lock);

	memset(&tally, 0, sizeof(tally));
	now = util_mono_us();
	while ((item = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, item, list);
		TAILQ_REMOVE(&commit_pending, item, plist);
		commit_measured(&tally, item, now);
		item->done = 1;
		if (item->req != NULL)
			http_request_wakeup(item->req);
		else
			commit_item_release(item);
	}
	metrics_commit_add(&tally);
}

/* Event loop: where item's time went until now, for /metrics. */
static void
commit_measured(struct metrics_commit_tally *tally,
    const struct commit_item *item, u_int64_t now)
{
	u_int64_t	us[METRICS_COMMIT_PHASES];

	us[METRICS_COMMIT_WAIT] = item->at[AT_TAKEN] - item->at[AT_QUEUED];
	us[METRICS_COMMIT_WRITE] = item->at[AT_COMMITTED] -
	    item->at[AT_TAKEN];
	us[METRICS_COMMIT_SYNC] = item->at[AT_SYNCED] - item->at[AT_COMMITTED];
	us[METRICS_COMMIT_ANSWER] = now - item->at[AT_SYNCED];
	metrics_commit_tally(tally, us);
}
