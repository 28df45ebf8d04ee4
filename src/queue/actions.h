/*
 * actions.h: what a job does. Each action runs in a runner thread (never
 * on Kore's event loop), through libcurl with time-outs on every network
 * call, and says whether it is done, worth retrying, or failed for good.
 */

#ifndef FORMWORK_ACTIONS_H
#define FORMWORK_ACTIONS_H

#include <sys/types.h>

#include <stddef.h>

#include <curl/curl.h>

struct form;
struct form_action;
struct store_handle;
struct store_job;
struct store_record;

enum action_outcome {
	ACTION_DONE = 0,
	ACTION_RETRY,		/* a temporary failure */
	ACTION_FAILED,		/* for good: retrying cannot help */
};

struct action_result {
	enum action_outcome	 outcome;
	char			 error[256];
	u_int64_t		 retry_after_ms;	/* receiver's wish, or 0 */
};

/* One job to run, as the runner hands it to its action. */
struct action_run {
	struct form		*form;
	struct form_action	*action;
	struct store_record	*rec;
	struct store_job	*job;
	struct store_handle	*store;		/* the runner's connection */

	/*
	 * 1 once the worker is stopping: a long call gives up and the job
	 * is retried later. Given by the runner, so that an action never
	 * calls back up into it.
	 */
	int			(*stopping)(void);
};

/* Parent, at start-up: checks the settings the actions need. */
int	actions_init(char *err, size_t errlen);

/*
 * Every action's transfer: no signals (threads), a time-out on connecting
 * and on the whole call, and an abort as soon as run->stopping() says so.
 * run must outlive the transfer.
 */
void	action_curl_limits(CURL *, const struct action_run *run);

void	action_email_run(const struct action_run *, struct action_result *);
void	action_webhook_run(const struct action_run *, struct action_result *);

#endif
