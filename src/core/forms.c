/*
 * forms.c: reads and checks form definitions (conf/forms/<slug>.json) with
 * Kore's JSON parser.
 *
 * It is strict on purpose: an unknown key is an error, because a typo such
 * as "maxlength" would otherwise silently drop a constraint. Every message
 * names the file and, where there is one, the field.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>

#include "core/config.h"
#include "core/forms.h"
#include "core/mime.h"
#include "core/url.h"
#include "core/validate.h"

#define FORMS_FILE_MAX		(256 * 1024)
#define FORMS_MAX_FIELDS	64
#define FORMS_MAX_OPTIONS	200
#define FORMS_MAX_ADDRESSES	50

static const char *form_keys[] = {
	"slug", "title", "description", "success_message", "fields",
	"actions",
	/* Posting from the owner's own pages (form_posting_parse). */
	"allowed_origins", "redirect", "allow_subject", "spam", "captcha",
	NULL
};
static const char *field_keys[] = {
	"name", "type", "label", "help", "placeholder", "autocomplete",
	"value", "required", "unique", "min_length", "max_length", "min",
	"max", "pattern", "pattern_message", "options", NULL
};
/*
 * An action's keys, and the types of action each one belongs to (SPEC
 * 6 and 11): a key of another type is an error, as an unknown one is.
 */
#define ACT_EMAIL	0x01
#define ACT_AUTOREPLY	0x02
#define ACT_WEBHOOK	0x04
#define ACT_ANY		(ACT_EMAIL | ACT_AUTOREPLY | ACT_WEBHOOK)
static const char *action_keys[] = {
	"type", "max_attempts", "retry", "to", "cc", "bcc", "reply_to",
	"subject", "template", "field", "url", "secret_env", NULL
};
static const int action_key_types[] = {
	ACT_ANY, ACT_ANY, ACT_ANY, ACT_EMAIL, ACT_EMAIL, ACT_EMAIL, ACT_EMAIL,
	ACT_EMAIL | ACT_AUTOREPLY, ACT_EMAIL | ACT_AUTOREPLY, ACT_AUTOREPLY,
	ACT_WEBHOOK, ACT_WEBHOOK,
};
static const char *action_types[] = { "email", "autoreply", "webhook", NULL };
static const char *type_names[] = {
	"text", "email", "textarea", "number", "integer", "url", "tel",
	"date", "select", "radio", "checkbox", "hidden", NULL
};

/* The server's forms (forms_load()). */
static struct form_list	forms_server = TAILQ_HEAD_INITIALIZER(forms_server);

struct form_ctx {
	const char		*path;
	char			*err;
	size_t			 errlen;
	char			 where[96];	/* "field 'x' (fields[2])" */
};

static int	form_fail(struct form_ctx *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
/* form_fail() always returns 0; said so here for static analysers. */
#define FORM_FAIL(ctx, ...)	(form_fail((ctx), __VA_ARGS__), 0)

static int	form_check_keys(struct form_ctx *, struct kore_json_item *,
		    const char **);
static int	form_key_index(const char **, const char *);
static int	form_string(struct form_ctx *, struct kore_json_item *,
		    const char *, int, char **);
static int	form_number(struct form_ctx *, struct kore_json_item *,
		    const char *, int *, double *);
static int	form_bool(struct form_ctx *, struct kore_json_item *,
		    const char *, int *);
static int	form_field_parse(struct form_ctx *, struct form *,
		    struct kore_json_item *, struct form_field *);
static int	form_field_check(struct form_ctx *, struct form_field *);
static int	form_options_parse(struct form_ctx *, struct kore_json_item *,
		    struct form_field *);
static int	form_action_parse(struct form_ctx *, struct form *,
		    struct kore_json_item *, struct form_action *);
static int	form_action_keys(struct form_ctx *, struct kore_json_item *,
		    const char *, int *);
static int	form_addresses(struct form_ctx *, struct kore_json_item *,
		    const char *, char ***, size_t *);
static int	form_retry(struct form_ctx *, struct kore_json_item *,
		    struct form_action *);
static int	form_address_add(struct form_ctx *, const char *,
		    struct kore_json_item *, char ***, size_t *);
static struct kore_json_item *form_item(struct kore_json_item *,
		    const char *);
static int	form_email_field(struct form_ctx *, struct form *,
		    struct kore_json_item *, const char *, const char *,
		    char **);
static void	form_action_target(struct form_action *);
static void	form_strings_free(char **, size_t);
static int	form_posting_parse(struct form_ctx *, struct kore_json_item *,
		    struct form *);
static int	form_name_ok(const char *, size_t);
static void	form_field_free(struct form_field *);
static int	form_file_cmp(const void *, const void *);

struct form *
form_parse(const char *path, const char *json, size_t len, char *err,
    size_t errlen)
{
	struct kore_json	 j;
	struct kore_json_item	*root, *arr, *it;
	struct form_ctx		 ctx;
	struct form		*f;
	const char		*base, *dot;
	size_t			 i, n, line;
	int			 ok;

	ctx.path = path;
	ctx.err = err;
	ctx.errlen = errlen;
	ctx.where[0] = '\0';
	f = kore_calloc(1, sizeof(*f));
	f->path = kore_strdup(path);
	ok = 0;

	kore_json_init(&j, json, len);
	if (!kore_json_parse(&j)) {
		line = 1;
		for (i = 0; i < j.offset && i < len; i++) {
			if (json[i] == '\n')
				line++;
		}
		form_fail(&ctx, "line %zu: invalid JSON: %s", line,
		    kore_json_strerror(&j));
		goto out;
	}
	root = j.root;
	if (root->type != KORE_JSON_TYPE_OBJECT) {
		form_fail(&ctx, "the definition must be a JSON object");
		goto out;
	}
	if (!form_check_keys(&ctx, root, form_keys) ||
	    !form_string(&ctx, root, "slug", 1, &f->slug) ||
	    !form_string(&ctx, root, "title", 1, &f->title) ||
	    !form_string(&ctx, root, "description", 0, &f->description) ||
	    !form_string(&ctx, root, "success_message", 1,
	    &f->success_message))
		goto out;

	if (!form_name_ok(f->slug, 63) || strchr(f->slug, '_') != NULL) {
		form_fail(&ctx, "slug '%s' must be 1 to 63 characters of a-z, "
		    "0-9 and '-', starting with a letter or digit", f->slug);
		goto out;
	}
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	n = dot ? (size_t)(dot - base) : strlen(base);
	if (strlen(f->slug) != n || strncmp(base, f->slug, n) != 0) {
		form_fail(&ctx, "slug '%s' must match the file name", f->slug);
		goto out;
	}

	if ((arr = kore_json_find_array(root, "fields")) == NULL) {
		form_fail(&ctx, "'fields' must be a non-empty array");
		goto out;
	}
	n = 0;
	TAILQ_FOREACH(it, &arr->data.items, list)
		n++;
	if (n == 0 || n > FORMS_MAX_FIELDS) {
		form_fail(&ctx, "'fields' must hold 1 to %d fields",
		    FORMS_MAX_FIELDS);
		goto out;
	}
	f->fields = kore_calloc(n, sizeof(*f->fields));
	i = 0;
	TAILQ_FOREACH(it, &arr->data.items, list) {
		(void)snprintf(ctx.where, sizeof(ctx.where), "fields[%zu]", i);
		f->nfields = i + 1;
		if (!form_field_parse(&ctx, f, it, &f->fields[i]))
			goto out;
		i++;
	}
	ctx.where[0] = '\0';

	if ((arr = kore_json_find_array(root, "actions")) != NULL) {
		n = 0;
		TAILQ_FOREACH(it, &arr->data.items, list)
			n++;
		if (n > FORM_MAX_ACTIONS) {
			form_fail(&ctx, "'actions' holds more than %d actions",
			    FORM_MAX_ACTIONS);
			goto out;
		}
		f->actions = kore_calloc(n ? n : 1, sizeof(*f->actions));
		i = 0;
		TAILQ_FOREACH(it, &arr->data.items, list) {
			(void)snprintf(ctx.where, sizeof(ctx.where),
			    "actions[%zu]", i);
			f->nactions = i + 1;
			if (!form_action_parse(&ctx, f, it, &f->actions[i]))
				goto out;
			i++;
		}
	} else if (kore_json_find(root, "actions", KORE_JSON_TYPE_OBJECT) ||
	    kore_json_find_string(root, "actions")) {
		form_fail(&ctx, "'actions' must be an array");
		goto out;
	}
	if (!form_posting_parse(&ctx, root, f))
		goto out;
	ok = 1;

out:
	kore_json_cleanup(&j);
	if (!ok) {
		form_free(f);
		return (NULL);
	}
	return (f);
}

static int
form_field_parse(struct form_ctx *ctx, struct form *f,
    struct kore_json_item *it, struct form_field *fld)
{
	char		*type, pos[32];
	size_t		 i;
	int		 has;

	fld->min_length = -1;
	fld->max_length = -1;
	type = NULL;

	if (it->type != KORE_JSON_TYPE_OBJECT)
		return (FORM_FAIL(ctx, "each field must be an object"));
	if (!form_string(ctx, it, "name", 1, &fld->name))
		return (0);
	(void)snprintf(pos, sizeof(pos), "%.31s", ctx->where);
	(void)snprintf(ctx->where, sizeof(ctx->where), "field '%.40s' (%s)",
	    fld->name, pos);
	if (!form_check_keys(ctx, it, field_keys))
		return (0);
	if (!form_name_ok(fld->name, 63) || fld->name[0] < 'a' ||
	    fld->name[0] > 'z' || strchr(fld->name, '-') != NULL)
		return (FORM_FAIL(ctx, "name must be 1 to 63 characters of "
		    "a-z, 0-9 and '_', starting with a letter"));
	for (i = 0; &f->fields[i] != fld; i++) {
		if (strcmp(f->fields[i].name, fld->name) == 0)
			return (FORM_FAIL(ctx, "the name is used twice"));
	}

	if (!form_string(ctx, it, "type", 1, &type))
		return (0);
	for (i = 0; type_names[i] != NULL; i++) {
		if (strcmp(type_names[i], type) == 0)
			break;
	}
	if (type_names[i] == NULL) {
		form_fail(ctx, "unknown type '%s' (one of text, email, "
		    "textarea, number, integer, url, tel, date, select, radio, "
		    "checkbox, hidden)", type);
		kore_free(type);
		return (0);
	}
	kore_free(type);
	fld->type = (enum field_type)i;

	if (!form_string(ctx, it, "label", fld->type != FIELD_HIDDEN,
	    &fld->label) ||
	    !form_string(ctx, it, "help", 0, &fld->help) ||
	    !form_string(ctx, it, "placeholder", 0, &fld->placeholder) ||
	    !form_string(ctx, it, "autocomplete", 0, &fld->autocomplete) ||
	    !form_string(ctx, it, "value", 0, &fld->value) ||
	    !form_string(ctx, it, "pattern", 0, &fld->pattern) ||
	    !form_string(ctx, it, "pattern_message", 0,
	    &fld->pattern_message) ||
	    !form_bool(ctx, it, "required", &fld->required) ||
	    !form_bool(ctx, it, "unique", &fld->unique))
		return (0);
	if (fld->label == NULL)
		fld->label = kore_strdup(fld->name);

	if (!form_number(ctx, it, "min_length", &has, NULL) ||
	    !form_number(ctx, it, "max_length", &has, NULL))
		return (0);
	if (kore_json_find_integer_u64(it, "min_length"))
		fld->min_length = (long)kore_json_find_integer_u64(it,
		    "min_length")->data.u64;
	if (kore_json_find_integer_u64(it, "max_length"))
		fld->max_length = (long)kore_json_find_integer_u64(it,
		    "max_length")->data.u64;

	if (fld->type == FIELD_DATE) {
		if (!form_string(ctx, it, "min", 0, &fld->min_date) ||
		    !form_string(ctx, it, "max", 0, &fld->max_date))
			return (0);
	} else {
		if (!form_number(ctx, it, "min", &fld->has_min, &fld->min) ||
		    !form_number(ctx, it, "max", &fld->has_max, &fld->max))
			return (0);
	}

	if (!form_options_parse(ctx, it, fld))
		return (0);

	return (form_field_check(ctx, fld));
}

/* Constraints that only make sense for some types, and their ranges. */
static int
form_field_check(struct form_ctx *ctx, struct form_field *fld)
{
	int		 rc;
	char		 buf[128];
	char		*anchored;
	size_t		 n;

	switch (fld->type) {
	case FIELD_SELECT:
	case FIELD_RADIO:
		if (fld->noptions == 0)
			return (FORM_FAIL(ctx, "a %s needs 'options'",
			    form_field_type_name(fld->type)));
		break;
	case FIELD_CHECKBOX:
		fld->multiple = fld->noptions > 0;
		if (fld->value == NULL)
			fld->value = kore_strdup("yes");
		break;
	default:
		if (fld->noptions > 0)
			return (FORM_FAIL(ctx, "'options' only apply to "
			    "select, radio and checkbox fields"));
		break;
	}
	if (fld->type == FIELD_HIDDEN && fld->value == NULL)
		fld->value = kore_strdup("");
	if (fld->value != NULL && fld->type != FIELD_HIDDEN &&
	    fld->type != FIELD_CHECKBOX)
		return (FORM_FAIL(ctx, "'value' only applies to hidden and "
		    "checkbox fields"));

	if ((fld->has_min || fld->has_max) && fld->type != FIELD_NUMBER &&
	    fld->type != FIELD_INTEGER)
		return (FORM_FAIL(ctx, "'min' and 'max' apply to number, "
		    "integer and date fields"));
	if (fld->has_min && fld->has_max && fld->min > fld->max)
		return (FORM_FAIL(ctx, "'min' is greater than 'max'"));
	if ((fld->min_date && !validate_date(fld->min_date)) ||
	    (fld->max_date && !validate_date(fld->max_date)))
		return (FORM_FAIL(ctx, "'min' and 'max' of a date must be "
		    "dates written YYYY-MM-DD"));
	if (fld->min_length > 0 && fld->max_length >= 0 &&
	    fld->min_length > fld->max_length)
		return (FORM_FAIL(ctx, "'min_length' is greater than "
		    "'max_length'"));
	if ((fld->min_length >= 0 || fld->max_length >= 0 ||
	    fld->pattern != NULL) &&
	    (fld->type == FIELD_SELECT || fld->type == FIELD_RADIO ||
	    fld->type == FIELD_CHECKBOX))
		return (FORM_FAIL(ctx, "length and pattern constraints do "
		    "not apply to a %s", form_field_type_name(fld->type)));
	if (fld->unique && fld->type == FIELD_CHECKBOX)
		return (FORM_FAIL(ctx, "a checkbox cannot be unique"));

	if (fld->pattern != NULL) {
		n = strlen(fld->pattern) + 5;
		anchored = kore_malloc(n);
		(void)snprintf(anchored, n, "^(%s)$", fld->pattern);
		rc = regcomp(&fld->pattern_re, anchored,
		    REG_EXTENDED | REG_NOSUB);
		kore_free(anchored);
		if (rc != 0) {
			(void)regerror(rc, NULL, buf, sizeof(buf));
			kore_free(fld->pattern);
			fld->pattern = NULL;
			return (FORM_FAIL(ctx, "'pattern' is not a valid POSIX "
			    "extended regular expression: %s", buf));
		}
	}
	return (1);
}

/* Options are strings, or objects {"value": ..., "label": ...}. */
static int
form_options_parse(struct form_ctx *ctx, struct kore_json_item *it,
    struct form_field *fld)
{
	struct kore_json_item	*arr, *o, *v, *l;
	size_t			 n, i, k;

	if ((arr = kore_json_find_array(it, "options")) == NULL) {
		if (kore_json_find(it, "options", KORE_JSON_TYPE_OBJECT) ||
		    kore_json_find_string(it, "options"))
			return (FORM_FAIL(ctx, "'options' must be an array"));
		return (1);
	}
	n = 0;
	TAILQ_FOREACH(o, &arr->data.items, list)
		n++;
	if (n == 0 || n > FORMS_MAX_OPTIONS)
		return (FORM_FAIL(ctx, "'options' must hold 1 to %d entries",
		    FORMS_MAX_OPTIONS));
	fld->options = kore_calloc(n, sizeof(*fld->options));
	i = 0;
	TAILQ_FOREACH(o, &arr->data.items, list) {
		if (o->type == KORE_JSON_TYPE_STRING) {
			fld->options[i].value = kore_strdup(o->data.string);
			fld->options[i].label = kore_strdup(o->data.string);
		} else if (o->type == KORE_JSON_TYPE_OBJECT &&
		    (v = kore_json_find_string(o, "value")) != NULL) {
			l = kore_json_find_string(o, "label");
			fld->options[i].value = kore_strdup(v->data.string);
			fld->options[i].label = kore_strdup(l ?
			    l->data.string : v->data.string);
		} else {
			fld->noptions = i;
			return (FORM_FAIL(ctx, "options[%zu] must be a string "
			    "or an object with a string 'value'", i));
		}
		fld->noptions = ++i;
		if (fld->options[i - 1].value[0] == '\0')
			return (FORM_FAIL(ctx, "options[%zu] has an empty "
			    "value", i - 1));
		for (k = 0; k + 1 < i; k++) {
			if (strcmp(fld->options[k].value,
			    fld->options[i - 1].value) == 0)
				return (FORM_FAIL(ctx, "option '%s' is listed "
				    "twice", fld->options[k].value));
		}
	}
	return (1);
}

/*
 * One action. An email goes to fixed addresses (to, cc, bcc), with the
 * Reply-To taken from a field (reply_to, by default the form's first
 * email field, so that answering reaches the visitor); an autoreply goes
 * to the address in an email field (field, the first by default). Their
 * subjects and templates are checked when the mail templates are
 * loaded (queue/mail_templates.c), where they are compiled.
 */
static int
form_action_parse(struct form_ctx *ctx, struct form *f,
    struct kore_json_item *it, struct form_action *a)
{
	double		attempts;
	size_t		n;
	int		has, type;

	if (it->type != KORE_JSON_TYPE_OBJECT)
		return (FORM_FAIL(ctx, "each action must be an object"));
	if (!form_check_keys(ctx, it, action_keys) ||
	    !form_string(ctx, it, "type", 1, &a->type))
		return (0);
	for (type = 0; action_types[type] != NULL; type++) {
		if (strcmp(action_types[type], a->type) == 0)
			break;
	}
	if (action_types[type] == NULL)
		return (FORM_FAIL(ctx, "unknown action type '%s' (email, "
		    "autoreply or webhook)", a->type));
	type = 1 << type;
	if (!form_action_keys(ctx, it, a->type, &type) ||
	    !form_string(ctx, it, "subject", 0, &a->subject) ||
	    !form_string(ctx, it, "template", 0, &a->template) ||
	    !form_string(ctx, it, "url", 0, &a->url) ||
	    !form_string(ctx, it, "secret_env", 0, &a->secret_env) ||
	    !form_addresses(ctx, it, "to", &a->to, &a->nto) ||
	    !form_addresses(ctx, it, "cc", &a->cc, &a->ncc) ||
	    !form_addresses(ctx, it, "bcc", &a->bcc, &a->nbcc) ||
	    !form_retry(ctx, it, a) ||
	    !form_number(ctx, it, "max_attempts", &has, &attempts))
		return (0);

	/* The schedule's waits and one more try, unless said otherwise. */
	if (a->retry_ms == NULL)
		(void)config_retry(&n);
	else
		n = a->nretry;
	a->max_attempts = (int)(n + 1 > 50 ? 50 : n + 1);
	if (has) {
		if (attempts < 1 || attempts > 50 ||
		    attempts != (double)(int)attempts)
			return (FORM_FAIL(ctx, "'max_attempts' must be a whole "
			    "number from 1 to 50"));
		a->max_attempts = (int)attempts;
	}
	if (a->template != NULL && !form_name_ok(a->template, 63))
		return (FORM_FAIL(ctx, "'template' must name a file "
		    "templates/mail/NAME.txt: 1 to 63 characters of a-z, 0-9, "
		    "'_' and '-'"));

	switch (type) {
	case ACT_EMAIL:
		if (a->nto == 0)
			return (FORM_FAIL(ctx, "an email action needs 'to', an "
			    "email address or a list of them"));
		if (!form_email_field(ctx, f, it, "reply_to", NULL,
		    &a->reply_to))
			return (0);
		break;
	case ACT_AUTOREPLY:
		if (!form_email_field(ctx, f, it, "field", "an autoreply "
		    "action needs an email field to reply to", &a->field))
			return (0);
		break;
	default:
		if (a->url == NULL || (strncmp(a->url, "http://", 7) != 0 &&
		    strncmp(a->url, "https://", 8) != 0))
			return (FORM_FAIL(ctx, "a webhook action needs 'url', "
			    "an http:// or https:// address"));
		if (a->secret_env != NULL &&
		    (a->secret_env[0] < 'A' || a->secret_env[0] > 'Z' ||
		    strspn(a->secret_env, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_") != strlen(a->secret_env)))
			return (FORM_FAIL(ctx, "'secret_env' must name an "
			    "environment variable: A-Z, 0-9 and '_', starting "
			    "with a letter"));
		break;
	}
	form_action_target(a);
	return (1);
}

/* Every key present must belong to the action's type (*type, a bit). */
static int
form_action_keys(struct form_ctx *ctx, struct kore_json_item *obj,
    const char *name, int *type)
{
	struct kore_json_item	*it;
	int			 i;

	TAILQ_FOREACH(it, &obj->data.items, list) {
		if ((i = form_key_index(action_keys, it->name)) != -1 &&
		    (action_key_types[i] & *type) == 0)
			return (FORM_FAIL(ctx, "'%s' does not apply to %s "
			    "actions", it->name, name));
	}
	return (1);
}

/* ---- posting from the owner's own pages (SPEC section 10) -------------- */

static const char *spam_keys[] = { "max_links", "blocked_words", NULL };
static const char *captcha_keys[] = { "provider", "site_key", NULL };

static int	form_strings(struct form_ctx *, struct kore_json_item *,
		    const char *, size_t, char ***, size_t *);
static int	form_origins_parse(struct form_ctx *, struct kore_json_item *,
		    struct form *);
static int	form_spam_parse(struct form_ctx *, struct kore_json_item *,
		    struct form *);
static int	form_captcha_parse(struct form_ctx *, struct kore_json_item *,
		    struct form *);

/*
 * allowed_origins, redirect, allow_subject, spam and captcha. Whether a
 * redirect may be followed depends on FORMWORK_BASE_URL too, a setting
 * this file does not read: the web layer checks it at start-up.
 */
static int
form_posting_parse(struct form_ctx *ctx, struct kore_json_item *root,
    struct form *f)
{
	char		origin[URL_ORIGIN_MAX];

	f->max_links = -1;
	if (!form_origins_parse(ctx, root, f) ||
	    !form_string(ctx, root, "redirect", 0, &f->redirect) ||
	    !form_bool(ctx, root, "allow_subject", &f->allow_subject) ||
	    !form_spam_parse(ctx, root, f) ||
	    !form_captcha_parse(ctx, root, f))
		return (0);
	if (f->redirect != NULL && (strlen(f->redirect) > 2000 ||
	    url_origin(f->redirect, origin, sizeof(origin)) == -1))
		return (FORM_FAIL(ctx, "'redirect' must be an absolute "
		    "http:// or https:// address of at most 2000 characters"));
	return (1);
}

/*
 * Each origin as a browser sends it in Origin (url_origin normalises
 * case and default ports), so that a request's is compared by strcmp.
 */
static int
form_origins_parse(struct form_ctx *ctx, struct kore_json_item *root,
    struct form *f)
{
	char		origin[URL_ORIGIN_MAX];
	size_t		i, k;
	int		n;

	if (!form_strings(ctx, root, "allowed_origins", FORM_MAX_ORIGINS,
	    &f->origins, &f->norigins))
		return (0);
	for (i = 0; i < f->norigins; i++) {
		n = url_origin(f->origins[i], origin, sizeof(origin));
		if (n == -1 || (f->origins[i][n] != '\0' &&
		    strcmp(f->origins[i] + n, "/") != 0))
			return (FORM_FAIL(ctx, "allowed_origins[%zu] must be an "
			    "origin such as https://example.org: scheme, host "
			    "and port only ('*' and 'null' are not allowed)",
			    i));
		kore_free(f->origins[i]);
		f->origins[i] = kore_strdup(origin);
		for (k = 0; k < i; k++) {
			if (strcmp(f->origins[k], origin) == 0)
				return (FORM_FAIL(ctx, "origin '%s' is listed "
				    "twice", origin));
		}
	}
	return (1);
}

/* "spam": {"max_links": N, "blocked_words": [...]}, words lowercased. */
static int
form_spam_parse(struct form_ctx *ctx, struct kore_json_item *root,
    struct form *f)
{
	struct kore_json_item	*o;
	double			 links;
	size_t			 i;
	char			*p;
	int			 has;

	if ((o = kore_json_find(root, "spam", KORE_JSON_TYPE_OBJECT)) == NULL) {
		if (form_item(root, "spam") != NULL)
			return (FORM_FAIL(ctx, "'spam' must be an object"));
		return (1);
	}
	if (!form_check_keys(ctx, o, spam_keys) ||
	    !form_number(ctx, o, "max_links", &has, &links) ||
	    !form_strings(ctx, o, "blocked_words", FORM_MAX_BLOCKED,
	    &f->blocked_words, &f->nblocked))
		return (0);
	if (has) {
		if (links < 0 || links > 1000 || links != (double)(long)links)
			return (FORM_FAIL(ctx, "'spam': 'max_links' must be a "
			    "whole number from 0 to 1000"));
		f->max_links = (long)links;
	}
	for (i = 0; i < f->nblocked; i++) {
		if (strlen(f->blocked_words[i]) > 100)
			return (FORM_FAIL(ctx, "'spam': blocked_words[%zu] is "
			    "longer than 100 bytes", i));
		for (p = f->blocked_words[i]; *p != '\0'; p++) {
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		}
	}
	return (1);
}

/* "captcha": {"provider": "turnstile" | "hcaptcha", "site_key": ...}. */
static int
form_captcha_parse(struct form_ctx *ctx, struct kore_json_item *root,
    struct form *f)
{
	struct kore_json_item	*o;
	char			*provider;
	size_t			 n;
	int			 ok;

	if ((o = kore_json_find(root, "captcha",
	    KORE_JSON_TYPE_OBJECT)) == NULL) {
		if (form_item(root, "captcha") != NULL)
			return (FORM_FAIL(ctx, "'captcha' must be an object"));
		return (1);
	}
	if (!form_check_keys(ctx, o, captcha_keys) ||
	    !form_string(ctx, o, "provider", 1, &provider))
		return (0);
	ok = 1;
	if (strcmp(provider, "turnstile") == 0)
		f->captcha = FORM_CAPTCHA_TURNSTILE;
	else if (strcmp(provider, "hcaptcha") == 0)
		f->captcha = FORM_CAPTCHA_HCAPTCHA;
	else
		ok = FORM_FAIL(ctx, "'captcha': unknown provider '%s' "
		    "(turnstile or hcaptcha)", provider);
	kore_free(provider);
	if (!ok || !form_string(ctx, o, "site_key", 1, &f->captcha_site_key))
		return (0);
	n = strlen(f->captcha_site_key);
	if (n > 200 || strspn(f->captcha_site_key, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != n)
		return (FORM_FAIL(ctx, "'captcha': 'site_key' must be up to "
		    "200 letters, digits, '-', '_' and '.'"));
	return (1);
}

/* An array of non-empty strings (at most max) under key, or nothing. */
static int
form_strings(struct form_ctx *ctx, struct kore_json_item *obj,
    const char *key, size_t max, char ***out, size_t *n)
{
	struct kore_json_item	*arr, *it;

	*out = NULL;
	*n = 0;
	if ((arr = kore_json_find_array(obj, key)) == NULL) {
		if (form_item(obj, key) != NULL)
			return (FORM_FAIL(ctx, "'%s' must be an array of "
			    "strings", key));
		return (1);
	}
	TAILQ_FOREACH(it, &arr->data.items, list) {
		if (*n == max)
			return (FORM_FAIL(ctx, "'%s' holds more than %zu "
			    "entries", key, max));
		if (it->type != KORE_JSON_TYPE_STRING ||
		    it->data.string[0] == '\0')
			return (FORM_FAIL(ctx, "%s[%zu] must be a non-empty "
			    "string", key, *n));
		*out = kore_realloc(*out, (*n + 1) * sizeof(**out));
		(*out)[(*n)++] = kore_strdup(it->data.string);
	}
	return (1);
}
/* The member key of obj, or NULL. */
static struct kore_json_item *
form_item(struct kore_json_item *obj, const char *key)
{
	struct kore_json_item	*it;

	TAILQ_FOREACH(it, &obj->data.items, list) {
		if (strcmp(it->name, key) == 0)
			return (it);
	}
	return (NULL);
}

/* key: one address or a list of them (each mime_address_ok). */
static int
form_addresses(struct form_ctx *ctx, struct kore_json_item *obj,
    const char *key, char ***out, size_t *n)
{
	struct kore_json_item	*v, *it;

	*out = NULL;
	*n = 0;
	if ((v = form_item(obj, key)) == NULL)
		return (1);
	if (v->type == KORE_JSON_TYPE_STRING)
		return (form_address_add(ctx, key, v, out, n));
	if (v->type != KORE_JSON_TYPE_ARRAY)
		return (form_address_add(ctx, key, NULL, out, n));
	TAILQ_FOREACH(it, &v->data.items, list) {
		if (!form_address_add(ctx, key, it, out, n))
			return (0);
	}
	return (1);
}

/* Appends it, a string holding one plain address, to out[n]. */
static int
form_address_add(struct form_ctx *ctx, const char *key,
    struct kore_json_item *it, char ***out, size_t *n)
{
	if (it == NULL || it->type != KORE_JSON_TYPE_STRING ||
	    !mime_address_ok(it->data.string, strlen(it->data.string)))
		return (FORM_FAIL(ctx, "'%s' must be an email address or a "
		    "list of them, each a plain address such as "
		    "owner@example.com", key));
	if (*n == FORMS_MAX_ADDRESSES)
		return (FORM_FAIL(ctx, "'%s' lists more than %d addresses",
		    key, FORMS_MAX_ADDRESSES));
	*out = kore_realloc(*out, (*n + 1) * sizeof(**out));
	(*out)[(*n)++] = kore_strdup(it->data.string);
	return (1);
}

/* "retry": seconds before each retry, as FORMWORK_RETRY_SCHEDULE. */
static int
form_retry(struct form_ctx *ctx, struct kore_json_item *obj,
    struct form_action *a)
{
	struct kore_json_item	*arr, *it;
	double			 secs;

	if ((arr = form_item(obj, "retry")) == NULL)
		return (1);
	if (arr->type != KORE_JSON_TYPE_ARRAY)
		goto bad;
	a->retry_ms = kore_calloc(CONFIG_RETRY_MAX, sizeof(*a->retry_ms));
	TAILQ_FOREACH(it, &arr->data.items, list) {
		if (it->type == KORE_JSON_TYPE_INTEGER_U64)
			secs = (double)it->data.u64;
		else if (it->type == KORE_JSON_TYPE_NUMBER)
			secs = it->data.number;
		else
			goto bad;
		if (a->nretry == CONFIG_RETRY_MAX ||
		    secs * 1000 < CONFIG_DELAY_MIN_MS ||
		    secs * 1000 > (double)CONFIG_DELAY_MAX_MS)
			goto bad;
		a->retry_ms[a->nretry++] = (u_int64_t)(secs * 1000 + 0.5);
	}
	if (a->nretry > 0)
		return (1);
bad:
	return (FORM_FAIL(ctx, "'retry' must be a list of 1 to %d waits in "
	    "seconds, each from 0.01 to 604800, e.g. [5, 60, 300]",
	    CONFIG_RETRY_MAX));
}

/*
 * *out: the email field named by key, or by default the form's first
 * email field; without either, an error when missing says so (else
 * *out stays NULL).
 */
static int
form_email_field(struct form_ctx *ctx, struct form *f,
    struct kore_json_item *obj, const char *key, const char *missing,
    char **out)
{
	struct form_field	*fld;
	size_t			 i;

	if (!form_string(ctx, obj, key, 0, out))
		return (0);
	if (*out != NULL) {
		if ((fld = form_field_find(f, *out)) == NULL ||
		    fld->type != FIELD_EMAIL)
			return (FORM_FAIL(ctx, "'%s' must name an email field "
			    "of this form ('%s' is none)", key, *out));
		return (1);
	}
	for (i = 0; i < f->nfields; i++) {
		if (f->fields[i].type == FIELD_EMAIL) {
			*out = kore_strdup(f->fields[i].name);
			return (1);
		}
	}
	if (missing != NULL)
		return (FORM_FAIL(ctx, "%s", missing));
	return (1);
}

/* The jobs' target: the addresses, the URL, or whose address it is. */
static void
form_action_target(struct form_action *a)
{
	struct kore_buf		b;
	size_t			i;

	kore_buf_init(&b, 128);
	if (a->url != NULL)
		kore_buf_appendf(&b, "%s", a->url);
	else if (a->field != NULL)
		kore_buf_appendf(&b, "the address in '%s'", a->field);
	for (i = 0; i < a->nto; i++)
		kore_buf_appendf(&b, "%s%s", i ? ", " : "", a->to[i]);
	a->target = kore_strdup(kore_buf_stringify(&b, NULL));
	kore_buf_cleanup(&b);
}


const char *
form_captcha_field(const struct form *f)
{
	switch (f->captcha) {
	case FORM_CAPTCHA_TURNSTILE:
		return (FORM_TURNSTILE_FIELD);
	case FORM_CAPTCHA_HCAPTCHA:
		return (FORM_HCAPTCHA_FIELD);
	default:
		return (NULL);
	}
}

int
forms_load_dir(const char *dir, struct form_list *list, char *err,
    size_t errlen)
{
	DIR		 *d;
	struct dirent	 *de;
	struct stat	  st;
	struct form	 *f;
	char		**names, path[PATH_MAX], *buf;
	size_t		  n, cap, i, len;
	ssize_t		  r;
	int		  fd, rc;

	TAILQ_INIT(list);
	if ((d = opendir(dir)) == NULL) {
		(void)snprintf(err, errlen, "%s: cannot open: %s", dir,
		    strerror(errno));
		return (-1);
	}
	names = NULL;
	n = cap = 0;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 6 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			names = kore_realloc(names, cap * sizeof(*names));
		}
		names[n++] = kore_strdup(de->d_name);
	}
	(void)closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), form_file_cmp);

	rc = -1;
	if (n == 0)
		(void)snprintf(err, errlen, "%s: no form definitions "
		    "(*.json) found", dir);
	for (i = 0; i < n; i++) {
		(void)snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if ((fd = open(path, O_RDONLY)) == -1 ||
		    fstat(fd, &st) == -1) {
			(void)snprintf(err, errlen, "%s: cannot read: %s",
			    path, strerror(errno));
			if (fd != -1)
				(void)close(fd);
			goto out;
		}
		if (st.st_size > FORMS_FILE_MAX) {
			(void)snprintf(err, errlen, "%s: larger than %d bytes",
			    path, FORMS_FILE_MAX);
			(void)close(fd);
			goto out;
		}
		buf = kore_malloc((size_t)st.st_size + 1);
		r = read(fd, buf, (size_t)st.st_size);
		(void)close(fd);
		if (r != st.st_size) {
			(void)snprintf(err, errlen, "%s: short read", path);
			kore_free(buf);
			goto out;
		}
		f = form_parse(path, buf, (size_t)r, err, errlen);
		kore_free(buf);
		if (f == NULL)
			goto out;
		if (forms_find(list, f->slug) != NULL) {
			(void)snprintf(err, errlen, "%s: slug '%s' is already "
			    "declared", path, f->slug);
			form_free(f);
			goto out;
		}
		TAILQ_INSERT_TAIL(list, f, list);
	}
	if (n > 0)
		rc = 0;
out:
	for (i = 0; i < n; i++)
		kore_free(names[i]);
	kore_free(names);
	if (rc == -1)
		forms_free(list);
	return (rc);
}

int
forms_load(const char *dir, char *err, size_t errlen)
{
	return (forms_load_dir(dir, &forms_server, err, errlen));
}

struct form_list *
forms_loaded(void)
{
	return (&forms_server);
}

void
forms_free(struct form_list *list)
{
	struct form	*f;

	while ((f = TAILQ_FIRST(list)) != NULL) {
		TAILQ_REMOVE(list, f, list);
		form_free(f);
	}
}

struct form *
forms_find(struct form_list *list, const char *slug)
{
	struct form	*f;

	TAILQ_FOREACH(f, list, list) {
		if (strcmp(f->slug, slug) == 0)
			return (f);
	}
	return (NULL);
}

struct form_field *
form_field_find(struct form *f, const char *name)
{
	size_t		i;

	for (i = 0; i < f->nfields; i++) {
		if (strcmp(f->fields[i].name, name) == 0)
			return (&f->fields[i]);
	}
	return (NULL);
}

const char *
form_field_type_name(enum field_type t)
{
	return (type_names[t]);
}

void
form_free(struct form *f)
{
	struct form_action	*a;
	size_t			 i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nfields; i++)
		form_field_free(&f->fields[i]);
	for (i = 0; i < f->nactions; i++) {
		a = &f->actions[i];
		kore_free(a->type);
		kore_free(a->target);
		kore_free(a->retry_ms);
		form_strings_free(a->to, a->nto);
		form_strings_free(a->cc, a->ncc);
		form_strings_free(a->bcc, a->nbcc);
		kore_free(a->reply_to);
		kore_free(a->subject);
		kore_free(a->template);
		kore_free(a->field);
		kore_free(a->url);
		kore_free(a->secret_env);
	}
	for (i = 0; i < f->norigins; i++)
		kore_free(f->origins[i]);
	for (i = 0; i < f->nblocked; i++)
		kore_free(f->blocked_words[i]);
	kore_free(f->origins);
	kore_free(f->blocked_words);
	kore_free(f->redirect);
	kore_free(f->captcha_site_key);
	kore_free(f->fields);
	kore_free(f->actions);
	kore_free(f->slug);
	kore_free(f->title);
	kore_free(f->description);
	kore_free(f->success_message);
	kore_free(f->path);
	kore_free(f);
}

static void
form_strings_free(char **v, size_t n)
{
	size_t		i;

	for (i = 0; i < n; i++)
		kore_free(v[i]);
	kore_free(v);
}

static void
form_field_free(struct form_field *fld)
{
	size_t		i;

	for (i = 0; i < fld->noptions; i++) {
		kore_free(fld->options[i].value);
		kore_free(fld->options[i].label);
	}
	if (fld->pattern != NULL)
		regfree(&fld->pattern_re);
	kore_free(fld->options);
	kore_free(fld->name);
	kore_free(fld->label);
	kore_free(fld->help);
	kore_free(fld->placeholder);
	kore_free(fld->autocomplete);
	kore_free(fld->value);
	kore_free(fld->min_date);
	kore_free(fld->max_date);
	kore_free(fld->pattern);
	kore_free(fld->pattern_message);
}

static int
form_fail(struct form_ctx *ctx, const char *fmt, ...)
{
	va_list		ap;
	char		msg[512];

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (ctx->where[0] != '\0')
		(void)snprintf(ctx->err, ctx->errlen, "%s: %s: %s", ctx->path,
		    ctx->where, msg);
	else
		(void)snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->path, msg);
	return (0);
}

/* name's index in keys (NULL-terminated), or -1. */
static int
form_key_index(const char **keys, const char *name)
{
	int		i;

	for (i = 0; keys[i] != NULL; i++) {
		if (strcmp(keys[i], name) == 0)
			return (i);
	}
	return (-1);
}

static int
form_check_keys(struct form_ctx *ctx, struct kore_json_item *obj,
    const char **allowed)
{
	struct kore_json_item	*it;

	TAILQ_FOREACH(it, &obj->data.items, list) {
		if (form_key_index(allowed, it->name) == -1)
			return (FORM_FAIL(ctx, "unknown key '%s'", it->name));
	}
	return (1);
}

/* Copies string key into *out (kore_free it); absent is fine unless
 * required. A value of another type is an error. */
static int
form_string(struct form_ctx *ctx, struct kore_json_item *obj,
    const char *key, int required, char **out)
{
	struct kore_json_item	*it;

	*out = NULL;
	TAILQ_FOREACH(it, &obj->data.items, list) {
		if (strcmp(it->name, key) != 0)
			continue;
		if (it->type != KORE_JSON_TYPE_STRING)
			return (FORM_FAIL(ctx, "'%s' must be a string", key));
		if (required && it->data.string[0] == '\0')
			return (FORM_FAIL(ctx, "'%s' must not be empty", key));
		*out = kore_strdup(it->data.string);
		return (1);
	}
	if (required)
		return (FORM_FAIL(ctx, "'%s' is missing", key));
	return (1);
}

/* Reads a number of any of Kore's three numeric types. */
static int
form_number(struct form_ctx *ctx, struct kore_json_item *obj,
    const char *key, int *has, double *out)
{
	struct kore_json_item	*it;

	*has = 0;
	TAILQ_FOREACH(it, &obj->data.items, list) {
		if (strcmp(it->name, key) != 0)
			continue;
		*has = 1;
		switch (it->type) {
		case KORE_JSON_TYPE_INTEGER_U64:
			if (out != NULL)
				*out = (double)it->data.u64;
			return (1);
		case KORE_JSON_TYPE_INTEGER:
		case KORE_JSON_TYPE_NUMBER:
			if (out == NULL)
				return (FORM_FAIL(ctx, "'%s' must be a whole "
				    "number of zero or more", key));
			*out = it->type == KORE_JSON_TYPE_INTEGER ?
			    (double)it->data.s64 : it->data.number;
			return (1);
		default:
			return (FORM_FAIL(ctx, "'%s' must be a number", key));
		}
	}
	return (1);
}

static int
form_bool(struct form_ctx *ctx, struct kore_json_item *obj, const char *key,
    int *out)
{
	struct kore_json_item	*it;

	*out = 0;
	TAILQ_FOREACH(it, &obj->data.items, list) {
		if (strcmp(it->name, key) != 0)
			continue;
		if (it->type != KORE_JSON_TYPE_LITERAL ||
		    it->data.literal == KORE_JSON_NULL)
			return (FORM_FAIL(ctx, "'%s' must be true or false",
			    key));
		*out = it->data.literal == KORE_JSON_TRUE;
	}
	return (1);
}

/* Lowercase letters, digits, '_' and '-', starting with a letter/digit. */
static int
form_name_ok(const char *s, size_t max)
{
	size_t		i;

	for (i = 0; s[i] != '\0'; i++) {
		if ((s[i] >= 'a' && s[i] <= 'z') ||
		    (i > 0 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == '-')))
			continue;
		if (i == 0 && s[i] >= '0' && s[i] <= '9')
			continue;
		return (0);
	}
	return (i > 0 && i <= max);
}

static int
form_file_cmp(const void *a, const void *b)
{
	return (strcmp(*(char *const *)a, *(char *const *)b));
}
