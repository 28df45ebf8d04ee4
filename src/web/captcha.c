/*
 * captcha.c: the challenge verifier threads (see captcha.h), on a
 * thread_queue.h queue of their own. A worker has CAPTCHA_THREADS of
 * them, so one slow provider answer does not hold up every other
 * visitor's.
 */

#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "core/config.h"
#include "core/forms.h"
#include "core/json_in.h"
#include "web/captcha.h"
#include "web/thread_queue.h"

#define CAPTCHA_THREADS		2
#define CAPTCHA_CONNECT_MS	3000L
#define CAPTCHA_TIMEOUT_MS	5000L
#define CAPTCHA_ANSWER_MAX	16384

#define CAPTCHA_TURNSTILE_URL \
	"https://challenges.cloudflare.com/turnstile/v0/siteverify"
#define CAPTCHA_HCAPTCHA_URL	"https://api.hcaptcha.com/siteverify"

/* As each provider's documentation gives them. */
static const struct captcha_widget	captcha_widgets[] = {
	[FORM_CAPTCHA_TURNSTILE] = {
		"https://challenges.cloudflare.com/turnstile/v0/api.js",
		"cf-turnstile", "https://challenges.cloudflare.com" },
	[FORM_CAPTCHA_HCAPTCHA] = {
		"https://js.hcaptcha.com/1/api.js",
		"h-captcha", "https://hcaptcha.com https://*.hcaptcha.com" },
};

static struct thread_queue	captcha_queue;
static int			captcha_threads;	/* parent's count */

static void			captcha_run(struct kore_task *);
static void			captcha_free(struct thread_job *);
static enum captcha_verdict	captcha_verify(CURL *,
				    const struct captcha_check *);
static enum captcha_verdict	captcha_answer(const struct kore_buf *);
static size_t			captcha_body(char *, size_t, size_t, void *);
static int			captcha_abort(void *, curl_off_t, curl_off_t,
				    curl_off_t, curl_off_t);

const struct captcha_widget *
captcha_widget(const struct form *form)
{
	if (form->captcha == FORM_CAPTCHA_NONE)
		return (NULL);
	return (&captcha_widgets[form->captcha]);
}

int
captcha_init(char *err, size_t errlen)
{
	struct form	*f;

	captcha_threads = 0;
	TAILQ_FOREACH(f, forms_loaded(), list) {
		if (f->captcha == FORM_CAPTCHA_NONE)
			continue;
		if (config.captcha_secret == NULL) {
			(void)snprintf(err, errlen, "%s: the form has a "
			    "'captcha', so FORMWORK_CAPTCHA_SECRET must be set "
			    "(the provider's secret key)", f->path);
			return (-1);
		}
		captcha_threads = CAPTCHA_THREADS;
	}
	return (0);
}

void
captcha_start(void)
{
	if (captcha_threads > 0)
		thread_queue_start(&captcha_queue, "captcha verifier",
		    (u_int64_t)captcha_threads, captcha_run);
}

void
captcha_stop(void)
{
	thread_queue_stop(&captcha_queue);
}

struct captcha_check *
captcha_check_new(const struct form *form, const char *response,
    const char *remoteip)
{
	struct captcha_check	*c;

	c = kore_calloc(1, sizeof(*c));
	c->job.free = captcha_free;
	if (config.captcha_verify_url != NULL)
		c->url = config.captcha_verify_url;
	else if (form->captcha == FORM_CAPTCHA_TURNSTILE)
		c->url = CAPTCHA_TURNSTILE_URL;
	else
		c->url = CAPTCHA_HCAPTCHA_URL;
	c->response = kore_strdup(response);
	(void)snprintf(c->remoteip, sizeof(c->remoteip), "%s", remoteip);
	return (c);
}

void
captcha_enqueue(struct captcha_check *c, struct http_request *req)
{
	thread_queue_add(&captcha_queue, &c->job, req);
}

void
captcha_release(struct captcha_check *c)
{
	if (c != NULL)
		thread_job_release(&c->job);
}

static void
captcha_free(struct thread_job *job)
{
	struct captcha_check	*c = (struct captcha_check *)job;

	kore_free(c->response);
	kore_free(c);
}

/*
 * One thread: checks one token at a time, in arrival order, until the
 * worker stops and none is left. Its libcurl handle is kept, so calls
 * to the same provider reuse their connection.
 */
static void
captcha_run(struct kore_task *t)
{
	struct captcha_check	*c;
	CURL			*curl;

	curl = curl_easy_init();
	while ((c = (struct captcha_check *)thread_queue_next(
	    &captcha_queue)) != NULL) {
		if (curl == NULL) {
			kore_log(LOG_ERR, "captcha: libcurl cannot start");
			c->verdict = CAPTCHA_UNUSABLE;
		} else {
			c->verdict = captcha_verify(curl, c);
		}
		thread_queue_finish(&captcha_queue, t, &c->job);
	}
	if (curl != NULL)
		curl_easy_cleanup(curl);
}

/* The siteverify call; every way it can go wrong is logged here, once. */
static enum captcha_verdict
captcha_verify(CURL *curl, const struct captcha_check *c)
{
	struct kore_buf		 form, answer;
	enum captcha_verdict	 v;
	CURLcode		 rc;
	long			 status;
	char			*s;

	kore_buf_init(&form, 256);
	s = curl_easy_escape(curl, config.captcha_secret, 0);
	kore_buf_appendf(&form, "secret=%s", s ? s : "");
	curl_free(s);
	s = curl_easy_escape(curl, c->response, 0);
	kore_buf_appendf(&form, "&response=%s", s ? s : "");
	curl_free(s);
	s = curl_easy_escape(curl, c->remoteip, 0);
	kore_buf_appendf(&form, "&remoteip=%s", s ? s : "");
	curl_free(s);
	kore_buf_init(&answer, 512);

	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, c->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, (char *)form.data);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)form.offset);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, captcha_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CAPTCHA_CONNECT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, CAPTCHA_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, captcha_abort);

	rc = curl_easy_perform(curl);
	status = 0;
	(void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK) {
		kore_log(LOG_WARNING, "captcha: %s: %s", c->url,
		    curl_easy_strerror(rc));
		v = CAPTCHA_UNUSABLE;
	} else if (status != 200) {
		kore_log(LOG_WARNING, "captcha: %s answered %ld", c->url,
		    status);
		v = CAPTCHA_UNUSABLE;
	} else if ((v = captcha_answer(&answer)) == CAPTCHA_UNUSABLE) {
		kore_log(LOG_WARNING, "captcha: %s: not a siteverify answer, "
		    "or the secret was refused", c->url);
	}
	kore_buf_cleanup(&answer);
	kore_buf_cleanup(&form);
	return (v);
}

/*
 * {"success": true} passes and {"success": false} fails, unless its
 * error-codes blame the secret (then no visitor could pass: the
 * provider cannot be used); anything else is no answer.
 */
static enum captcha_verdict
captcha_answer(const struct kore_buf *answer)
{
	struct kore_json	 j;
	struct kore_json_item	*ok, *codes, *it;
	struct kore_buf		 clean;
	enum captcha_verdict	 v;
	const char		*why;

	v = CAPTCHA_UNUSABLE;
	kore_buf_init(&clean, answer->offset + 16);
	if (json_in_decode(answer->data, answer->offset, &clean, &why) == -1) {
		kore_buf_cleanup(&clean);
		return (v);
	}
	kore_json_init(&j, clean.data, clean.offset);
	if (kore_json_parse(&j) && j.root->type == KORE_JSON_TYPE_OBJECT &&
	    (ok = kore_json_find(j.root, "success",
	    KORE_JSON_TYPE_LITERAL)) != NULL &&
	    ok->data.literal != KORE_JSON_NULL) {
		v = ok->data.literal == KORE_JSON_TRUE ? CAPTCHA_PASSED :
		    CAPTCHA_FAILED;
		codes = kore_json_find_array(j.root, "error-codes");
		if (v == CAPTCHA_FAILED && codes != NULL) {
			TAILQ_FOREACH(it, &codes->data.items, list) {
				if (it->type == KORE_JSON_TYPE_STRING &&
				    strstr(it->data.string, "input-secret"))
					v = CAPTCHA_UNUSABLE;
			}
		}
	}
	kore_json_cleanup(&j);
	kore_buf_cleanup(&clean);
	return (v);
}

/* libcurl's write callback: keeps the answer, up to a limit. */
static size_t
captcha_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct kore_buf	*answer = arg;

	if (answer->offset + size * nmemb > CAPTCHA_ANSWER_MAX)
		return (0);
	kore_buf_append(answer, ptr, size * nmemb);
	return (size * nmemb);
}

/* libcurl's progress callback: a stopping worker gives up at once. */
static int
captcha_abort(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	return (worker_thread_stopping(&captcha_queue.wt));
}
