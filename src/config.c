/*
 * config.c: environment settings with their defaults and limits. Paths
 * are relative to the directory Formwork starts in.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

struct config	config;

static int	config_number(const char *, u_int64_t, u_int64_t, u_int64_t,
		    u_int64_t *, char *, size_t);
static const char *config_string(const char *, const char *);

int
config_load(char *err, size_t errlen)
{
	u_int64_t	v;

	config.db_path = config_string("FORMWORK_DB", "var/formwork.db");
	config.forms_dir = config_string("FORMWORK_FORMS", "conf/forms");
	config.templates_dir = config_string("FORMWORK_TEMPLATES",
	    "templates");
	config.assets_dir = config_string("FORMWORK_ASSETS", "assets");
	config.secret_file = config_string("FORMWORK_SECRET_FILE",
	    "var/secret.key");
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

	return (0);
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
