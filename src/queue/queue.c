/*
 * queue.c: runner threads (see queue.h). Runners only talk to the store
 * and to the outside world; they never touch Kore's event loop, requests
 * or connections, so a slow SMTP server cannot slow a page down.
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
#include "core/config.h"
#include "core/forms.h"
#include "worker/metrics.h"
#include "worker/worker_thread.h"
#include "queue/queue.h"
#include "store/store.h"
#include "core/util.h"

#define QUEUE_BACKOFF_MAX_MS	(3600 * 1000)

/*
 * What runs a job of each kind; the kind is the type of the form's
 * action ("email" or "webhook", as core/forms.c accepts them).
 */
static const struct {
	const char	*kind;
	void		(*run)(const struct action_run *,
			    struct action_result *);
} queue_actions[] = {
	{ "email",	action_email_run },
	{ "webhook",	action_webhook_run },
};
#define QUEUE_NACTIONS	(sizeof(queue_actions) / sizeof(queue_actions[0]))

/* Its lock guards queue_wakeups. */
static struct worker_thread	queue_threads;
static u_int64_t		queue_wakeups;

static void		queue_runner(struct kore_task *);
static int		queue_stopping(void);
static void		queue_job_run(struct store_handle *, struct store_job *);
static u_int64_t	queue_backoff(int);

void
queue_init(void)
{
	worker_thread_start(&queue_threads, "runner", config.runners,
	    queue_runner, NULL);
}

void
queue_stop(void)
{
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

static void
queue_job_run(struct store_handle *h, struct store_job *job)
{
	struct store_record	 rec;
	struct action_result	 res;
	struct action_run	 run;
	struct form		*form;
	enum job_state		 next;
	u_int64_t		 now, run_at;
	size_t			 i;

	memset(&res, 0, sizeof(res));
	memset(&run, 0, sizeof(run));
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
		break;
	case ACTION_RETRY:
		if (job->attempts >= job->max_attempts) {
			next = JOB_FAILED;
			break;
		}
		next = JOB_QUEUED;
		run_at = now + (res.retry_after_ms ? res.retry_after_ms :
		    queue_backoff(job->attempts));
		break;
	default:
		next = JOB_FAILED;
		break;
	}
	if (next != JOB_DONE)
		kore_log(LOG_NOTICE, "job %lld (%s, submission %s) attempt "
		    "%d of %d: %s%s", (long long)job->id, job->kind,
		    job->submission_id, job->attempts, job->max_attempts,
		    res.error, next == JOB_FAILED ? "; failed for good" :
		    "; will retry");
	(void)store_job_finish(h, job, next, res.outcome == ACTION_DONE ?
	    NULL : res.error, run_at, now);
	metrics_job_attempt(next == JOB_DONE ? "done" : next == JOB_QUEUED ?
	    "retry" : "failed");
	if (next != JOB_QUEUED)
		metrics_job_latency(now > job->created_ms ?
		    now - job->created_ms : 0);
}

/*
 * Exponential backoff with "equal jitter": half of base * 2^(n-1) for
 * sure, plus a random share of the other half, so runners that failed
 * together do not all come back at the same moment.
 */
static u_int64_t
queue_backoff(int attempts)
{
	u_int64_t	d;
	int		i;

	d = config.retry_base_ms;
	for (i = 1; i < attempts && d < QUEUE_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > QUEUE_BACKOFF_MAX_MS)
		d = QUEUE_BACKOFF_MAX_MS;
	return (d / 2 + randombytes_uniform((u_int32_t)(d / 2) + 1));
}
