/*
 * test_posting.c: the core of posting from the owner's own pages (SPEC
 * section 10): origins of URLs (src/core/url.c), the form keys
 * allowed_origins, redirect, allow_subject, spam and captcha
 * (src/core/forms.c), Formwork's reserved fields in a body
 * (src/core/validate.c) and a form's spam rules (src/core/spam.c).
 *
 * Definitions are written with single quotes for readability; pt_form()
 * turns them into double quotes before parsing.
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
#include "core/spam.h"
#include "core/url.h"
#include "core/validate.h"

#include "table.h"

#define PT_PATH		"conf/forms/t.json"
#define PT_FIELDS	"'fields': [{'name': 'name', 'type': 'text', " \
			"'label': 'Name'}, {'name': 'message', 'type': " \
			"'textarea', 'label': 'Message'}]"

static struct form		*pt_f;
static struct body		 pt_b;
static struct form_input	 pt_in;
static int			 pt_have_in;
static char			 pt_err[1024];

static void
pt_setup(void)
{
	cr_assert_neq(sodium_init(), -1);
	pt_f = NULL;
	memset(&pt_b, 0, sizeof(pt_b));
	TAILQ_INIT(&pt_b.fields);
	memset(&pt_in, 0, sizeof(pt_in));
	pt_have_in = 0;
	pt_err[0] = '\0';
}

static void
pt_teardown(void)
{
	if (pt_have_in)
		validate_cleanup(&pt_in);
	body_cleanup(&pt_b);
	form_free(pt_f);
	pt_f = NULL;
}

TestSuite(posting, .init = pt_setup, .fini = pt_teardown);

/*
 * Parses form "t" with a name and a message field and the top-level keys
 * in keys (single-quoted JSON, "" for none); the form or NULL (pt_err).
 */
static struct form *
pt_form(const char *keys)
{
	char	def[4096], *p;

	(void)snprintf(def, sizeof(def), "{'slug': 't', 'title': 'T', "
	    "'success_message': 'Thanks', %s%s" PT_FIELDS "}", keys,
	    keys[0] != '\0' ? ", " : "");
	for (p = def; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	if (pt_have_in)
		validate_cleanup(&pt_in);
	pt_have_in = 0;
	form_free(pt_f);
	pt_err[0] = '\0';
	pt_f = form_parse(PT_PATH, def, strlen(def), pt_err, sizeof(pt_err));
	return (pt_f);
}

/* Submits an urlencoded body to the current form. */
static enum validate_status
pt_submit(const char *urlenc)
{
	if (pt_have_in)
		validate_cleanup(&pt_in);
	body_cleanup(&pt_b);
	cr_assert_eq(body_parse("application/x-www-form-urlencoded",
	    (const u_int8_t *)urlenc, strlen(urlenc), &pt_b), BODY_OK,
	    "body \"%s\" did not parse", urlenc);
	pt_have_in = 1;
	return (validate_form(pt_f, &pt_b, &pt_in));
}

/* ---- origins of URLs ------------------------------------------------------ */

struct pt_origin {
	const char	*url;
	const char	*origin;	/* NULL: refused */
	int		 len;		/* of url's origin part */
};

static const struct pt_origin	pt_origins[] = {
	{ "https://example.org", "https://example.org", 19 },
	{ "https://example.org/", "https://example.org", 19 },
	{ "https://Example.ORG/thanks.html?x=1#y", "https://example.org",
	    19 },
	{ "HTTP://example.org:80/a", "http://example.org", 21 },
	{ "https://example.org:443", "https://example.org", 23 },
	{ "https://example.org:8443/", "https://example.org:8443", 24 },
	{ "http://127.0.0.1:9000/page", "http://127.0.0.1:9000", 21 },
	{ "http://[::1]:8080/", "http://[::1]:8080", 17 },
	{ "http://[::1]", "http://[::1]", 12 },
	{ "https://a.example?q", "https://a.example", 17 },
	{ "https://a.example#f", "https://a.example", 17 },
	/* Refused: anything a browser could read another way. */
	{ "null", NULL, 0 },
	{ "*", NULL, 0 },
	{ "", NULL, 0 },
	{ "ftp://example.org", NULL, 0 },
	{ "//example.org/x", NULL, 0 },
	{ "/thanks", NULL, 0 },
	{ "javascript:alert(1)", NULL, 0 },
	{ "https://", NULL, 0 },
	{ "https:///x", NULL, 0 },
	{ "https://user@example.org/", NULL, 0 },
	{ "https://example.org@evil.example/", NULL, 0 },
	{ "https://example.org\\@evil.example/", NULL, 0 },
	{ "https://evil.example\\.example.org/", NULL, 0 },
	{ "https://exa mple.org/", NULL, 0 },
	{ "https://example.org/a b", NULL, 0 },
	{ "https://example.org/\r\nSet-Cookie: x", NULL, 0 },
	{ "https://ex\xc3\xa4mple.org/", NULL, 0 },
	{ "https://example.org:0/", NULL, 0 },
	{ "https://example.org:65536/", NULL, 0 },
	{ "https://example.org:/", NULL, 0 },
	{ "https://example.org:8x/", NULL, 0 },
	{ "https://example.org:-1/", NULL, 0 },
	{ "https://.example.org/", NULL, 0 },
	{ "https://example.org./", NULL, 0 },
	{ "http://[::1/", NULL, 0 },
	{ "http://[zz::1]/", NULL, 0 },
};

TABLE_TEST(posting, url_origin_cases, pt_origins);

ParameterizedTest(size_t *i, posting, url_origin_cases)
{
	const struct pt_origin	*c = &pt_origins[*i];
	char			 out[URL_ORIGIN_MAX];
	int			 n;

	n = url_origin(c->url, out, sizeof(out));
	if (c->origin == NULL) {
		cr_assert_eq(n, -1, "row %zu: \"%s\" accepted as %s", *i,
		    c->url, out);
		return;
	}
	cr_assert_eq(n, c->len, "row %zu: \"%s\": length %d", *i, c->url, n);
	cr_assert_str_eq(out, c->origin, "row %zu: \"%s\"", *i, c->url);
}

/* ---- the form keys ------------------------------------------------------ */

Test(posting, form_without_the_keys_has_them_unset)
{
	cr_assert_not_null(pt_form(""), "%s", pt_err);
	cr_assert_eq(pt_f->norigins, 0);
	cr_assert_null(pt_f->origins);
	cr_assert_null(pt_f->redirect);
	cr_assert_eq(pt_f->allow_subject, 0);
	cr_assert_eq(pt_f->max_links, -1);
	cr_assert_eq(pt_f->nblocked, 0);
	cr_assert_eq(pt_f->captcha, FORM_CAPTCHA_NONE);
	cr_assert_null(form_captcha_field(pt_f));
}

Test(posting, form_keys_are_read_and_normalised)
{
	cr_assert_not_null(pt_form("'allowed_origins': ["
	    "'https://Example.org/', 'http://127.0.0.1:9000', "
	    "'https://shop.example:443'], "
	    "'redirect': 'https://example.org/thanks.html', "
	    "'allow_subject': true, "
	    "'spam': {'max_links': 2, 'blocked_words': ['Casino', 'cheap pills']}, "
	    "'captcha': {'provider': 'turnstile', "
	    "'site_key': '1x00000000000000000000AA'}"), "%s", pt_err);
	cr_assert_eq(pt_f->norigins, 3);
	cr_assert_str_eq(pt_f->origins[0], "https://example.org");
	cr_assert_str_eq(pt_f->origins[1], "http://127.0.0.1:9000");
	cr_assert_str_eq(pt_f->origins[2], "https://shop.example");
	cr_assert_str_eq(pt_f->redirect, "https://example.org/thanks.html");
	cr_assert_eq(pt_f->allow_subject, 1);
	cr_assert_eq(pt_f->max_links, 2);
	cr_assert_eq(pt_f->nblocked, 2);
	cr_assert_str_eq(pt_f->blocked_words[0], "casino");
	cr_assert_str_eq(pt_f->blocked_words[1], "cheap pills");
	cr_assert_eq(pt_f->captcha, FORM_CAPTCHA_TURNSTILE);
	cr_assert_str_eq(pt_f->captcha_site_key, "1x00000000000000000000AA");
	cr_assert_str_eq(form_captcha_field(pt_f), "cf-turnstile-response");

	cr_assert_not_null(pt_form("'captcha': {'provider': 'hcaptcha', "
	    "'site_key': '10000000-ffff-ffff-ffff-000000000001'}, "
	    "'spam': {'max_links': 0}"), "%s", pt_err);
	cr_assert_eq(pt_f->captcha, FORM_CAPTCHA_HCAPTCHA);
	cr_assert_str_eq(form_captcha_field(pt_f), "h-captcha-response");
	cr_assert_eq(pt_f->max_links, 0);
}

struct pt_bad {
	const char	*what;
	const char	*keys;
	const char	*msg;
};

static const struct pt_bad	pt_bad[] = {
	{ "allowed_origins as a string",
	    "'allowed_origins': 'https://example.org'",
	    "'allowed_origins' must be an array" },
	{ "an origin with a path",
	    "'allowed_origins': ['https://example.org/contact']",
	    "allowed_origins[0] must be an origin" },
	{ "a wildcard origin", "'allowed_origins': ['*']",
	    "'*' and 'null' are not allowed" },
	{ "the null origin", "'allowed_origins': ['https://a.example', 'null']",
	    "allowed_origins[1]" },
	{ "an empty origin", "'allowed_origins': ['']",
	    "allowed_origins[0] must be a non-empty string" },
	{ "an origin that is a number", "'allowed_origins': [5]",
	    "allowed_origins[0] must be a non-empty string" },
	{ "an origin listed twice", "'allowed_origins': "
	    "['https://a.example', 'https://A.example:443/']",
	    "origin 'https://a.example' is listed twice" },
	{ "a relative redirect", "'redirect': '/thanks'",
	    "'redirect' must be an absolute http:// or https:// address" },
	{ "a javascript redirect", "'redirect': 'javascript:alert(1)'",
	    "'redirect' must be" },
	{ "allow_subject as a string", "'allow_subject': 'yes'",
	    "'allow_subject' must be true or false" },
	{ "spam as an array", "'spam': []", "'spam' must be an object" },
	{ "an unknown spam key", "'spam': {'max_link': 2}",
	    "unknown key 'max_link'" },
	{ "a negative max_links", "'spam': {'max_links': -1}",
	    "'max_links' must be a whole number from 0 to 1000" },
	{ "a fractional max_links", "'spam': {'max_links': 1.5}",
	    "'max_links'" },
	{ "an empty blocked word", "'spam': {'blocked_words': ['a', '']}",
	    "blocked_words[1] must be a non-empty string" },
	{ "captcha as a string", "'captcha': 'turnstile'",
	    "'captcha' must be an object" },
	{ "an unknown captcha provider",
	    "'captcha': {'provider': 'recaptcha', 'site_key': 'k'}",
	    "unknown provider 'recaptcha'" },
	{ "a captcha without site_key", "'captcha': {'provider': 'hcaptcha'}",
	    "'site_key' is missing" },
	{ "a site_key with quotes",
	    "'captcha': {'provider': 'hcaptcha', 'site_key': 'a<b'}",
	    "'site_key' must be" },
	{ "an unknown captcha key", "'captcha': {'provider': 'hcaptcha', "
	    "'site_key': 'k', 'secret': 's'}", "unknown key 'secret'" },
};

TABLE_TEST(posting, bad_form_key_rejected, pt_bad);

ParameterizedTest(size_t *i, posting, bad_form_key_rejected)
{
	const struct pt_bad	*c = &pt_bad[*i];

	cr_assert_null(pt_form(c->keys), "%s: accepted", c->what);
	cr_expect_not_null(strstr(pt_err, PT_PATH), "%s: \"%s\"", c->what,
	    pt_err);
	cr_expect_not_null(strstr(pt_err, c->msg), "%s: \"%s\" lacks \"%s\"",
	    c->what, pt_err, c->msg);
}

/* ---- reserved fields ------------------------------------------------------ */

Test(posting, reserved_fields_are_kept_apart_from_the_values)
{
	char	h1[VALIDATE_HASH_LEN + 1], h2[VALIDATE_HASH_LEN + 1];

	cr_assert_not_null(pt_form("'allow_subject': true"), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&message=hi"), VALIDATE_OK);
	validate_hash(&pt_in, h1);
	cr_assert_eq(pt_submit("name=Ann&message=hi"
	    "&_next=https%3A%2F%2Fexample.org%2Fthanks&_subject=Hello+there"
	    "&_replyto=ann%40example.org&_gotcha=&_homepage="), VALIDATE_OK);
	validate_hash(&pt_in, h2);
	cr_assert_str_eq(h1, h2, "a reserved field changed the values");
	cr_assert_str_eq(pt_in.next, "https://example.org/thanks");
	cr_assert_str_eq(pt_in.subject, "Hello there");
	cr_assert_str_eq(pt_in.reply_to, "ann@example.org");
	cr_assert_eq(pt_in.honeypot, 0);
	cr_assert_eq(pt_in.fields[0].nvals, 1);
	cr_assert_eq(pt_in.fields[1].nvals, 1);
}

Test(posting, gotcha_is_a_honeypot)
{
	cr_assert_not_null(pt_form(""), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&_gotcha=x"), VALIDATE_OK);
	cr_assert_eq(pt_in.honeypot, 1);
	cr_assert_eq(pt_submit("name=Ann&_gotcha="), VALIDATE_OK);
	cr_assert_eq(pt_in.honeypot, 0);
}

Test(posting, subject_only_where_the_form_allows_it)
{
	cr_assert_not_null(pt_form(""), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&_subject=Hello"), VALIDATE_OK);
	cr_assert_null(pt_in.subject);
}

Test(posting, subject_is_one_trimmed_line_of_at_most_200_characters)
{
	char	body[2048];
	size_t	i, n;

	cr_assert_not_null(pt_form("'allow_subject': true"), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&_subject=+Line+one%0D%0ABcc%3A+x"
	    "%09y++"), VALIDATE_OK);
	cr_assert_str_eq(pt_in.subject, "Line one  Bcc: x y");

	/* 250 times "é" (two bytes each): cut at 200 whole characters. */
	n = (size_t)snprintf(body, sizeof(body), "name=Ann&_subject=");
	for (i = 0; i < 250; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "%%C3%%A9");
	cr_assert_eq(pt_submit(body), VALIDATE_OK);
	cr_assert_eq(strlen(pt_in.subject), 400);

	cr_assert_eq(pt_submit("name=Ann&_subject=+%0A+"), VALIDATE_OK);
	cr_assert_null(pt_in.subject, "a blank subject is dropped");
	cr_assert_eq(pt_submit("name=Ann&_subject=%FF%FE"), VALIDATE_OK);
	cr_assert_null(pt_in.subject, "invalid UTF-8 is dropped");
	cr_assert_eq(pt_submit("name=Ann&_subject=a%07b"), VALIDATE_OK);
	cr_assert_null(pt_in.subject, "a control character is dropped");
}

Test(posting, replyto_only_when_it_is_an_address)
{
	cr_assert_not_null(pt_form(""), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&_replyto=not+an+address"),
	    VALIDATE_OK);
	cr_assert_null(pt_in.reply_to);
	cr_assert_eq(pt_submit("name=Ann&_replyto=a%40b.example%0D%0ABcc%3A"
	    "+c%40d.example"), VALIDATE_OK);
	cr_assert_null(pt_in.reply_to);
}

Test(posting, reserved_field_sent_twice_is_a_bad_request)
{
	cr_assert_not_null(pt_form("'allow_subject': true"), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&_next=a&_next=b"),
	    VALIDATE_BAD_REQUEST);
	cr_assert_not_null(strstr(pt_in.problem, "'_next'"), "%s",
	    pt_in.problem);
	cr_assert_eq(pt_submit("_subject=a&_subject=b"), VALIDATE_BAD_REQUEST);
	cr_assert_eq(pt_submit("_replyto=a&_replyto=b"), VALIDATE_BAD_REQUEST);
}

Test(posting, challenge_token_read_under_the_form_providers_name)
{
	cr_assert_not_null(pt_form("'captcha': {'provider': 'turnstile', "
	    "'site_key': 'k'}"), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&cf-turnstile-response=tok"
	    "&h-captcha-response=other"), VALIDATE_OK);
	cr_assert_str_eq(pt_in.captcha, "tok");
	cr_assert_eq(pt_submit("name=Ann&cf-turnstile-response=a"
	    "&cf-turnstile-response=b"), VALIDATE_BAD_REQUEST);

	/* Without a challenge the tokens are ignored, not fields. */
	cr_assert_not_null(pt_form(""), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&cf-turnstile-response=tok"
	    "&h-captcha-response=x"), VALIDATE_OK);
	cr_assert_null(pt_in.captcha);
}

Test(posting, unknown_underscore_or_dashed_name_is_still_a_bad_request)
{
	cr_assert_not_null(pt_form(""), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&_other=1"), VALIDATE_BAD_REQUEST);
	cr_assert_not_null(strstr(pt_in.problem, "'_other'"), "%s",
	    pt_in.problem);
	cr_assert_eq(pt_submit("name=Ann&g-recaptcha-response=1"),
	    VALIDATE_BAD_REQUEST);
}

/* ---- spam rules ------------------------------------------------------------ */

Test(posting, links_are_counted_in_any_case)
{
	cr_assert_eq(spam_links_count(""), 0);
	cr_assert_eq(spam_links_count("see example.org"), 0);
	cr_assert_eq(spam_links_count("http://a https://b HTTPS://c hTtP://d"),
	    4);
	cr_assert_eq(spam_links_count("http:/x https:// httpx://"), 1);
}

struct pt_word {
	const char	*text;
	const char	*word;
	int		 found;
};

static const struct pt_word	pt_words[] = {
	{ "Visit our CASINO today", "casino", 1 },
	{ "casino", "casino", 1 },
	{ "casino!", "casino", 1 },
	{ "(Casino)", "casino", 1 },
	{ "casinos nearby", "casino", 0 },
	{ "onlinecasino", "casino", 0 },
	{ "casino2", "casino", 0 },
	{ "I live in Essex", "sex", 0 },
	{ "caf\xc3\xa9sex", "sex", 0 },
	{ "sex\xc3\xa9", "sex", 0 },
	{ "buy cheap   pills", "cheap pills", 0 },
	{ "buy Cheap Pills now", "cheap pills", 1 },
	{ "casinos and a casino", "casino", 1 },
	{ "", "casino", 0 },
};

TABLE_TEST(posting, blocked_words_match_whole_words, pt_words);

ParameterizedTest(size_t *i, posting, blocked_words_match_whole_words)
{
	const struct pt_word	*c = &pt_words[*i];

	cr_assert_eq(spam_word_find(c->text, c->word), c->found,
	    "row %zu: \"%s\" in \"%s\"", *i, c->word, c->text);
}

Test(posting, rules_break_over_all_values_and_the_subject)
{
	cr_assert_not_null(pt_form("'allow_subject': true, 'spam': "
	    "{'max_links': 1, 'blocked_words': ['Casino']}"), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&message=see+https%3A%2F%2Fa.example"),
	    VALIDATE_OK);
	cr_assert_eq(spam_rules_broken(pt_f, &pt_in), SPAM_RULE_NONE);
	/* One link in each field: two over all values. */
	cr_assert_eq(pt_submit("name=http%3A%2F%2Fb.example"
	    "&message=see+https%3A%2F%2Fa.example"), VALIDATE_OK);
	cr_assert_eq(spam_rules_broken(pt_f, &pt_in), SPAM_RULE_LINKS);
	cr_assert_eq(pt_submit("name=Ann&message=Best+CASINO+in+town"),
	    VALIDATE_OK);
	cr_assert_eq(spam_rules_broken(pt_f, &pt_in), SPAM_RULE_WORD);
	cr_assert_eq(pt_submit("name=Ann&message=casinos+are+fine"),
	    VALIDATE_OK);
	cr_assert_eq(spam_rules_broken(pt_f, &pt_in), SPAM_RULE_NONE);
	cr_assert_eq(pt_submit("name=Ann&message=hi&_subject=casino+night"),
	    VALIDATE_OK);
	cr_assert_eq(spam_rules_broken(pt_f, &pt_in), SPAM_RULE_WORD);

	/* No rules: nothing is spam by them. */
	cr_assert_not_null(pt_form(""), "%s", pt_err);
	cr_assert_eq(pt_submit("name=casino&message=http%3A%2F%2Fa+"
	    "http%3A%2F%2Fb+http%3A%2F%2Fc"), VALIDATE_OK);
	cr_assert_eq(spam_rules_broken(pt_f, &pt_in), SPAM_RULE_NONE);
}

Test(posting, zero_links_allowed_means_any_link_is_spam)
{
	cr_assert_not_null(pt_form("'spam': {'max_links': 0}"), "%s", pt_err);
	cr_assert_eq(pt_submit("name=Ann&message=no+links"), VALIDATE_OK);
	cr_assert_eq(spam_rules_broken(pt_f, &pt_in), SPAM_RULE_NONE);
	cr_assert_eq(pt_submit("name=Ann&message=http%3A%2F%2Fa"), VALIDATE_OK);
	cr_assert_eq(spam_rules_broken(pt_f, &pt_in), SPAM_RULE_LINKS);
}
