/*
 * forms.h: form definitions declared in conf/forms/<slug>.json.
 *
 * The server's forms are this module's: loaded once by the parent at
 * start-up with forms_load() (workers inherit them across fork) and
 * read-only afterwards, through forms_loaded(). A bad file stops start-up
 * with a message naming the file, the field and the problem.
 */

#ifndef FORMWORK_FORMS_H
#define FORMWORK_FORMS_H

#include <sys/queue.h>

#include <regex.h>
#include <stddef.h>

enum field_type {
	FIELD_TEXT, FIELD_EMAIL, FIELD_TEXTAREA, FIELD_NUMBER, FIELD_INTEGER,
	FIELD_URL, FIELD_TEL, FIELD_DATE, FIELD_SELECT, FIELD_RADIO,
	FIELD_CHECKBOX, FIELD_HIDDEN,
};

struct form_option {
	char			*value;
	char			*label;
};

struct form_field {
	char			*name;
	char			*label;
	char			*help;		/* may be NULL */
	char			*placeholder;	/* may be NULL */
	char			*autocomplete;	/* may be NULL */
	char			*value;		/* hidden value / checkbox value */
	enum field_type		 type;
	int			 required;
	int			 unique;
	int			 multiple;	/* checkbox with options */
	long			 min_length;	/* -1 when unset */
	long			 max_length;	/* -1 when unset */
	int			 has_min;
	int			 has_max;
	double			 min;		/* number, integer */
	double			 max;
	char			*min_date;	/* date: YYYY-MM-DD or NULL */
	char			*max_date;
	char			*pattern;	/* POSIX ERE, whole value */
	char			*pattern_message;
	regex_t			 pattern_re;
	struct form_option	*options;
	size_t			 noptions;
};

struct form_action {
	char			*type;		/* "email", "autoreply", "webhook" */
	/* What its jobs are for, as pages show it (an address, a URL). */
	char			*target;
	int			 max_attempts;
	/* Milliseconds before each retry; NULL: config_retry()'s. */
	u_int64_t		*retry_ms;
	size_t			 nretry;

	/* email: addresses (mime_address_ok), each list may be empty. */
	char			**to;
	size_t			 nto;
	char			**cc;
	size_t			 ncc;
	char			**bcc;
	size_t			 nbcc;
	/* email: the field whose value is the Reply-To, or NULL. */
	char			*reply_to;
	/* email, autoreply: a Mustache template over the values, or NULL. */
	char			*subject;
	/* email, autoreply: NAME of templates/mail/NAME.txt (and .html). */
	char			*template;
	/* autoreply: the email field that holds the visitor's address. */
	char			*field;

	char			*url;		/* webhook */
	/* webhook: the variable that holds its whsec_ secret(s), or NULL. */
	char			*secret_env;
};

/* A form's challenge (SPEC section 10): the provider whose widget it shows. */
enum form_captcha {
	FORM_CAPTCHA_NONE = 0,
	FORM_CAPTCHA_TURNSTILE,
	FORM_CAPTCHA_HCAPTCHA,
};

struct form {
	char			*slug;
	char			*title;
	char			*description;	/* may be NULL */
	char			*success_message;
	char			*path;		/* the file it came from */
	struct form_field	*fields;
	size_t			 nfields;
	struct form_action	*actions;
	size_t			 nactions;

	/*
	 * Posting from the owner's own pages (SPEC section 10). All unset
	 * (NULL, 0, -1) in a form that does not use them, which then
	 * behaves as one written before they existed.
	 */
	char			**origins;	/* allowed_origins, normalised */
	size_t			  norigins;
	char			 *redirect;	/* absolute URL, or NULL */
	int			  allow_subject;
	long			  max_links;	/* spam.max_links; -1: none */
	char			**blocked_words; /* spam.blocked_words, lower */
	size_t			  nblocked;
	enum form_captcha	  captcha;
	char			 *captcha_site_key;

	TAILQ_ENTRY(form)	 list;
};

TAILQ_HEAD(form_list, form);

/*
 * Parses one definition. path names the file in messages and its basename
 * must equal the slug. On error returns NULL with "path: problem" in err.
 * Free the result with form_free().
 */
struct form	*form_parse(const char *path, const char *json, size_t len,
		    char *err, size_t errlen);
void		 form_free(struct form *);

/*
 * Loads every *.json in dir, sorted by file name, into list. Returns -1
 * with a message in err on the first bad file (or an empty directory).
 */
int		 forms_load_dir(const char *dir, struct form_list *list,
		    char *err, size_t errlen);
void		 forms_free(struct form_list *);

/* The parent, at start-up: forms_load_dir() into the server's forms. */
int		 forms_load(const char *dir, char *err, size_t errlen);

/* The server's forms, in file name order (read-only). */
struct form_list	*forms_loaded(void);

struct form		*forms_find(struct form_list *, const char *slug);
struct form_field	*form_field_find(struct form *, const char *name);
const char		*form_field_type_name(enum field_type);

#define FORM_MAX_ACTIONS	16

/* Field names starting with '_' belong to Formwork itself. */
#define FORM_KEY_FIELD		"_key"
#define FORM_CSRF_FIELD		"_csrf"
#define FORM_HONEYPOT_FIELD	"_homepage"

/*
 * Reserved for posts from the owner's own pages (SPEC section 10): the
 * address to go to after sending, the notification's subject and
 * Reply-To, and the honeypot under the name other services give it.
 * With the challenge's token (FORM_CAPTCHA_*_FIELD) they are read, never
 * stored as values.
 */
#define FORM_NEXT_FIELD		"_next"
#define FORM_SUBJECT_FIELD	"_subject"
#define FORM_REPLYTO_FIELD	"_replyto"
#define FORM_GOTCHA_FIELD	"_gotcha"
#define FORM_TURNSTILE_FIELD	"cf-turnstile-response"
#define FORM_HCAPTCHA_FIELD	"h-captcha-response"

#define FORM_MAX_ORIGINS	32
#define FORM_MAX_BLOCKED	200

/* The name of the field a form's challenge token arrives in, or NULL. */
const char	*form_captcha_field(const struct form *);

#endif
