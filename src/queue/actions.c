/*
 * actions.c: the actions' start-up in the parent (see actions.h): libcurl
 * once for the process, then each action's own checks. The workers
 * inherit what they load.
 */

#include <sys/types.h>

#include <stdio.h>

#include <curl/curl.h>

#include "queue/actions.h"

int
actions_init(char *err, size_t errlen)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		(void)snprintf(err, errlen, "libcurl failed to initialise");
		return (-1);
	}
	if (mail_templates_load(err, errlen) == -1 ||
	    action_webhook_init(err, errlen) == -1)
		return (-1);
	return (0);
}
