/*
 * config.c: environment settings with their defaults and limits.
 *
 * The default paths depend on the build. A build in the checkout (make
 * build, make run) uses the checkout's layout, relative to the directory
 * Formwork starts in: conf/forms, templates, assets, var/. make install
 * compiles this file again with the installed directories as
 * FORMWORK_SYSCONFDIR, FORMWORK_DATADIR and FORMWORK_STATEDIR, so the
 * installed module and formworkctl find their files without any
 * variable. Only this file may use those three: the installed module
 * links every other object as built for the checkout (Makefile).
 */

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/mime.h"

#ifndef FORMWORK_SYSCONFDIR
#define FORMWORK_SYSCONFDIR	"conf"		/* forms/ */
#endif
#ifndef FORMWORK_DATADIR
#define FORMWORK_DATADIR	"."		/* templates/, assets/ */
#endif
#ifndef FORMWORK_STATEDIR
#define FORMWORK_STATEDIR	"var"		/* the data */
#endif

struct config	config;

/* SPEC 11: retries span at least a day by default. */
static const u_int64_t config_retry_default[] = {
	5 * 1000, 60 * 1000, 300 * 1000, 1800 * 1000, 7200 * 1000,
	18000 * 1000, 36000 * 1000, 36000 * 1000,
};

static int	config_number(const char *, u_int64_t, u_int64_t, u_int64_t,
		    u_int64_t *, char *, size_t);
static const char *config_string(const char *, const char *);
static int	config_listen(char *, size_t);
static int	config_schedule(char *, size_t);
static int	config_alert_to(char *, size_t);

int
config_load(char *err, size_t errlen)
{
	u_int64_t	v;

	config_paths_load();
	config.base_url = config_string("FORMWORK_BASE_URL",
	    "http://127.0.0.1:8080");

	if (strncmp(config.base_url, "http://", 7) != 0 &&
	    strncmp(config.base_url, "https://", 8) != 0) {
		(void)snprintf(err, errlen, "FORMWORK_BASE_URL must start "
		    "with http:// or https:// (got '%s')", config.base_url);
		return (-1);
	}
	if (config.base_url[strlen(config.base_url) - 1] == '/') {
		(void)snprintf(err, errlen, "FORMWORK_BASE_URL must not end "
		    "with '/' (got '%s')", config.base_url);
		return (-1);
	}

	if (config_listen(err, errlen) == -1)
		return (-1);
	config.run_user = config_string("FORMWORK_USER", NULL);

	if (config_number("FORMWORK_MIN_FILL_MS", 1500, 0, 600000,
	    &config.min_fill_ms, err, errlen) == -1 ||
	    config_number("FORMWORK_FORM_TTL", 86400, 60, 30 * 86400, &v,
	    err, errlen) == -1 ||
	    config_number("FORMWORK_RATE_LIMIT", 20, 0, 1000000,
	    &config.rate_limit, err, errlen) == -1 ||
	    config_number("FORMWORK_BODY_MAX", 65536, 1024, 262144,
	    &config.body_max, err, errlen) == -1)
		return (-1);
	config.form_ttl_ms = v * 1000;

	if (config_number("FORMWORK_TRUST_PROXY", 0, 0, 1, &v, err,
	    errlen) == -1)
		return (-1);
	config.trust_proxy = (int)v;

	if (config_number("FORMWORK_RUNNERS", 4, 1, 64, &config.runners, err,
	    errlen) == -1 ||
	    config_schedule(err, errlen) == -1 ||
	    config_number("FORMWORK_ACTION_TIMEOUT", 20, 1, 300, &v, err,
	    errlen) == -1)
		return (-1);
	config.action_timeout_ms = v * 1000;
	if (config_number("FORMWORK_WAIT_MAX", 60, 1, 86400, &v, err,
	    errlen) == -1)
		return (-1);
	config.wait_max_ms = v * 1000;
	if (config_number("FORMWORK_ALERT_DELAY", 20, 0, 60, &v, err,
	    errlen) == -1 || config_alert_to(err, errlen) == -1)
		return (-1);
	config.alert_delay_ms = v * 1000;
	if (config_number("FORMWORK_WEBHOOK_ALLOW_PRIVATE", 0, 0, 1, &v, err,
	    errlen) == -1)
		return (-1);
	config.webhook_private = (int)v;

	/* The admin desk. */
	if (config_number("FORMWORK_SESSION_IDLE", 1800, 1, 86400, &v, err,
	    errlen) == -1)
		return (-1);
	config.session_idle_ms = v * 1000;
	if (config_number("FORMWORK_SESSION_MAX", 43200, 1, 30 * 86400, &v,
	    err, errlen) == -1)
		return (-1);
	config.session_max_ms = v * 1000;
	if (config_number("FORMWORK_LOGIN_LIMIT", 5, 1, 1000,
	    &config.login_limit, err, errlen) == -1 ||
	    config_number("FORMWORK_EXPORT_SYNC_MAX", 10000, 1, 10000000,
	    &config.export_sync_max, err, errlen) == -1)
		return (-1);

	config.smtp_url = config_string("FORMWORK_SMTP_URL", NULL);
	if (config.smtp_url != NULL &&
	    strncmp(config.smtp_url, "smtp://", 7) != 0 &&
	    strncmp(config.smtp_url, "smtps://", 8) != 0) {
		(void)snprintf(err, errlen, "FORMWORK_SMTP_URL must start with "
		    "smtp:// or smtps:// (got '%s')", config.smtp_url);
		return (-1);
	}
	config.mail_from = config_string("FORMWORK_MAIL_FROM",
	    "formwork@localhost");
	if (!mime_address_ok(config.mail_from, strlen(config.mail_from))) {
		(void)snprintf(err, errlen, "FORMWORK_MAIL_FROM must be one "
		    "plain email address such as forms@example.com (got '%s')",
		    config.mail_from);
		return (-1);
	}
	config.webhook_secret = config_string("FORMWORK_WEBHOOK_SECRET", NULL);
	if (config.webhook_secret != NULL &&
	    (strncmp(config.webhook_secret, "whsec_", 6) != 0 ||
	    strlen(config.webhook_secret) < 6 + 24)) {
		(void)snprintf(err, errlen, "FORMWORK_WEBHOOK_SECRET must be "
		    "'whsec_' followed by the base64 of at least 18 random "
		    "bytes");
		return (-1);
	}

	/* Posting from the owner's own pages: the forms' challenges. */
	config.captcha_secret = config_string("FORMWORK_CAPTCHA_SECRET", NULL);
	config.captcha_verify_url = config_string(
	    "FORMWORK_CAPTCHA_VERIFY_URL", NULL);
	if (config.captcha_verify_url != NULL &&
	    strncmp(config.captcha_verify_url, "http://", 7) != 0 &&
	    strncmp(config.captcha_verify_url, "https://", 8) != 0) {
		(void)snprintf(err, errlen, "FORMWORK_CAPTCHA_VERIFY_URL must "
		    "start with http:// or https:// (got '%s')",
		    config.captcha_verify_url);
		return (-1);
	}

	return (0);
}

const u_int64_t *
config_retry(size_t *n)
{
	if (config.nretry == 0) {
		*n = sizeof(config_retry_default) /
		    sizeof(config_retry_default[0]);
		return (config_retry_default);
	}
	*n = config.nretry;
	return (config.retry_ms);
}

int
config_delay_parse(const char *s, size_t len, u_int64_t *ms)
{
	u_int64_t	v, frac;
	size_t		i, decimals;
	int		dot;

	v = frac = 0;
	decimals = 0;
	dot = 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && !dot && i > 0) {
			dot = 1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || (dot && ++decimals > 3) ||
		    (!dot && v > CONFIG_DELAY_MAX_MS))
			return (-1);
		if (dot)
			frac = frac * 10 + (u_int64_t)(s[i] - '0');
		else
			v = v * 10 + (u_int64_t)(s[i] - '0');
	}
	if (len == 0 || s[len - 1] == '.')
		return (-1);
	while (decimals++ < 3)
		frac *= 10;
	v = v * 1000 + frac;
	if (v < CONFIG_DELAY_MIN_MS || v > CONFIG_DELAY_MAX_MS)
		return (-1);
	*ms = v;
	return (0);
}

/*
 * FORMWORK_RETRY_SCHEDULE: seconds before each retry, comma-separated.
 * FORMWORK_RETRY_BASE_MS, which set an exponential backoff before it,
 * is refused rather than ignored: an operator who set it expects it to
 * count.
 */
static int
config_schedule(char *err, size_t errlen)
{
	const char	*v, *p, *end;

	if (config_string("FORMWORK_RETRY_BASE_MS", NULL) != NULL) {
		(void)snprintf(err, errlen, "FORMWORK_RETRY_BASE_MS is no "
		    "longer read: set FORMWORK_RETRY_SCHEDULE instead, the "
		    "seconds before each retry (default "
		    "5,60,300,1800,7200,18000,36000,36000)");
		return (-1);
	}
	config.nretry = 0;
	if ((v = config_string("FORMWORK_RETRY_SCHEDULE", NULL)) == NULL)
		return (0);	/* config_retry() gives the default */
	for (p = v; ; p = end + 1) {
		p += strspn(p, " ");
		end = p + strcspn(p, ", ");
		if (config.nretry == CONFIG_RETRY_MAX ||
		    config_delay_parse(p, (size_t)(end - p),
		    &config.retry_ms[config.nretry]) == -1)
			goto bad;
		config.nretry++;
		end += strspn(end, " ");
		if (*end == '\0')
			return (0);
		if (*end != ',')
			goto bad;
	}

bad:
	config.nretry = 0;
	(void)snprintf(err, errlen, "FORMWORK_RETRY_SCHEDULE must be 1 to %d "
	    "waits in seconds, separated by commas, each from 0.01 to 604800 "
	    "(e.g. 5,60,300; got '%s')", CONFIG_RETRY_MAX, v);
	return (-1);
}

/* FORMWORK_ALERT_TO: addresses separated by commas (or spaces). */
static int
config_alert_to(char *err, size_t errlen)
{
	const char	*v, *p;
	size_t		 n;

	config.alert_to = v = config_string("FORMWORK_ALERT_TO", NULL);
	if (v == NULL)
		return (0);
	for (p = v; *p != '\0'; p += n) {
		p += strspn(p, ", ");
		if ((n = strcspn(p, ", ")) > 0 && !mime_address_ok(p, n)) {
			(void)snprintf(err, errlen, "FORMWORK_ALERT_TO must be "
			    "email addresses separated by commas (got '%s')", v);
			return (-1);
		}
	}
	return (0);
}

void
config_paths_load(void)
{
	config.db_path = config_string("FORMWORK_DB",
	    FORMWORK_STATEDIR "/formwork.db");
	config.secret_file = config_string("FORMWORK_SECRET_FILE",
	    FORMWORK_STATEDIR "/secret.key");
	config.outbox_dir = config_string("FORMWORK_OUTBOX",
	    FORMWORK_STATEDIR "/outbox");
	config.exports_dir = config_string("FORMWORK_EXPORTS",
	    FORMWORK_STATEDIR "/exports");
	config.forms_dir = config_string("FORMWORK_FORMS",
	    FORMWORK_SYSCONFDIR "/forms");
	config.templates_dir = config_string("FORMWORK_TEMPLATES",
	    FORMWORK_DATADIR "/templates");
	config.assets_dir = config_string("FORMWORK_ASSETS",
	    FORMWORK_DATADIR "/assets");
}

static const char *
config_string(const char *name, const char *def)
{
	const char	*v;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);
	return (v);
}

static int
config_number(const char *name, u_int64_t def, u_int64_t min, u_int64_t max,
    u_int64_t *out, char *err, size_t errlen)
{
	const char		*v;
	char			*end;
	unsigned long long	 n;

	if ((v = getenv(name)) == NULL || *v == '\0') {
		*out = def;
		return (0);
	}
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || *v == '-' || n < min || n > max) {
		(void)snprintf(err, errlen, "%s must be a whole number from "
		    "%llu to %llu (got '%s')", name, (unsigned long long)min,
		    (unsigned long long)max, v);
		return (-1);
	}
	*out = n;
	return (0);
}

/*
 * FORMWORK_LISTEN: "host:port", or "[v6 address]:port"; the host is
 * resolved when the server binds. Default 127.0.0.1:8080.
 */
static int
config_listen(char *err, size_t errlen)
{
	const char	*v, *colon, *host;
	size_t		 hlen;
	char		*end;
	long		 port;

	v = config_string("FORMWORK_LISTEN", NULL);
	config.listen_set = v != NULL;
	if (v == NULL)
		v = "127.0.0.1:8080";
	if ((colon = strrchr(v, ':')) == NULL)
		goto bad;
	host = v;
	hlen = (size_t)(colon - v);
	if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']') {
		host++;
		hlen -= 2;
	} else if (memchr(v, ':', hlen) != NULL) {
		goto bad;	/* an IPv6 address needs its brackets */
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (hlen == 0 || hlen >= sizeof(config.listen_host) ||
	    colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 ||
	    port > 65535)
		goto bad;
	(void)snprintf(config.listen_host, sizeof(config.listen_host),
	    "%.*s", (int)hlen, host);
	(void)snprintf(config.listen_port, sizeof(config.listen_port), "%ld",
	    port);
	return (0);

bad:
	(void)snprintf(err, errlen, "FORMWORK_LISTEN must be host:port, for "
	    "example 127.0.0.1:8080 or [::1]:8080 (got '%s')", v);
	return (-1);
}
