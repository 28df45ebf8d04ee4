/*
 * alert.c: the owner's alert digest (see alert.h). The store decides
 * when one is due and marks what it lists (store_alert_take), so two
 * workers or nodes never send the same failures; this file writes the
 * mail and sends it as the mail actions do.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "queue/actions.h"
#include "queue/alert.h"
#include "core/config.h"
#include "core/forms.h"
#include "core/mime.h"
#include "store/store.h"
#include "core/token.h"
#include "core/util.h"

#define ALERT_INTERVAL_MS	(15 * 60 * 1000)
#define ALERT_RETRY_MS		(60 * 1000)
#define ALERT_LIST_MAX		50
#define ALERT_RCPTS_MAX		16

static void	alert_item(const struct store_alert_item *, void *);
static void	alert_what(const char *, char *, size_t);

void
alert_check(struct store_handle *h, int (*stopping)(void))
{
	struct action_result	 res;
	struct action_run	 run;
	struct mime_message	 m;
	struct kore_buf		 body, msg;
	const char		*rcpts[ALERT_RCPTS_MAX], *p;
	char			 addrs[ALERT_RCPTS_MAX][256];
	char			 subject[128], id[TOKEN_ID_LEN + 16];
	char			 mid[TOKEN_ID_LEN + 32];
	u_int64_t		 now;
	size_t			 n, nrcpt, len;

	kore_buf_init(&body, 4096);
	now = util_now_ms();
	if (store_alert_take(h, now, config.alert_delay_ms, ALERT_INTERVAL_MS,
	    ALERT_LIST_MAX, alert_item, &body, &n) != STORE_OK || n == 0) {
		kore_buf_cleanup(&body);
		return;
	}
	if (n > ALERT_LIST_MAX)
		kore_buf_appendf(&body, "... and %zu more.\n\n",
		    n - ALERT_LIST_MAX);
	kore_buf_appendf(&body, "Every action that failed: %s/admin?actions="
	    "failed\nOn the desk an admin can retry them. Formwork writes "
	    "again in 15 minutes at the earliest, if more fail.\n",
	    config.base_url);

	nrcpt = 0;
	for (p = config.alert_to; *p != '\0' && nrcpt < ALERT_RCPTS_MAX;
	    p += len) {
		p += strspn(p, ", ");
		if ((len = strcspn(p, ", ")) == 0)
			break;
		(void)snprintf(addrs[nrcpt], sizeof(addrs[nrcpt]), "%.*s",
		    (int)len, p);
		rcpts[nrcpt] = addrs[nrcpt];
		nrcpt++;
	}
	(void)snprintf(subject, sizeof(subject), "Formwork: %zu action%s "
	    "failed for good", n, n == 1 ? "" : "s");
	(void)snprintf(id, sizeof(id), "alert_");
	token_id_new(id + 6);
	(void)snprintf(mid, sizeof(mid), "%s@formwork", id);

	memset(&m, 0, sizeof(m));
	m.from = config.mail_from;
	m.from_name = "Formwork";
	m.to = rcpts;
	m.nto = nrcpt;
	m.subject = subject;
	m.message_id = mid;
	m.date = time(NULL);
	m.text = (const char *)body.data;
	m.textlen = body.offset;
	kore_buf_init(&msg, body.offset * 2 + 1024);
	mime_message_write(&msg, &m);

	memset(&run, 0, sizeof(run));
	memset(&res, 0, sizeof(res));
	run.stopping = stopping;
	mail_send(&run, config.mail_from, rcpts, nrcpt, id, &msg, &res);
	if (res.outcome == ACTION_DONE) {
		kore_log(LOG_NOTICE, "alert: told %s of %zu failed action%s",
		    config.alert_to, n, n == 1 ? "" : "s");
	} else {
		kore_log(LOG_NOTICE, "alert: the digest could not be sent "
		    "(%s); trying again in a minute", res.error);
		(void)store_alert_giveback(h, now, util_now_ms() +
		    ALERT_RETRY_MS);
	}
	kore_buf_cleanup(&msg);
	kore_buf_cleanup(&body);
}

/* One failure: what, where, when, why, and its page on the desk. */
static void
alert_item(const struct store_alert_item *it, void *arg)
{
	struct kore_buf		*body = arg;
	struct form		*f;
	struct tm		 tm;
	time_t			 t;
	char			 when[64], what[64];

	f = forms_find(forms_loaded(), it->form);
	t = (time_t)(it->failed_ms / 1000);
	(void)gmtime_r(&t, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	alert_what(it->kind, what, sizeof(what));
	kore_buf_appendf(body, "* %s (%s) to %s, form \"%s\", failed at %s:\n"
	    "  %s\n  %s/admin/s/%s\n\n", what, it->kind, it->target,
	    f != NULL ? f->title : it->form, when, it->error, config.base_url,
	    it->submission_id);
}

static void
alert_what(const char *kind, char *out, size_t len)
{
	(void)snprintf(out, len, "%s", strcmp(kind, "webhook") == 0 ?
	    "Webhook" : strcmp(kind, "autoreply") == 0 ? "Confirmation mail" :
	    "Notification mail");
}
