/*
 * action_email.c: the mail actions (SPEC 11). An email notifies fixed
 * addresses (to, cc, bcc) of a submission, with a Reply-To taken from
 * the form (so that answering it answers the visitor); an autoreply
 * confirms a submission to the visitor's own address, at most once per
 * address per hour, never for spam, marked Auto-Submitted: auto-replied
 * (RFC 3834). Both take their subject and body from templates over the
 * submitted values (mail_templates.c) or say what the defaults say, and
 * are written by core/mime.c, which no value can add a header through.
 *
 * The reserved fields _subject and _replyto, kept beside the values
 * (store_record's subject and reply_to; the subject only where the form
 * allows it), set a notification's subject and Reply-To; they are never
 * values, so the templates never see them.
 */

#include <sys/types.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "queue/actions.h"
#include "core/config.h"
#include "core/form_answers.h"
#include "core/forms.h"
#include "core/mime.h"
#include "store/store.h"
#include "core/util.h"

#define EMAIL_AUTOREPLY_WINDOW_MS	(3600 * 1000)
#define EMAIL_MAX_RCPTS			150	/* to, cc, bcc: 50 each */

/* A message being made: its parts, freed by email_cleanup(). */
struct email {
	struct kore_json	 values;
	struct kore_json_item	*ctx;
	struct kore_buf		 subject;
	struct kore_buf		 text;
	struct kore_buf		 html;
	int			 has_html;
	struct mime_message	 m;
	char			 message_id[TOKEN_ID_LEN + 32];
};

static int		 email_start(const struct action_run *, struct email *,
			    struct action_result *);
static void		 email_cleanup(struct email *);
static const char	*email_value(struct email *, const char *);
static void		 email_context(const struct action_run *,
			    struct email *);
static void		 email_send(const struct action_run *, struct email *,
			    const char *, const char *const *, size_t,
			    struct action_result *);
static void		 email_skip(struct action_result *, const char *, ...)
			    __attribute__((format(printf, 2, 3)));

void
action_email_run(const struct action_run *run, struct action_result *res)
{
	const struct form_action	*a = run->action;
	struct kore_json_item		*it, *answers;
	const char			*rcpts[EMAIL_MAX_RCPTS];
	const char			*v;
	struct email			 e;
	size_t				 n, i;

	if (!email_start(run, &e, res))
		return;
	if (run->rec->subject != NULL && run->rec->subject[0] != '\0')
		kore_buf_appendf(&e.subject, "%s", run->rec->subject);
	else if (!mail_subject(run->form, (size_t)run->job->action, e.ctx,
	    &e.subject))
		kore_buf_appendf(&e.subject, "%s", run->form->title);

	if (a->template != NULL) {
		e.has_html = mail_body(a->template, e.ctx, &e.text, &e.html);
	} else {
		kore_buf_appendf(&e.text, "A new submission to \"%s\".\n\n",
		    run->form->title);
		answers = form_answers_add(NULL, run->form, run->rec->data,
		    run->rec->id);
		TAILQ_FOREACH(it, &answers->data.items, list) {
			kore_buf_appendf(&e.text, "%s:\n%s\n\n",
			    kore_json_find_string(it, "label")->data.string,
			    kore_json_find_string(it, "value")->data.string);
		}
		kore_json_item_free(answers);
		kore_buf_appendf(&e.text, "Result page: %s/s/%s\n"
		    "On the review desk: %s/admin/s/%s\n", config.base_url,
		    run->rec->id, config.base_url, run->rec->id);
	}

	/* The visitor's own Reply-To first, then the action's field. */
	v = run->rec->reply_to;
	if (!mime_address_ok(v, strlen(v)))
		v = a->reply_to ? email_value(&e, a->reply_to) : NULL;
	if (v != NULL && mime_address_ok(v, strlen(v)))
		e.m.reply_to = v;
	e.m.from_name = "Formwork";
	e.m.to = (const char *const *)a->to;
	e.m.nto = a->nto;
	e.m.cc = (const char *const *)a->cc;
	e.m.ncc = a->ncc;
	e.m.submission = run->rec->id;

	/* Bcc recipients are the envelope's alone. */
	n = 0;
	for (i = 0; i < a->nto; i++)
		rcpts[n++] = a->to[i];
	for (i = 0; i < a->ncc; i++)
		rcpts[n++] = a->cc[i];
	for (i = 0; i < a->nbcc; i++)
		rcpts[n++] = a->bcc[i];
	email_send(run, &e, config.mail_from, rcpts, n, res);
	email_cleanup(&e);
}

void
action_autoreply_run(const struct action_run *run, struct action_result *res)
{
	const struct form_action	*a = run->action;
	const char			*addr, *to[1];
	struct email			 e;
	char				 lower[256];
	size_t				 i;
	int				 granted;

	if (run->rec->spam || strcmp(run->rec->review, "spam") == 0) {
		email_skip(res, "not sent: the submission is marked as spam");
		return;
	}
	if (!email_start(run, &e, res))
		return;
	addr = email_value(&e, a->field);
	if (addr == NULL || *addr == '\0') {
		email_skip(res, "not sent: '%s' holds no address", a->field);
		goto out;
	}
	/* Only a plain address: an internationalised one needs SMTPUTF8. */
	if (!mime_address_ok(addr, strlen(addr))) {
		email_skip(res, "not sent: '%.100s' is not a plain ASCII "
		    "address", addr);
		goto out;
	}
	for (i = 0; i < sizeof(lower) - 1 && addr[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)addr[i]);
	lower[i] = '\0';
	if (store_autoreply_claim(run->store, lower, run->job->id,
	    util_now_ms(), EMAIL_AUTOREPLY_WINDOW_MS, &granted) != STORE_OK) {
		res->outcome = ACTION_RETRY;
		(void)snprintf(res->error, sizeof(res->error),
		    "the store could not be read");
		goto out;
	}
	if (!granted) {
		/* Dropped, not delayed: a form must not flood a mailbox. */
		email_skip(res, "not sent: this address had an automatic "
		    "reply less than an hour ago");
		goto out;
	}

	if (!mail_subject(run->form, (size_t)run->job->action, e.ctx,
	    &e.subject))
		kore_buf_appendf(&e.subject, "We received your submission: %s",
		    run->form->title);
	if (a->template != NULL) {
		e.has_html = mail_body(a->template, e.ctx, &e.text, &e.html);
	} else {
		kore_buf_appendf(&e.text, "Thank you. Your submission to "
		    "\"%s\" has arrived.\n\n%s\n\n-- \nThis is an automatic "
		    "reply, sent because this address was given in the form "
		    "at %s/f/%s.\n", run->form->title,
		    run->form->success_message, config.base_url,
		    run->form->slug);
	}
	to[0] = addr;
	e.m.from_name = run->form->title;
	e.m.to = to;
	e.m.nto = 1;
	e.m.auto_replied = 1;
	/* RFC 3834 3.3: no bounce of a bounce; a null sender. */
	email_send(run, &e, "", to, 1, res);
out:
	email_cleanup(&e);
}

/*
 * Parses the stored values and makes the template context; on a record
 * that cannot be read, fails the job for good (no retry can read it).
 */
static int
email_start(const struct action_run *run, struct email *e,
    struct action_result *res)
{
	memset(e, 0, sizeof(*e));
	kore_buf_init(&e->subject, 128);
	kore_buf_init(&e->text, 2048);
	kore_buf_init(&e->html, 64);
	kore_json_init(&e->values, run->rec->data, strlen(run->rec->data));
	if (!kore_json_parse(&e->values) ||
	    e->values.root->type != KORE_JSON_TYPE_OBJECT) {
		res->outcome = ACTION_FAILED;
		(void)snprintf(res->error, sizeof(res->error), "the stored "
		    "values cannot be read: %s",
		    kore_json_strerror(&e->values));
		email_cleanup(e);
		return (0);
	}
	email_context(run, e);
	return (1);
}

static void
email_cleanup(struct email *e)
{
	kore_json_cleanup(&e->values);
	if (e->ctx != NULL)
		kore_json_item_free(e->ctx);
	e->ctx = NULL;
	kore_buf_cleanup(&e->subject);
	kore_buf_cleanup(&e->text);
	kore_buf_cleanup(&e->html);
}

/* The string value called name, or NULL. */
static const char *
email_value(struct email *e, const char *name)
{
	struct kore_json_item	*it;

	TAILQ_FOREACH(it, &e->values.root->data.items, list) {
		if (strcmp(it->name, name) == 0)
			return (it->type == KORE_JSON_TYPE_STRING ?
			    it->data.string : NULL);
	}
	return (NULL);
}

/*
 * What a template sees: each value under its field's name (a string,
 * or a list for several), never the reserved ones (_subject, ...), and
 * Formwork's own facts under names no field can have: _form (slug,
 * title) and _submission (id, received, answers as people read them,
 * result_url, desk_url).
 */
static void
email_context(const struct action_run *run, struct email *e)
{
	struct kore_json_item	*it, *v, *arr, *o;
	struct tm		 tm;
	time_t			 t;
	char			 when[64], url[512];

	e->ctx = kore_json_create_object(NULL, NULL);
	TAILQ_FOREACH(it, &e->values.root->data.items, list) {
		if (it->name[0] == '_')
			continue;
		if (it->type == KORE_JSON_TYPE_STRING) {
			kore_json_create_string(e->ctx, it->name,
			    it->data.string);
		} else if (it->type == KORE_JSON_TYPE_ARRAY) {
			arr = kore_json_create_array(e->ctx, it->name);
			TAILQ_FOREACH(v, &it->data.items, list) {
				if (v->type == KORE_JSON_TYPE_STRING)
					kore_json_create_string(arr, NULL,
					    v->data.string);
			}
		}
	}
	o = kore_json_create_object(e->ctx, "_form");
	kore_json_create_string(o, "slug", run->form->slug);
	kore_json_create_string(o, "title", run->form->title);
	o = kore_json_create_object(e->ctx, "_submission");
	kore_json_create_string(o, "id", run->rec->id);
	t = (time_t)(run->rec->created_ms / 1000);
	(void)gmtime_r(&t, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	kore_json_create_string(o, "received", when);
	(void)form_answers_add(o, run->form, run->rec->data, run->rec->id);
	(void)snprintf(url, sizeof(url), "%s/s/%s", config.base_url,
	    run->rec->id);
	kore_json_create_string(o, "result_url", url);
	(void)snprintf(url, sizeof(url), "%s/admin/s/%s", config.base_url,
	    run->rec->id);
	kore_json_create_string(o, "desk_url", url);
}

/*
 * Writes the message and sends it. The Message-ID is the job's delivery
 * id: a retry sends the same message again, "send again" a new one.
 */
static void
email_send(const struct action_run *run, struct email *e, const char *from,
    const char *const *rcpts, size_t n, struct action_result *res)
{
	struct kore_buf		msg;

	(void)snprintf(e->message_id, sizeof(e->message_id), "%s@formwork",
	    run->job->delivery_id);
	e->m.from = config.mail_from;
	e->m.subject = kore_buf_stringify(&e->subject, NULL);
	e->m.message_id = e->message_id;
	e->m.date = time(NULL);
	e->m.text = (const char *)e->text.data;
	e->m.textlen = e->text.offset;
	if (e->has_html) {
		e->m.html = (const char *)e->html.data;
		e->m.htmllen = e->html.offset;
	}
	kore_buf_init(&msg, 4096);
	mime_message_write(&msg, &e->m);
	mail_send(run, from, rcpts, n, run->job->delivery_id, &msg, res);
	kore_buf_cleanup(&msg);
}

static void
email_skip(struct action_result *res, const char *fmt, ...)
{
	va_list		ap;

	res->outcome = ACTION_SKIPPED;
	va_start(ap, fmt);
	(void)vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}
