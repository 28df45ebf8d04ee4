/*
 * test_forms.c: tests for form definitions (src/core/forms.c): the sample
 * definitions in conf/forms load as written, and every mistake an owner
 * can make in a definition stops start-up with a message naming the file,
 * the field and the problem.
 *
 * Definitions are written with single quotes for readability; ft_parse()
 * turns them into double quotes before parsing.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <kore/kore.h>

#include "core/forms.h"

#include "table.h"

#define FT_SAMPLES	"../../conf/forms"
#define FT_PATH		"conf/forms/t.json"	/* where a test's form "t" is */

static struct form	*ft_form;
static struct form_list	 ft_list;
static int		 ft_list_set;
static char		 ft_err[1024];
static char		 ft_dir[64];

static void
ft_setup(void)
{
	ft_form = NULL;
	ft_list_set = 0;
	ft_err[0] = '\0';
	ft_dir[0] = '\0';
}

static void
ft_teardown(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[PATH_MAX];

	form_free(ft_form);
	ft_form = NULL;
	if (ft_list_set)
		forms_free(&ft_list);
	if (ft_dir[0] != '\0' && (d = opendir(ft_dir)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			(void)snprintf(path, sizeof(path), "%s/%s", ft_dir,
			    de->d_name);
			(void)unlink(path);
		}
		(void)closedir(d);
		(void)rmdir(ft_dir);
	}
}

TestSuite(forms, .init = ft_setup, .fini = ft_teardown);

/* A copy of s with ' turned into ", in plain malloc'd memory. */
static char *
ft_json(const char *s)
{
	char	*j, *p;

	j = strdup(s);
	cr_assert_not_null(j);
	for (p = j; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return (j);
}

/* Parses a definition (single-quoted) as if read from path. */
static struct form *
ft_parse(const char *path, const char *def)
{
	char	*j;

	form_free(ft_form);
	ft_err[0] = '\0';
	j = ft_json(def);
	ft_form = form_parse(path, j, strlen(j), ft_err, sizeof(ft_err));
	free(j);
	return (ft_form);
}

/* A form "t" in FT_PATH with the given fields array body. */
static struct form *
ft_fields(const char *fields)
{
	char	def[4096];

	(void)snprintf(def, sizeof(def), "{'slug': 't', 'title': 'T', "
	    "'success_message': 'Thanks', 'fields': [%s]}", fields);
	return (ft_parse(FT_PATH, def));
}

/* Expects the last parse (of what) to have failed with a message holding
 * every fragment of msg (up to a NULL). */
static void
ft_fails_with(const char *what, const char *const *msg)
{
	cr_assert_null(ft_form, "%s: the definition was accepted", what);
	cr_assert_neq(ft_err[0], '\0', "%s: no message", what);
	for (; *msg != NULL; msg++) {
		cr_expect_not_null(strstr(ft_err, *msg),
		    "%s: message \"%s\" lacks \"%s\"", what, ft_err, *msg);
	}
}

static void
ft_write(const char *name, const char *def)
{
	char	 path[PATH_MAX], *j;
	FILE	*fp;

	if (ft_dir[0] == '\0') {
		(void)snprintf(ft_dir, sizeof(ft_dir),
		    "/tmp/formwork-forms-XXXXXX");
		cr_assert_not_null(mkdtemp(ft_dir));
	}
	(void)snprintf(path, sizeof(path), "%s/%s", ft_dir, name);
	cr_assert_not_null(fp = fopen(path, "w"));
	j = ft_json(def);
	(void)fputs(j, fp);
	free(j);
	cr_assert_eq(fclose(fp), 0);
}

static int
ft_load(const char *dir)
{
	int	rc;

	ft_err[0] = '\0';
	rc = forms_load_dir(dir, &ft_list, ft_err, sizeof(ft_err));
	ft_list_set = 1;
	return (rc);
}

#define FT_MINIMAL(slug)						\
	"{'slug': '" slug "', 'title': 'T', 'success_message': 'ok', "	\
	"'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}]}"

/* ---- the sample definitions ------------------------------------------ */

Test(forms, samples_load_sorted_contact_then_signup)
{
	struct form	*f;

	cr_assert_eq(ft_load(FT_SAMPLES), 0, "%s", ft_err);
	f = TAILQ_FIRST(&ft_list);
	cr_assert_not_null(f);
	cr_assert_str_eq(f->slug, "contact");
	f = TAILQ_NEXT(f, list);
	cr_assert_not_null(f);
	cr_assert_str_eq(f->slug, "signup");
	cr_assert_null(TAILQ_NEXT(f, list));
	cr_assert_eq(forms_find(&ft_list, "contact"), TAILQ_FIRST(&ft_list));
	cr_assert_eq(forms_find(&ft_list, "signup"), f);
	cr_assert_null(forms_find(&ft_list, "nope"));
}

Test(forms, sample_contact_fields_as_declared)
{
	struct form		*f;
	struct form_field	*fl;

	cr_assert_eq(ft_load(FT_SAMPLES), 0, "%s", ft_err);
	f = forms_find(&ft_list, "contact");
	cr_assert_not_null(f);
	cr_assert_str_eq(f->title, "Contact us");
	cr_assert_not_null(f->description);
	cr_assert_not_null(strstr(f->success_message, "Thank you"));
	cr_assert_not_null(strstr(f->path, "contact.json"));
	cr_assert_eq(f->nfields, 4);
	cr_assert_eq(f->nactions, 0);

	fl = &f->fields[0];
	cr_assert_str_eq(fl->name, "name");
	cr_assert_eq(fl->type, FIELD_TEXT);
	cr_assert_str_eq(fl->label, "Your name");
	cr_assert_eq(fl->required, 1);
	cr_assert_eq(fl->max_length, 100);
	cr_assert_eq(fl->min_length, -1);
	cr_assert_str_eq(fl->autocomplete, "name");
	cr_assert_eq(fl->unique, 0);

	fl = form_field_find(f, "email");
	cr_assert_eq(fl, &f->fields[1]);
	cr_assert_eq(fl->type, FIELD_EMAIL);
	cr_assert_eq(fl->required, 1);
	cr_assert_str_eq(fl->help, "We only use it to answer you.");

	fl = form_field_find(f, "topic");
	cr_assert_not_null(fl);
	cr_assert_eq(fl->type, FIELD_SELECT);
	cr_assert_eq(fl->required, 0);
	cr_assert_eq(fl->noptions, 3);
	cr_assert_str_eq(fl->options[0].value, "general");
	cr_assert_str_eq(fl->options[0].label, "General question");
	cr_assert_str_eq(fl->options[1].value, "support");
	cr_assert_str_eq(fl->options[2].value, "sales");
	cr_assert_str_eq(fl->options[2].label, "Sales");

	fl = form_field_find(f, "message");
	cr_assert_not_null(fl);
	cr_assert_eq(fl->type, FIELD_TEXTAREA);
	cr_assert_eq(fl->required, 1);
	cr_assert_eq(fl->min_length, 10);
	cr_assert_eq(fl->max_length, 5000);
	cr_assert_null(fl->help);

	cr_assert_null(form_field_find(f, "nope"));
}

Test(forms, sample_signup_fields_and_action_as_declared)
{
	struct form		*f;
	struct form_field	*fl;

	cr_assert_eq(ft_load(FT_SAMPLES), 0, "%s", ft_err);
	f = forms_find(&ft_list, "signup");
	cr_assert_not_null(f);
	cr_assert_eq(f->nfields, 4);

	fl = form_field_find(f, "email");
	cr_assert_eq(fl->type, FIELD_EMAIL);
	cr_assert_eq(fl->unique, 1);
	cr_assert_eq(fl->required, 1);

	fl = form_field_find(f, "plan");
	cr_assert_eq(fl->type, FIELD_RADIO);
	cr_assert_eq(fl->noptions, 2);
	cr_assert_str_eq(fl->options[1].value, "pro");

	fl = form_field_find(f, "terms");
	cr_assert_eq(fl->type, FIELD_CHECKBOX);
	cr_assert_eq(fl->required, 1);
	cr_assert_eq(fl->multiple, 0);
	cr_assert_str_eq(fl->value, "yes", "a checkbox's value defaults");
	cr_assert_str_eq(fl->label, "I accept the terms of service");

	cr_assert_eq(f->nactions, 1);
	cr_assert_str_eq(f->actions[0].type, "email");
	cr_assert_eq(f->actions[0].nto, 1);
	cr_assert_str_eq(f->actions[0].to[0], "owner@example.com");
	cr_assert_str_eq(f->actions[0].target, "owner@example.com");
	cr_assert_str_eq(f->actions[0].subject, "New signup");
	cr_assert_str_eq(f->actions[0].reply_to, "email",
	    "Reply-To defaults to the first email field");
	cr_assert_null(f->actions[0].url);
	/* SPEC 11: the default schedule's 8 waits and the first try. */
	cr_assert_eq(f->actions[0].max_attempts, 9);
}

Test(forms, type_names_match_the_json_spelling)
{
	cr_assert_str_eq(form_field_type_name(FIELD_TEXT), "text");
	cr_assert_str_eq(form_field_type_name(FIELD_TEXTAREA), "textarea");
	cr_assert_str_eq(form_field_type_name(FIELD_INTEGER), "integer");
	cr_assert_str_eq(form_field_type_name(FIELD_CHECKBOX), "checkbox");
	cr_assert_str_eq(form_field_type_name(FIELD_HIDDEN), "hidden");
}

/* ---- definitions that parse -------------------------------------------- */

Test(forms, parse_accepts_every_field_type_and_option)
{
	struct form_field	*fl;

	cr_assert_not_null(ft_fields(
	    "{'name': 'a', 'type': 'text', 'label': 'A', 'pattern': '[a-z]+', "
	    "  'pattern_message': 'Lowercase only', 'placeholder': 'abc'},"
	    "{'name': 'n', 'type': 'number', 'label': 'N', 'min': -1.5, "
	    "  'max': 10},"
	    "{'name': 'i', 'type': 'integer', 'label': 'I', 'min': 1},"
	    "{'name': 'd', 'type': 'date', 'label': 'D', 'min': '2024-01-01',"
	    "  'max': '2024-12-31'},"
	    "{'name': 'u', 'type': 'url', 'label': 'U'},"
	    "{'name': 'p', 'type': 'tel', 'label': 'P'},"
	    "{'name': 'c', 'type': 'checkbox', 'label': 'C', "
	    "  'options': ['x', {'value': 'y', 'label': 'Why'}, {'value': 'z'}]},"
	    "{'name': 'h', 'type': 'hidden', 'value': 'v1'},"
	    "{'name': 'h2', 'type': 'hidden'}"), "%s", ft_err);

	fl = form_field_find(ft_form, "a");
	cr_assert_str_eq(fl->pattern, "[a-z]+");
	cr_assert_str_eq(fl->pattern_message, "Lowercase only");
	cr_assert_str_eq(fl->placeholder, "abc");
	fl = form_field_find(ft_form, "n");
	cr_assert(fl->has_min && fl->has_max);
	cr_assert_float_eq(fl->min, -1.5, 1e-9);
	cr_assert_float_eq(fl->max, 10.0, 1e-9);
	fl = form_field_find(ft_form, "i");
	cr_assert(fl->has_min && !fl->has_max);
	fl = form_field_find(ft_form, "d");
	cr_assert_str_eq(fl->min_date, "2024-01-01");
	cr_assert_str_eq(fl->max_date, "2024-12-31");
	cr_assert_eq(fl->has_min, 0);
	fl = form_field_find(ft_form, "c");
	cr_assert_eq(fl->multiple, 1);
	cr_assert_eq(fl->noptions, 3);
	cr_assert_str_eq(fl->options[0].label, "x");
	cr_assert_str_eq(fl->options[1].label, "Why");
	cr_assert_str_eq(fl->options[2].label, "z");
	fl = form_field_find(ft_form, "h");
	cr_assert_str_eq(fl->value, "v1");
	cr_assert_str_eq(fl->label, "h", "a hidden field's label defaults");
	cr_assert_str_eq(form_field_find(ft_form, "h2")->value, "");
}

Test(forms, parse_accepts_webhook_action_with_attempts)
{
	cr_assert_not_null(ft_parse("conf/forms/hook.json",
	    "{'slug': 'hook', 'title': 'T', 'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "
	    "'actions': [{'type': 'webhook', 'url': 'https://example.com/h', "
	    "'max_attempts': 3}, {'type': 'email', 'to': 'a@b.com'}]}"),
	    "%s", ft_err);
	cr_assert_eq(ft_form->nactions, 2);
	cr_assert_str_eq(ft_form->actions[0].url, "https://example.com/h");
	cr_assert_eq(ft_form->actions[0].max_attempts, 3);
	cr_assert_eq(ft_form->actions[1].max_attempts, 9);
	cr_assert_null(ft_form->actions[1].subject);
	cr_assert_null(ft_form->actions[1].reply_to, "no email field");
}

/* ---- actions: mail and deliveries (SPEC 11) ---------------------------- */

#define FT_MAILFORM(actions)						\
	"{'slug': 't', 'title': 'T', 'success_message': 'ok', "	\
	"'fields': [{'name': 'name', 'type': 'text', 'label': 'N'}, "	\
	"{'name': 'from', 'type': 'email', 'label': 'E'}, "		\
	"{'name': 'other', 'type': 'email', 'label': 'E2'}], "		\
	"'actions': " actions "}"

Test(forms, email_takes_lists_cc_bcc_reply_to_template_and_retry)
{
	struct form_action	*a;

	cr_assert_not_null(ft_parse(FT_PATH, FT_MAILFORM("[{'type': 'email', "
	    "'to': ['a@example.com', 'b@example.org'], 'cc': 'c@example.com', "
	    "'bcc': ['d@example.com'], 'reply_to': 'other', "
	    "'subject': 'New message from {{name}}', 'template': 'notify', "
	    "'retry': [5, 0.25, 300]}]")), "%s", ft_err);
	a = &ft_form->actions[0];
	cr_assert_eq(a->nto, 2);
	cr_assert_str_eq(a->to[1], "b@example.org");
	cr_assert_eq(a->ncc, 1);
	cr_assert_str_eq(a->cc[0], "c@example.com");
	cr_assert_eq(a->nbcc, 1);
	cr_assert_str_eq(a->reply_to, "other");
	cr_assert_str_eq(a->template, "notify");
	cr_assert_str_eq(a->target, "a@example.com, b@example.org");
	cr_assert_eq(a->nretry, 3);
	cr_assert_eq(a->retry_ms[0], 5000);
	cr_assert_eq(a->retry_ms[1], 250);
	cr_assert_eq(a->retry_ms[2], 300000);
	cr_assert_eq(a->max_attempts, 4, "its schedule's 3 waits + 1");
}

Test(forms, max_attempts_wins_over_the_schedule_length)
{
	cr_assert_not_null(ft_parse(FT_PATH, FT_MAILFORM("[{'type': 'email', "
	    "'to': 'a@example.com', 'retry': [1, 2, 3], 'max_attempts': 2}, "
	    "{'type': 'webhook', 'url': 'https://x.test/', 'retry': [1], "
	    "'max_attempts': 20}]")), "%s", ft_err);
	cr_assert_eq(ft_form->actions[0].max_attempts, 2);
	cr_assert_eq(ft_form->actions[1].max_attempts, 20);
}

Test(forms, autoreply_defaults_to_the_first_email_field)
{
	cr_assert_not_null(ft_parse(FT_PATH, FT_MAILFORM("[{'type': "
	    "'autoreply', 'template': 'thanks'}, {'type': 'autoreply', "
	    "'field': 'other', 'subject': 'Thanks, {{name}}'}]")), "%s",
	    ft_err);
	cr_assert_str_eq(ft_form->actions[0].field, "from");
	cr_assert_str_eq(ft_form->actions[1].field, "other");
	cr_assert_eq(ft_form->actions[0].nto, 0);
	cr_assert_str_eq(ft_form->actions[0].target, "the address in 'from'");
}

Test(forms, webhook_takes_a_secret_env)
{
	cr_assert_not_null(ft_parse(FT_PATH, FT_MAILFORM("[{'type': "
	    "'webhook', 'url': 'https://x.test/h', "
	    "'secret_env': 'HOOK_SECRET_2'}]")), "%s", ft_err);
	cr_assert_str_eq(ft_form->actions[0].secret_env, "HOOK_SECRET_2");
}

Test(forms, parse_slug_may_hold_digits_and_dashes)
{
	cr_assert_not_null(ft_parse("x/2024-survey.json",
	    FT_MINIMAL("2024-survey")), "%s", ft_err);
	cr_assert_not_null(ft_parse("plain-name.json",
	    FT_MINIMAL("plain-name")), "%s", ft_err);
}

/* A description over 8 KiB lives outside Kore's pools, where valgrind
 * checks that form_free() and the failure path release it. */
Test(forms, large_definition_freed_on_success_and_failure)
{
	char	*def, *desc;

	desc = malloc(9001);
	cr_assert_not_null(desc);
	memset(desc, 'd', 9000);
	desc[9000] = '\0';
	def = malloc(12000);
	cr_assert_not_null(def);
	(void)snprintf(def, 12000, "{'slug': 't', 'title': 'T', "
	    "'description': '%s', 'success_message': 'ok', 'fields': "
	    "[{'name': 'a', 'type': 'text', 'label': 'A', 'pattern': 'a+'}]}",
	    desc);
	cr_assert_not_null(ft_parse(FT_PATH, def), "%s", ft_err);
	cr_assert_eq(strlen(ft_form->description), 9000);

	(void)snprintf(def, 12000, "{'slug': 't', 'title': 'T', "
	    "'description': '%s', 'success_message': 'ok', 'fields': "
	    "[{'name': 'a', 'type': 'text', 'label': 'A', 'pattern': 'a+'}, "
	    "{'name': 'b', 'type': 'bogus', 'label': 'B'}]}", desc);
	ft_parse(FT_PATH, def);
	ft_fails_with("a large definition with a bad type",
	    (const char *const []){ "unknown type 'bogus'", NULL });
	free(def);
	free(desc);
}

/* ---- definitions that fail --------------------------------------------- */

/* A definition of form "t" with one text field a and these actions. */
#define FT_ACTIONS(actions)						\
	"{'slug': 't', 'title': 'T', 'success_message': 'ok', "	\
	"'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "	\
	"'actions': " actions "}"

/*
 * A definition with a mistake: read from path (FT_PATH when NULL), the
 * whole of def, or form "t" with fields when def is NULL. Parsing must
 * fail with a message holding every one of msg.
 */
struct ft_bad {
	const char	*what;
	const char	*path;
	const char	*def;
	const char	*fields;
	const char	*msg[5];
};

static const struct ft_bad	ft_bad[] = {
	/* The file as a whole. */
	{ "invalid JSON", NULL,
	    "{\n'slug': 't',\n'title': 'T' oops,\n'fields': []}", NULL,
	    { FT_PATH ": ", "line 3", "invalid JSON" } },
	{ "invalid JSON on the first line", NULL, "{'slug' 't'}", NULL,
	    { FT_PATH, "line 1" } },
	{ "an array at the top", NULL, "['slug']", NULL,
	    { FT_PATH, "object" } },
	{ "an unknown top-level key", NULL,
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'colour': 'red', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}]}", NULL,
	    { FT_PATH, "unknown key 'colour'" } },
	{ "no title", NULL, "{'slug': 't', 'success_message': 'ok',"
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}]}", NULL,
	    { FT_PATH, "'title' is missing" } },
	{ "an empty title", NULL, "{'slug': 't', 'title': '', "
	    "'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}]}", NULL,
	    { "'title' must not be empty" } },
	{ "a title that is a number", NULL, "{'slug': 't', 'title': 5, "
	    "'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}]}", NULL,
	    { "'title' must be a string" } },
	{ "an empty fields array", NULL, NULL, "", { FT_PATH, "'fields'" } },
	{ "no fields", NULL,
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok'}", NULL,
	    { FT_PATH, "'fields'" } },

	/* Fields. A typo such as maxlength would otherwise drop the
	 * constraint: the message names the field and its position. */
	{ "an unknown field key", NULL, NULL,
	    "{'name': 'a', 'type': 'text', 'label': 'A'},"
	    "{'name': 'x', 'type': 'text', 'label': 'X', 'maxlength': 10}",
	    { FT_PATH, "unknown key 'maxlength'", "field 'x'",
	    "fields[1]" } },
	{ "an unknown field type", NULL, NULL,
	    "{'name': 'x', 'type': 'string', 'label': 'X'}",
	    { FT_PATH, "field 'x'", "unknown type 'string'" } },
	{ "no type", NULL, NULL, "{'name': 'x', 'label': 'X'}",
	    { "field 'x'", "'type' is missing" } },
	{ "no label", NULL, NULL, "{'name': 'x', 'type': 'text'}",
	    { "field 'x'", "'label' is missing" } },
	{ "a select without options", NULL, NULL,
	    "{'name': 'x', 'type': 'select', 'label': 'X'}",
	    { FT_PATH, "field 'x'", "needs 'options'" } },
	{ "a radio with no options", NULL, NULL,
	    "{'name': 'r', 'type': 'radio', 'label': 'R', 'options': []}",
	    { "field 'r'", "'options'" } },
	{ "an option listed twice", NULL, NULL,
	    "{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a', 'a']}",
	    { "field 'x'", "option 'a' is listed twice" } },
	{ "an empty option", NULL, NULL,
	    "{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a', '']}",
	    { "field 'x'", "options[1]", "empty" } },
	{ "an option that is a number", NULL, NULL,
	    "{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a', 5]}",
	    { "field 'x'", "options[1]" } },
	{ "options as a string", NULL, NULL,
	    "{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': 'a,b'}",
	    { "field 'x'", "'options' must be an array" } },
	{ "options on a text field", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'options': ['a']}",
	    { "field 'x'", "'options' only apply" } },
	{ "a field name used twice", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X'},"
	    "{'name': 'y', 'type': 'text', 'label': 'Y'},"
	    "{'name': 'x', 'type': 'email', 'label': 'X2'}",
	    { FT_PATH, "field 'x'", "fields[2]", "used twice" } },
	{ "min_length over max_length", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'min_length': 10, 'max_length': 5}",
	    { FT_PATH, "field 'x'",
	    "'min_length' is greater than 'max_length'" } },
	{ "a negative max_length", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', 'max_length': -1}",
	    { "field 'x'", "'max_length'", "whole number" } },
	{ "a fractional min_length", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', 'min_length': 2.5}",
	    { "field 'x'", "'min_length'" } },
	{ "a min_length that is a string", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'min_length': '3'}",
	    { "field 'x'", "'min_length' must be a number" } },
	{ "min over max", NULL, NULL,
	    "{'name': 'x', 'type': 'number', 'label': 'X', "
	    "'min': 10, 'max': 1}",
	    { "field 'x'", "'min' is greater than 'max'" } },
	{ "min on a text field", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', 'min': 1}",
	    { "field 'x'", "'min' and 'max'" } },
	{ "value on a text field", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', 'value': 'v'}",
	    { "field 'x'", "'value' only applies" } },
	{ "max_length on a select", NULL, NULL,
	    "{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a'], 'max_length': 3}",
	    { "field 'x'", "do not apply to a select" } },
	{ "a unique checkbox", NULL, NULL,
	    "{'name': 'x', 'type': 'checkbox', 'label': 'X', "
	    "'unique': true}",
	    { "field 'x'", "cannot be unique" } },
	{ "required as a string", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'required': 'yes'}",
	    { "field 'x'", "'required' must be true or false" } },
	{ "a date limit that is no date", NULL, NULL,
	    "{'name': 'd', 'type': 'date', 'label': 'D', "
	    "'min': '2024-02-30'}",
	    { "field 'd'", "YYYY-MM-DD" } },
	{ "a date limit that is a number", NULL, NULL,
	    "{'name': 'd', 'type': 'date', 'label': 'D', 'max': 20240101}",
	    { "field 'd'", "'max' must be a string" } },
	{ "a pattern that does not compile", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', 'pattern': '[a-'}",
	    { FT_PATH, "field 'x'", "'pattern'", "regular expression" } },
	{ "a pattern with a bad repeat", NULL, NULL,
	    "{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'pattern': 'a{2,1}'}",
	    { "field 'x'", "'pattern'" } },
	/* The pattern is read but never compiled: freeing must cope. */
	{ "a pattern on a select", NULL, NULL,
	    "{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a'], 'pattern': 'a+'}",
	    { "field 'x'", "do not apply" } },
	{ "a field name starting with _", NULL, NULL,
	    "{'name': '_key', 'type': 'text', 'label': 'K'}",
	    { FT_PATH, "field '_key'", "name must be" } },
	{ "a field name with a dash", NULL, NULL,
	    "{'name': 'a-b', 'type': 'text', 'label': 'K'}",
	    { "field 'a-b'", "name must be" } },
	{ "a field name in capitals", NULL, NULL,
	    "{'name': 'Name', 'type': 'text', 'label': 'K'}",
	    { "field 'Name'", "name must be" } },

	/* The slug. */
	{ "a slug other than the file name", "conf/forms/contact.json",
	    FT_MINIMAL("kontakt"), NULL,
	    { "conf/forms/contact.json",
	    "slug 'kontakt' must match the file name" } },
	{ "a slug that is part of the file name",
	    "conf/forms/contact-us.json", FT_MINIMAL("contact"), NULL,
	    { "must match the file name" } },
	{ "a slug with capitals and _", "conf/forms/My_Form.json",
	    FT_MINIMAL("My_Form"), NULL,
	    { "conf/forms/My_Form.json", "slug 'My_Form'" } },
	{ "a slug starting with -", "conf/forms/-x.json", FT_MINIMAL("-x"),
	    NULL, { "slug '-x'" } },

	/* Actions. */
	{ "a webhook without url", NULL, FT_ACTIONS("[{'type': 'webhook'}]"),
	    NULL, { FT_PATH, "actions[0]", "a webhook action needs 'url'" } },
	{ "a webhook to an ftp url", NULL,
	    FT_ACTIONS("[{'type': 'webhook', 'url': 'ftp://x'}]"), NULL,
	    { "actions[0]", "needs 'url'" } },
	{ "max_attempts 0", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com'}, "
	    "{'type': 'webhook', 'url': 'https://x.test/', "
	    "'max_attempts': 0}]"), NULL,
	    { FT_PATH, "actions[1]", "'max_attempts'" } },
	{ "max_attempts 51", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', "
	    "'max_attempts': 51}]"), NULL,
	    { "actions[0]", "'max_attempts'" } },
	{ "an email without to", NULL, FT_ACTIONS("[{'type': 'email'}]"),
	    NULL, { "actions[0]", "needs 'to'" } },
	{ "an unknown action type", NULL,
	    FT_ACTIONS("[{'type': 'sms', 'to': '123'}]"), NULL,
	    { "actions[0]", "unknown action type 'sms'" } },
	/* SPEC 11 made 'cc' an email key: an unknown key is another now. */
	{ "an unknown action key", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', 'sender': 'x'}]"),
	    NULL, { "actions[0]", "unknown key 'sender'" } },
	{ "a cc that is no address", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', 'cc': 'x'}]"),
	    NULL, { "actions[0]", "'cc' must be an email address" } },
	{ "a to address with CR LF", NULL,
	    FT_ACTIONS("[{'type': 'email', "
	    "'to': 'a@b.com\\r\\nBcc: evil@x.test'}]"),
	    NULL, { "actions[0]", "'to' must be an email address" } },
	{ "a to address with a display name", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'Ann <a@b.com>'}]"),
	    NULL, { "actions[0]", "'to' must be an email address" } },
	{ "a to list holding a number", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': ['a@b.com', 3]}]"),
	    NULL, { "actions[0]", "'to' must be an email address" } },
	{ "an empty to list", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': []}]"),
	    NULL, { "actions[0]", "needs 'to'" } },
	{ "a webhook key on an email", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', "
	    "'url': 'https://x.test/'}]"),
	    NULL, { "actions[0]", "'url' does not apply to email actions" } },
	{ "an email key on a webhook", NULL,
	    FT_ACTIONS("[{'type': 'webhook', 'url': 'https://x.test/', "
	    "'subject': 'x'}]"),
	    NULL, { "'subject' does not apply to webhook actions" } },
	{ "a reply_to naming no email field", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', 'reply_to': 'a'}]"),
	    NULL, { "actions[0]", "'reply_to' must name an email field" } },
	{ "an autoreply on a form without email field", NULL,
	    FT_ACTIONS("[{'type': 'autoreply'}]"),
	    NULL, { "actions[0]", "needs an email field" } },
	{ "a retry that is no list", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', 'retry': 5}]"),
	    NULL, { "actions[0]", "'retry' must be a list" } },
	{ "an empty retry list", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', 'retry': []}]"),
	    NULL, { "'retry' must be a list" } },
	{ "a negative retry wait", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', 'retry': [5, -1]}]"),
	    NULL, { "'retry' must be a list" } },
	{ "a retry wait over a week", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', "
	    "'retry': [604801]}]"), NULL, { "'retry' must be a list" } },
	{ "a template name with a slash", NULL,
	    FT_ACTIONS("[{'type': 'email', 'to': 'a@b.com', "
	    "'template': '../x'}]"), NULL, { "'template' must name a file" } },
	{ "a secret_env in lower case", NULL,
	    FT_ACTIONS("[{'type': 'webhook', 'url': 'https://x.test/', "
	    "'secret_env': 'path'}]"), NULL, { "'secret_env' must name" } },
	{ "actions as an object", NULL, FT_ACTIONS("{'type': 'email'}"),
	    NULL, { "'actions' must be an array" } },
};

TABLE_TEST(forms, bad_definition_rejected, ft_bad);

ParameterizedTest(size_t *i, forms, bad_definition_rejected)
{
	const struct ft_bad	*c = &ft_bad[*i];

	if (c->def != NULL)
		ft_parse(c->path != NULL ? c->path : FT_PATH, c->def);
	else
		ft_fields(c->fields);
	ft_fails_with(c->what, c->msg);
}

/* ---- loading a directory ----------------------------------------------- */

Test(forms, load_empty_dir_fails_with_message)
{
	ft_write("notes.txt", "not a form");
	ft_write(".hidden.json", FT_MINIMAL("hidden"));
	cr_assert_eq(ft_load(ft_dir), -1);
	cr_assert_not_null(strstr(ft_err, ft_dir), "%s", ft_err);
	cr_assert_not_null(strstr(ft_err, "no form definitions"), "%s",
	    ft_err);
	cr_assert(TAILQ_EMPTY(&ft_list));
}

Test(forms, load_missing_dir_fails_with_message)
{
	cr_assert_eq(ft_load("/nonexistent/formwork/forms"), -1);
	cr_assert_not_null(strstr(ft_err, "/nonexistent/formwork/forms"),
	    "%s", ft_err);
	cr_assert_not_null(strstr(ft_err, "cannot open"), "%s", ft_err);
}

Test(forms, load_dir_with_bad_file_names_it)
{
	char	path[PATH_MAX];

	ft_write("broken.json", "{'slug': 'broken', ");
	(void)snprintf(path, sizeof(path), "%s/broken.json", ft_dir);
	cr_assert_eq(ft_load(ft_dir), -1);
	cr_assert_not_null(strstr(ft_err, path), "%s", ft_err);
	cr_assert_not_null(strstr(ft_err, "invalid JSON"), "%s", ft_err);
	cr_assert(TAILQ_EMPTY(&ft_list));
}

Test(forms, load_dir_fails_whole_when_one_file_is_bad)
{
	ft_write("alpha.json", FT_MINIMAL("alpha"));
	ft_write("beta.json", FT_MINIMAL("wrong"));
	ft_write("gamma.json", FT_MINIMAL("gamma"));
	cr_assert_eq(ft_load(ft_dir), -1);
	cr_assert_not_null(strstr(ft_err, "beta.json"), "%s", ft_err);
	cr_assert_not_null(strstr(ft_err, "must match the file name"), "%s",
	    ft_err);
	cr_assert(TAILQ_EMPTY(&ft_list), "forms loaded before the bad file "
	    "must be freed and not returned");
}

Test(forms, load_dir_sorts_by_file_name_and_skips_others)
{
	struct form	*f;

	ft_write("zeta.json", FT_MINIMAL("zeta"));
	ft_write("alpha.json", FT_MINIMAL("alpha"));
	ft_write("mid.json", FT_MINIMAL("mid"));
	ft_write("README", "not json");
	ft_write("old.json.bak", "{");
	cr_assert_eq(ft_load(ft_dir), 0, "%s", ft_err);
	f = TAILQ_FIRST(&ft_list);
	cr_assert_str_eq(f->slug, "alpha");
	f = TAILQ_NEXT(f, list);
	cr_assert_str_eq(f->slug, "mid");
	f = TAILQ_NEXT(f, list);
	cr_assert_str_eq(f->slug, "zeta");
	cr_assert_null(TAILQ_NEXT(f, list));
}
