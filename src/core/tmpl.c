/*
 * tmpl.c: the Mustache template engine behind tmpl.h. Owns the template
 * sets: each name's source, its compiled node array, the indented copies
 * made for standalone partial tags, and the name lookup table. Rendering
 * appends to the caller's kore_buf and allocates nothing else, except an
 * indented copy the first time a partial is used at a new indentation.
 *
 * A compiled template is a flat array of nodes. A section node is followed
 * by the nodes of its body, and records how many there are (span), so
 * rendering walks ranges of one array and skipping a false section is a
 * single addition. Literal text lives in one pool per template and tag
 * names in another; nodes hold offsets into them.
 *
 * Truthiness follows the spec's example (`!!data` in JavaScript, the
 * language JSON comes from): missing, false, null, 0, "" and the empty
 * list are false; everything else, empty objects included, is true.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>

#include "core/tmpl.h"

/*
 * How deep sections and partials may nest while rendering. Beyond this a
 * template is almost certainly including itself without end; we stop the
 * whole render rather than the one branch, since a partial that includes
 * itself twice would otherwise fan out into 2^64 calls before returning.
 */
#define TMPL_DEPTH_MAX		64

/*
 * Kore's kore_buf_append grows the buffer to exactly the size needed, and
 * kore_realloc always copies, so many small appends are quadratic. Output
 * is gathered here first and handed to the kore_buf in large pieces.
 */
#define TMPL_STAGE_SIZE		8192

/* The largest template file tmpl_set_add_file() reads. */
#define TMPL_FILE_MAX		(512 * 1024)

#define TMPL_NODE_TEXT		1
#define TMPL_NODE_ESCAPED	2
#define TMPL_NODE_RAW		3
#define TMPL_NODE_SECTION	4
#define TMPL_NODE_INVERTED	5
#define TMPL_NODE_PARTIAL	6

#define TMPL_NONE		((size_t)-1)

struct tmpl_node {
	int			type;
	/*
	 * TEXT: off/len of the bytes in the text pool.
	 * ESCAPED, RAW, SECTION, INVERTED: off of the first name segment in
	 * the name pool, len the number of NUL-terminated segments that
	 * follow one another there (0 for the implicit iterator ".").
	 * PARTIAL: off/len of the indentation in the name pool (len 0 when
	 * the tag was not standalone).
	 */
	size_t			off;
	size_t			len;
	size_t			span;		/* sections: body length */
	struct tmpl_entry	*partial;	/* PARTIAL: the named slot */
};

struct tmpl {
	struct tmpl_node	*nodes;
	size_t			nnodes;
	char			*text;
	char			*names;
};

/* A standalone partial tag's copy of a template, indented by indent. */
struct tmpl_variant {
	char			*indent;
	size_t			indentlen;
	struct tmpl		*tmpl;		/* NULL if it did not compile */
	struct tmpl_variant	*next;
};

/*
 * One name in a set. Partial tags point at the entry for their name as
 * soon as they are compiled (creating it if nothing is added under that
 * name yet), so rendering never looks names up and templates may be added
 * in any order. Entries live until the set is freed; tmpl_set_add only
 * swaps what they hold.
 */
struct tmpl_entry {
	char			*name;
	size_t			namelen;
	u_int32_t		hash;
	char			*src;		/* to make indented copies */
	size_t			srclen;
	struct tmpl		*tmpl;		/* NULL: only referenced */
	struct tmpl_variant	*variants;
	struct tmpl_entry	*next;		/* hash chain */
};

struct tmpl_set {
	struct tmpl_entry	**buckets;
	size_t			nbuckets;	/* a power of two */
	size_t			nentries;
};

struct tmpl_open {
	size_t			node;
	const char		*name;
	size_t			namelen;
	size_t			line;
};

struct tmpl_parser {
	struct tmpl_set		*set;
	const char		*name;
	const char		*src;
	size_t			len;
	size_t			pos;		/* first unconsumed byte */
	size_t			line;		/* line number of byte lpos */
	size_t			lpos;

	const char		*otag;
	const char		*ctag;
	size_t			otaglen;
	size_t			ctaglen;

	struct tmpl_node	*nodes;
	size_t			nnodes;
	size_t			nalloc;
	size_t			textnode;	/* text node we may extend */
	struct kore_buf		text;
	struct kore_buf		names;

	struct tmpl_open	open[TMPL_DEPTH_MAX];
	int			nopen;

	char			*err;
	size_t			errlen;
};

struct tmpl_out {
	struct kore_buf		*buf;
	size_t			len;
	u_int8_t		data[TMPL_STAGE_SIZE];
};

struct tmpl_state {
	struct tmpl_set		*set;
	struct tmpl_out		out;
	/* The root plus one per entered section: depth bounds it. */
	struct kore_json_item	*stack[TMPL_DEPTH_MAX + 1];
	size_t			nstack;
	int			depth;
	int			overflow;
	int			plain;		/* text, not HTML: no escaping */
};

static u_int32_t	tmpl_hash(const char *, size_t);
static void		tmpl_set_grow(struct tmpl_set *);
static struct tmpl_entry *tmpl_entry_get(struct tmpl_set *, const char *,
			    size_t, int);
static void		tmpl_entry_clear(struct tmpl_entry *);
static void		tmpl_free(struct tmpl *);

static struct tmpl	*tmpl_compile(struct tmpl_set *, const char *,
			    const char *, size_t, char *, size_t);
static int		tmpl_parse_next(struct tmpl_parser *);
static int		tmpl_find_close(struct tmpl_parser *, size_t, int,
			    size_t *, size_t *);
static const char	*tmpl_search(const char *, size_t, const char *,
			    size_t);
static void		tmpl_line_at(struct tmpl_parser *, size_t);
static void		tmpl_text(struct tmpl_parser *, size_t, size_t);
static size_t		tmpl_node_add(struct tmpl_parser *, int);
static int		tmpl_parse_name(struct tmpl_parser *, const char *,
			    size_t, size_t *, size_t *);
static int		tmpl_open_section(struct tmpl_parser *, int,
			    const char *, size_t);
static int		tmpl_close_section(struct tmpl_parser *, const char *,
			    size_t);
static void		tmpl_partial(struct tmpl_parser *, const char *,
			    size_t, const char *, size_t);
static int		tmpl_delimiters(struct tmpl_parser *, const char *,
			    size_t);
static int		tmpl_error(struct tmpl_parser *, size_t,
			    const char *, ...)
			    __attribute__((format (printf, 3, 4)));

static struct tmpl	*tmpl_variant(struct tmpl_set *, struct tmpl_entry *,
			    const char *, size_t);
static void		tmpl_render_nodes(struct tmpl_state *,
			    const struct tmpl *, size_t, size_t);
static void		tmpl_render_section(struct tmpl_state *,
			    const struct tmpl *, size_t,
			    struct kore_json_item *);
static void		tmpl_render_partial(struct tmpl_state *,
			    const struct tmpl *, const struct tmpl_node *);
static int		tmpl_enter(struct tmpl_state *);
static struct kore_json_item *tmpl_lookup(struct tmpl_state *,
			    const char *, size_t);
static struct kore_json_item *tmpl_child(struct kore_json_item *,
			    const char *);
static int		tmpl_truthy(const struct kore_json_item *);
static void		tmpl_interpolate(struct tmpl_out *,
			    const struct kore_json_item *, int);
static void		tmpl_escape(struct tmpl_out *, const char *, size_t);
static void		tmpl_put(struct tmpl_out *, const void *, size_t);
static void		tmpl_flush(struct tmpl_out *);
static int		tmpl_render_as(struct tmpl_set *, const char *,
			    struct kore_json_item *, struct kore_buf *, int);

struct tmpl_set *
tmpl_set_new(void)
{
	struct tmpl_set		*set;

	set = kore_calloc(1, sizeof(*set));
	set->nbuckets = 16;
	set->buckets = kore_calloc(set->nbuckets, sizeof(struct tmpl_entry *));

	return (set);
}

void
tmpl_set_free(struct tmpl_set *set)
{
	struct tmpl_entry	*e, *next;
	size_t			i;

	if (set == NULL)
		return;

	for (i = 0; i < set->nbuckets; i++) {
		for (e = set->buckets[i]; e != NULL; e = next) {
			next = e->next;
			tmpl_entry_clear(e);
			kore_free(e->name);
			kore_free(e);
		}
	}

	kore_free(set->buckets);
	kore_free(set);
}

int
tmpl_set_add(struct tmpl_set *set, const char *name, const char *src,
    size_t len, char *err, size_t errlen)
{
	struct tmpl		*t;
	struct tmpl_entry	*e;

	if (src == NULL && len != 0) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "%s:0: no source", name);
		return (-1);
	}
	if (src == NULL)
		src = "";

	/* Compile first, so a broken edit leaves the old template in place. */
	if ((t = tmpl_compile(set, name, src, len, err, errlen)) == NULL)
		return (-1);

	e = tmpl_entry_get(set, name, strlen(name), 1);
	tmpl_entry_clear(e);

	e->tmpl = t;
	e->srclen = len;
	e->src = kore_malloc(len + 1);
	memcpy(e->src, src, len);
	e->src[len] = '\0';

	return (0);
}

int
tmpl_set_add_file(struct tmpl_set *set, const char *name, const char *path,
    char *err, size_t errlen)
{
	char		*buf;
	ssize_t		 n;
	int		 fd, rc;

	if ((fd = open(path, O_RDONLY)) == -1) {
		(void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	buf = kore_malloc(TMPL_FILE_MAX);
	n = read(fd, buf, TMPL_FILE_MAX);
	(void)close(fd);
	if (n < 0 || n == TMPL_FILE_MAX) {
		(void)snprintf(err, errlen, "%s: unreadable or larger than "
		    "%d bytes", path, TMPL_FILE_MAX);
		kore_free(buf);
		return (-1);
	}
	rc = tmpl_set_add(set, name, buf, (size_t)n, err, errlen);
	kore_free(buf);
	return (rc);
}

int
tmpl_set_has(struct tmpl_set *set, const char *name)
{
	struct tmpl_entry	*e;

	e = tmpl_entry_get(set, name, strlen(name), 0);

	return (e != NULL && e->tmpl != NULL);
}

int
tmpl_render(struct tmpl_set *set, const char *name,
    struct kore_json_item *data, struct kore_buf *out)
{
	return (tmpl_render_as(set, name, data, out, 0));
}

int
tmpl_render_text(struct tmpl_set *set, const char *name,
    struct kore_json_item *data, struct kore_buf *out)
{
	return (tmpl_render_as(set, name, data, out, 1));
}

static int
tmpl_render_as(struct tmpl_set *set, const char *name,
    struct kore_json_item *data, struct kore_buf *out, int plain)
{
	struct tmpl_entry	*e;
	struct tmpl_state	st;

	e = tmpl_entry_get(set, name, strlen(name), 0);
	if (e == NULL || e->tmpl == NULL)
		return (-1);

	/* Not memset: the stage is large and is written before it is read. */
	st.set = set;
	st.out.buf = out;
	st.out.len = 0;
	st.nstack = 0;
	st.depth = 0;
	st.overflow = 0;
	st.plain = plain;
	if (data != NULL)
		st.stack[st.nstack++] = data;

	tmpl_render_nodes(&st, e->tmpl, 0, e->tmpl->nnodes);
	tmpl_flush(&st.out);

	return (0);
}

void
tmpl_escape_html(struct kore_buf *out, const char *s, size_t len)
{
	struct tmpl_out		o;

	if (len == 0)
		return;

	o.buf = out;
	o.len = 0;
	tmpl_escape(&o, s, len);
	tmpl_flush(&o);
}

/* FNV-1a: short names, no need for anything stronger. */
static u_int32_t
tmpl_hash(const char *s, size_t len)
{
	u_int32_t	h;
	size_t		i;

	h = 2166136261U;
	for (i = 0; i < len; i++) {
		h ^= (u_int8_t)s[i];
		h *= 16777619U;
	}

	return (h);
}

static void
tmpl_set_grow(struct tmpl_set *set)
{
	struct tmpl_entry	**buckets, *e, *next;
	size_t			i, n, idx;

	n = set->nbuckets * 2;
	buckets = kore_calloc(n, sizeof(struct tmpl_entry *));

	for (i = 0; i < set->nbuckets; i++) {
		for (e = set->buckets[i]; e != NULL; e = next) {
			next = e->next;
			idx = e->hash & (n - 1);
			e->next = buckets[idx];
			buckets[idx] = e;
		}
	}

	kore_free(set->buckets);
	set->buckets = buckets;
	set->nbuckets = n;
}

static struct tmpl_entry *
tmpl_entry_get(struct tmpl_set *set, const char *name, size_t len,
    int create)
{
	struct tmpl_entry	*e;
	u_int32_t		h;
	size_t			idx;

	h = tmpl_hash(name, len);
	for (e = set->buckets[h & (set->nbuckets - 1)]; e != NULL;
	    e = e->next) {
		if (e->hash == h && e->namelen == len &&
		    memcmp(e->name, name, len) == 0)
			return (e);
	}

	if (!create)
		return (NULL);

	if (set->nentries >= set->nbuckets)
		tmpl_set_grow(set);

	e = kore_calloc(1, sizeof(*e));
	e->name = kore_malloc(len + 1);
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	e->namelen = len;
	e->hash = h;

	idx = h & (set->nbuckets - 1);
	e->next = set->buckets[idx];
	set->buckets[idx] = e;
	set->nentries++;

	return (e);
}

/* Drops what an entry holds but keeps the entry: partial nodes use it. */
static void
tmpl_entry_clear(struct tmpl_entry *e)
{
	struct tmpl_variant	*v, *next;

	for (v = e->variants; v != NULL; v = next) {
		next = v->next;
		tmpl_free(v->tmpl);
		kore_free(v->indent);
		kore_free(v);
	}
	e->variants = NULL;

	tmpl_free(e->tmpl);
	e->tmpl = NULL;

	kore_free(e->src);
	e->src = NULL;
	e->srclen = 0;
}

static void
tmpl_free(struct tmpl *t)
{
	if (t == NULL)
		return;

	kore_free(t->nodes);
	kore_free(t->text);
	kore_free(t->names);
	kore_free(t);
}

static struct tmpl *
tmpl_compile(struct tmpl_set *set, const char *name, const char *src,
    size_t len, char *err, size_t errlen)
{
	struct tmpl_parser	p;
	struct tmpl		*t;
	size_t			plen;
	int			rc;

	memset(&p, 0, sizeof(p));
	p.set = set;
	p.name = name;
	p.src = src;
	p.len = len;
	p.line = 1;
	p.otag = "{{";
	p.otaglen = 2;
	p.ctag = "}}";
	p.ctaglen = 2;
	p.textnode = TMPL_NONE;
	p.err = err;
	p.errlen = errlen;

	/* Neither pool outgrows the source, so they never reallocate. */
	kore_buf_init(&p.text, len + 1);
	kore_buf_init(&p.names, len + 1);

	rc = 0;
	while (rc == 0 && p.pos < p.len)
		rc = tmpl_parse_next(&p);

	if (rc == 0 && p.nopen > 0) {
		rc = tmpl_error(&p, p.open[p.nopen - 1].line,
		    "unclosed section '%.*s'",
		    (int)p.open[p.nopen - 1].namelen,
		    p.open[p.nopen - 1].name);
	}

	if (rc == -1) {
		kore_free(p.nodes);
		kore_buf_cleanup(&p.text);
		kore_buf_cleanup(&p.names);
		return (NULL);
	}

	t = kore_calloc(1, sizeof(*t));
	t->nodes = p.nodes;
	t->nnodes = p.nnodes;
	t->text = (char *)kore_buf_release(&p.text, &plen);
	t->names = (char *)kore_buf_release(&p.names, &plen);

	return (t);
}

/*
 * Consumes the text up to the next tag and the tag itself, or the rest of
 * the source when no tag is left. Returns -1 on a syntax error.
 */
static int
tmpl_parse_next(struct tmpl_parser *p)
{
	const char	*s, *hit, *content, *indent;
	size_t		start, c, cend, tagend, end, ls, clen, indentlen;
	size_t		dummy, off, nseg, idx;
	int		type, standalone;

	s = p->src;
	hit = tmpl_search(s + p->pos, p->len - p->pos, p->otag, p->otaglen);
	if (hit == NULL) {
		tmpl_text(p, p->pos, p->len);
		p->pos = p->len;
		return (0);
	}

	start = hit - s;
	tmpl_line_at(p, start);

	c = start + p->otaglen;
	type = 0;
	if (c < p->len) {
		switch (s[c]) {
		case '#':
		case '^':
		case '/':
		case '>':
		case '!':
		case '=':
		case '&':
		case '{':
			type = (unsigned char)s[c++];
			break;
		}
	}

	switch (type) {
	case '{':
		if (tmpl_find_close(p, c, '}', &cend, &tagend) == -1)
			return (tmpl_error(p, p->line, "unclosed {{{ tag"));
		break;
	case '=':
		if (tmpl_find_close(p, c, '=', &cend, &tagend) == -1) {
			if (tmpl_find_close(p, c, 0, &cend, &dummy) == 0) {
				return (tmpl_error(p, p->line,
				    "bad delimiter change"));
			}
			return (tmpl_error(p, p->line, "unclosed tag"));
		}
		break;
	default:
		if (tmpl_find_close(p, c, 0, &cend, &tagend) == -1)
			return (tmpl_error(p, p->line, "unclosed tag"));
		break;
	}

	content = s + c;
	clen = cend - c;
	while (clen > 0 && (*content == ' ' || *content == '\t' ||
	    *content == '\r' || *content == '\n')) {
		content++;
		clen--;
	}
	while (clen > 0 && (content[clen - 1] == ' ' ||
	    content[clen - 1] == '\t' || content[clen - 1] == '\r' ||
	    content[clen - 1] == '\n'))
		clen--;

	/*
	 * A tag other than an interpolation that is alone on its line, but
	 * for spaces and tabs, takes the whole line with it: its indentation
	 * and its line ending are not output. Only one tag can be standalone
	 * on a line, so the line must start in the text we have not consumed
	 * yet (p->pos is at a line start only after a newline or at 0).
	 */
	standalone = 0;
	ls = start;
	end = tagend;
	if (type != 0 && type != '&' && type != '{') {
		while (ls > p->pos && (s[ls - 1] == ' ' || s[ls - 1] == '\t'))
			ls--;
		if (ls == 0 || s[ls - 1] == '\n') {
			while (end < p->len &&
			    (s[end] == ' ' || s[end] == '\t'))
				end++;
			if (end == p->len) {
				standalone = 1;
			} else if (s[end] == '\n') {
				standalone = 1;
				end++;
			} else if (s[end] == '\r' && end + 1 < p->len &&
			    s[end + 1] == '\n') {
				standalone = 1;
				end += 2;
			}
		}
	}

	if (standalone) {
		tmpl_text(p, p->pos, ls);
		indent = s + ls;
		indentlen = start - ls;
		p->pos = end;
	} else {
		tmpl_text(p, p->pos, start);
		indent = NULL;
		indentlen = 0;
		p->pos = tagend;
	}

	if (type == '!')
		return (0);
	if (type == '=')
		return (tmpl_delimiters(p, content, clen));

	if (clen == 0)
		return (tmpl_error(p, p->line, "empty tag"));

	switch (type) {
	case '#':
	case '^':
		return (tmpl_open_section(p, type, content, clen));
	case '/':
		return (tmpl_close_section(p, content, clen));
	case '>':
		tmpl_partial(p, content, clen, indent, indentlen);
		return (0);
	default:
		if (tmpl_parse_name(p, content, clen, &off, &nseg) == -1)
			return (-1);
		idx = tmpl_node_add(p, type == 0 ?
		    TMPL_NODE_ESCAPED : TMPL_NODE_RAW);
		p->nodes[idx].off = off;
		p->nodes[idx].len = nseg;
		return (0);
	}
}

/*
 * Finds the closing delimiter from byte from on; with lead, only one that
 * directly follows that character ("}}}" for a triple mustache, "=}}" for
 * a delimiter change). Sets *cend to where the content stops and *tagend
 * to the byte after the tag.
 */
static int
tmpl_find_close(struct tmpl_parser *p, size_t from, int lead, size_t *cend,
    size_t *tagend)
{
	const char	*hit;
	size_t		at, first;

	first = from;
	while (from < p->len) {
		hit = tmpl_search(p->src + from, p->len - from, p->ctag,
		    p->ctaglen);
		if (hit == NULL)
			return (-1);
		at = hit - p->src;
		if (lead == 0) {
			*cend = at;
			*tagend = at + p->ctaglen;
			return (0);
		}
		if (at > first && p->src[at - 1] == lead) {
			*cend = at - 1;
			*tagend = at + p->ctaglen;
			return (0);
		}
		from = at + 1;
	}

	return (-1);
}

/*
 * memmem(3), which glibc only declares under _GNU_SOURCE; the Makefile
 * does not define it, and delimiters are short, so this is just as good.
 */
static const char *
tmpl_search(const char *s, size_t len, const char *needle, size_t nlen)
{
	const char	*hit, *end;

	if (nlen == 0 || nlen > len)
		return (NULL);

	end = s + (len - nlen) + 1;
	while (s < end) {
		if ((hit = memchr(s, needle[0], end - s)) == NULL)
			return (NULL);
		if (memcmp(hit, needle, nlen) == 0)
			return (hit);
		s = hit + 1;
	}

	return (NULL);
}

/* Tags only move forward, so lines are counted once over the source. */
static void
tmpl_line_at(struct tmpl_parser *p, size_t pos)
{
	const char	*nl;

	while (p->lpos < pos) {
		nl = memchr(p->src + p->lpos, '\n', pos - p->lpos);
		if (nl == NULL) {
			p->lpos = pos;
			break;
		}
		p->line++;
		p->lpos = (nl - p->src) + 1;
	}
}

/*
 * Adds source bytes [from, to) as text. Text that follows text with only
 * comments or delimiter changes in between joins the same node.
 */
static void
tmpl_text(struct tmpl_parser *p, size_t from, size_t to)
{
	size_t		idx;

	if (to <= from)
		return;

	if (p->textnode == TMPL_NONE) {
		idx = tmpl_node_add(p, TMPL_NODE_TEXT);
		p->nodes[idx].off = p->text.offset;
		p->textnode = idx;
	}

	p->nodes[p->textnode].len += to - from;
	kore_buf_append(&p->text, p->src + from, to - from);
}

/* Returns the index of a new zeroed node; the array may move. */
static size_t
tmpl_node_add(struct tmpl_parser *p, int type)
{
	struct tmpl_node	*n;

	if (p->nnodes == p->nalloc) {
		p->nalloc = p->nalloc == 0 ? 16 : p->nalloc * 2;
		p->nodes = kore_realloc(p->nodes,
		    p->nalloc * sizeof(*p->nodes));
	}

	n = &p->nodes[p->nnodes];
	memset(n, 0, sizeof(*n));
	n->type = type;

	if (type != TMPL_NODE_TEXT)
		p->textnode = TMPL_NONE;

	return (p->nnodes++);
}

/*
 * Stores a tag name as NUL-terminated segments split on '.', so lookups
 * compare against Kore's NUL-terminated keys with strcmp and never split
 * at render time. "." alone is the implicit iterator: zero segments.
 */
static int
tmpl_parse_name(struct tmpl_parser *p, const char *s, size_t len,
    size_t *off, size_t *nseg)
{
	const char	*seg, *dot;
	size_t		left, seglen;

	*off = p->names.offset;
	*nseg = 0;

	if (len == 1 && s[0] == '.')
		return (0);

	seg = s;
	left = len;
	for (;;) {
		dot = memchr(seg, '.', left);
		seglen = dot != NULL ? (size_t)(dot - seg) : left;
		if (seglen == 0) {
			return (tmpl_error(p, p->line, "bad name '%.*s'",
			    (int)len, s));
		}
		kore_buf_append(&p->names, seg, seglen);
		kore_buf_append(&p->names, "", 1);
		(*nseg)++;
		if (dot == NULL)
			break;
		left -= seglen + 1;
		seg = dot + 1;
	}

	return (0);
}

static int
tmpl_open_section(struct tmpl_parser *p, int type, const char *s,
    size_t len)
{
	struct tmpl_open	*o;
	size_t			off, nseg, idx;

	/* Rendering would stop at this depth anyway; say so now. */
	if (p->nopen == TMPL_DEPTH_MAX)
		return (tmpl_error(p, p->line, "sections nested too deeply"));

	if (tmpl_parse_name(p, s, len, &off, &nseg) == -1)
		return (-1);

	idx = tmpl_node_add(p, type == '#' ?
	    TMPL_NODE_SECTION : TMPL_NODE_INVERTED);
	p->nodes[idx].off = off;
	p->nodes[idx].len = nseg;

	o = &p->open[p->nopen++];
	o->node = idx;
	o->name = s;
	o->namelen = len;
	o->line = p->line;

	return (0);
}

static int
tmpl_close_section(struct tmpl_parser *p, const char *s, size_t len)
{
	struct tmpl_open	*o;

	if (p->nopen == 0) {
		return (tmpl_error(p, p->line,
		    "close of '%.*s' with no open section", (int)len, s));
	}

	o = &p->open[p->nopen - 1];
	if (o->namelen != len || memcmp(o->name, s, len) != 0) {
		return (tmpl_error(p, p->line,
		    "section '%.*s' (line %zu) closed as '%.*s'",
		    (int)o->namelen, o->name, o->line, (int)len, s));
	}

	p->nodes[o->node].span = p->nnodes - o->node - 1;
	p->nopen--;

	/* Text after the close must not join text inside the section. */
	p->textnode = TMPL_NONE;

	return (0);
}

static void
tmpl_partial(struct tmpl_parser *p, const char *s, size_t len,
    const char *indent, size_t indentlen)
{
	struct tmpl_entry	*e;
	size_t			off, idx;

	e = tmpl_entry_get(p->set, s, len, 1);

	off = p->names.offset;
	if (indentlen > 0) {
		kore_buf_append(&p->names, indent, indentlen);
		kore_buf_append(&p->names, "", 1);
	}

	idx = tmpl_node_add(p, TMPL_NODE_PARTIAL);
	p->nodes[idx].off = off;
	p->nodes[idx].len = indentlen;
	p->nodes[idx].partial = e;
}

/* "{{=<% %>=}}": s is "<% %>", two words without '=' in them. */
static int
tmpl_delimiters(struct tmpl_parser *p, const char *s, size_t len)
{
	const char	*word[2];
	size_t		wlen[2], i, n;

	i = 0;
	for (n = 0; n < 2; n++) {
		while (i < len && (s[i] == ' ' || s[i] == '\t' ||
		    s[i] == '\r' || s[i] == '\n'))
			i++;
		word[n] = s + i;
		while (i < len && s[i] != ' ' && s[i] != '\t' &&
		    s[i] != '\r' && s[i] != '\n') {
			if (s[i] == '=')
				goto bad;
			i++;
		}
		wlen[n] = (s + i) - word[n];
		if (wlen[n] == 0)
			goto bad;
	}

	while (i < len && (s[i] == ' ' || s[i] == '\t' ||
	    s[i] == '\r' || s[i] == '\n'))
		i++;
	if (i != len)
		goto bad;

	p->otag = word[0];
	p->otaglen = wlen[0];
	p->ctag = word[1];
	p->ctaglen = wlen[1];

	return (0);

bad:
	return (tmpl_error(p, p->line, "bad delimiter change '%.*s'",
	    (int)len, s));
}

/* Writes "name:line: problem" into the caller's buffer; returns -1. */
static int
tmpl_error(struct tmpl_parser *p, size_t line, const char *fmt, ...)
{
	va_list		args;
	int		n;

	if (p->err == NULL || p->errlen == 0)
		return (-1);

	n = snprintf(p->err, p->errlen, "%s:%zu: ", p->name, line);
	if (n < 0 || (size_t)n >= p->errlen)
		return (-1);

	va_start(args, fmt);
	(void)vsnprintf(p->err + n, p->errlen - n, fmt, args);
	va_end(args);

	return (-1);
}

/*
 * Returns the template of entry e with indent in front of every line of
 * its source, compiling it on first use. Indenting the source rather than
 * the output keeps data that contains newlines unindented, as the spec
 * wants. Empty lines stay empty so no trailing blanks appear.
 */
static struct tmpl *
tmpl_variant(struct tmpl_set *set, struct tmpl_entry *e, const char *indent,
    size_t indentlen)
{
	struct tmpl_variant	*v;
	struct kore_buf		buf;
	const char		*nl;
	size_t			i, next;
	char			err[128];

	for (v = e->variants; v != NULL; v = v->next) {
		if (v->indentlen == indentlen &&
		    memcmp(v->indent, indent, indentlen) == 0)
			return (v->tmpl);
	}

	kore_buf_init(&buf, e->srclen + indentlen * 8 + 1);
	for (i = 0; i < e->srclen; i = next) {
		nl = memchr(e->src + i, '\n', e->srclen - i);
		next = nl != NULL ? (size_t)(nl - e->src) + 1 : e->srclen;
		if (e->src[i] != '\n' &&
		    !(e->src[i] == '\r' && i + 1 < e->srclen &&
		    e->src[i + 1] == '\n'))
			kore_buf_append(&buf, indent, indentlen);
		kore_buf_append(&buf, e->src + i, next - i);
	}

	v = kore_calloc(1, sizeof(*v));
	v->indent = kore_malloc(indentlen);
	memcpy(v->indent, indent, indentlen);
	v->indentlen = indentlen;

	/* Cannot fail: it compiled unindented and only blanks were added. */
	v->tmpl = tmpl_compile(set, e->name, (const char *)buf.data,
	    buf.offset, err, sizeof(err));
	kore_buf_cleanup(&buf);

	v->next = e->variants;
	e->variants = v;

	return (v->tmpl);
}

static void
tmpl_render_nodes(struct tmpl_state *st, const struct tmpl *t, size_t i,
    size_t end)
{
	const struct tmpl_node	*n;
	struct kore_json_item	*item;

	for (; i < end && !st->overflow; i++) {
		n = &t->nodes[i];
		switch (n->type) {
		case TMPL_NODE_TEXT:
			tmpl_put(&st->out, t->text + n->off, n->len);
			break;
		case TMPL_NODE_ESCAPED:
		case TMPL_NODE_RAW:
			item = tmpl_lookup(st, t->names + n->off, n->len);
			if (item != NULL) {
				tmpl_interpolate(&st->out, item,
				    n->type == TMPL_NODE_ESCAPED && !st->plain);
			}
			break;
		case TMPL_NODE_SECTION:
			item = tmpl_lookup(st, t->names + n->off, n->len);
			if (tmpl_truthy(item))
				tmpl_render_section(st, t, i, item);
			i += n->span;
			break;
		case TMPL_NODE_INVERTED:
			item = tmpl_lookup(st, t->names + n->off, n->len);
			if (!tmpl_truthy(item) && tmpl_enter(st)) {
				tmpl_render_nodes(st, t, i + 1,
				    i + 1 + n->span);
				st->depth--;
			}
			i += n->span;
			break;
		case TMPL_NODE_PARTIAL:
			tmpl_render_partial(st, t, n);
			break;
		}
	}
}

/* A list renders the body once per element, anything else once. */
static void
tmpl_render_section(struct tmpl_state *st, const struct tmpl *t, size_t i,
    struct kore_json_item *item)
{
	struct kore_json_item	*elm;
	size_t			first, end;

	if (!tmpl_enter(st))
		return;

	first = i + 1;
	end = first + t->nodes[i].span;

	if (item->type == KORE_JSON_TYPE_ARRAY) {
		TAILQ_FOREACH(elm, &item->data.items, list) {
			st->stack[st->nstack++] = elm;
			tmpl_render_nodes(st, t, first, end);
			st->nstack--;
			if (st->overflow)
				break;
		}
	} else {
		st->stack[st->nstack++] = item;
		tmpl_render_nodes(st, t, first, end);
		st->nstack--;
	}

	st->depth--;
}

/* A partial that was never added renders as nothing, as the spec says. */
static void
tmpl_render_partial(struct tmpl_state *st, const struct tmpl *t,
    const struct tmpl_node *n)
{
	struct tmpl_entry	*e;
	struct tmpl		*pt;

	e = n->partial;
	if (e->tmpl == NULL)
		return;

	if (n->len > 0)
		pt = tmpl_variant(st->set, e, t->names + n->off, n->len);
	else
		pt = e->tmpl;

	if (pt == NULL || !tmpl_enter(st))
		return;

	tmpl_render_nodes(st, pt, 0, pt->nnodes);
	st->depth--;
}

/* Counts one more nesting level, or stops the whole render at the limit. */
static int
tmpl_enter(struct tmpl_state *st)
{
	if (st->depth >= TMPL_DEPTH_MAX) {
		st->overflow = 1;
		return (0);
	}

	st->depth++;

	return (1);
}

/*
 * The first segment is looked up in each context from the top of the stack
 * down; the rest only inside what it found, so a.b does not fall back to
 * an outer b when the a it found lacks one.
 */
static struct kore_json_item *
tmpl_lookup(struct tmpl_state *st, const char *seg, size_t nseg)
{
	struct kore_json_item	*item;
	size_t			i;

	if (st->nstack == 0)
		return (NULL);

	if (nseg == 0)
		return (st->stack[st->nstack - 1]);

	item = NULL;
	for (i = st->nstack; i > 0; i--) {
		if ((item = tmpl_child(st->stack[i - 1], seg)) != NULL)
			break;
	}

	while (item != NULL && --nseg > 0) {
		seg += strlen(seg) + 1;
		item = tmpl_child(item, seg);
	}

	return (item);
}

static struct kore_json_item *
tmpl_child(struct kore_json_item *obj, const char *key)
{
	struct kore_json_item	*item;

	if (obj->type != KORE_JSON_TYPE_OBJECT)
		return (NULL);

	TAILQ_FOREACH(item, &obj->data.items, list) {
		if (item->name != NULL && strcmp(item->name, key) == 0)
			return (item);
	}

	return (NULL);
}

static int
tmpl_truthy(const struct kore_json_item *item)
{
	if (item == NULL)
		return (0);

	switch (item->type) {
	case KORE_JSON_TYPE_LITERAL:
		return (item->data.literal == KORE_JSON_TRUE);
	case KORE_JSON_TYPE_ARRAY:
		return (!TAILQ_EMPTY(&item->data.items));
	case KORE_JSON_TYPE_STRING:
		return (item->data.string[0] != '\0');
	case KORE_JSON_TYPE_NUMBER:
		/* NaN compares unequal to itself and is false too. */
		return (item->data.number == item->data.number &&
		    item->data.number != 0.0);
	case KORE_JSON_TYPE_INTEGER:
		return (item->data.s64 != 0);
	case KORE_JSON_TYPE_INTEGER_U64:
		return (item->data.u64 != 0);
	default:
		return (1);
	}
}

/* Objects and lists have no text form and interpolate as nothing. */
static void
tmpl_interpolate(struct tmpl_out *o, const struct kore_json_item *item,
    int escape)
{
	char		num[64];
	int		n;

	switch (item->type) {
	case KORE_JSON_TYPE_STRING:
		if (escape) {
			tmpl_escape(o, item->data.string,
			    strlen(item->data.string));
		} else {
			tmpl_put(o, item->data.string,
			    strlen(item->data.string));
		}
		return;
	case KORE_JSON_TYPE_LITERAL:
		if (item->data.literal == KORE_JSON_TRUE)
			tmpl_put(o, "true", 4);
		else if (item->data.literal == KORE_JSON_FALSE)
			tmpl_put(o, "false", 5);
		return;
	case KORE_JSON_TYPE_NUMBER:
		/* 15 digits: 1.21 prints as 1.21, not 1.2099999999999999. */
		n = snprintf(num, sizeof(num), "%.15g", item->data.number);
		break;
	case KORE_JSON_TYPE_INTEGER:
		n = snprintf(num, sizeof(num), "%" PRId64, item->data.s64);
		break;
	case KORE_JSON_TYPE_INTEGER_U64:
		n = snprintf(num, sizeof(num), "%" PRIu64, item->data.u64);
		break;
	default:
		return;
	}

	/* Digits, signs, '.', 'e', "inf", "nan": nothing to escape. */
	if (n > 0 && (size_t)n < sizeof(num))
		tmpl_put(o, num, n);
}

static void
tmpl_escape(struct tmpl_out *o, const char *s, size_t len)
{
	const char	*ent;
	size_t		i, run, elen;

	run = 0;
	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '&':
			ent = "&amp;";
			elen = 5;
			break;
		case '<':
			ent = "&lt;";
			elen = 4;
			break;
		case '>':
			ent = "&gt;";
			elen = 4;
			break;
		case '"':
			ent = "&quot;";
			elen = 6;
			break;
		case '\'':
			ent = "&#39;";
			elen = 5;
			break;
		default:
			continue;
		}
		tmpl_put(o, s + run, i - run);
		tmpl_put(o, ent, elen);
		run = i + 1;
	}

	tmpl_put(o, s + run, len - run);
}

static void
tmpl_put(struct tmpl_out *o, const void *p, size_t len)
{
	if (len == 0)
		return;

	if (len > sizeof(o->data) - o->len) {
		tmpl_flush(o);
		if (len >= sizeof(o->data)) {
			kore_buf_append(o->buf, p, len);
			return;
		}
	}

	memcpy(o->data + o->len, p, len);
	o->len += len;
}

static void
tmpl_flush(struct tmpl_out *o)
{
	if (o->len == 0)
		return;

	kore_buf_append(o->buf, o->data, o->len);
	o->len = 0;
}
