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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <kore/kore.h>

#include "core/forms.h"

#define FT_SAMPLES	"../../conf/forms"

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

/* A form "t" in "conf/forms/t.json" with the given fields array body. */
static struct form *
ft_fields(const char *fields)
{
	char	def[4096];

	(void)snprintf(def, sizeof(def), "{'slug': 't', 'title': 'T', "
	    "'success_message': 'Thanks', 'fields': [%s]}", fields);
	return (ft_parse("conf/forms/t.json", def));
}

/* Expects the last parse to have failed with a message holding all of
 * the given fragments (NULL-terminated). */
static void
ft_fails_with(const char *first, ...)
{
	va_list		 ap;
	const char	*s;

	cr_assert_null(ft_form, "the definition was accepted");
	cr_assert_neq(ft_err[0], '\0', "no message");
	va_start(ap, first);
	for (s = first; s != NULL; s = va_arg(ap, const char *)) {
		cr_assert_not_null(strstr(ft_err, s),
		    "message \"%s\" lacks \"%s\"", ft_err, s);
	}
	va_end(ap);
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
	cr_assert_str_eq(f->actions[0].to, "owner@example.com");
	cr_assert_str_eq(f->actions[0].subject, "New signup");
	cr_assert_null(f->actions[0].url);
	cr_assert_eq(f->actions[0].max_attempts, 5);
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
	cr_assert_eq(ft_form->actions[1].max_attempts, 5);
	cr_assert_null(ft_form->actions[1].subject);
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
	cr_assert_not_null(ft_parse("conf/forms/t.json", def), "%s", ft_err);
	cr_assert_eq(strlen(ft_form->description), 9000);

	(void)snprintf(def, 12000, "{'slug': 't', 'title': 'T', "
	    "'description': '%s', 'success_message': 'ok', 'fields': "
	    "[{'name': 'a', 'type': 'text', 'label': 'A', 'pattern': 'a+'}, "
	    "{'name': 'b', 'type': 'bogus', 'label': 'B'}]}", desc);
	ft_parse("conf/forms/t.json", def);
	ft_fails_with("unknown type 'bogus'", NULL);
	free(def);
	free(desc);
}

/* ---- definitions that fail --------------------------------------------- */

Test(forms, invalid_json_names_file_and_line)
{
	ft_parse("conf/forms/t.json",
	    "{\n'slug': 't',\n'title': 'T' oops,\n'fields': []}");
	ft_fails_with("conf/forms/t.json: ", "line 3", "invalid JSON", NULL);
}

Test(forms, invalid_json_on_first_line)
{
	ft_parse("conf/forms/t.json", "{'slug' 't'}");
	ft_fails_with("conf/forms/t.json", "line 1", NULL);
}

Test(forms, top_level_must_be_an_object)
{
	ft_parse("conf/forms/t.json", "['slug']");
	ft_fails_with("conf/forms/t.json", "object", NULL);
}

Test(forms, unknown_top_level_key_rejected)
{
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'colour': 'red', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}]}");
	ft_fails_with("conf/forms/t.json", "unknown key 'colour'", NULL);
}

Test(forms, missing_required_top_level_strings_rejected)
{
	ft_parse("conf/forms/t.json", "{'slug': 't', 'success_message': 'ok',"
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}]}");
	ft_fails_with("conf/forms/t.json", "'title' is missing", NULL);
	ft_parse("conf/forms/t.json", "{'slug': 't', 'title': '', "
	    "'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}]}");
	ft_fails_with("'title' must not be empty", NULL);
	ft_parse("conf/forms/t.json", "{'slug': 't', 'title': 5, "
	    "'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}]}");
	ft_fails_with("'title' must be a string", NULL);
}

Test(forms, fields_must_be_a_non_empty_array)
{
	ft_fields("");
	ft_fails_with("conf/forms/t.json", "'fields'", NULL);
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok'}");
	ft_fails_with("conf/forms/t.json", "'fields'", NULL);
}

Test(forms, unknown_field_key_names_the_field)
{
	/* A typo such as maxlength would otherwise drop the constraint. */
	ft_fields("{'name': 'a', 'type': 'text', 'label': 'A'},"
	    "{'name': 'x', 'type': 'text', 'label': 'X', 'maxlength': 10}");
	ft_fails_with("conf/forms/t.json", "unknown key 'maxlength'",
	    "field 'x'", NULL);
}

Test(forms, unknown_field_key_names_the_position)
{
	ft_fields("{'name': 'a', 'type': 'text', 'label': 'A'},"
	    "{'name': 'x', 'type': 'text', 'label': 'X', 'maxlength': 10}");
	ft_fails_with("fields[1]", "unknown key 'maxlength'", NULL);
}

Test(forms, unknown_field_type_rejected)
{
	ft_fields("{'name': 'x', 'type': 'string', 'label': 'X'}");
	ft_fails_with("conf/forms/t.json", "field 'x'",
	    "unknown type 'string'", NULL);
}

Test(forms, missing_type_or_label_rejected)
{
	ft_fields("{'name': 'x', 'label': 'X'}");
	ft_fails_with("field 'x'", "'type' is missing", NULL);
	ft_fields("{'name': 'x', 'type': 'text'}");
	ft_fails_with("field 'x'", "'label' is missing", NULL);
}

Test(forms, select_and_radio_need_options)
{
	ft_fields("{'name': 'x', 'type': 'select', 'label': 'X'}");
	ft_fails_with("conf/forms/t.json", "field 'x'", "needs 'options'",
	    NULL);
	ft_fields("{'name': 'r', 'type': 'radio', 'label': 'R', "
	    "'options': []}");
	ft_fails_with("field 'r'", "'options'", NULL);
}

Test(forms, bad_options_rejected)
{
	ft_fields("{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a', 'a']}");
	ft_fails_with("field 'x'", "option 'a' is listed twice", NULL);
	ft_fields("{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a', '']}");
	ft_fails_with("field 'x'", "options[1]", "empty", NULL);
	ft_fields("{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a', 5]}");
	ft_fails_with("field 'x'", "options[1]", NULL);
	ft_fields("{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': 'a,b'}");
	ft_fails_with("field 'x'", "'options' must be an array", NULL);
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'options': ['a']}");
	ft_fails_with("field 'x'", "'options' only apply", NULL);
}

Test(forms, duplicate_field_name_rejected)
{
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X'},"
	    "{'name': 'y', 'type': 'text', 'label': 'Y'},"
	    "{'name': 'x', 'type': 'email', 'label': 'X2'}");
	ft_fails_with("conf/forms/t.json", "field 'x'", "fields[2]",
	    "used twice", NULL);
}

Test(forms, min_length_greater_than_max_length_rejected)
{
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'min_length': 10, 'max_length': 5}");
	ft_fails_with("conf/forms/t.json", "field 'x'",
	    "'min_length' is greater than 'max_length'", NULL);
}

Test(forms, negative_or_fractional_lengths_rejected)
{
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'max_length': -1}");
	ft_fails_with("field 'x'", "'max_length'", "whole number", NULL);
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'min_length': 2.5}");
	ft_fails_with("field 'x'", "'min_length'", NULL);
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'min_length': '3'}");
	ft_fails_with("field 'x'", "'min_length' must be a number", NULL);
}

Test(forms, min_greater_than_max_rejected)
{
	ft_fields("{'name': 'x', 'type': 'number', 'label': 'X', "
	    "'min': 10, 'max': 1}");
	ft_fails_with("field 'x'", "'min' is greater than 'max'", NULL);
}

Test(forms, constraints_on_the_wrong_type_rejected)
{
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', 'min': 1}");
	ft_fails_with("field 'x'", "'min' and 'max'", NULL);
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'value': 'v'}");
	ft_fails_with("field 'x'", "'value' only applies", NULL);
	ft_fields("{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a'], 'max_length': 3}");
	ft_fails_with("field 'x'", "do not apply to a select", NULL);
	ft_fields("{'name': 'x', 'type': 'checkbox', 'label': 'X', "
	    "'unique': true}");
	ft_fails_with("field 'x'", "cannot be unique", NULL);
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'required': 'yes'}");
	ft_fails_with("field 'x'", "'required' must be true or false", NULL);
}

Test(forms, date_limits_must_be_dates)
{
	ft_fields("{'name': 'd', 'type': 'date', 'label': 'D', "
	    "'min': '2024-02-30'}");
	ft_fails_with("field 'd'", "YYYY-MM-DD", NULL);
	ft_fields("{'name': 'd', 'type': 'date', 'label': 'D', "
	    "'max': 20240101}");
	ft_fails_with("field 'd'", "'max' must be a string", NULL);
}

Test(forms, bad_regex_pattern_rejected)
{
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'pattern': '[a-'}");
	ft_fails_with("conf/forms/t.json", "field 'x'", "'pattern'",
	    "regular expression", NULL);
	ft_fields("{'name': 'x', 'type': 'text', 'label': 'X', "
	    "'pattern': 'a{2,1}'}");
	ft_fails_with("field 'x'", "'pattern'", NULL);
}

Test(forms, pattern_on_a_select_is_freed_cleanly)
{
	/* The pattern is read but never compiled: freeing must cope. */
	ft_fields("{'name': 'x', 'type': 'select', 'label': 'X', "
	    "'options': ['a'], 'pattern': 'a+'}");
	ft_fails_with("field 'x'", "do not apply", NULL);
}

Test(forms, slug_must_match_file_name)
{
	ft_parse("conf/forms/contact.json", FT_MINIMAL("kontakt"));
	ft_fails_with("conf/forms/contact.json",
	    "slug 'kontakt' must match the file name", NULL);
	ft_parse("conf/forms/contact-us.json", FT_MINIMAL("contact"));
	ft_fails_with("must match the file name", NULL);
}

Test(forms, slug_characters_restricted)
{
	ft_parse("conf/forms/My_Form.json", FT_MINIMAL("My_Form"));
	ft_fails_with("conf/forms/My_Form.json", "slug 'My_Form'", NULL);
	ft_parse("conf/forms/-x.json", FT_MINIMAL("-x"));
	ft_fails_with("slug '-x'", NULL);
}

Test(forms, field_name_starting_with_underscore_rejected)
{
	ft_fields("{'name': '_key', 'type': 'text', 'label': 'K'}");
	ft_fails_with("conf/forms/t.json", "field '_key'", "name must be",
	    NULL);
	ft_fields("{'name': 'a-b', 'type': 'text', 'label': 'K'}");
	ft_fails_with("field 'a-b'", "name must be", NULL);
	ft_fields("{'name': 'Name', 'type': 'text', 'label': 'K'}");
	ft_fails_with("field 'Name'", "name must be", NULL);
}

Test(forms, webhook_action_without_url_rejected)
{
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "
	    "'actions': [{'type': 'webhook'}]}");
	ft_fails_with("conf/forms/t.json", "actions[0]",
	    "a webhook action needs 'url'", NULL);
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "
	    "'actions': [{'type': 'webhook', 'url': 'ftp://x'}]}");
	ft_fails_with("actions[0]", "needs 'url'", NULL);
}

Test(forms, max_attempts_zero_rejected)
{
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "
	    "'actions': [{'type': 'email', 'to': 'a@b.com'}, "
	    "{'type': 'webhook', 'url': 'https://x.test/', "
	    "'max_attempts': 0}]}");
	ft_fails_with("conf/forms/t.json", "actions[1]", "'max_attempts'",
	    NULL);
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "
	    "'actions': [{'type': 'email', 'to': 'a@b.com', "
	    "'max_attempts': 51}]}");
	ft_fails_with("actions[0]", "'max_attempts'", NULL);
}

Test(forms, other_bad_actions_rejected)
{
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "
	    "'actions': [{'type': 'email'}]}");
	ft_fails_with("actions[0]", "needs 'to'", NULL);
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "
	    "'actions': [{'type': 'sms', 'to': '123'}]}");
	ft_fails_with("actions[0]", "unknown action type 'sms'", NULL);
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "
	    "'actions': [{'type': 'email', 'to': 'a@b.com', 'cc': 'x'}]}");
	ft_fails_with("actions[0]", "unknown key 'cc'", NULL);
	ft_parse("conf/forms/t.json",
	    "{'slug': 't', 'title': 'T', 'success_message': 'ok', "
	    "'fields': [{'name': 'a', 'type': 'text', 'label': 'A'}], "
	    "'actions': {'type': 'email'}}");
	ft_fails_with("'actions' must be an array", NULL);
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
