/*
 * form_view.c: turns a form definition (and, after a failed POST, the
 * submitted values and messages) into the context templates/form.html
 * renders, and a stored submission into the result page's context.
 *
 * Templates are logic-less, so every decision (which control, which
 * attributes, which option is checked) is made here as plain flags.
 * Everything returned is a kore_json tree the caller frees.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <kore/kore.h>

#include "web/captcha.h"
#include "web/form_view.h"
#include "core/form_answers.h"
#include "core/forms.h"
#include "store/store.h"
#include "core/validate.h"

static void	form_view_field(struct kore_json_item *,
		    const struct form_field *, const struct field_input *);
static void	form_view_flag(struct kore_json_item *, const char *, int);
static int	form_view_has(const struct field_input *, const char *);

struct kore_json_item *
form_view_form(struct form *form, const struct form_input *in,
    const char *key, const char *csrf)
{
	struct kore_json_item		*ctx, *f, *list, *errs, *e, *o;
	const struct form_field		*fld;
	const struct captcha_widget	*w;
	char				 target[96];
	size_t				 i, nerrors;

	ctx = kore_json_create_object(NULL, NULL);
	f = kore_json_create_object(ctx, "form");
	kore_json_create_string(f, "slug", form->slug);
	kore_json_create_string(f, "title", form->title);
	if (form->description != NULL)
		kore_json_create_string(f, "description", form->description);
	kore_json_create_string(ctx, "key", key);
	kore_json_create_string(ctx, "csrf", csrf);

	/* A post from the owner's page goes on where it was going. */
	if (in != NULL && (in->next != NULL || in->subject != NULL ||
	    in->reply_to != NULL)) {
		o = kore_json_create_object(ctx, "carried");
		if (in->next != NULL)
			kore_json_create_string(o, "next", in->next);
		if (in->subject != NULL)
			kore_json_create_string(o, "subject", in->subject);
		if (in->reply_to != NULL)
			kore_json_create_string(o, "replyto", in->reply_to);
	}
	if ((w = captcha_widget(form)) != NULL) {
		o = kore_json_create_object(ctx, "captcha");
		kore_json_create_string(o, "script", w->script);
		kore_json_create_string(o, "class", w->div_class);
		kore_json_create_string(o, "site_key", form->captcha_site_key);
	}

	nerrors = in != NULL ? in->nerrors + (in->challenge != 0) : 0;
	if (nerrors > 0) {
		errs = kore_json_create_object(ctx, "errors");
		kore_json_create_integer_u64(errs, "count",
		    (u_int64_t)nerrors);
		form_view_flag(errs, "one", nerrors == 1);
		list = kore_json_create_array(errs, "list");
		for (i = 0; i < form->nfields; i++) {
			if (in->fields[i].error[0] == '\0')
				continue;
			fld = &form->fields[i];
			/* Groups are reached through their first control. */
			(void)snprintf(target, sizeof(target), "f-%s%s",
			    fld->name, fld->type == FIELD_RADIO ||
			    fld->multiple ? "-0" : "");
			e = kore_json_create_object(list, NULL);
			kore_json_create_string(e, "target", target);
			kore_json_create_string(e, "message",
			    in->fields[i].error);
		}
		if (in->challenge != 0) {
			e = kore_json_create_object(list, NULL);
			kore_json_create_string(e, "target", "f-captcha");
			kore_json_create_string(e, "message", in->challenge ==
			    VALIDATE_CHALLENGE_MISSING ? "Complete the check "
			    "that you are a person, then send the form again." :
			    "The check that you are a person did not succeed. "
			    "Complete it again, then send the form.");
		}
	}

	list = kore_json_create_array(ctx, "fields");
	for (i = 0; i < form->nfields; i++) {
		form_view_field(kore_json_create_object(list, NULL),
		    &form->fields[i], in ? &in->fields[i] : NULL);
	}
	return (ctx);
}

static void
form_view_field(struct kore_json_item *o, const struct form_field *fld,
    const struct field_input *fi)
{
	struct kore_json_item	*opts, *op;
	const char		*value, *input_type;
	char			 buf[160];
	size_t			 i;
	int			 invalid;

	value = fi != NULL && fi->nvals > 0 ? fi->vals[0] : "";
	invalid = fi != NULL && fi->error[0] != '\0';

	kore_json_create_string(o, "name", fld->name);
	kore_json_create_string(o, "label", fld->label);
	form_view_flag(o, "required", fld->required);
	if (fld->help != NULL)
		kore_json_create_string(o, "help", fld->help);
	if (invalid)
		kore_json_create_string(o, "error", fi->error);
	if (fld->placeholder != NULL)
		kore_json_create_string(o, "placeholder", fld->placeholder);
	if (fld->autocomplete != NULL)
		kore_json_create_string(o, "autocomplete", fld->autocomplete);

	/* aria-describedby: the help text, then the message. */
	buf[0] = '\0';
	if (fld->help != NULL)
		(void)snprintf(buf, sizeof(buf), "f-%s-help", fld->name);
	if (invalid) {
		(void)snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "%sf-%s-error", buf[0] ? " " : "", fld->name);
	}
	if (buf[0] != '\0')
		kore_json_create_string(o, "describedby", buf);

	if (fld->max_length >= 0)
		kore_json_create_integer_u64(o, "maxlength",
		    (u_int64_t)fld->max_length);
	if (fld->min_length > 0)
		kore_json_create_integer_u64(o, "minlength",
		    (u_int64_t)fld->min_length);

	input_type = NULL;
	switch (fld->type) {
	case FIELD_TEXT:
		input_type = "text";
		break;
	case FIELD_EMAIL:
		input_type = "email";
		break;
	case FIELD_URL:
		input_type = "url";
		break;
	case FIELD_TEL:
		input_type = "tel";
		break;
	case FIELD_DATE:
		input_type = "date";
		if (fld->min_date != NULL)
			kore_json_create_string(o, "min", fld->min_date);
		if (fld->max_date != NULL)
			kore_json_create_string(o, "max", fld->max_date);
		break;
	case FIELD_NUMBER:
	case FIELD_INTEGER:
		input_type = "number";
		kore_json_create_string(o, "step",
		    fld->type == FIELD_INTEGER ? "1" : "any");
		if (fld->has_min) {
			(void)snprintf(buf, sizeof(buf), "%g", fld->min);
			kore_json_create_string(o, "min", buf);
		}
		if (fld->has_max) {
			(void)snprintf(buf, sizeof(buf), "%g", fld->max);
			kore_json_create_string(o, "max", buf);
		}
		break;
	case FIELD_TEXTAREA:
		form_view_flag(o, "is_textarea", 1);
		break;
	case FIELD_SELECT:
		form_view_flag(o, "is_select", 1);
		break;
	case FIELD_RADIO:
		form_view_flag(o, "is_radio", 1);
		break;
	case FIELD_CHECKBOX:
		form_view_flag(o, fld->multiple ? "is_checkboxes" :
		    "is_checkbox", 1);
		if (!fld->multiple) {
			kore_json_create_string(o, "option_value", fld->value);
			form_view_flag(o, "checked",
			    form_view_has(fi, fld->value));
		}
		break;
	case FIELD_HIDDEN:
		form_view_flag(o, "is_hidden", 1);
		value = fld->value;
		break;
	}
	if (input_type != NULL) {
		form_view_flag(o, "is_input", 1);
		kore_json_create_string(o, "input_type", input_type);
	}
	kore_json_create_string(o, "value", value);

	if (fld->noptions == 0)
		return;
	opts = kore_json_create_array(o, "options");
	for (i = 0; i < fld->noptions; i++) {
		op = kore_json_create_object(opts, NULL);
		kore_json_create_string(op, "value", fld->options[i].value);
		kore_json_create_string(op, "label", fld->options[i].label);
		(void)snprintf(buf, sizeof(buf), "f-%s-%zu", fld->name, i);
		kore_json_create_string(op, "id", buf);
		form_view_flag(op, "checked",
		    form_view_has(fi, fld->options[i].value));
	}
}

struct kore_json_item *
form_view_result(struct form *form, const struct store_record *rec)
{
	struct kore_json_item	*ctx, *f;
	struct tm		 tm;
	time_t			 t;
	char			 when[64];

	ctx = kore_json_create_object(NULL, NULL);
	f = kore_json_create_object(ctx, "form");
	kore_json_create_string(f, "slug", form->slug);
	kore_json_create_string(f, "title", form->title);
	kore_json_create_string(f, "success_message", form->success_message);
	kore_json_create_string(ctx, "id", rec->id);
	t = (time_t)(rec->created_ms / 1000);
	(void)gmtime_r(&t, &tm);
	(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
	kore_json_create_string(ctx, "received", when);

	(void)form_answers_add(ctx, form, rec->data, rec->id);
	return (ctx);
}

static void
form_view_flag(struct kore_json_item *o, const char *name, int on)
{
	kore_json_create_literal(o, name, on ? KORE_JSON_TRUE :
	    KORE_JSON_FALSE);
}

static int
form_view_has(const struct field_input *fi, const char *value)
{
	size_t		i;

	if (fi == NULL)
		return (0);
	for (i = 0; i < fi->nvals; i++) {
		if (strcmp(fi->vals[i], value) == 0)
			return (1);
	}
	return (0);
}

static const char *
form_view_job_what(const char *kind)
{
	if (strcmp(kind, "email") == 0)
		return ("Email notification to the site owner");
	if (strcmp(kind, "autoreply") == 0)
		return ("Confirmation email to you");
	if (strcmp(kind, "webhook") == 0)
		return ("Notification to the site's other systems");
	return (kind);
}

/*
 * "12 s", "25 min", "5 h" from now, and the time as "at 14:05 UTC" once
 * it is a few minutes off: a retry may be hours away (SPEC 11).
 */
static void
form_view_wait(u_int64_t run_at, u_int64_t now_ms, char *out, size_t len)
{
	struct tm	tm;
	time_t		t;
	u_int64_t	s;
	char		at[32];

	s = run_at > now_ms ? (run_at - now_ms + 999) / 1000 : 0;
	if (s < 120) {
		(void)snprintf(out, len, "%llu s", (unsigned long long)s);
		return;
	}
	t = (time_t)(run_at / 1000);
	(void)gmtime_r(&t, &tm);
	(void)strftime(at, sizeof(at), s < 86400 ? "%H:%M UTC" :
	    "%Y-%m-%d %H:%M UTC", &tm);
	if (s < 120 * 60)
		(void)snprintf(out, len, "%llu min (at %s)",
		    (unsigned long long)(s + 30) / 60, at);
	else
		(void)snprintf(out, len, "%llu h (at %s)",
		    (unsigned long long)(s + 1800) / 3600, at);
}

void
form_view_jobs(struct kore_json_item *ctx, const struct store_job_status *js,
    size_t n, u_int64_t now_ms)
{
	struct kore_json_item	*jobs, *failed, *o;
	char			 status[160], wait[64];
	size_t			 i, nfailed, npending;

	jobs = kore_json_create_array(ctx, "jobs");
	failed = kore_json_create_array(ctx, "failed");
	nfailed = npending = 0;
	for (i = 0; i < n; i++) {
		switch (js[i].state) {
		case JOB_QUEUED:
			npending++;
			if (js[i].attempts == 0) {
				(void)snprintf(status, sizeof(status),
				    "waiting to start");
				break;
			}
			form_view_wait(js[i].run_at, now_ms, wait,
			    sizeof(wait));
			(void)snprintf(status, sizeof(status), "did not work "
			    "yet: retry %d of %d, next try in %s",
			    js[i].attempts + 1, js[i].max_attempts, wait);
			break;
		case JOB_RUNNING:
			npending++;
			if (js[i].attempts > 1)
				(void)snprintf(status, sizeof(status),
				    "in progress (retry %d of %d)",
				    js[i].attempts, js[i].max_attempts);
			else
				(void)snprintf(status, sizeof(status),
				    "in progress");
			break;
		case JOB_DONE:
			(void)snprintf(status, sizeof(status), "done");
			break;
		case JOB_FAILED:
		default:
			nfailed++;
			(void)snprintf(status, sizeof(status), "could not be "
			    "completed");
			o = kore_json_create_object(failed, NULL);
			kore_json_create_string(o, "what",
			    form_view_job_what(js[i].kind));
			break;
		}
		o = kore_json_create_object(jobs, NULL);
		kore_json_create_string(o, "what",
		    form_view_job_what(js[i].kind));
		kore_json_create_string(o, "status", status);
		form_view_flag(o, "pending", js[i].state == JOB_QUEUED ||
		    js[i].state == JOB_RUNNING);
	}
	form_view_flag(ctx, "pending", npending > 0);
	form_view_flag(ctx, "has_failed", nfailed > 0);
}
