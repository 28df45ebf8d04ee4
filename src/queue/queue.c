/*
 * queue.c: runner threads (see queue.h). Runners only talk to the store
 * and to the outside world; they never touch Kore's event loop, requests
 * or connections, so a slow SMTP server cannot slow a page down. Each
 * attempt goes into the delivery log with its job's new state; between
 * jobs, one runner per worker looks, once a second, whether the owner's
 * alert digest is due (alert.c).
 */

#include <sys/types.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>
#include <kore/tasks.h>
#include <sodium.h>

#include "queue/actions.h"
#include "queue/alert.h"
#include "core/config.h"
#include "core/forms.h"
#include "worker/metrics.h"
#include "worker/worker_thread.h"
#include "queue/queue.h"
#include "store/store.h"
#include "core/util.h"

#define QUEUE_ALERT_EVERY_MS	1000

/*
 * What runs a job of each kind; the kind is the type of the form's
 * action (as core/forms.c accepts them).
 */
static const struct {
	const char	*kind;
	void		(*run)(const struct action_run *,
			    struct action_result *);
} queue_actions[] = {
	{ "email",	action_email_run },
	{ "autoreply",	action_autoreply_run },
	{ "webhook",	action_webhook_run },
};
#define QUEUE_NACTIONS	(sizeof(queue_actions) / sizeof(queue_actions[0]))

/* Its lock guards queue_wakeups and queue_alert_at. */
static struct worker_thread	queue_threads;
static u_int64_t		queue_wakeups;
static u_int64_t		queue_alert_at;
static struct worker_thread	queue_listener;

static void		queue_runner(struct kore_task *);
static void		queue_listen(struct kore_task *);
static int		queue_stopping(void);
static int		queue_alert_due(void);
static void		queue_job_run(struct store_handle *, struct store_job *);
static u_int64_t	queue_delay(const struct form_action *, int);

void
queue_init(void)
{
	worker_thread_start(&queue_threads, "runner", config.runners,
	    queue_runner, NULL);
	worker_thread_start(&queue_listener, "listener", 1, queue_listen,
	    NULL);
}

void
queue_stop(void)
{
	worker_thread_stop(&queue_listener);
	worker_thread_stop(&queue_threads);
}

void
queue_wake(void)
{
	pthread_mutex_lock(&queue_threads.lock);
	queue_wakeups++;
	pthread_cond_broadcast(&queue_threads.cond);
	pthread_mutex_unlock(&queue_threads.lock);
}

/* An action's stop check (struct action_run): 1 once the worker stops. */
static int
queue_stopping(void)
{
	return (worker_thread_stopping(&queue_threads));
}

/* A runner: claims due jobs and runs them until the worker stops. */
static void
queue_runner(struct kore_task *t)
{
	struct store_handle	*h;
	struct store_job	 job;
	struct timespec		 until;
	enum store_result	 r;
	u_int64_t		 seen;

	h = store_handle_new();
	seen = 0;
	while (!queue_stopping()) {
		r = store_job_claim(h, util_now_ms(),
		    config.action_timeout_ms + 10000, &job);
		if (r == STORE_OK) {
			queue_job_run(h, &job);
			continue;
		}
		if (queue_alert_due())
			alert_check(h, queue_stopping);

		/* Nothing due (or the store is busy): wait for a wake-up. */
		pthread_mutex_lock(&queue_threads.lock);
		if (queue_wakeups == seen && !queue_stopping()) {
			(void)clock_gettime(CLOCK_MONOTONIC, &until);
			until.tv_nsec += QUEUE_POLL_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			(void)pthread_cond_timedwait(&queue_threads.cond,
			    &queue_threads.lock, &until);
		}
		seen = queue_wakeups;
		pthread_mutex_unlock(&queue_threads.lock);
	}
	store_handle_free(h);
}

/*
 * The listener: wakes this worker's runners whenever a commit on any
 * node has queued a job (store_jobs_wait), so a job starts at once on
 * whichever node has a runner free, not at the next poll. A store that
 * sends no such news (SQLite) ends it at once; polling finds jobs there.
 */
static void
queue_listen(struct kore_task *t)
{
	struct store_handle	*h;
	int			 news;

	h = store_handle_new();
	while (!worker_thread_stopping(&queue_listener)) {
		if ((news = store_jobs_wait(h, QUEUE_LISTEN_MS)) == -1)
			break;
		if (news)
			queue_wake();
	}
	store_handle_free(h);
}

/* 1 for one runner of the worker once every QUEUE_ALERT_EVERY_MS. */
static int
queue_alert_due(void)
{
	u_int64_t	now;
	int		due;

	if (config.alert_to == NULL)
		return (0);
	now = util_now_ms();
	pthread_mutex_lock(&queue_threads.lock);
	if ((due = now >= queue_alert_at))
		queue_alert_at = now + QUEUE_ALERT_EVERY_MS;
	pthread_mutex_unlock(&queue_threads.lock);
	return (due);
}

static void
queue_job_run(struct store_handle *h, struct store_job *job)
{
	struct store_record	 rec;
	struct store_attempt	 at;
	struct action_result	 res;
	struct action_run	 run;
	struct form		*form;
	enum job_state		 next;
	u_int64_t		 now, run_at;
	size_t			 i;

	memset(&res, 0, sizeof(res));
	memset(&run, 0, sizeof(run));
	memset(&at, 0, sizeof(at));
	at.started_ms = util_now_ms();
	if (store_job_record(h, job, &rec) != STORE_OK) {
		res.outcome = ACTION_RETRY;
		(void)snprintf(res.error, sizeof(res.error),
		    "the submission could not be read");
		goto record;
	}
	form = forms_find(forms_loaded(), rec.form);
	if (form == NULL || job->action >= (int)form->nactions ||
	    strcmp(form->actions[job->action].type, job->kind) != 0) {
		res.outcome = ACTION_FAILED;
		(void)snprintf(res.error, sizeof(res.error), "the form no "
		    "longer declares this %s action", job->kind);
		goto record;
	}
	for (i = 0; i < QUEUE_NACTIONS; i++) {
		if (strcmp(queue_actions[i].kind, job->kind) == 0)
			break;
	}
	if (i == QUEUE_NACTIONS) {
		res.outcome = ACTION_FAILED;
		(void)snprintf(res.error, sizeof(res.error), "no action runs "
		    "jobs of kind %s", job->kind);
		goto record;
	}
	run.form = form;
	run.action = &form->actions[job->action];
	run.rec = &rec;
	run.job = job;
	run.store = h;
	run.stopping = queue_stopping;
	queue_actions[i].run(&run, &res);

record:
	store_record_cleanup(&rec);
	now = util_now_ms();
	run_at = now;
	/*
	 * An attempt cut short because the server stops is not the
	 * action's failure: the job goes back as it was, due at once, for
	 * whichever runner (this node's next start, or another) is first.
	 */
	if (res.outcome == ACTION_RETRY && queue_stopping()) {
		kore_log(LOG_NOTICE, "job %lld (%s, submission %s): given back "
		    "as the server stops", (long long)job->id, job->kind,
		    job->submission_id);
		(void)store_job_release(h, job, now);
		return;
	}
	switch (res.outcome) {
	case ACTION_DONE:
		next = JOB_DONE;
		at.outcome = ATTEMPT_DELIVERED;
		break;
	case ACTION_SKIPPED:
		next = JOB_DONE;
		at.outcome = ATTEMPT_SKIPPED;
		break;
	case ACTION_RETRY:
		if (job->attempts >= job->max_attempts) {
			next = JOB_FAILED;
			at.outcome = ATTEMPT_FAILED;
			break;
		}
		next = JOB_QUEUED;
		at.outcome = ATTEMPT_RETRY;
		run_at = now + (res.retry_after_ms ? res.retry_after_ms :
		    queue_delay(run.action, job->attempts));
		break;
	default:
		next = JOB_FAILED;
		at.outcome = ATTEMPT_FAILED;
		break;
	}
	if (next != JOB_DONE)
		kore_log(LOG_NOTICE, "job %lld (%s, submission %s) attempt "
		    "%d of %d: %s%s", (long long)job->id, job->kind,
		    job->submission_id, job->attempts, job->max_attempts,
		    res.error, next == JOB_FAILED ? "; failed for good" :
		    "; will retry");
	at.duration_ms = now > at.started_ms ? now - at.started_ms : 0;
	at.code = res.code;
	at.error = res.error;
	at.response = res.response;
	(void)store_job_finish(h, job, next, next == JOB_DONE ?
	    NULL : res.error, run_at, now, &at);
	metrics_job_attempt(next == JOB_DONE ? "done" : next == JOB_QUEUED ?
	    "retry" : "failed");
	if (next != JOB_QUEUED)
		metrics_job_latency(now > job->created_ms ?
		    now - job->created_ms : 0);
}

/*
 * The wait before the retry after attempt number attempts: the action's
 * schedule (or FORMWORK_RETRY_SCHEDULE), its last wait repeated once it
 * runs out, moved by up to a fifth either way so that jobs that failed
 * together do not all come back at the same moment. action is NULL when
 * the job's form could not be read: the global schedule then.
 */
static u_int64_t
queue_delay(const struct form_action *action, int attempts)
{
	const u_int64_t	*sched;
	u_int64_t	 d, spread;
	size_t		 n, k;

	if (action != NULL && action->retry_ms != NULL) {
		sched = action->retry_ms;
		n = action->nretry;
	} else {
		sched = config_retry(&n);
	}
	k = attempts < 1 ? 0 : (size_t)attempts - 1;
	d = sched[k < n ? k : n - 1];
	spread = d / 5;		/* a week at most: 2 * spread fits */
	return (d - spread + randombytes_uniform((u_int32_t)(2 * spread) + 1));
}
