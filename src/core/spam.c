/*
 * spam.c: a form's spam rules (see spam.h). The links are counted over
 * all values together, as a spammer spreads them across fields; a blocked
 * word is matched whole, so "sex" does not catch "Essex" nor "casino"
 * "casinos" (list both when both are meant).
 */

#include <sys/types.h>

#include <string.h>
#include <strings.h>

#include "core/forms.h"
#include "core/spam.h"
#include "core/validate.h"

static int	spam_word_char(unsigned char);
static enum spam_rule spam_value_breaks(const struct form *, const char *,
		    size_t *);

enum spam_rule
spam_rules_broken(const struct form *form, const struct form_input *in)
{
	const struct field_input	*fi;
	enum spam_rule			 rule;
	size_t				 i, k, links;

	if (form->max_links < 0 && form->nblocked == 0)
		return (SPAM_RULE_NONE);
	links = 0;
	for (i = 0; i < form->nfields; i++) {
		fi = &in->fields[i];
		for (k = 0; k < fi->nvals; k++) {
			rule = spam_value_breaks(form, fi->vals[k], &links);
			if (rule != SPAM_RULE_NONE)
				return (rule);
		}
	}
	if (in->subject != NULL)
		return (spam_value_breaks(form, in->subject, &links));
	return (SPAM_RULE_NONE);
}

/* Adds s's links to *links; the rule that s (so far) breaks. */
static enum spam_rule
spam_value_breaks(const struct form *form, const char *s, size_t *links)
{
	size_t		i;

	*links += spam_links_count(s);
	if (form->max_links >= 0 && *links > (size_t)form->max_links)
		return (SPAM_RULE_LINKS);
	for (i = 0; i < form->nblocked; i++) {
		if (spam_word_find(s, form->blocked_words[i]))
			return (SPAM_RULE_WORD);
	}
	return (SPAM_RULE_NONE);
}

size_t
spam_links_count(const char *s)
{
	const char	*p;
	size_t		 n;

	n = 0;
	for (p = s; (p = strpbrk(p, "hH")) != NULL; p++) {
		if (strncasecmp(p, "http://", 7) == 0 ||
		    strncasecmp(p, "https://", 8) == 0)
			n++;
	}
	return (n);
}

int
spam_word_find(const char *s, const char *word)
{
	const char	*p;
	size_t		 n;

	n = strlen(word);
	if (n == 0)
		return (0);
	for (p = s; (p = strcasestr(p, word)) != NULL; p++) {
		if ((p == s || !spam_word_char((unsigned char)p[-1])) &&
		    !spam_word_char((unsigned char)p[n]))
			return (1);
	}
	return (0);
}

/* Letters, digits and any byte of a multi-byte UTF-8 character. */
static int
spam_word_char(unsigned char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c >= 0x80);
}
