/*
 * fuzz_tmpl.c: libFuzzer target for the Mustache engine (src/core/tmpl.c):
 * compiling arbitrary templates and rendering them with arbitrary JSON
 * data (Kore's parser), directly and as a partial, also at an indentation
 * (the standalone-partial copies).
 *
 * Input: the template, a NUL byte, then the JSON data. Without a NUL the
 * whole input is the template and the data is NULL.
 *
 * Templates are trusted (they are compiled at start-up), and nested
 * sections over lists are exponential by design ({{#a}}{{#a}}... renders
 * len(a)^depth times), so inputs that could do more than FUZZ_ITER_MAX
 * section iterations are compiled but not rendered, and a render that
 * writes more than FUZZ_OUT_MAX bytes is cut short with longjmp from the
 * wrapped kore_buf_append (run.sh links with -Wl,--wrap=kore_buf_append;
 * rendering allocates nothing but the output, so nothing leaks).
 */

#include <sys/types.h>

#include <setjmp.h>
#include <string.h>

#include <kore/kore.h>

#include "core/tmpl.h"

#include "fuzz.h"

#define FUZZ_TMPL_MAX		4096
#define FUZZ_ITER_MAX		4096
#define FUZZ_OUT_MAX		(1024 * 1024)

void	__real_kore_buf_append(struct kore_buf *, const void *, size_t);
void	__wrap_kore_buf_append(struct kore_buf *, const void *, size_t);

static struct kore_buf	*fuzz_out;	/* the render output being capped */
static jmp_buf		 fuzz_jmp;

void
__wrap_kore_buf_append(struct kore_buf *buf, const void *data, size_t len)
{
	if (buf == fuzz_out && buf->offset + len > FUZZ_OUT_MAX)
		longjmp(fuzz_jmp, 1);
	__real_kore_buf_append(buf, data, len);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	return (0);
}

/* The longest list anywhere in the data. */
static size_t
fuzz_max_list(struct kore_json_item *it)
{
	struct kore_json_item	*c;
	size_t			 n, m, best;

	if (it->type != KORE_JSON_TYPE_OBJECT &&
	    it->type != KORE_JSON_TYPE_ARRAY)
		return (0);
	n = 0;
	best = 0;
	TAILQ_FOREACH(c, &it->data.items, list) {
		n++;
		if ((m = fuzz_max_list(c)) > best)
			best = m;
	}
	if (it->type == KORE_JSON_TYPE_ARRAY && n > best)
		best = n;
	return (best);
}

/*
 * An upper bound on section iterations: every '#' or '>' byte could be a
 * loop (a section) or a partial holding one, each over the longest list.
 */
static int
fuzz_affordable(const char *src, size_t len, struct kore_json_item *root)
{
	size_t		i, k, loops, work;

	if (root == NULL || (k = fuzz_max_list(root)) < 2)
		return (1);
	loops = 0;
	for (i = 0; i < len; i++) {
		if (src[i] == '#' || src[i] == '>')
			loops++;
	}
	/* The wrapper's own {{#items}} is one more loop. */
	for (work = k; loops > 0; loops--) {
		work *= k;
		if (work > FUZZ_ITER_MAX)
			return (0);
	}
	return (1);
}

/* Every byte that HTML gives a meaning to comes out as an entity. */
static void
fuzz_escape_check(const char *s, size_t len)
{
	struct kore_buf	 out;
	const char	*o;
	size_t		 i, n;

	kore_buf_init(&out, len + 1);
	tmpl_escape_html(&out, s, len);
	o = (const char *)out.data;
	n = out.offset;
	FUZZ_ASSERT(n >= len, "escaping never shortens");
	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(o[i] != '<' && o[i] != '>' && o[i] != '"' &&
		    o[i] != '\'', "no raw < > \" ' in escaped text");
		if (o[i] == '&') {
			FUZZ_ASSERT((n - i >= 5 && memcmp(o + i, "&amp;", 5)
			    == 0) || (n - i >= 4 && (memcmp(o + i, "&lt;", 4)
			    == 0 || memcmp(o + i, "&gt;", 4) == 0)) ||
			    (n - i >= 6 && memcmp(o + i, "&quot;", 6) == 0) ||
			    (n - i >= 5 && memcmp(o + i, "&#39;", 5) == 0),
			    "& only starts an entity");
		}
	}
	kore_buf_cleanup(&out);
}

/* Renders name into a fresh buffer, capped at FUZZ_OUT_MAX bytes. */
static void
fuzz_render(struct tmpl_set *set, const char *name,
    struct kore_json_item *data)
{
	struct kore_buf	 out;
	int		 rc;

	kore_buf_init(&out, 256);
	fuzz_out = &out;
	if (setjmp(fuzz_jmp) == 0) {
		rc = tmpl_render(set, name, data, &out);
		FUZZ_ASSERT(rc == 0, "a template that was added renders");
	}
	fuzz_out = NULL;
	kore_buf_cleanup(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 wrapper[] =
	    "<ul>\n{{#items}}\n  <li>{{> p }}</li>\n{{/items}}\n</ul>\n"
	    "  {{> p}}\n\t\t{{>main}}\r\n{{^none}}\n    {{>p}}\n{{/none}}\n";
	struct kore_json	 j;
	struct kore_json_item	*root;
	struct tmpl_set		*set;
	const char		*src;
	const uint8_t		*nul;
	char			 err[256];
	size_t			 len;
	int			 rc, have_json;

	src = (const char *)data;
	if ((nul = memchr(data, '\0', size)) != NULL)
		len = (size_t)(nul - data);
	else
		len = size;
	if (len > FUZZ_TMPL_MAX)
		return (0);

	fuzz_escape_check(src, len);

	root = NULL;
	have_json = 0;
	if (nul != NULL) {
		kore_json_init(&j, nul + 1, size - len - 1);
		have_json = 1;
		if (kore_json_parse(&j))
			root = j.root;
	}

	set = tmpl_set_new();
	/* The same source as a partial first, so main can include itself. */
	err[0] = '\0';
	rc = tmpl_set_add(set, "p", src, len, err, sizeof(err));
	if (rc == -1) {
		FUZZ_ASSERT(strncmp(err, "p:", 2) == 0, "error names it");
		FUZZ_ASSERT(!tmpl_set_has(set, "p"), "failing adds nothing");
		goto out;
	}
	rc = tmpl_set_add(set, "main", src, len, err, sizeof(err));
	FUZZ_ASSERT(rc == 0, "same source compiles under another name");
	rc = tmpl_set_add(set, "wrap", wrapper, sizeof(wrapper) - 1, err,
	    sizeof(err));
	FUZZ_ASSERT(rc == 0, "the wrapper compiles");
	FUZZ_ASSERT(tmpl_set_has(set, "main") && tmpl_set_has(set, "p"),
	    "added templates are there");
	FUZZ_ASSERT(tmpl_render(set, "none", root, NULL) == -1,
	    "an unknown name does not render");

	if (fuzz_affordable(src, len, root)) {
		fuzz_render(set, "main", root);
		fuzz_render(set, "wrap", root);
		/* Replacing a partial in use keeps its entry valid. */
		rc = tmpl_set_add(set, "p", src, len, err, sizeof(err));
		FUZZ_ASSERT(rc == 0, "re-adding the same source");
		fuzz_render(set, "wrap", root);
		fuzz_render(set, "main", NULL);
	}

out:
	tmpl_set_free(set);
	if (have_json)
		kore_json_cleanup(&j);
	return (0);
}
