/*
 * actions.h: what a job does. Each action runs in a runner thread (never
 * on Kore's event loop), through libcurl with time-outs on every network
 * call, and says whether it is done, worth retrying, or failed for good,
 * with what the other end answered for the delivery log.
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
	ACTION_SKIPPED,		/* done, sending nothing on purpose (error) */
};

#define ACTION_RESPONSE_MAX	512

struct action_result {
	enum action_outcome	 outcome;
	char			 error[256];
	u_int64_t		 retry_after_ms;	/* receiver's wish, or 0 */
	int			 code;		/* SMTP reply, HTTP status */
	/* What the other end said (SMTP's last reply, HTTP's body). */
	char			 response[ACTION_RESPONSE_MAX];
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

/*
 * Parent, at start-up: checks the settings the actions need, loads the
 * mail templates and the webhook secrets (the workers inherit them).
 */
int	actions_init(char *err, size_t errlen);

/* Each action's own part of that (mail_templates.c, action_webhook.c). */
int	mail_templates_load(char *err, size_t errlen);
int	action_webhook_init(char *err, size_t errlen);

/*
 * Every action's transfer: no signals (threads), a time-out on connecting
 * and on the whole call, and an abort as soon as run->stopping() says so.
 * run must outlive the transfer.
 */
void	action_curl_limits(CURL *, const struct action_run *run);

void	action_email_run(const struct action_run *, struct action_result *);
void	action_autoreply_run(const struct action_run *,
	    struct action_result *);
void	action_webhook_run(const struct action_run *, struct action_result *);

/* ---- mail (mail_templates.c, mail_send.c) ----------------------------- */

struct kore_buf;
struct kore_json_item;

/*
 * Renders the subject template of form's action i over ctx, as plain
 * text, into out; returns 0 (out untouched) when the action has none.
 */
int	mail_subject(const struct form *, size_t i, struct kore_json_item *ctx,
	    struct kore_buf *out);

/*
 * Renders templates/mail/NAME.txt over ctx into text, as plain text,
 * and NAME.html (HTML-escaped) into html when there is one; returns 1
 * when there is an HTML part. Runners share the templates: one renders
 * at a time.
 */
int	mail_body(const char *name, struct kore_json_item *ctx,
	    struct kore_buf *text, struct kore_buf *html);

/*
 * Sends msg over SMTP to FORMWORK_SMTP_URL with the envelope sender
 * from ("" for none, as auto-replies use) to the n addresses in rcpts,
 * or without an SMTP server writes it to the outbox as name.eml. Sets
 * res: done, a retry, or failed for good (SMTP 5xx), with the server's
 * last reply.
 */
void	mail_send(const struct action_run *, const char *from,
	    const char *const *rcpts, size_t n, const char *name,
	    const struct kore_buf *msg, struct action_result *res);

#endif
