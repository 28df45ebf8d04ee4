/*
 * mail_send.c: hands a finished message to the world (see actions.h):
 * over SMTP with libcurl to FORMWORK_SMTP_URL or, when no SMTP server is
 * configured, into the outbox directory (one .eml file, written to a
 * temporary name, synced, then renamed, so a file there is whole). It
 * keeps the server's last reply for the delivery log.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <kore/kore.h>

#include "queue/actions.h"
#include "core/config.h"

struct mail_reader {
	const u_int8_t		*data;
	size_t			 len;
	size_t			 off;
};

static void	mail_outbox(const char *, const struct kore_buf *,
		    struct action_result *);
static void	mail_smtp(const struct action_run *, const char *,
		    const char *const *, size_t, const struct kore_buf *,
		    struct action_result *);
static size_t	mail_read(char *, size_t, size_t, void *);
static int	mail_reply(CURL *, curl_infotype, char *, size_t, void *);

void
mail_send(const struct action_run *run, const char *from,
    const char *const *rcpts, size_t n, const char *name,
    const struct kore_buf *msg, struct action_result *res)
{
	if (config.smtp_url == NULL)
		mail_outbox(name, msg, res);
	else
		mail_smtp(run, from, rcpts, n, msg, res);
}

static void
mail_outbox(const char *name, const struct kore_buf *msg,
    struct action_result *res)
{
	char		tmp[512], path[512];
	int		fd;

	(void)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", config.outbox_dir,
	    name);
	(void)snprintf(path, sizeof(path), "%s/%s.eml", config.outbox_dir,
	    name);
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
	(void)snprintf(res->response, sizeof(res->response), "written to "
	    "%.400s", path);
	res->outcome = ACTION_DONE;
}

static void
mail_smtp(const struct action_run *run, const char *from,
    const char *const *rcpts, size_t n, const struct kore_buf *msg,
    struct action_result *res)
{
	CURL			*curl;
	struct curl_slist	*list;
	struct mail_reader	 rd;
	CURLcode		 rc;
	size_t			 i;
	long			 code;
	char			 sender[300];

	if ((curl = curl_easy_init()) == NULL) {
		(void)snprintf(res->error, sizeof(res->error),
		    "libcurl: cannot start");
		res->outcome = ACTION_RETRY;
		return;
	}
	rd.data = msg->data;
	rd.len = msg->offset;
	rd.off = 0;
	(void)snprintf(sender, sizeof(sender), "<%s>", from);
	list = NULL;
	for (i = 0; i < n; i++)
		list = curl_slist_append(list, rcpts[i]);

	curl_easy_setopt(curl, CURLOPT_URL, config.smtp_url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(curl, CURLOPT_MAIL_FROM, sender);
	curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, list);
	curl_easy_setopt(curl, CURLOPT_READFUNCTION, mail_read);
	curl_easy_setopt(curl, CURLOPT_READDATA, &rd);
	curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
	/* The server's replies reach mail_reply(), never stderr. */
	curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, mail_reply);
	curl_easy_setopt(curl, CURLOPT_DEBUGDATA, res);
	curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
	action_curl_limits(curl, run);

	rc = curl_easy_perform(curl);
	code = 0;
	(void)curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	res->code = (int)code;
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
	curl_slist_free_all(list);
	curl_easy_cleanup(curl);
}

static size_t
mail_read(char *buf, size_t size, size_t n, void *arg)
{
	struct mail_reader	*rd = arg;
	size_t			 len;

	len = size * n;
	if (len > rd->len - rd->off)
		len = rd->len - rd->off;
	memcpy(buf, rd->data + rd->off, len);
	rd->off += len;
	return (len);
}

/*
 * libcurl's trace: keeps the server's last reply line, the one that
 * matters: not the "221" to the QUIT that ends any session, and once the
 * server has refused something (4xx, 5xx), that refusal.
 */
static int
mail_reply(CURL *curl, curl_infotype type, char *data, size_t len,
    void *arg)
{
	struct action_result	*res = arg;

	if (type != CURLINFO_HEADER_IN || (len >= 3 &&
	    strncmp(data, "221", 3) == 0) || res->response[0] == '4' ||
	    res->response[0] == '5')
		return (0);
	while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		len--;
	if (len >= sizeof(res->response))
		len = sizeof(res->response) - 1;
	memcpy(res->response, data, len);
	res->response[len] = '\0';
	return (0);
}
