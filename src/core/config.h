/*
 * config.h: Formwork's settings, read from the environment once by the
 * parent at start-up. A bad value stops start-up with a clear message.
 */

#ifndef FORMWORK_CONFIG_H
#define FORMWORK_CONFIG_H

#include <sys/types.h>

#include <stddef.h>

/*
 * A retry schedule: at most this many waits, each from 10 ms to a week
 * (FORMWORK_RETRY_SCHEDULE, and a form action's "retry").
 */
#define CONFIG_RETRY_MAX	49
#define CONFIG_DELAY_MIN_MS	10
#define CONFIG_DELAY_MAX_MS	(7 * 86400 * 1000ULL)

struct config {
	const char	*db_path;	/* FORMWORK_DB */
	const char	*forms_dir;	/* FORMWORK_FORMS */
	const char	*templates_dir;	/* FORMWORK_TEMPLATES */
	const char	*assets_dir;	/* FORMWORK_ASSETS */
	const char	*secret_file;	/* FORMWORK_SECRET_FILE */
	const char	*base_url;	/* FORMWORK_BASE_URL */
	const char	*run_user;	/* FORMWORK_USER (started as root) */
	/* FORMWORK_LISTEN, host:port ([v6]:port); set: given explicitly. */
	char		 listen_host[256];
	char		 listen_port[6];
	int		 listen_set;
	u_int64_t	 min_fill_ms;	/* FORMWORK_MIN_FILL_MS */
	u_int64_t	 form_ttl_ms;	/* FORMWORK_FORM_TTL (seconds) */
	u_int64_t	 rate_limit;	/* FORMWORK_RATE_LIMIT per minute */
	u_int64_t	 body_max;	/* FORMWORK_BODY_MAX, <= Kore's
					   http_body_disk_offload */
	int		 trust_proxy;	/* FORMWORK_TRUST_PROXY */

	/* The queue of actions. */
	u_int64_t	 runners;	/* FORMWORK_RUNNERS per worker */
	/* FORMWORK_RETRY_SCHEDULE: the wait before each retry. */
	u_int64_t	 retry_ms[CONFIG_RETRY_MAX];
	size_t		 nretry;
	u_int64_t	 wait_max_ms;	/* FORMWORK_WAIT_MAX (s) */
	u_int64_t	 action_timeout_ms; /* FORMWORK_ACTION_TIMEOUT (s) */
	const char	*smtp_url;	/* FORMWORK_SMTP_URL, NULL: outbox */
	const char	*mail_from;	/* FORMWORK_MAIL_FROM */
	const char	*outbox_dir;	/* FORMWORK_OUTBOX */
	const char	*alert_to;	/* FORMWORK_ALERT_TO, NULL: none */
	u_int64_t	 alert_delay_ms; /* FORMWORK_ALERT_DELAY (s) */
	const char	*webhook_secret; /* FORMWORK_WEBHOOK_SECRET (whsec_) */
	int		 webhook_private; /* FORMWORK_WEBHOOK_ALLOW_PRIVATE */

	/* The admin desk. */
	u_int64_t	 session_idle_ms; /* FORMWORK_SESSION_IDLE (s) */
	u_int64_t	 session_max_ms; /* FORMWORK_SESSION_MAX (s) */
	u_int64_t	 login_limit;	/* FORMWORK_LOGIN_LIMIT per account */
	u_int64_t	 export_sync_max; /* FORMWORK_EXPORT_SYNC_MAX rows */
	const char	*exports_dir;	/* FORMWORK_EXPORTS */

	/* Posting from the owner's own pages: the forms' challenges. */
	const char	*captcha_secret; /* FORMWORK_CAPTCHA_SECRET */
	const char	*captcha_verify_url; /* FORMWORK_CAPTCHA_VERIFY_URL */
};

extern struct config	config;

/* Reads the environment; on a bad value returns -1 with err set. */
int	config_load(char *err, size_t errlen);

/*
 * The retry schedule in force: FORMWORK_RETRY_SCHEDULE once config_load
 * has run, else the default one (5 s, 1 min, 5 min, 30 min, 2 h, 5 h,
 * 10 h, 10 h: a day and a bit). *n is its length.
 */
const u_int64_t	*config_retry(size_t *n);

/*
 * Seconds as written in a schedule ("5", "0.25") to milliseconds: -1
 * unless a number of at most three decimals within the limits above.
 */
int	config_delay_parse(const char *s, size_t len, u_int64_t *ms);

/*
 * Sets the paths alone (config_load does it too): the files and
 * directories FORMWORK_* names, or this build's defaults (config.c).
 */
void	config_paths_load(void);

#endif
