/*
 * action_email.c: the email action. It builds a MIME message (UTF-8 text,
 * base64 body, RFC 2047 subject) listing what was submitted, and sends it
 * over SMTP with libcurl to FORMWORK_SMTP_URL, or, when no SMTP server is
 * configured, writes it to the outbox directory (one .eml file, written
 * to a temporary name, synced, then renamed, so a file there is whole).
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <kore/kore.h>
#include <sodium.h>

#include "queue/actions.h"
#include "core/config.h"
#include "core/form_answers.h"
#include "core/forms.h"
#include "store/store.h"

#define EMAIL_WORD_BYTES	39

struct email_reader {
	const u_int8_t	*data;
	size_t		 len;
	size_t		 off;
};

static void	email_build(const struct action_run *, struct kore_buf *);
static void	email_subject(struct kore_buf *, const char *);
static void	email_base64(struct kore_buf *, const void *, size_t, int);
static void	email_outbox(const struct action_run *, struct kore_buf *,
		    struct action_result *);
static void	email_smtp(const struct action_run *, struct kore_buf *,
		    struct action_result *);
static size_t	email_read(char *, size_t, size_t, void *);

void
action_email_run(const struct action_run *run, struct action_result *res)
{
	struct kore_buf		msg;

	kore_buf_init(&msg, 2048);
	email_build(run, &msg);
	if (config.smtp_url == NULL)
		email_outbox(run, &msg, res);
	else
		email_smtp(run, &msg, res);
	kore_buf_cleanup(&msg);
}

/*
 * The message: every header is ASCII (the subject is RFC 2047 encoded),
 * the body is UTF-8 text in base64, so any mail server takes it as is.
 */
static void
email_build(const struct action_run *run, struct kore_buf *msg)
{
	struct kore_json_item	*answers, *a, *label, *value;
	struct kore_buf		 body;
	struct tm		 tm;
	time_t			 now;
	const char		*subject;
	char			 date[64];

	subject = run->action->subject ? run->action->subject :
	    run->form->title;
	now = time(NULL);
	(void)gmtime_r(&now, &tm);
	(void)strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);

	kore_buf_appendf(msg, "From: Formwork <%s>\r\n", config.mail_from);
	kore_buf_appendf(msg, "To: <%s>\r\n", run->action->to);
	kore_buf_appendf(msg, "Subject: ");
	email_subject(msg, subject);
	kore_buf_appendf(msg, "\r\nDate: %s\r\n", date);
	kore_buf_appendf(msg, "Message-ID: <%s@formwork>\r\n",
	    run->job->delivery_id);
	kore_buf_appendf(msg, "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "X-Formwork-Submission: %s\r\n\r\n", run->rec->id);

	kore_buf_init(&body, 1024);
	kore_buf_appendf(&body, "A new submission to \"%s\".\n\n",
	    run->form->title);
	answers = form_answers_add(NULL, run->form, run->rec->data,
	    run->rec->id);
	TAILQ_FOREACH(a, &answers->data.items, list) {
		label = kore_json_find_string(a, "label");
		value = kore_json_find_string(a, "value");
		if (label == NULL || value == NULL)
			continue;
		kore_buf_appendf(&body, "%s:\n%s\n\n",
		    label->data.string, value->data.string);
	}
	kore_json_item_free(answers);
	kore_buf_appendf(&body, "Result page: %s/s/%s\n", config.base_url,
	    run->rec->id);
	email_base64(msg, body.data, body.offset, 0);
	kore_buf_cleanup(&body);
}

/*
 * The subject as RFC 2047 encoded words of at most 75 characters: pieces
 * of up to 39 bytes (52 in base64, so "Subject: " and a word fit in 78
 * columns), never splitting a UTF-8 character,
 * on folded header lines.
 */
static void
email_subject(struct kore_buf *out, const char *s)
{
	size_t		len, n;

	len = strlen(s);
	do {
		n = len > EMAIL_WORD_BYTES ? EMAIL_WORD_BYTES : len;
		while (n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		email_base64(out, s, n, 1);
		s += n;
		len -= n;
		if (len > 0)
			kore_buf_append(out, "\r\n ", 3);
	} while (len > 0);
}

/* Base64 as an RFC 2047 word, or as a body wrapped at 76 columns. */
static void
email_base64(struct kore_buf *out, const void *data, size_t len, int word)
{
	char		*b64;
	size_t		 n, i;

	n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	b64 = kore_malloc(n);
	sodium_bin2base64(b64, n, data, len, sodium_base64_VARIANT_ORIGINAL);
	if (word) {
		kore_buf_appendf(out, "=?UTF-8?B?%s?=", b64);
	} else {
		for (i = 0; b64[i] != '\0'; i += 76) {
			n = strlen(b64 + i);
			kore_buf_append(out, b64 + i, n > 76 ? 76 : n);
			kore_buf_append(out, "\r\n", 2);
		}
	}
	kore_free(b64);
}

static void
email_outbox(const struct action_run *run, struct kore_buf *msg,
    struct action_result *res)
{
	char		tmp[512], path[512];
	int		fd;

	(void)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", config.outbox_dir,
	    run->job->delivery_id);
	(void)snprintf(path, sizeof(path), "%s/%s.eml", config.outbox_dir,
	    run->job->delivery_id);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0640)) == -1) {
		(void)snprintf(res->error, sizeof(res->error), "outbox %.120s: %s",
		    tmp, strerror(errno));
		res->outcome = ACTION_RETRY;
		return;
	}
	if (write(fd, msg->data, msg->offset) != (ssize_t)msg->offset ||
	    fsync(fd) == -1 || close(fd) == -1 || rename(tmp, path) == -1) {
		(void)snprintf(res->error, sizeof(res->error), "outbox %.120s: %s",
		    path, strerror(errno));
		(void)unlink(tmp);
		res->outcome = ACTION_RETRY;
		return;
	}
	res->outcome = ACTION_DONE;
}

static void
email_smtp(const struct action_run *run, struct kore_buf *msg,
    struct action_result *res)
{
	CURL			*curl;
	struct curl_slist	*rcpt;
	struct email_reader	 rd;
	CURLcode		 rc;
	long			 code;
	char			 from[300];

	if ((curl = curl_easy_init()) == NULL) {
		(void)snprintf(res->error, sizeof(res->error),
		    "libcurl: cannot start");
		res->outcome = ACTION_RETRY;
		return;
	}
	rd.data = msg->data;
	rd.len = msg->offset;
	rd.off = 0;
	(void)snprintf(from, sizeof(from), "<%s>", config.mail_from);
	rcpt = curl_slist_append(NULL, run->action->to);

	curl_easy_setopt(curl, CURLOPT_URL, config.smtp_url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, email_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &rd);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	action_curl_limits(curl, run);

	rc = curl_easy_perform(curl);
	code = 0;
	(void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK) {
		res->outcome = ACTION_DONE;
	} else {
		(void)snprintf(res->error, sizeof(res->error), "SMTP %s: %s "
		    "(server said %ld)", config.smtp_url,
		    curl_easy_strerror(rc), code);
		/* 5xx is the server's final no; anything else may pass. */
		res->outcome = code >= 500 && code < 600 ? ACTION_FAILED :
		    ACTION_RETRY;
	}
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(curl);
}

static size_t
email_read(char *buf, size_t size, size_t n, void *arg)
{
	struct email_reader	*rd = arg;
	size_t			 len;

	len = size * n;
	if (len > rd->len - rd->off)
		len = rd->len - rd->off;
	memcpy(buf, rd->data + rd->off, len);
	rd->off += len;
	return (len);
}
