/*
 * test_tmpl.c: tests for the Mustache engine (src/core/tmpl.c). The spec suite
 * runs the official test data for the six required modules when it can
 * find it (../../../shared/spec/mustache from tests/unit, or the directory
 * in FORMWORK_MUSTACHE_SPEC) and skips otherwise; the rest are focused
 * tests of behaviour the spec does not pin down.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <kore/kore.h>

#include "core/tmpl.h"

#define SPEC_DIR_DEFAULT	"../../../shared/spec/mustache"
#define SPEC_MAIN		"(spec template)"

static const char	*spec_dir(void);
static char		*slurp(const char *, size_t *);
static struct kore_json_item *child(struct kore_json_item *, const char *);
static void		 quote(struct kore_buf *, const char *, size_t);
static void		 spec_run(const char *);
static void		 add(struct tmpl_set *, const char *, const char *);
static char		*render(struct tmpl_set *, const char *, const char *);
static void		 expect_render(const char *, const char *,
			    const char *);

static const char *
spec_dir(void)
{
	const char	*dir;

	if ((dir = getenv("FORMWORK_MUSTACHE_SPEC")) != NULL && *dir != '\0')
		return (dir);

	return (SPEC_DIR_DEFAULT);
}

/* Reads a whole file into plain malloc'd memory, or returns NULL. */
static char *
slurp(const char *path, size_t *len)
{
	FILE		*fp;
	char		*data;
	long		size;

	if ((fp = fopen(path, "rb")) == NULL)
		return (NULL);

	data = NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) >= 0 &&
	    fseek(fp, 0, SEEK_SET) == 0) {
		data = malloc((size_t)size + 1);
		if (data != NULL &&
		    fread(data, 1, (size_t)size, fp) != (size_t)size) {
			free(data);
			data = NULL;
		} else if (data != NULL) {
			data[size] = '\0';
			*len = (size_t)size;
		}
	}

	fclose(fp);

	return (data);
}

/* The member called name of a JSON object, whatever its type. */
static struct kore_json_item *
child(struct kore_json_item *obj, const char *name)
{
	struct kore_json_item	*item;

	if (obj == NULL || obj->type != KORE_JSON_TYPE_OBJECT)
		return (NULL);

	TAILQ_FOREACH(item, &obj->data.items, list) {
		if (item->name != NULL && strcmp(item->name, name) == 0)
			return (item);
	}

	return (NULL);
}

/* Appends s as a double-quoted string with control characters visible. */
static void
quote(struct kore_buf *b, const char *s, size_t len)
{
	size_t		i;

	kore_buf_append(b, "\"", 1);
	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '\n':
			kore_buf_append(b, "\\n", 2);
			break;
		case '\r':
			kore_buf_append(b, "\\r", 2);
			break;
		case '\t':
			kore_buf_append(b, "\\t", 2);
			break;
		case '"':
			kore_buf_append(b, "\\\"", 2);
			break;
		case '\\':
			kore_buf_append(b, "\\\\", 2);
			break;
		default:
			kore_buf_append(b, &s[i], 1);
			break;
		}
	}
	kore_buf_append(b, "\"", 1);
}

/*
 * Runs every test of one spec module: the template is added to a fresh set
 * with the test's partials, rendered with the test's data and compared
 * byte for byte. Each mismatch is reported; the counts go to stderr.
 */
static void
spec_run(const char *module)
{
	struct stat		st;
	struct kore_json	json;
	struct kore_json_item	*tests, *t, *name, *tpl, *expected, *data;
	struct kore_json_item	*partials, *p;
	struct tmpl_set		*set;
	struct kore_buf		out, msg;
	const char		*dir;
	char			path[1024], err[256], *text;
	size_t			len, total, passed;
	int			ok;

	dir = spec_dir();
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		cr_skip_test("mustache spec not found at %s: skipped", dir);

	(void)snprintf(path, sizeof(path), "%s/%s.json", dir, module);
	len = 0;
	text = slurp(path, &len);
	cr_assert_not_null(text, "cannot read %s", path);

	kore_json_init(&json, text, len);
	cr_assert(kore_json_parse(&json), "%s: kore_json: %s", path,
	    kore_json_strerror(&json));

	tests = child(json.root, "tests");
	cr_assert(tests != NULL && tests->type == KORE_JSON_TYPE_ARRAY,
	    "%s: no \"tests\" array", path);

	total = 0;
	passed = 0;

	TAILQ_FOREACH(t, &tests->data.items, list) {
		name = child(t, "name");
		tpl = child(t, "template");
		expected = child(t, "expected");
		data = child(t, "data");
		partials = child(t, "partials");

		cr_assert(name != NULL && name->type == KORE_JSON_TYPE_STRING &&
		    tpl != NULL && tpl->type == KORE_JSON_TYPE_STRING &&
		    expected != NULL &&
		    expected->type == KORE_JSON_TYPE_STRING,
		    "%s: test %zu is malformed", path, total);

		total++;
		ok = 1;
		err[0] = '\0';
		set = tmpl_set_new();
		kore_buf_init(&out, 256);

		if (partials != NULL &&
		    partials->type == KORE_JSON_TYPE_OBJECT) {
			TAILQ_FOREACH(p, &partials->data.items, list) {
				if (p->type != KORE_JSON_TYPE_STRING ||
				    tmpl_set_add(set, p->name, p->data.string,
				    strlen(p->data.string), err,
				    sizeof(err)) == -1)
					ok = 0;
			}
		}

		if (ok && tmpl_set_add(set, SPEC_MAIN, tpl->data.string,
		    strlen(tpl->data.string), err, sizeof(err)) == -1)
			ok = 0;

		if (ok && tmpl_render(set, SPEC_MAIN, data, &out) == -1)
			ok = 0;

		if (ok && (out.offset != strlen(expected->data.string) ||
		    memcmp(out.data, expected->data.string, out.offset) != 0))
			ok = 0;

		if (ok) {
			passed++;
		} else {
			kore_buf_init(&msg, 512);
			kore_buf_appendf(&msg, "mustache %s: \"%s\" failed",
			    module, name->data.string);
			if (err[0] != '\0')
				kore_buf_appendf(&msg, " (%s)", err);
			kore_buf_appendf(&msg, "\n  template: ");
			quote(&msg, tpl->data.string, strlen(tpl->data.string));
			kore_buf_appendf(&msg, "\n  expected: ");
			quote(&msg, expected->data.string,
			    strlen(expected->data.string));
			kore_buf_appendf(&msg, "\n  got:      ");
			quote(&msg, (const char *)out.data, out.offset);
			cr_expect_fail("%s", kore_buf_stringify(&msg, NULL));
			kore_buf_cleanup(&msg);
		}

		kore_buf_cleanup(&out);
		tmpl_set_free(set);
	}

	fprintf(stderr, "mustache %s: %zu/%zu passed\n", module, passed,
	    total);
	cr_expect(total > 0, "%s: no tests", path);

	kore_json_cleanup(&json);
	free(text);
}

Test(tmpl_spec, interpolation)
{
	spec_run("interpolation");
}

Test(tmpl_spec, sections)
{
	spec_run("sections");
}

Test(tmpl_spec, inverted)
{
	spec_run("inverted");
}

Test(tmpl_spec, comments)
{
	spec_run("comments");
}

Test(tmpl_spec, partials)
{
	spec_run("partials");
}

Test(tmpl_spec, delimiters)
{
	spec_run("delimiters");
}

static void
add(struct tmpl_set *set, const char *name, const char *src)
{
	char	err[256];

	cr_assert_eq(tmpl_set_add(set, name, src, strlen(src), err,
	    sizeof(err)), 0, "adding %s: %s", name, err);
}

/*
 * Renders name with the JSON text data (NULL for no data) and returns the
 * output as a kore_malloc'd string.
 */
static char *
render(struct tmpl_set *set, const char *name, const char *data)
{
	struct kore_json	json;
	struct kore_buf		out;
	struct kore_json_item	*root;
	char			*s;

	root = NULL;
	if (data != NULL) {
		kore_json_init(&json, data, strlen(data));
		cr_assert(kore_json_parse(&json), "bad test JSON %s: %s",
		    data, kore_json_strerror(&json));
		root = json.root;
	}

	kore_buf_init(&out, 64);
	cr_assert_eq(tmpl_render(set, name, root, &out), 0,
	    "rendering %s failed", name);
	s = kore_strdup(kore_buf_stringify(&out, NULL));
	kore_buf_cleanup(&out);

	if (data != NULL)
		kore_json_cleanup(&json);

	return (s);
}

static void
expect_render(const char *src, const char *data, const char *want)
{
	struct tmpl_set		*set;
	char			*got;

	set = tmpl_set_new();
	add(set, "t", src);
	got = render(set, "t", data);
	cr_expect_str_eq(got, want, "template %s with %s", src,
	    data != NULL ? data : "(no data)");
	kore_free(got);
	tmpl_set_free(set);
}

Test(tmpl, escape_html_escapes_all_five_characters)
{
	struct kore_buf		out;
	const char		*in = "a&b<c>d\"e'f";

	kore_buf_init(&out, 16);
	tmpl_escape_html(&out, in, strlen(in));
	cr_expect_str_eq(kore_buf_stringify(&out, NULL),
	    "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	kore_buf_cleanup(&out);

	/* Appends, and an empty input appends nothing. */
	kore_buf_init(&out, 16);
	kore_buf_append(&out, "x", 1);
	tmpl_escape_html(&out, "", 0);
	tmpl_escape_html(&out, "<>", 2);
	cr_expect_str_eq(kore_buf_stringify(&out, NULL), "x&lt;&gt;");
	kore_buf_cleanup(&out);

	expect_render("{{v}}", "{\"v\":\"&<>\\\"'\"}",
	    "&amp;&lt;&gt;&quot;&#39;");
}

Test(tmpl, triple_mustache_and_ampersand_are_raw)
{
	expect_render("{{{v}}}|{{&v}}|{{ v }}", "{\"v\":\"<b a='1'>&\"}",
	    "<b a='1'>&|<b a='1'>&|&lt;b a=&#39;1&#39;&gt;&amp;");
}

/* A mail's subject and text part: values as they are, nothing escaped. */
Test(tmpl, render_text_escapes_nothing_also_in_partials)
{
	struct kore_json	 json;
	struct kore_buf		 out;
	struct tmpl_set		*set;
	const char		*data = "{\"v\":\"O'Brien & <Sons>\"}";

	set = tmpl_set_new();
	add(set, "t", "Hi {{v}}, {{> p}}");
	add(set, "p", "[{{v}}]");
	kore_json_init(&json, data, strlen(data));
	cr_assert(kore_json_parse(&json));
	kore_buf_init(&out, 64);
	cr_assert_eq(tmpl_render_text(set, "t", json.root, &out), 0);
	cr_expect_str_eq(kore_buf_stringify(&out, NULL),
	    "Hi O'Brien & <Sons>, [O'Brien & <Sons>]");
	kore_buf_reset(&out);
	/* The HTML render of the same set still escapes. */
	cr_assert_eq(tmpl_render(set, "t", json.root, &out), 0);
	cr_expect_str_eq(kore_buf_stringify(&out, NULL), "Hi O&#39;Brien "
	    "&amp; &lt;Sons&gt;, [O&#39;Brien &amp; &lt;Sons&gt;]");
	kore_buf_cleanup(&out);
	kore_json_cleanup(&json);
	tmpl_set_free(set);
}

Test(tmpl, syntax_errors_name_the_line)
{
	static const struct {
		const char	*src;
		const char	*err;
	} cases[] = {
		{ "a\nb\n{{oops\n", "t:3: unclosed tag" },
		{ "x\n{{#a}}\ny\n", "t:2: unclosed section 'a'" },
		{ "{{#a}}\n{{/b}}", "t:2: section 'a' (line 1) closed as 'b'" },
		{ "\n\n\n{{/a}}", "t:4: close of 'a' with no open section" },
		{ "1\n{{=<% =}}", "t:2: bad delimiter change '<%'" },
		{ "{{= a b c =}}", "t:1: bad delimiter change 'a b c'" },
		{ "{{=<% %>}}", "t:1: bad delimiter change" },
		{ "{{= a= b =}}", "t:1: bad delimiter change 'a= b'" },
		{ "\n{{{x}}", "t:2: unclosed {{{ tag" },
		{ "{{}}", "t:1: empty tag" },
		{ "{{#a}}{{b..c}}{{/a}}", "t:1: bad name 'b..c'" },
		{ "{{=<% %>=}}\n<%#a%>\n{{/a}}", "t:2: unclosed section 'a'" },
	};
	struct tmpl_set		*set;
	char			err[128], *got;
	size_t			i;

	set = tmpl_set_new();
	add(set, "t", "old");

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(tmpl_set_add(set, "t", cases[i].src,
		    strlen(cases[i].src), err, sizeof(err)), -1,
		    "%s should not compile", cases[i].src);
		cr_expect(strncmp(err, cases[i].err, strlen(cases[i].err)) == 0,
		    "template %s: got error \"%s\", want \"%s\"",
		    cases[i].src, err, cases[i].err);
	}

	/* A failed add leaves the earlier template of that name in place. */
	got = render(set, "t", NULL);
	cr_expect_str_eq(got, "old");
	kore_free(got);

	/* A short or absent error buffer is not overrun. */
	cr_expect_eq(tmpl_set_add(set, "t", "{{#a}}", 6, err, 4), -1);
	cr_expect_str_eq(err, "t:1");
	cr_expect_eq(tmpl_set_add(set, "t", "{{#a}}", 6, NULL, 0), -1);

	tmpl_set_free(set);
}

Test(tmpl, missing_partial_renders_empty)
{
	struct tmpl_set		*set;
	char			*got;

	set = tmpl_set_new();
	add(set, "page", "[{{>nope}}]\n  {{>nope}}\n[{{>later}}]");

	got = render(set, "page", "{}");
	cr_expect_str_eq(got, "[]\n[]");
	kore_free(got);

	cr_expect_eq(tmpl_set_has(set, "nope"), 0);
	cr_expect_eq(tmpl_set_has(set, "page"), 1);

	/* A partial added after its user is found at render time. */
	add(set, "later", "L");
	got = render(set, "page", "{}");
	cr_expect_str_eq(got, "[]\n[L]");
	kore_free(got);

	tmpl_set_free(set);
}

Test(tmpl, unknown_template_fails_to_render)
{
	struct tmpl_set		*set;
	struct kore_buf		out;

	set = tmpl_set_new();
	kore_buf_init(&out, 16);
	cr_expect_eq(tmpl_render(set, "none", NULL, &out), -1);
	cr_expect_eq(out.offset, 0);
	cr_expect_eq(tmpl_set_has(set, "none"), 0);
	kore_buf_cleanup(&out);
	tmpl_set_free(set);
}

Test(tmpl, deep_self_recursion_is_bounded_and_terminates, .timeout = 20)
{
	struct tmpl_set		*set;
	char			*got;
	size_t			i, n;

	set = tmpl_set_new();

	/* Straight self-inclusion stops after the depth limit (64). */
	add(set, "p", "x{{>p}}");
	got = render(set, "p", NULL);
	n = strlen(got);
	cr_expect(n > 1 && n <= 65, "self-inclusion gave %zu bytes", n);
	for (i = 0; i < n; i++)
		cr_expect_eq(got[i], 'x');
	kore_free(got);

	/* Doubling at each level would be 2^64 calls without the stop. */
	add(set, "q", "y{{>q}}{{>q}}");
	got = render(set, "q", NULL);
	cr_expect(strlen(got) <= 65, "fan-out gave %zu bytes", strlen(got));
	kore_free(got);

	/* Standalone and indented: each level is a new indented variant. */
	add(set, "r", "r\n  {{>r}}\n");
	got = render(set, "r", NULL);
	cr_expect(strncmp(got, "r\n  r\n    r\n", 12) == 0, "got %.40s", got);
	kore_free(got);

	/* Through a section whose data is its own context forever. */
	add(set, "s", "{{#a}}s{{>s}}{{/a}}");
	got = render(set, "s", "{\"a\":{\"b\":1}}");
	n = strlen(got);
	cr_expect(n > 1 && n <= 64, "section recursion gave %zu bytes", n);
	kore_free(got);

	/* And the set still renders normally afterwards. */
	got = render(set, "s", "{\"a\":false}");
	cr_expect_str_eq(got, "");
	kore_free(got);

	tmpl_set_free(set);
}

Test(tmpl, rendering_same_template_twice_gives_same_output)
{
	struct tmpl_set		*set;
	const char		*data;
	char			*a, *b;

	data = "{\"title\":\"T&C\",\"items\":[{\"n\":1,\"tags\":[\"x\",\"y\"]},"
	    "{\"n\":2.5,\"tags\":[]}],\"none\":[]}";

	set = tmpl_set_new();
	add(set, "item", "<li>{{n}}{{#tags}} {{.}}{{/tags}}</li>\n");
	add(set, "page", "<h1>{{title}}</h1>\n<ul>\n{{#items}}\n"
	    "  {{>item}}\n{{/items}}\n</ul>\n{{^none}}empty{{/none}}\n");

	a = render(set, "page", data);
	b = render(set, "page", data);
	cr_expect_str_eq(a, "<h1>T&amp;C</h1>\n<ul>\n  <li>1 x y</li>\n"
	    "  <li>2.5</li>\n</ul>\nempty\n");
	cr_expect_str_eq(a, b);
	kore_free(a);
	kore_free(b);

	tmpl_set_free(set);
}

Test(tmpl, numbers_and_literals_interpolate_as_text)
{
	/*
	 * Above INT64_MAX, so Kore makes it an unsigned integer. (Kore's
	 * parser rejects UINT64_MAX itself: a stale ERANGE from its strtoll.)
	 */
	expect_render("{{a}}|{{b}}|{{c}}|{{d}}|{{e}}|{{f}}|{{g}}",
	    "{\"a\":1.210,\"b\":85,\"c\":-3,\"d\":9223372036854775808,"
	    "\"e\":1e21,\"f\":0.1,\"g\":-0.5}",
	    "1.21|85|-3|9223372036854775808|1e+21|0.1|-0.5");
	expect_render("{{t}}|{{f}}|{{n}}|{{o}}|{{l}}",
	    "{\"t\":true,\"f\":false,\"n\":null,\"o\":{\"a\":1},\"l\":[1]}",
	    "true|false|||");
}

Test(tmpl, falsey_values_skip_sections)
{
	const char	*src;

	src = "{{#v}}T{{/v}}{{^v}}F{{/v}}";
	expect_render(src, "{\"v\":false}", "F");
	expect_render(src, "{\"v\":null}", "F");
	expect_render(src, "{\"v\":[]}", "F");
	expect_render(src, "{\"v\":\"\"}", "F");
	expect_render(src, "{\"v\":0}", "F");
	expect_render(src, "{\"v\":-0.0}", "F");
	expect_render(src, "{}", "F");
	expect_render(src, NULL, "F");
	expect_render(src, "{\"v\":true}", "T");
	expect_render(src, "{\"v\":{}}", "T");
	expect_render(src, "{\"v\":\"0\"}", "T");
	expect_render(src, "{\"v\":-1}", "T");
	expect_render(src, "{\"v\":[0]}", "T");
}

Test(tmpl, replacing_a_template_updates_its_users)
{
	struct tmpl_set		*set;
	char			*got;

	set = tmpl_set_new();
	add(set, "inner", "a\nb\n");
	add(set, "outer", "<\n  {{>inner}}\n>");

	got = render(set, "outer", NULL);
	cr_expect_str_eq(got, "<\n  a\n  b\n>");
	kore_free(got);

	/* The cached indented copy must not outlive the source it came from. */
	add(set, "inner", "c\n\nd\n");
	got = render(set, "outer", NULL);
	cr_expect_str_eq(got, "<\n  c\n\n  d\n>");
	kore_free(got);

	tmpl_set_free(set);
}

Test(tmpl, large_output_and_long_values_are_complete)
{
	struct tmpl_set		*set;
	struct kore_buf		data, want;
	char			*got, *json;
	size_t			i;

	/* Sized up front: kore_buf grows to exact fit, one copy per append. */
	kore_buf_init(&data, 64 * 1024);
	kore_buf_init(&want, 64 * 1024);

	/* A value longer than the engine's staging area, with escapes. */
	kore_buf_appendf(&data, "{\"big\":\"");
	for (i = 0; i < 3000; i++) {
		kore_buf_appendf(&data, "ab<&");
		kore_buf_appendf(&want, "ab&lt;&amp;");
	}
	kore_buf_appendf(&data, "\",\"list\":[");
	for (i = 0; i < 5000; i++) {
		kore_buf_appendf(&data, "%s%zu", i > 0 ? "," : "", i);
		kore_buf_appendf(&want, "(%zu)", i);
	}
	kore_buf_appendf(&data, "]}");
	json = kore_buf_stringify(&data, NULL);

	set = tmpl_set_new();
	add(set, "t", "{{big}}{{#list}}({{.}}){{/list}}");
	got = render(set, "t", json);
	cr_expect_str_eq(got, kore_buf_stringify(&want, NULL));
	kore_free(got);

	tmpl_set_free(set);
	kore_buf_cleanup(&data);
	kore_buf_cleanup(&want);
}

Test(tmpl, empty_and_text_only_templates)
{
	expect_render("", "{}", "");
	expect_render("just text, { and } and {x}", NULL,
	    "just text, { and } and {x}");
	expect_render("{{! only a comment }}", "{}", "");
}
