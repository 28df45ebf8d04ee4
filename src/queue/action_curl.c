/*
 * action_curl.c: the limits every action's libcurl transfer runs under.
 */

#include <sys/types.h>

#include <curl/curl.h>

#include "queue/actions.h"
#include "core/config.h"

static int	action_abort_check(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);

void
action_curl_limits(CURL *curl, const struct action_run *run)
{
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, action_abort_check);
	curl_easy_setopt(curl, CURLOPT_XFERINFODATA, run);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(config.action_timeout_ms / 2));
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS,
	    (long)config.action_timeout_ms);
}

/* libcurl's progress callback: non-zero aborts the transfer. */
static int
action_abort_check(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	const struct action_run	*run = arg;

	return (run->stopping());
}
