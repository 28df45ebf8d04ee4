/*
 * test_validate.c: tests for the validator (src/core/validate.c): each field
 * type's rules, normalisation of submitted values, the 400 cases (unknown
 * or repeated fields), Formwork's own fields, and the submission hash.
 *
 * Each test declares a form inline (single quotes stand for double
 * quotes) and submits an urlencoded body, as a browser would.
 */

#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <sodium.h>

#include <kore/kore.h>

#include "core/body.h"
#include "core/forms.h"
#include "core/utf8.h"
#include "core/validate.h"

static struct form		*vt_f;
static struct body		 vt_b;
static struct form_input	 vt_in;
static int			 vt_have_in;

static void
vt_setup(void)
{
	cr_assert_neq(sodium_init(), -1);
	vt_f = NULL;
	memset(&vt_b, 0, sizeof(vt_b));
	TAILQ_INIT(&vt_b.fields);
	memset(&vt_in, 0, sizeof(vt_in));
	vt_have_in = 0;
}

static void
vt_teardown(void)
{
	if (vt_have_in)
		validate_cleanup(&vt_in);
	body_cleanup(&vt_b);
	form_free(vt_f);
	vt_f = NULL;
}

TestSuite(validate, .init = vt_setup, .fini = vt_teardown);

/* Declares form "t" with the given fields (single-quoted JSON). */
static void
vt_form(const char *fields)
{
	char	def[4096], err[512], *p;

	(void)snprintf(def, sizeof(def), "{'slug': 't', 'title': 'T', "
	    "'success_message': 'Thanks', 'fields': [%s]}", fields);
	for (p = def; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	/* The previous input refers to the previous form. */
	if (vt_have_in)
		validate_cleanup(&vt_in);
	vt_have_in = 0;
	form_free(vt_f);
	vt_f = form_parse("conf/forms/t.json", def, strlen(def), err,
	    sizeof(err));
	cr_assert_not_null(vt_f, "test form rejected: %s", err);
}

/* Submits an urlencoded body to the current form. */
static enum validate_status
vt_submit(const char *urlenc)
{
	if (vt_have_in)
		validate_cleanup(&vt_in);
	vt_have_in = 0;
	body_cleanup(&vt_b);
	cr_assert_eq(body_parse("application/x-www-form-urlencoded",
	    (const u_int8_t *)urlenc, strlen(urlenc), &vt_b), BODY_OK,
	    "body \"%s\" did not parse", urlenc);
	vt_have_in = 1;
	return (validate_form(vt_f, &vt_b, &vt_in));
}

static struct field_input *
vt_fi(const char *name)
{
	size_t		i;

	for (i = 0; i < vt_f->nfields; i++) {
		if (strcmp(vt_in.fields[i].field->name, name) == 0)
			return (&vt_in.fields[i]);
	}
	cr_assert_fail("no field %s", name);
	return (NULL);
}

static const char *
vt_err(const char *name)
{
	return (vt_fi(name)->error);
}

static const char *
vt_val(const char *name)
{
	struct field_input	*fi;

	fi = vt_fi(name);
	cr_assert_gt(fi->nvals, 0, "field %s has no value", name);
	return (fi->vals[0]);
}

/* Expects body to pass, or to fail at field name with a message
 * containing frag (when not NULL). */
static void
vt_ok(const char *body)
{
	enum validate_status	st;

	st = vt_submit(body);
	cr_assert_eq(st, VALIDATE_OK, "\"%s\" refused (%zu errors, "
	    "first field error: \"%s\", problem \"%s\")", body, vt_in.nerrors,
	    vt_in.fields[0].error, vt_in.problem);
}

static void
vt_bad(const char *body, const char *name, const char *frag)
{
	enum validate_status	st;

	st = vt_submit(body);
	cr_assert_eq(st, VALIDATE_INVALID, "\"%s\" accepted (status %d)",
	    body, st);
	cr_assert_neq(vt_err(name)[0], '\0', "\"%s\": no message at %s",
	    body, name);
	if (frag != NULL)
		cr_assert_not_null(strstr(vt_err(name), frag),
		    "\"%s\": message \"%s\" lacks \"%s\"", body, vt_err(name),
		    frag);
}

static void
vt_hash(const char *body, char out[VALIDATE_HASH_LEN + 1])
{
	enum validate_status	st;

	st = vt_submit(body);
	cr_assert_neq(st, VALIDATE_BAD_REQUEST, "%s", vt_in.problem);
	memset(out, 'Z', VALIDATE_HASH_LEN + 1);
	validate_hash(&vt_in, out);
}

#define F_NAME	"{'name': 'name', 'type': 'text', 'label': 'Your name', " \
		"'required': true, 'max_length': 5}"
#define F_MSG	"{'name': 'message', 'type': 'textarea', 'label': 'Message', " \
		"'required': true, 'min_length': 10, 'max_length': 12}"

/* ---- required, trimming, lengths --------------------------------------- */

Test(validate, required_empty_field_names_its_label)
{
	vt_form(F_NAME);
	vt_bad("name=", "name", "Your name");
	cr_assert_eq(vt_in.nerrors, 1);
	vt_bad("", "name", "Your name");
	vt_bad("name=+%09+", "name", "Your name");
}

Test(validate, optional_empty_field_passes)
{
	vt_form("{'name': 'a', 'type': 'email', 'label': 'A'},"
	    "{'name': 'b', 'type': 'number', 'label': 'B', 'min': 5},"
	    "{'name': 'c', 'type': 'select', 'label': 'C', 'options': ['x']}");
	vt_ok("a=&b=&c=");
	vt_ok("");
	cr_assert_eq(vt_in.nerrors, 0);
}

Test(validate, one_line_values_are_trimmed)
{
	vt_form(F_NAME);
	vt_ok("name=++Ann%09+");
	cr_assert_str_eq(vt_val("name"), "Ann");
	/* Trimmed before the length check: "  abcde  " is 5 characters. */
	vt_ok("name=++abcde++");
	cr_assert_str_eq(vt_val("name"), "abcde");
	/* Inner spaces stay. */
	vt_ok("name=a++b");
	cr_assert_str_eq(vt_val("name"), "a  b");
}

Test(validate, max_length_counts_characters)
{
	vt_form(F_NAME);
	vt_ok("name=abcde");
	vt_bad("name=abcdef", "name", "at most 5");
	vt_ok("name=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9");	/* 5 x é */
	vt_bad("name=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9", "name",
	    "at most 5");
}

Test(validate, textarea_crlf_becomes_lf)
{
	vt_form(F_MSG);
	vt_ok("message=abcd+1%0D%0Aabcd");
	cr_assert_str_eq(vt_val("message"), "abcd 1\nabcd");
}

Test(validate, textarea_line_break_counts_as_one_character)
{
	vt_form(F_MSG);
	/* 12 characters with LF; 14 bytes as sent with CRLF. */
	vt_ok("message=abcde%0D%0Afghi%0D%0Aj");
	cr_assert_eq(strlen(vt_val("message")), 12);
}

Test(validate, textarea_keeps_leading_text_and_drops_trailing_blank)
{
	vt_form("{'name': 'message', 'type': 'textarea', 'label': 'M'}");
	vt_ok("message=++indented+text%0D%0A%0D%0A++");
	cr_assert_str_eq(vt_val("message"), "  indented text");
}

Test(validate, textarea_min_length_counts_multibyte_characters)
{
	vt_form(F_MSG);
	/* Ten characters in twenty bytes pass min_length 10... */
	vt_ok("message=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9");
	/* ...and nine in eighteen bytes do not. */
	vt_bad("message=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9"
	    "%C3%A9%C3%A9%C3%A9%C3%A9", "message", "at least 10");
	cr_assert_not_null(strstr(vt_err("message"), "Message"));
}

Test(validate, textarea_max_length_counts_multibyte_characters)
{
	vt_form(F_MSG);
	/* Twelve characters of which three are 4-byte emoji. */
	vt_ok("message=%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80abcdefghi");
	vt_bad("message=%F0%9F%98%80%F0%9F%98%80%F0%9F%98%80abcdefghij",
	    "message", "at most 12");
}

Test(validate, whitespace_only_textarea_is_empty)
{
	vt_form(F_MSG);
	vt_bad("message=%0D%0A++%0D%0A", "message", "Message is required");
}

/* Over 8 KiB, outside Kore's pools, so valgrind checks the frees. */
Test(validate, large_values_are_freed_by_cleanup)
{
	struct kore_buf	*b;
	size_t		 i;

	vt_form("{'name': 'm', 'type': 'textarea', 'label': 'M', "
	    "'max_length': 9000}, {'name': 't', 'type': 'text', 'label': 'T'}");
	b = kore_buf_alloc(40000);
	kore_buf_appendf(b, "_key=");
	for (i = 0; i < 9000; i++)
		kore_buf_appendf(b, "k");
	kore_buf_appendf(b, "&_csrf=");
	for (i = 0; i < 9000; i++)
		kore_buf_appendf(b, "c");
	kore_buf_appendf(b, "&t=");
	for (i = 0; i < 9000; i++)
		kore_buf_appendf(b, "t");
	kore_buf_appendf(b, "&m=");
	for (i = 0; i < 9001; i++)
		kore_buf_appendf(b, "%%C3%%A9");
	cr_assert_eq(vt_submit(kore_buf_stringify(b, NULL)),
	    VALIDATE_INVALID);
	cr_assert_not_null(strstr(vt_err("m"), "at most 9000"));
	cr_assert_eq(strlen(vt_val("t")), 9000);
	cr_assert_eq(strlen(vt_in.key), 9000);
	cr_assert_eq(strlen(vt_in.csrf), 9000);
	kore_buf_free(b);
}

/* ---- types ------------------------------------------------------------- */

Test(validate, email_addresses)
{
	cr_assert_eq(validate_email("a.b+c@example.co.uk"), 1);
	cr_assert_eq(validate_email("x@example.com"), 1);
	cr_assert_eq(validate_email("first_last-1@sub.exa-mple.org"), 1);
	cr_assert_eq(validate_email("a@b"), 0);
	cr_assert_eq(validate_email("a@@b.com"), 0);
	cr_assert_eq(validate_email("a@b@c.com"), 0);
	cr_assert_eq(validate_email("@b.com"), 0);
	cr_assert_eq(validate_email("a@-b.com"), 0);
	cr_assert_eq(validate_email("a@b-.com"), 0);
	cr_assert_eq(validate_email("a b@c.com"), 0);
	cr_assert_eq(validate_email("a@b .com"), 0);
	cr_assert_eq(validate_email(".a@b.com"), 0);
	cr_assert_eq(validate_email("a.@b.com"), 0);
	cr_assert_eq(validate_email("a..b@c.com"), 0);
	cr_assert_eq(validate_email("a@b..com"), 0);
	cr_assert_eq(validate_email("a@.b.com"), 0);
	cr_assert_eq(validate_email("a@b.com."), 0);
	cr_assert_eq(validate_email("a@"), 0);
	cr_assert_eq(validate_email("ab.com"), 0);
	cr_assert_eq(validate_email(""), 0);
}

Test(validate, email_field_uses_the_rule)
{
	vt_form("{'name': 'e', 'type': 'email', 'label': 'E'}");
	vt_ok("e=a.b%2Bc%40example.co.uk");
	cr_assert_str_eq(vt_val("e"), "a.b+c@example.co.uk");
	vt_bad("e=a%40b", "e", "email address");
	vt_bad("e=a%40%40b.com", "e", NULL);
	vt_bad("e=%40b.com", "e", NULL);
	vt_bad("e=a%40-b.com", "e", NULL);
	vt_bad("e=a+b%40c.com", "e", NULL);
}

Test(validate, url_needs_http_or_https_and_a_host)
{
	vt_form("{'name': 'u', 'type': 'url', 'label': 'U'}");
	vt_ok("u=http%3A%2F%2Fexample.com");
	vt_ok("u=https%3A%2F%2Fexample.com%2Fpath%3Fq%3D1");
	vt_ok("u=HTTPS%3A%2F%2FEXAMPLE.COM");
	vt_bad("u=example.com", "u", "http://");
	vt_bad("u=ftp%3A%2F%2Fexample.com", "u", NULL);
	vt_bad("u=http%3A%2F%2F", "u", NULL);
	vt_bad("u=https%3A%2F%2F%2Fpath", "u", NULL);
	vt_bad("u=http%3A%2F%2Fa+b.com", "u", NULL);
	vt_bad("u=javascript%3Aalert(1)", "u", NULL);
	vt_bad("u=http%3A%2F%2Fx%3C%2Fa%3E", "u", NULL);
}

Test(validate, tel_allows_digits_and_punctuation)
{
	vt_form("{'name': 'p', 'type': 'tel', 'label': 'P'}");
	vt_ok("p=%2B44+(0)20+7946-0958");
	vt_ok("p=555.1234");
	vt_bad("p=12", "p", "telephone");
	vt_bad("p=call+me", "p", NULL);
	vt_bad("p=555-1234x9", "p", NULL);
	vt_bad("p=123456789012345678901", "p", NULL);	/* 21 digits */
}

Test(validate, number_parsing_and_range)
{
	vt_form("{'name': 'n', 'type': 'number', 'label': 'Amount', "
	    "'min': -2.5, 'max': 100}");
	vt_ok("n=3.25");
	vt_ok("n=-2.5");
	vt_ok("n=100");
	vt_ok("n=1e2");
	vt_bad("n=abc", "n", "Enter Amount as a number");
	vt_bad("n=3abc", "n", NULL);
	vt_bad("n=nan", "n", NULL);
	vt_bad("n=inf", "n", NULL);
	vt_bad("n=1e999", "n", NULL);
	vt_bad("n=-2.6", "n", "-2.5 or more");
	vt_bad("n=100.01", "n", "100 or less");
}

Test(validate, integer_parsing_and_range)
{
	vt_form("{'name': 'i', 'type': 'integer', 'label': 'Count', "
	    "'min': 1, 'max': 10}");
	vt_ok("i=1");
	vt_ok("i=10");
	vt_ok("i=+7");
	vt_bad("i=4.5", "i", "whole number");
	vt_bad("i=1e1", "i", "whole number");
	vt_bad("i=0", "i", "1 or more");
	vt_bad("i=11", "i", "10 or less");
	vt_bad("i=99999999999999999999", "i", NULL);
	vt_bad("i=0x5", "i", NULL);
}

Test(validate, date_validity)
{
	cr_assert_eq(validate_date("2024-02-29"), 1);
	cr_assert_eq(validate_date("2000-02-29"), 1);
	cr_assert_eq(validate_date("2026-12-31"), 1);
	cr_assert_eq(validate_date("2023-02-29"), 0);
	cr_assert_eq(validate_date("1900-02-29"), 0);
	cr_assert_eq(validate_date("2026-13-01"), 0);
	cr_assert_eq(validate_date("2026-00-10"), 0);
	cr_assert_eq(validate_date("2026-01-00"), 0);
	cr_assert_eq(validate_date("2026-04-31"), 0);
	cr_assert_eq(validate_date("2026-01-32"), 0);
	cr_assert_eq(validate_date("0000-01-01"), 0);
	cr_assert_eq(validate_date("2026-1-01"), 0);
	cr_assert_eq(validate_date("2026-01-011"), 0);
	cr_assert_eq(validate_date("2026/01/01"), 0);
	cr_assert_eq(validate_date("26-01-01"), 0);
	cr_assert_eq(validate_date(""), 0);
}

Test(validate, date_field_checks_validity_and_limits)
{
	vt_form("{'name': 'd', 'type': 'date', 'label': 'Arrival', "
	    "'min': '2024-01-15', 'max': '2024-12-31'}");
	vt_ok("d=2024-02-29");
	vt_ok("d=2024-01-15");
	vt_ok("d=2024-12-31");
	vt_bad("d=2023-02-29", "d", "YYYY-MM-DD");
	vt_bad("d=2024-13-01", "d", "YYYY-MM-DD");
	vt_bad("d=2024-01-14", "d", "Arrival must be 2024-01-15 or later");
	vt_bad("d=2025-01-01", "d", "Arrival must be 2024-12-31 or earlier");
}

Test(validate, select_and_radio_need_a_listed_option)
{
	vt_form("{'name': 's', 'type': 'select', 'label': 'Topic', "
	    "'options': ['general', 'support']},"
	    "{'name': 'r', 'type': 'radio', 'label': 'Plan', "
	    "'options': [{'value': 'free', 'label': 'Free'}]}");
	vt_ok("s=support&r=free");
	vt_bad("s=other&r=free", "s", "Topic");
	vt_bad("s=general&r=Free", "r", "Plan");
	vt_bad("s=Support", "s", NULL);
}

Test(validate, required_select_names_its_label)
{
	vt_form("{'name': 's', 'type': 'select', 'label': 'Topic', "
	    "'required': true, 'options': ['a']}");
	vt_bad("s=", "s", "Choose one of the options for Topic");
}

Test(validate, single_checkbox_must_send_its_value)
{
	vt_form("{'name': 'terms', 'type': 'checkbox', 'label': 'Terms', "
	    "'required': true},"
	    "{'name': 'news', 'type': 'checkbox', 'label': 'News', "
	    "'value': 'subscribe'}");
	vt_ok("terms=yes");
	vt_ok("terms=yes&news=subscribe");
	vt_bad("terms=on", "terms", NULL);
	vt_bad("terms=yes&news=yes", "news", "News");
	vt_bad("news=subscribe", "terms", "Tick this box");
}

Test(validate, multiple_checkboxes_accept_several_options)
{
	vt_form("{'name': 'c', 'type': 'checkbox', 'label': 'Colours', "
	    "'required': true, 'options': ['red', 'green', 'blue']}");
	vt_ok("c=red&c=blue");
	cr_assert_eq(vt_fi("c")->nvals, 2);
	cr_assert_str_eq(vt_fi("c")->vals[0], "red");
	cr_assert_str_eq(vt_fi("c")->vals[1], "blue");
	vt_ok("c=green");
	vt_bad("c=red&c=purple", "c", "Colours");
	vt_bad("", "c", "Choose at least one option for Colours");
}

Test(validate, multiple_checkboxes_sent_more_times_than_options)
{
	vt_form("{'name': 'c', 'type': 'checkbox', 'label': 'C', "
	    "'options': ['a', 'b']}");
	cr_assert_eq(vt_submit("c=a&c=b&c=a"), VALIDATE_BAD_REQUEST);
	cr_assert_not_null(strstr(vt_in.problem, "'c'"), "%s", vt_in.problem);
}

Test(validate, hidden_field_must_keep_its_value)
{
	vt_form("{'name': 'src', 'type': 'hidden', 'value': 'footer'},"
	    "{'name': 'a', 'type': 'text', 'label': 'A'}");
	vt_ok("src=footer&a=1");
	vt_ok("a=1");
	vt_bad("src=header&a=1", "src", "reload");
}

Test(validate, pattern_must_match_the_whole_value)
{
	vt_form("{'name': 'code', 'type': 'text', 'label': 'Code', "
	    "'pattern': '[A-Z]{2}[0-9]{4}'},"
	    "{'name': 'zip', 'type': 'text', 'label': 'Zip', "
	    "'pattern': '[0-9]{5}', 'pattern_message': 'Five digits, please.'}");
	vt_ok("code=AB1234&zip=12345");
	vt_bad("code=AB12345", "code", "Code is not in the expected format");
	vt_bad("code=xAB1234", "code", NULL);
	vt_bad("zip=1234", "zip", "Five digits, please.");
}

/* ---- the 400 cases and Formwork's own fields --------------------------- */

Test(validate, unknown_field_is_a_bad_request_naming_it)
{
	vt_form(F_NAME);
	cr_assert_eq(vt_submit("name=Ann&bogus=1"), VALIDATE_BAD_REQUEST);
	cr_assert_not_null(strstr(vt_in.problem, "'bogus'"), "%s",
	    vt_in.problem);
	cr_assert_eq(vt_submit("_other=1&name=Ann"), VALIDATE_BAD_REQUEST);
	cr_assert_not_null(strstr(vt_in.problem, "'_other'"), "%s",
	    vt_in.problem);
}

Test(validate, single_valued_field_sent_twice_is_a_bad_request)
{
	vt_form(F_NAME);
	cr_assert_eq(vt_submit("name=Ann&name=Bob"), VALIDATE_BAD_REQUEST);
	cr_assert_not_null(strstr(vt_in.problem, "'name'"), "%s",
	    vt_in.problem);
	/* Also when the repeat is empty. */
	cr_assert_eq(vt_submit("name=Ann&name="), VALIDATE_BAD_REQUEST);
}

Test(validate, key_and_csrf_are_captured_not_fields)
{
	vt_form(F_NAME);
	vt_ok("_key=AAAAAAAAAAAAAAAAAAAAAA&name=Ann&_csrf=18c.abc");
	cr_assert_str_eq(vt_in.key, "AAAAAAAAAAAAAAAAAAAAAA");
	cr_assert_str_eq(vt_in.csrf, "18c.abc");
	cr_assert_eq(vt_in.nerrors, 0);
	cr_assert_str_eq(vt_val("name"), "Ann");
}

Test(validate, key_and_csrf_absent_stay_null)
{
	vt_form(F_NAME);
	vt_ok("name=Ann");
	cr_assert_null(vt_in.key);
	cr_assert_null(vt_in.csrf);
	cr_assert_eq(vt_in.honeypot, 0);
}

Test(validate, repeated_key_or_csrf_is_a_bad_request)
{
	vt_form(F_NAME);
	cr_assert_eq(vt_submit("_key=a&name=Ann&_key=b"),
	    VALIDATE_BAD_REQUEST);
	cr_assert_not_null(strstr(vt_in.problem, "_key"), "%s", vt_in.problem);
	cr_assert_eq(vt_submit("_csrf=a&_csrf=a"), VALIDATE_BAD_REQUEST);
	cr_assert_not_null(strstr(vt_in.problem, "_csrf"), "%s",
	    vt_in.problem);
}

Test(validate, filled_honeypot_is_flagged)
{
	vt_form(F_NAME);
	vt_ok("name=Ann&_homepage=http%3A%2F%2Fspam.example");
	cr_assert_eq(vt_in.honeypot, 1);
	vt_ok("name=Ann&_homepage=x");
	cr_assert_eq(vt_in.honeypot, 1);
	vt_ok("name=Ann&_homepage=");
	cr_assert_eq(vt_in.honeypot, 0);
}

/* ---- text that is not acceptable --------------------------------------- */

Test(validate, invalid_utf8_is_refused_with_a_message)
{
	vt_form(F_NAME ", " F_MSG);
	vt_bad("name=%FF%FE&message=0123456789", "name", "UTF-8");
	cr_assert_str_eq(vt_val("name"), "", "broken bytes are not kept");
	vt_bad("name=Ann&message=0123456789%C0%80", "message", "UTF-8");
	vt_bad("name=%ED%A0%80", "name", "Your name");
}

Test(validate, invalid_utf8_in_one_checkbox_value_is_not_kept)
{
	struct field_input	*fi;
	size_t			 k;

	vt_form("{'name': 'c', 'type': 'checkbox', 'label': 'C', "
	    "'options': ['a', 'b']}");
	vt_bad("c=a&c=%FF", "c", "UTF-8");
	fi = vt_fi("c");
	/* What the 422 page shows again must be text. */
	for (k = 0; k < fi->nvals; k++) {
		cr_assert(utf8_valid(fi->vals[k], strlen(fi->vals[k])),
		    "value #%zu still holds invalid UTF-8", k);
	}
}

Test(validate, control_characters_are_refused)
{
	vt_form(F_NAME ", " F_MSG);
	vt_bad("name=a%01b&message=0123456789", "name",
	    "control characters");
	vt_bad("name=a%1Bb", "name", NULL);
	vt_bad("name=a%7F", "name", NULL);
	vt_bad("name=Ann&message=0123456789%1B%5B2J", "message",
	    "control characters");
}

Test(validate, nul_byte_in_a_value_is_refused)
{
	/* The body parser passes NUL through; the validator must refuse it
	 * rather than keep only the text before it. */
	vt_form(F_NAME);
	vt_bad("name=ab%00cd", "name", "control characters");
}

Test(validate, newline_in_a_one_line_field_is_refused)
{
	vt_form(F_NAME ", " F_MSG);
	vt_bad("name=a%0Ab&message=0123456789", "name", NULL);
	vt_bad("name=a%0Db&message=0123456789", "name", NULL);
	vt_bad("name=a%0D%0Ab&message=0123456789", "name", NULL);
	/* A trailing newline is not trimmed away either. */
	vt_bad("name=ab%0A&message=0123456789", "name", NULL);
	/* But a textarea takes line breaks and tabs. */
	vt_ok("name=Ann&message=0123%0A456%09789");
}

Test(validate, every_bad_field_gets_its_message_and_values_are_kept)
{
	vt_form(F_NAME ", " F_MSG
	    ", {'name': 'e', 'type': 'email', 'label': 'E'}");
	cr_assert_eq(vt_submit("name=abcdefgh&message=short&e=nope"),
	    VALIDATE_INVALID);
	cr_assert_eq(vt_in.nerrors, 3);
	cr_assert_neq(vt_err("name")[0], '\0');
	cr_assert_neq(vt_err("message")[0], '\0');
	cr_assert_neq(vt_err("e")[0], '\0');
	/* Values are kept to show them again. */
	cr_assert_str_eq(vt_val("name"), "abcdefgh");
	cr_assert_str_eq(vt_val("message"), "short");
	cr_assert_str_eq(vt_val("e"), "nope");
	cr_assert_eq(vt_in.form, vt_f);
}

Test(validate, fields_follow_form_order_whatever_the_body_order)
{
	vt_form(F_NAME ", " F_MSG);
	vt_ok("message=0123456789&name=Ann");
	cr_assert_str_eq(vt_in.fields[0].field->name, "name");
	cr_assert_str_eq(vt_in.fields[0].vals[0], "Ann");
	cr_assert_str_eq(vt_in.fields[1].field->name, "message");
	cr_assert_str_eq(vt_in.fields[1].vals[0], "0123456789");
}

/* ---- the submission hash ----------------------------------------------- */

static int
vt_is_hex(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return (0);
	}
	return (1);
}

Test(validate, hash_is_64_hex_characters)
{
	char	h[VALIDATE_HASH_LEN + 1];

	vt_form(F_NAME);
	vt_hash("name=Ann", h);
	cr_assert_eq(strlen(h), 64);
	cr_assert(vt_is_hex(h), "%s", h);
}

Test(validate, hash_same_values_same_hash)
{
	char	h1[VALIDATE_HASH_LEN + 1], h2[VALIDATE_HASH_LEN + 1];

	vt_form(F_NAME ", " F_MSG);
	vt_hash("name=Ann&message=hello+there", h1);
	vt_hash("message=hello+there&name=Ann", h2);
	cr_assert_str_eq(h1, h2);
}

Test(validate, hash_is_of_normalised_values)
{
	char	h1[VALIDATE_HASH_LEN + 1], h2[VALIDATE_HASH_LEN + 1];

	vt_form(F_NAME ", " F_MSG);
	vt_hash("name=Ann&message=a%0D%0Ab", h1);
	vt_hash("name=+Ann%09&message=a%0Ab", h2);
	cr_assert_str_eq(h1, h2);
}

Test(validate, hash_ignores_key_csrf_and_honeypot)
{
	char	h1[VALIDATE_HASH_LEN + 1], h2[VALIDATE_HASH_LEN + 1];

	vt_form(F_NAME);
	vt_hash("name=Ann&_key=k1&_csrf=c1", h1);
	vt_hash("name=Ann&_key=k2&_csrf=c2&_homepage=", h2);
	cr_assert_str_eq(h1, h2);
}

Test(validate, hash_changes_with_any_value)
{
	char	h1[VALIDATE_HASH_LEN + 1], h2[VALIDATE_HASH_LEN + 1];

	vt_form(F_NAME ", " F_MSG);
	vt_hash("name=Ann&message=hello+there", h1);
	vt_hash("name=Anne&message=hello+there", h2);
	cr_assert_str_neq(h1, h2);
	vt_hash("name=Ann&message=hello+therE", h2);
	cr_assert_str_neq(h1, h2);
	vt_hash("name=Ann", h2);
	cr_assert_str_neq(h1, h2);
}

Test(validate, hash_changes_when_text_moves_between_fields)
{
	char	h1[VALIDATE_HASH_LEN + 1], h2[VALIDATE_HASH_LEN + 1];

	vt_form("{'name': 'name', 'type': 'text', 'label': 'N'},"
	    "{'name': 'x', 'type': 'text', 'label': 'X'}");
	vt_hash("name=ab&x=", h1);
	vt_hash("name=a&x=b", h2);
	cr_assert_str_neq(h1, h2);
	vt_hash("name=&x=ab", h2);
	cr_assert_str_neq(h1, h2);
}

Test(validate, hash_distinguishes_checkbox_selections)
{
	char	h1[VALIDATE_HASH_LEN + 1], h2[VALIDATE_HASH_LEN + 1];

	vt_form("{'name': 'c', 'type': 'checkbox', 'label': 'C', "
	    "'options': ['a', 'b', 'ab', 'bc', 'c']}");
	vt_hash("c=a&c=b", h1);
	vt_hash("c=ab", h2);
	cr_assert_str_neq(h1, h2);
	/* Same number of values, same bytes run together. */
	vt_hash("c=a&c=bc", h1);
	vt_hash("c=ab&c=c", h2);
	cr_assert_str_neq(h1, h2);
}

Test(validate, hash_differs_between_forms_with_other_field_names)
{
	char	h1[VALIDATE_HASH_LEN + 1], h2[VALIDATE_HASH_LEN + 1];

	vt_form("{'name': 'a', 'type': 'text', 'label': 'A'}");
	vt_hash("a=1", h1);
	vt_form("{'name': 'b', 'type': 'text', 'label': 'B'}");
	vt_hash("b=1", h2);
	cr_assert_str_neq(h1, h2);
}
