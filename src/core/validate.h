/*
 * validate.h: checks a parsed form body against its form definition.
 *
 * The result keeps every submitted value (normalised: trimmed, CRLF as LF)
 * so a 422 page can show them again, with one message per bad field.
 */

#ifndef FORMWORK_VALIDATE_H
#define FORMWORK_VALIDATE_H

#include <stddef.h>

struct body;
struct form;
struct form_field;

#define VALIDATE_MSG_MAX	192
#define VALIDATE_HASH_LEN	64	/* hex characters */

struct field_input {
	const struct form_field	*field;
	char			**vals;		/* kore_malloc'd */
	size_t			  nvals;
	char			  error[VALIDATE_MSG_MAX]; /* "" when fine */
};

struct form_input {
	struct form		*form;
	struct field_input	*fields;	/* form->nfields, form order */
	char			*key;		/* _key or NULL */
	char			*csrf;		/* _csrf or NULL */
	int			 honeypot;	/* a trap field was filled */

	/* Posts from the owner's own pages (SPEC section 10). */
	char			*next;		/* _next or NULL */
	char			*subject;	/* _subject, one line; NULL
						   unless the form allows it */
	char			*reply_to;	/* _replyto, an address, or NULL */
	char			*captcha;	/* the challenge's token or NULL */
	int			 challenge;	/* VALIDATE_CHALLENGE_* */
	size_t			 nerrors;
	char			 problem[VALIDATE_MSG_MAX]; /* a 400 reason */
};

/* Why a submission's challenge stopped it (form_input.challenge). */
#define VALIDATE_CHALLENGE_MISSING	1
#define VALIDATE_CHALLENGE_FAILED	2

/* The longest _subject kept, in characters. */
#define VALIDATE_SUBJECT_MAX	200

enum validate_status {
	VALIDATE_OK = 0,
	VALIDATE_INVALID,	/* field messages set: 422 */
	VALIDATE_BAD_REQUEST,	/* unknown or repeated field: 400 */
};

/* Fills in (always; free with validate_cleanup) from the body. */
enum validate_status	validate_form(struct form *, struct body *,
			    struct form_input *);
void			validate_cleanup(struct form_input *);

/* Hex BLAKE2b of the normalised values, for idempotency comparisons. */
void	validate_hash(const struct form_input *,
	    char out[VALIDATE_HASH_LEN + 1]);

/* Returns 1 for a real calendar date written YYYY-MM-DD. */
int	validate_date(const char *);

/* Returns 1 for a plausible email address (what browsers accept). */
int	validate_email(const char *);

#endif
