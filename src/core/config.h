/*
 * config.h: Formwork's settings, read from the environment once by the
 * parent at start-up. A bad value stops start-up with a clear message.
 */

#ifndef FORMWORK_CONFIG_H
#define FORMWORK_CONFIG_H

#include <sys/types.h>

#include <stddef.h>

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
	u_int64_t	 retry_base_ms;	/* FORMWORK_RETRY_BASE_MS */
	u_int64_t	 action_timeout_ms; /* FORMWORK_ACTION_TIMEOUT (s) */
	const char	*smtp_url;	/* FORMWORK_SMTP_URL, NULL: outbox */
	const char	*mail_from;	/* FORMWORK_MAIL_FROM */
	const char	*outbox_dir;	/* FORMWORK_OUTBOX */
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
 * Sets the paths alone (config_load does it too): the files and
 * directories FORMWORK_* names, or this build's defaults (config.c).
 */
void	config_paths_load(void);

#endif
