/*
 * spam.h: a form's own spam rules (SPEC section 10, the form key "spam"),
 * applied to a submission's values. Pure functions with no Kore server,
 * so they are unit-tested directly; the honeypot, the fill time, the
 * rate limit and the challenge are the web layer's.
 */

#ifndef FORMWORK_SPAM_H
#define FORMWORK_SPAM_H

#include <stddef.h>

struct form;
struct form_input;

/* Which rule a submission breaks (spam_rules_broken). */
enum spam_rule {
	SPAM_RULE_NONE = 0,
	SPAM_RULE_LINKS,	/* more links than spam.max_links */
	SPAM_RULE_WORD,		/* one of spam.blocked_words */
};

/*
 * The first of form's rules that in's values (and its kept _subject)
 * break, or SPAM_RULE_NONE; a form without rules costs a test of two
 * fields.
 */
enum spam_rule	spam_rules_broken(const struct form *,
		    const struct form_input *);

/* The number of "http://" and "https://" in s, in any case. */
size_t		spam_links_count(const char *s);

/*
 * 1 when s holds word (lower case) as a whole word, compared without
 * case for ASCII letters: the characters around it are not letters,
 * digits or parts of a multi-byte character.
 */
int		spam_word_find(const char *s, const char *word);

#endif
