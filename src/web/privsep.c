/*
 * privsep.c: running the workers as FORMWORK_USER (see privsep.h).
 */

#include <sys/types.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "core/config.h"
#include "core/fail.h"
#include "web/privsep.h"

static void	privsep_chown(const char *, const char *, uid_t, gid_t);

void
privsep_configure(void)
{
	struct passwd	 pwd, *pw;
	char		 dir[4096], buf[4096], *slash;

	if (geteuid() != 0 || config.run_user == NULL)
		return;
	if (getpwnam_r(config.run_user, &pwd, buf, sizeof(buf), &pw) != 0 ||
	    pw == NULL)
		fail_exit("FORMWORK_USER: there is no user '%s' (make run "
		    "creates 'formwork'; useradd --system NAME does)",
		    config.run_user);
	if (pw->pw_uid == 0)
		fail_exit("FORMWORK_USER: '%s' is root; name an unprivileged "
		    "user", config.run_user);

	(void)snprintf(dir, sizeof(dir), "%s", config.db_path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		privsep_chown(dir, "", pw->pw_uid, pw->pw_gid);
	} else {
		privsep_chown(".", "", pw->pw_uid, pw->pw_gid);
	}
	/* SQLite makes the log and its index beside the database. */
	privsep_chown(config.db_path, "", pw->pw_uid, pw->pw_gid);
	privsep_chown(config.db_path, "-wal", pw->pw_uid, pw->pw_gid);
	privsep_chown(config.db_path, "-shm", pw->pw_uid, pw->pw_gid);
	privsep_chown(config.outbox_dir, "", pw->pw_uid, pw->pw_gid);
	privsep_chown(config.exports_dir, "", pw->pw_uid, pw->pw_gid);
	privsep_chown(http_body_disk_path, "", pw->pw_uid, pw->pw_gid);

	kore_free(kore_runas_user);
	kore_runas_user = kore_strdup(config.run_user);
	skip_runas = 0;
	kore_log(LOG_NOTICE, "formwork: workers run as %s (uid %d)",
	    config.run_user, (int)pw->pw_uid);
}

/* chown of path + suffix; a file not there yet is fine. */
static void
privsep_chown(const char *path, const char *suffix, uid_t uid, gid_t gid)
{
	char		 p[4096];

	if ((size_t)snprintf(p, sizeof(p), "%s%s", path, suffix) >= sizeof(p))
		fail_exit("%s%s: path too long", path, suffix);
	if (chown(p, uid, gid) == -1 && errno != ENOENT)
		fail_exit("cannot give %s to FORMWORK_USER: %s", p,
		    strerror(errno));
}
