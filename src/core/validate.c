/*
 * validate.c: the rules of each field type and constraint, applied to a
 * decoded form body. Messages are written for the visitor, naming the
 * field by its label and saying what to do.
 *
 * It owns the values it copies into struct form_input (kore_malloc'd,
 * freed by validate_cleanup) and never touches the network or the store.
 */

#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <sodium.h>

#include "core/body.h"
#include "core/forms.h"
#include "core/utf8.h"
#include "core/validate.h"

static void	validate_fail(struct form_input *, struct field_input *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
static void	validate_field(struct form_input *, struct field_input *);
static void	validate_value(struct form_input *, struct field_input *,
		    size_t);
static int	validate_has(const struct field_input *, const char *);
static char	*validate_normalise(const struct form_field *, const char *,
		    size_t);
static int	validate_option(const struct form_field *, const char *);
static int	validate_url(const char *);
static int	validate_tel(const char *);
static int	validate_reserved(struct form *, struct body_field *,
		    struct form_input *);
static void	validate_reserved_clean(struct form *, struct form_input *);

/*
 * Formwork's own fields, kept in the form_input and never among the
 * values: where each is kept. Form fields start with a letter and hold
 * no '-', so a name that does either is one of these or an error.
 */
static const struct {
	const char	*name;
	size_t		 off;	/* of its char * in struct form_input */
} validate_reserved_fields[] = {
	{ FORM_KEY_FIELD, offsetof(struct form_input, key) },
	{ FORM_CSRF_FIELD, offsetof(struct form_input, csrf) },
	{ FORM_NEXT_FIELD, offsetof(struct form_input, next) },
	{ FORM_SUBJECT_FIELD, offsetof(struct form_input, subject) },
	{ FORM_REPLYTO_FIELD, offsetof(struct form_input, reply_to) },
	{ FORM_TURNSTILE_FIELD, offsetof(struct form_input, captcha) },
	{ FORM_HCAPTCHA_FIELD, offsetof(struct form_input, captcha) },
};

enum validate_status
validate_form(struct form *form, struct body *body, struct form_input *in)
{
	struct body_field	*bf;
	struct field_input	*fi;
	const char		*name;
	size_t			 i;

	memset(in, 0, sizeof(*in));
	in->form = form;
	in->fields = kore_calloc(form->nfields, sizeof(*in->fields));
	for (i = 0; i < form->nfields; i++)
		in->fields[i].field = &form->fields[i];

	TAILQ_FOREACH(bf, &body->fields, list) {
		name = bf->name;
		if (name[0] == '_' || strchr(name, '-') != NULL) {
			switch (validate_reserved(form, bf, in)) {
			case -1:
				return (VALIDATE_BAD_REQUEST);
			case 1:
				continue;
			default:
				break;	/* not one: "no field called" */
			}
		}

		fi = NULL;
		for (i = 0; i < form->nfields; i++) {
			if (strcmp(form->fields[i].name, name) == 0) {
				fi = &in->fields[i];
				break;
			}
		}
		if (fi == NULL) {
			(void)snprintf(in->problem, sizeof(in->problem),
			    "This form has no field called '%.64s'.", name);
			return (VALIDATE_BAD_REQUEST);
		}
		if (fi->nvals > 0 && !fi->field->multiple) {
			(void)snprintf(in->problem, sizeof(in->problem),
			    "The field '%s' was sent more than once.", name);
			return (VALIDATE_BAD_REQUEST);
		}
		if (fi->field->multiple && fi->nvals >= fi->field->noptions) {
			(void)snprintf(in->problem, sizeof(in->problem),
			    "The field '%s' was sent more times than it has "
			    "options.", name);
			return (VALIDATE_BAD_REQUEST);
		}
		if (fi->field->multiple && validate_has(fi, bf->value)) {
			(void)snprintf(in->problem, sizeof(in->problem),
			    "The field '%s' holds the same option twice.",
			    name);
			return (VALIDATE_BAD_REQUEST);
		}
		fi->vals = kore_realloc(fi->vals,
		    (fi->nvals + 1) * sizeof(*fi->vals));
		fi->vals[fi->nvals++] = validate_normalise(fi->field,
		    bf->value, bf->len);
		/* A NUL would silently cut the value short: refuse it. */
		if (strlen(bf->value) != bf->len)
			validate_fail(in, fi, "%s contains control characters; "
			    "please use plain text only.", fi->field->label);
	}

	validate_reserved_clean(form, in);
	for (i = 0; i < form->nfields; i++)
		validate_field(in, &in->fields[i]);

	return (in->nerrors > 0 ? VALIDATE_INVALID : VALIDATE_OK);
}

/*
 * Takes bf when it is one of Formwork's own fields: 1 when taken, 0 when
 * it is none of them, -1 (with in->problem) when it came twice. The
 * honeypot, under either name, only needs to be seen filled; a
 * challenge's token other than the form's own is not kept.
 */
static int
validate_reserved(struct form *form, struct body_field *bf,
    struct form_input *in)
{
	const char	*own;
	char		**slot;
	size_t		  i;

	if (strcmp(bf->name, FORM_HONEYPOT_FIELD) == 0 ||
	    strcmp(bf->name, FORM_GOTCHA_FIELD) == 0) {
		if (bf->len > 0)
			in->honeypot = 1;
		return (1);
	}
	for (i = 0; i < sizeof(validate_reserved_fields) /
	    sizeof(validate_reserved_fields[0]); i++) {
		if (strcmp(bf->name, validate_reserved_fields[i].name) == 0)
			break;
	}
	if (i == sizeof(validate_reserved_fields) /
	    sizeof(validate_reserved_fields[0]))
		return (0);
	slot = (char **)((char *)in + validate_reserved_fields[i].off);
	if (slot == &in->captcha && ((own = form_captcha_field(form)) == NULL ||
	    strcmp(own, bf->name) != 0))
		return (1);
	if (*slot != NULL) {
		(void)snprintf(in->problem, sizeof(in->problem), "The form "
		    "data holds '%s' more than once.", bf->name);
		return (-1);
	}
	*slot = kore_strdup(bf->value);
	return (1);
}

/*
 * What is kept of the reserved values: a subject only where the form
 * allows one, as one line of at most VALIDATE_SUBJECT_MAX characters
 * (it becomes a mail header); a Reply-To only when it is an address.
 * Anything else is dropped rather than refused: the visitor cannot see
 * these fields, and the submission is worth more than they are.
 */
static void
validate_reserved_clean(struct form *form, struct form_input *in)
{
	char		*s, *p;
	size_t		 len, n;

	if ((s = in->subject) != NULL) {
		len = strlen(s);
		for (p = s; *p != '\0'; p++) {
			if (*p == '\r' || *p == '\n' || *p == '\t')
				*p = ' ';
		}
		while (len > 0 && s[len - 1] == ' ')
			s[--len] = '\0';
		for (n = 0; s[n] == ' '; n++)
			;
		memmove(s, s + n, len - n + 1);
		len -= n;
		if (!form->allow_subject || len == 0 || !utf8_valid(s, len) ||
		    utf8_has_controls(s, len)) {
			kore_free(in->subject);
			in->subject = NULL;
		} else if (utf8_length(s, len) > VALIDATE_SUBJECT_MAX) {
			/* Cut after the last whole character that fits. */
			for (p = s, n = 0; n < VALIDATE_SUBJECT_MAX; n++) {
				do
					p++;
				while (((unsigned char)*p & 0xc0) == 0x80);
			}
			*p = '\0';
		}
	}
	if (in->reply_to != NULL && (strlen(in->reply_to) > 254 ||
	    !validate_email(in->reply_to))) {
		kore_free(in->reply_to);
		in->reply_to = NULL;
	}
}

void
validate_cleanup(struct form_input *in)
{
	size_t		i, k;

	if (in->fields != NULL && in->form != NULL) {
		for (i = 0; i < in->form->nfields; i++) {
			for (k = 0; k < in->fields[i].nvals; k++)
				kore_free(in->fields[i].vals[k]);
			kore_free(in->fields[i].vals);
		}
	}
	kore_free(in->fields);
	kore_free(in->key);
	kore_free(in->csrf);
	kore_free(in->next);
	kore_free(in->subject);
	kore_free(in->reply_to);
	kore_free(in->captcha);
	in->fields = NULL;
	in->key = NULL;
	in->csrf = NULL;
	in->next = NULL;
	in->subject = NULL;
	in->reply_to = NULL;
	in->captcha = NULL;
}

/*
 * Hashes field names and values, length-prefixed so that no two different
 * submissions can encode to the same bytes.
 */
void
validate_hash(const struct form_input *in, char out[VALIDATE_HASH_LEN + 1])
{
	crypto_generichash_state	 st;
	unsigned char			 h[VALIDATE_HASH_LEN / 2];
	u_int64_t			 n;
	size_t				 i, k;
	const struct field_input	*fi;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	for (i = 0; i < in->form->nfields; i++) {
		fi = &in->fields[i];
		n = strlen(fi->field->name);
		crypto_generichash_update(&st, (unsigned char *)&n, sizeof(n));
		crypto_generichash_update(&st,
		    (const unsigned char *)fi->field->name, n);
		n = fi->nvals;
		crypto_generichash_update(&st, (unsigned char *)&n, sizeof(n));
		for (k = 0; k < fi->nvals; k++) {
			n = strlen(fi->vals[k]);
			crypto_generichash_update(&st, (unsigned char *)&n,
			    sizeof(n));
			crypto_generichash_update(&st,
			    (const unsigned char *)fi->vals[k], n);
		}
	}
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, VALIDATE_HASH_LEN + 1, h, sizeof(h));
}

/*
 * Trims surrounding white space from one-line values and turns CRLF into
 * LF in text areas, as browsers count a line break as one character.
 * Returns a kore_malloc'd copy that may still hold invalid bytes.
 */
static char *
validate_normalise(const struct form_field *fld, const char *v, size_t len)
{
	char		*out;
	size_t		 i, n;

	if (fld->type == FIELD_TEXTAREA) {
		out = kore_malloc(len + 1);
		for (i = 0, n = 0; i < len; i++) {
			if (v[i] == '\r' && i + 1 < len && v[i + 1] == '\n')
				continue;
			out[n++] = v[i];
		}
		/* Trailing blank lines and spaces carry no meaning. */
		while (n > 0 && isspace((unsigned char)out[n - 1]))
			n--;
		out[n] = '\0';
		return (out);
	}
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	out = kore_malloc(len + 1);
	memcpy(out, v, len);
	out[len] = '\0';
	return (out);
}

static void
validate_field(struct form_input *in, struct field_input *fi)
{
	const struct form_field	*fld = fi->field;
	size_t			 k;
	int			 empty;

	empty = fi->nvals == 0 || (fi->nvals == 1 && fi->vals[0][0] == '\0');
	if (empty) {
		if (!fld->required)
			return;
		switch (fld->type) {
		case FIELD_CHECKBOX:
			if (fld->multiple)
				validate_fail(in, fi, "Choose at least one "
				    "option for %s.", fld->label);
			else
				validate_fail(in, fi, "Tick this box to "
				    "continue.");
			break;
		case FIELD_SELECT:
		case FIELD_RADIO:
			validate_fail(in, fi, "Choose one of the options for "
			    "%s.", fld->label);
			break;
		default:
			validate_fail(in, fi, "%s is required.", fld->label);
			break;
		}
		return;
	}

	for (k = 0; k < fi->nvals && fi->error[0] == '\0'; k++)
		validate_value(in, fi, k);
}

static void
validate_value(struct form_input *in, struct field_input *fi, size_t k)
{
	const struct form_field	*fld = fi->field;
	const char		*v = fi->vals[k];
	size_t			 len, chars;
	double			 d;
	long long		 ll;
	char			*end;

	len = strlen(v);
	if (!utf8_valid(v, len)) {
		/* Not text: show nothing rather than broken bytes. */
		fi->vals[k][0] = '\0';
		validate_fail(in, fi, "%s contained bytes that are not valid "
		    "text (UTF-8); please type it again.", fld->label);
		return;
	}
	if (utf8_has_controls(v, len) || (fld->type != FIELD_TEXTAREA &&
	    (strchr(v, '\n') != NULL || strchr(v, '\r') != NULL))) {
		validate_fail(in, fi, "%s contains control characters; please "
		    "use plain text only.", fld->label);
		return;
	}

	chars = utf8_length(v, len);
	if (fld->min_length >= 0 && chars < (size_t)fld->min_length) {
		validate_fail(in, fi, "%s must be at least %ld characters "
		    "long (it is %zu).", fld->label, fld->min_length, chars);
		return;
	}
	if (fld->max_length >= 0 && chars > (size_t)fld->max_length) {
		validate_fail(in, fi, "%s must be at most %ld characters "
		    "long (it is %zu).", fld->label, fld->max_length, chars);
		return;
	}

	switch (fld->type) {
	case FIELD_EMAIL:
		if (!validate_email(v))
			validate_fail(in, fi, "Enter an email address like "
			    "name@example.com.");
		break;
	case FIELD_URL:
		if (!validate_url(v))
			validate_fail(in, fi, "Enter a web address starting "
			    "with http:// or https://.");
		break;
	case FIELD_TEL:
		if (!validate_tel(v))
			validate_fail(in, fi, "Enter a telephone number, using "
			    "digits, spaces and + - ( ) only.");
		break;
	case FIELD_DATE:
		if (!validate_date(v))
			validate_fail(in, fi, "Enter a date as YYYY-MM-DD, for "
			    "example 2026-03-31.");
		else if (fld->min_date && strcmp(v, fld->min_date) < 0)
			validate_fail(in, fi, "%s must be %s or later.",
			    fld->label, fld->min_date);
		else if (fld->max_date && strcmp(v, fld->max_date) > 0)
			validate_fail(in, fi, "%s must be %s or earlier.",
			    fld->label, fld->max_date);
		break;
	case FIELD_NUMBER:
	case FIELD_INTEGER:
		errno = 0;
		if (fld->type == FIELD_INTEGER) {
			ll = strtoll(v, &end, 10);
			d = (double)ll;
		} else {
			d = strtod(v, &end);
		}
		if (errno != 0 || end == v || *end != '\0' || !isfinite(d) ||
		    isspace((unsigned char)*v)) {
			validate_fail(in, fi, "Enter %s as a %s.", fld->label,
			    fld->type == FIELD_INTEGER ? "whole number" :
			    "number");
		} else if (fld->has_min && d < fld->min) {
			validate_fail(in, fi, "%s must be %g or more.",
			    fld->label, fld->min);
		} else if (fld->has_max && d > fld->max) {
			validate_fail(in, fi, "%s must be %g or less.",
			    fld->label, fld->max);
		}
		break;
	case FIELD_SELECT:
	case FIELD_RADIO:
		if (!validate_option(fld, v))
			validate_fail(in, fi, "Choose one of the options for "
			    "%s.", fld->label);
		break;
	case FIELD_CHECKBOX:
		if (fld->multiple ? !validate_option(fld, v) :
		    strcmp(v, fld->value) != 0)
			validate_fail(in, fi, "Choose from the options given "
			    "for %s.", fld->label);
		break;
	case FIELD_HIDDEN:
		if (strcmp(v, fld->value) != 0)
			validate_fail(in, fi, "The form was changed: reload it "
			    "and try again.");
		break;
	case FIELD_TEXT:
	case FIELD_TEXTAREA:
		break;
	}

	if (fi->error[0] == '\0' && fld->pattern != NULL &&
	    regexec(&fld->pattern_re, v, 0, NULL, 0) != 0) {
		if (fld->pattern_message != NULL)
			validate_fail(in, fi, "%s", fld->pattern_message);
		else
			validate_fail(in, fi, "%s is not in the expected "
			    "format.", fld->label);
	}
}

static void
validate_fail(struct form_input *in, struct field_input *fi,
    const char *fmt, ...)
{
	va_list		ap;

	if (fi->error[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(fi->error, sizeof(fi->error), fmt, ap);
	va_end(ap);
	in->nerrors++;
}

static int
validate_has(const struct field_input *fi, const char *v)
{
	size_t		i;

	for (i = 0; i < fi->nvals; i++) {
		if (strcmp(fi->vals[i], v) == 0)
			return (1);
	}
	return (0);
}

static int
validate_option(const struct form_field *fld, const char *v)
{
	size_t		i;

	for (i = 0; i < fld->noptions; i++) {
		if (strcmp(fld->options[i].value, v) == 0)
			return (1);
	}
	return (0);
}

int
validate_date(const char *s)
{
	static const int	mdays[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	int			y, m, d, i, leap;

	for (i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return (0);
		} else if (s[i] < '0' || s[i] > '9') {
			return (0);
		}
	}
	if (s[10] != '\0')
		return (0);
	/* Digits are checked above: read them without atoi's silence. */
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1 || m < 1 || m > 12 || d < 1)
		return (0);
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return (d <= mdays[m - 1] + (m == 2 && leap));
}

/*
 * The WHATWG "valid email address" rule, which is what a browser's
 * type=email accepts: a dot-atom local part, '@', and DNS labels. We also
 * require a dot in the domain, as an address on a bare host name is
 * almost always a typo in a public form. Non-ASCII is allowed for
 * internationalised addresses.
 */
int
validate_email(const char *s)
{
	const char	*at, *p;
	size_t		 label;
	int		 dots;

	if ((at = strchr(s, '@')) == NULL || at == s ||
	    strchr(at + 1, '@') != NULL || strlen(s) > 254 || at - s > 64)
		return (0);
	for (p = s; p < at; p++) {
		if ((unsigned char)*p >= 0x80 || isalnum((unsigned char)*p) ||
		    strchr(".!#$%&'*+/=?^_`{|}~-", *p) != NULL)
			continue;
		return (0);
	}
	if (s[0] == '.' || at[-1] == '.' || strstr(s, "..") != NULL)
		return (0);

	label = 0;
	dots = 0;
	for (p = at + 1; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return (0);
			label = 0;
			dots++;
			continue;
		}
		if (*p == '-' && label == 0)
			return (0);
		if (!((unsigned char)*p >= 0x80 || isalnum((unsigned char)*p) ||
		    *p == '-'))
			return (0);
		if (++label > 63)
			return (0);
	}
	return (label > 0 && dots > 0 && p[-1] != '-');
}

static int
validate_url(const char *s)
{
	const char	*host;

	if (strncasecmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (strncasecmp(s, "http://", 7) == 0)
		host = s + 7;
	else
		return (0);
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
		return (0);
	return (strpbrk(s, " \t<>\"") == NULL);
}

static int
validate_tel(const char *s)
{
	int		digits;

	for (digits = 0; *s != '\0'; s++) {
		if (isdigit((unsigned char)*s))
			digits++;
		else if (strchr(" +-().", *s) == NULL)
			return (0);
	}
	return (digits >= 3 && digits <= 20);
}
