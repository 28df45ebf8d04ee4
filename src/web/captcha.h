/*
 * captcha.h: the worker's challenge verifiers (SPEC section 10): a
 * form's Turnstile or hCaptcha token is checked with the provider's
 * siteverify call, a network round trip that must never stall the event
 * loop. The submission's handler queues a check here and sleeps; one of
 * the verifier threads makes the call (libcurl) and wakes it
 * (thread_queue.h, as for the password checker, whose reasons for
 * threads of its own hold here too).
 *
 * The protocol, the same for both providers: POST form-encoded secret,
 * response and remoteip; the answer is JSON {"success": true|false}.
 * What a verifier says is final only when it could be asked: a refused
 * connection, a time-out, another status than 200, an answer that is not
 * that JSON, or a secret the provider refuses make the check unusable,
 * and the caller stores the submission as spam instead of losing it.
 */

#ifndef FORMWORK_CAPTCHA_H
#define FORMWORK_CAPTCHA_H

#include "web/thread_queue.h"

struct form;
struct http_request;

/* The longest token accepted (Turnstile's are up to 2048 bytes). */
#define CAPTCHA_TOKEN_MAX	4096

enum captcha_verdict {
	CAPTCHA_PASSED = 0,
	CAPTCHA_FAILED,		/* the provider said no: ask again */
	CAPTCHA_UNUSABLE,	/* no answer to go by: store as spam */
};

struct captcha_check {
	struct thread_job	 job;	/* first; job.done: checked */
	const char		*url;		/* the siteverify address */
	char			*response;	/* the token (kore_malloc) */
	char			 remoteip[64];

	/* Set by the thread. */
	enum captcha_verdict	 verdict;
};

/*
 * What a provider's widget needs on a form page: its script, the class
 * of the element it fills, and the sources the page's CSP must allow
 * for its script, frames, styles and calls (that page's alone).
 */
struct captcha_widget {
	const char	*script;
	const char	*div_class;
	const char	*sources;
};

/* form's provider's widget, or NULL when the form has no challenge. */
const struct captcha_widget	*captcha_widget(const struct form *);

/*
 * Parent, at start-up: when some form has a challenge, checks that
 * FORMWORK_CAPTCHA_SECRET is set; 0, or -1 with a sentence in err.
 */
int	captcha_init(char *err, size_t errlen);

/* Starts and stops this worker's threads (none without challenges). */
void	captcha_start(void);
void	captcha_stop(void);

/* A check of form's token response, sent from remoteip. */
struct captcha_check	*captcha_check_new(const struct form *,
			    const char *response, const char *remoteip);

/* Queues c for req and puts req to sleep until it is checked. */
void	captcha_enqueue(struct captcha_check *, struct http_request *);

/* Frees c, or lets the thread free it when it still has it. */
void	captcha_release(struct captcha_check *);

#endif
