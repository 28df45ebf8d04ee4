/*
 * formworkctl: the operator's command line. Manages admin users, prunes
 * old data and generates test data, on the database the server uses
 * (FORMWORK_DB, or the default the server built alongside it has:
 * var/formwork.db in the checkout, STATEDIR/formwork.db installed),
 * creating or migrating it first.
 *
 *   formworkctl user add NAME --role viewer|reviewer|admin  < password
 *   formworkctl user list
 *   formworkctl user role NAME ROLE
 *   formworkctl user passwd NAME                             < password
 *   formworkctl user del NAME
 *   formworkctl prune --days N
 *   formworkctl generate N [--form SLUG]
 *   formworkctl backup FILE          (ctl_copy.c, also while serving)
 *   formworkctl restore FILE         (server stopped; on PostgreSQL into
 *                                     a database without Formwork data)
 *   formworkctl check
 *   formworkctl migrate --to postgresql://...   (server stopped)
 *
 * Exit status: 0 done, 1 failed (a message on stderr), 2 usage.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <kore/kore.h>
#include <sodium.h>

#include "core/config.h"
#include "core/fail.h"
#include "core/password.h"
#include "store/store_admin.h"
#include "core/util.h"
#include "ctl/ctl_copy.h"

#define CTL_GENERATE_BATCH	5000
#define CTL_GENERATE_TEXT	256
#define CTL_DAY_MS		(86400ULL * 1000)

static struct store_handle	*ctl_db;

static int	ctl_main(int, char **);
static int	ctl_usage(void);
static int	ctl_name_valid(const char *);
static int	ctl_password_read(char *, size_t);
static int	ctl_user(int, char **);
static int	ctl_prune(int, char **);
static int	ctl_generate(int, char **);
static int	ctl_number(const char *, u_int64_t, u_int64_t, u_int64_t *);
static int	ctl_form_exists(const char *);

/*
 * Ends with _exit() once the output is flushed, as fail_exit() does:
 * the libraries' destructors can hang a process under AddressSanitizer
 * (the tests run formworkctl with it preloaded), p11-kit's above all,
 * which libpq's TLS loads, waiting forever for the locale lock.
 */
int
main(int argc, char **argv)
{
	int	rc;

	rc = ctl_main(argc, argv);
	(void)fflush(NULL);
	_exit(rc);
}

static int
ctl_main(int argc, char **argv)
{
	char		 err[512];
	int		 rc;

	fail_name_set("formworkctl");
	config_paths_load();
	if (argc < 2)
		return (ctl_usage());
	if (sodium_init() == -1)
		return (fail("libsodium failed to initialise"));
	/* These take the store as it is: no creating, no migrating first. */
	if (strcmp(argv[1], "backup") == 0)
		return (ctl_backup(config.db_path, argc - 2, argv + 2));
	if (strcmp(argv[1], "restore") == 0)
		return (ctl_restore(config.db_path, argc - 2, argv + 2));
	if (strcmp(argv[1], "check") == 0)
		return (ctl_check(config.db_path, argc - 2, argv + 2));
	if (strcmp(argv[1], "migrate") == 0)
		return (ctl_migrate(config.db_path, argc - 2, argv + 2));
	/* Before the server's first start, a fresh clone has no var/. */
	if ((store_is_file(config.db_path) &&
	    util_mkdirs(config.db_path, 0, err, sizeof(err)) == -1) ||
	    store_init(config.db_path, err, sizeof(err)) == -1)
		return (fail("%s", err));
	store_configure(config.db_path);
	ctl_db = store_handle_new();

	if (strcmp(argv[1], "user") == 0)
		rc = ctl_user(argc - 2, argv + 2);
	else if (strcmp(argv[1], "prune") == 0)
		rc = ctl_prune(argc - 2, argv + 2);
	else if (strcmp(argv[1], "generate") == 0)
		rc = ctl_generate(argc - 2, argv + 2);
	else
		rc = ctl_usage();

	store_handle_free(ctl_db);
	return (rc);
}

static int
ctl_usage(void)
{
	fprintf(stderr,
	    "usage: formworkctl user add NAME --role viewer|reviewer|admin\n"
	    "       formworkctl user list\n"
	    "       formworkctl user role NAME viewer|reviewer|admin\n"
	    "       formworkctl user passwd NAME\n"
	    "       formworkctl user del NAME\n"
	    "       formworkctl prune --days N\n"
	    "       formworkctl generate N [--form SLUG]\n"
	    "       formworkctl backup FILE    (PostgreSQL: a pg_dump archive)\n"
	    "       formworkctl restore FILE   (with the server stopped; "
	    "PostgreSQL:\n"
	    "                                  into a database without "
	    "Formwork data)\n"
	    "       formworkctl check\n"
	    "       formworkctl migrate --to postgresql://USER@HOST/DB   "
	    "(server stopped)\n"
	    "Passwords are read from standard input (one line, at least %d "
	    "characters).\nThe database: %s (FORMWORK_DB sets another).\n",
	    PASSWORD_MIN, config.db_path);
	return (2);
}

/* Names: 1-64 of a-z, 0-9, '.', '_', '-' (they show in the audit log). */
static int
ctl_name_valid(const char *name)
{
	size_t		i, len;

	len = strlen(name);
	if (len == 0 || len > STORE_NAME_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (!islower((unsigned char)name[i]) &&
		    !isdigit((unsigned char)name[i]) &&
		    strchr("._-", name[i]) == NULL)
			return (0);
	}
	return (1);
}

/* Reads the first line of standard input as the password. */
static int
ctl_password_read(char *pw, size_t len)
{
	size_t		n;

	if (fgets(pw, (int)len, stdin) == NULL)
		return (fail("no password on standard input"));
	n = strcspn(pw, "\r\n");
	if (pw[n] == '\0' && n == len - 1)
		return (fail("password longer than %d characters",
		    PASSWORD_MAX));
	pw[n] = '\0';
	if (n < PASSWORD_MIN)
		return (fail("password shorter than %d characters",
		    PASSWORD_MIN));
	return (0);
}

static void
ctl_user_print(const struct store_user *u, void *arg)
{
	struct tm	tm;
	char		day[32];
	time_t		t;

	t = (time_t)(u->created_ms / 1000);
	(void)gmtime_r(&t, &tm);
	(void)strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("%s\t%s\t%s\n", u->name, store_role_name(u->role), day);
}

static int
ctl_user(int argc, char **argv)
{
	enum store_result	 r;
	enum store_role		 role;
	char			 pw[PASSWORD_MAX + 2], hash[PASSWORD_HASH_MAX];
	const char		*cmd, *name;

	if (argc == 1 && strcmp(argv[0], "list") == 0) {
		r = store_user_each(ctl_db, ctl_user_print, NULL);
		return (r == STORE_OK ? 0 : fail("cannot list users"));
	}
	if (argc < 2)
		return (ctl_usage());
	cmd = argv[0];
	name = argv[1];
	if (!ctl_name_valid(name))
		return (fail("user names are 1-%d characters of a-z, 0-9, "
		    "'.', '_' and '-'", STORE_NAME_MAX));

	if (strcmp(cmd, "add") == 0) {
		if (argc != 4 || strcmp(argv[2], "--role") != 0 ||
		    (role = store_role_parse(argv[3])) == ROLE_NONE)
			return (ctl_usage());
		if (ctl_password_read(pw, sizeof(pw)) != 0)
			return (1);
		if (password_hash(pw, hash) == -1)
			return (fail("cannot hash the password (memory)"));
		sodium_memzero(pw, sizeof(pw));
		r = store_user_add(ctl_db, name, role, hash, util_now_ms());
		if (r == STORE_KEY_USED)
			return (fail("user %s exists already", name));
		if (r != STORE_OK)
			return (fail("cannot add user %s", name));
		printf("added %s (%s)\n", name, store_role_name(role));
		return (0);
	}
	if (strcmp(cmd, "role") == 0) {
		if (argc != 3 ||
		    (role = store_role_parse(argv[2])) == ROLE_NONE)
			return (ctl_usage());
		r = store_user_role_set(ctl_db, name, role);
	} else if (strcmp(cmd, "passwd") == 0 && argc == 2) {
		if (ctl_password_read(pw, sizeof(pw)) != 0)
			return (1);
		if (password_hash(pw, hash) == -1)
			return (fail("cannot hash the password (memory)"));
		sodium_memzero(pw, sizeof(pw));
		r = store_user_pwhash_set(ctl_db, name, hash);
	} else if (strcmp(cmd, "del") == 0 && argc == 2) {
		r = store_user_delete(ctl_db, name);
	} else {
		return (ctl_usage());
	}
	if (r == STORE_NOT_FOUND)
		return (fail("no user %s", name));
	if (r != STORE_OK)
		return (fail("cannot change user %s", name));
	printf("%s: %s\n", name, strcmp(cmd, "del") == 0 ? "deleted" :
	    "changed; their sessions were ended where it matters");
	return (0);
}

static int
ctl_number(const char *s, u_int64_t min, u_int64_t max, u_int64_t *out)
{
	char		*end;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return (-1);
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}

static int
ctl_prune(int argc, char **argv)
{
	struct store_prune	p;
	u_int64_t		days, now;

	if (argc != 2 || strcmp(argv[0], "--days") != 0 ||
	    ctl_number(argv[1], 1, 36500, &days) == -1)
		return (ctl_usage());
	now = util_now_ms();
	/* Sessions and failed logins older than a day are dead anyway. */
	if (store_prune(ctl_db, now - days * CTL_DAY_MS, now - CTL_DAY_MS,
	    &p) != STORE_OK)
		return (fail("cannot prune (is the database busy?)"));
	printf("removed %llu submissions older than %llu days (with their "
	    "actions and reviews), %llu sessions, %llu failed logins\n",
	    (unsigned long long)p.submissions, (unsigned long long)days,
	    (unsigned long long)p.sessions,
	    (unsigned long long)p.login_failures);
	return (0);
}

/* The server serves only declared forms: rows for others would be lost. */
static int
ctl_form_exists(const char *slug)
{
	struct stat	st;
	char		path[PATH_MAX];

	if (strchr(slug, '/') != NULL || slug[0] == '.' ||
	    snprintf(path, sizeof(path), "%s/%s.json", config.forms_dir,
	    slug) >= (int)sizeof(path))
		return (0);
	return (stat(path, &st) == 0 && S_ISREG(st.st_mode));
}

/*
 * Synthetic messages in the shape of the contact form (name, email,
 * topic, message) over the past year, for load tests.
 */
static int
ctl_generate(int argc, char **argv)
{
	static const char *const first[] = {
		"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Ken",
		"Dennis", "Margaret", "Linus", "Frances", "John", "Radia",
		"Niklaus", "Leslie", "Hedy", "Tim", "Karen", "Guido", "Sophie",
	};
	static const char *const words[] = {
		"invoice", "delivery", "refund", "password", "account",
		"upgrade", "discount", "broken", "shipping", "warranty",
		"question", "meeting", "pricing", "contract", "feedback",
		"support", "login", "order", "cancel", "address", "printer",
		"license", "training", "holiday", "catalogue", "sample",
	};
	static const char *const topics[] = { "general", "support", "sales" };
	struct store_submission	**batch, *s;
	const char		*form = "contact";
	char			(*texts)[CTL_GENERATE_TEXT];
	u_int64_t		 n, i, done, now, span;
	size_t			 b, nb;
	u_int32_t		 f, w1, w2, w3;

	if (argc < 1 || ctl_number(argv[0], 1, 100000000, &n) == -1)
		return (ctl_usage());
	if (argc == 3 && strcmp(argv[1], "--form") == 0)
		form = argv[2];
	else if (argc != 1)
		return (ctl_usage());
	if (!ctl_form_exists(form))
		return (fail("no form %s in %s", form, config.forms_dir));

	now = util_now_ms();
	span = 365 * CTL_DAY_MS;
	batch = kore_calloc(CTL_GENERATE_BATCH, sizeof(*batch));
	texts = kore_calloc(CTL_GENERATE_BATCH, sizeof(*texts));
	for (b = 0; b < CTL_GENERATE_BATCH; b++)
		batch[b] = kore_calloc(1, sizeof(**batch));

	for (done = 0; done < n; done += nb) {
		nb = n - done < CTL_GENERATE_BATCH ?
		    (size_t)(n - done) : CTL_GENERATE_BATCH;
		for (b = 0; b < nb; b++) {
			s = batch[b];
			i = done + b;
			f = randombytes_uniform(20);
			w1 = randombytes_uniform(26);
			w2 = randombytes_uniform(26);
			w3 = randombytes_uniform(1000);
			(void)snprintf(texts[b], sizeof(texts[b]), "{\"name\":\"%s %llu\","
			    "\"email\":\"user%llu@example.com\","
			    "\"topic\":\"%s\",\"message\":\"About my %s and "
			    "the %s, reference ref%u.\"}", first[f],
			    (unsigned long long)i, (unsigned long long)i,
			    topics[i % 3], words[w1], words[w2], w3);
			token_id_new(s->id);
			s->form = form;
			s->key = s->id;
			(void)snprintf(s->hash, sizeof(s->hash), "generated");
			s->data = texts[b];
			s->client = "generated";
			s->spam = randombytes_uniform(20) == 0;
			/* Spread over the past year, oldest first. */
			s->created_ms = now - span + span * i / n;
		}
		store_submissions_insert(batch, nb);
		for (b = 0; b < nb; b++) {
			if (batch[b]->result != STORE_OK)
				return (fail("stopped after %llu rows",
				    (unsigned long long)(done + b)));
		}
		/* The writer leaves checkpoints to its caller (store.h). */
		if (store_log_needs_checkpoint())
			store_checkpoint(ctl_db);
		if (done % 100000 == 0 && done > 0)
			fprintf(stderr, "%llu\n", (unsigned long long)done);
	}
	/*
	 * Batches of 5,000 leave big segments in the search index's lowest
	 * levels, where FTS5 would merge the server's small batches into them
	 * under its write lock (a batch's p99 13.6 ms instead of 3.1-3.9 ms at
	 * 1M rows, tests/bench/fts_batches.py). One merged segment leaves those
	 * levels to the server, as in a store that grew through it.
	 */
	store_search_optimize(ctl_db);
	store_checkpoint(ctl_db);
	for (b = 0; b < CTL_GENERATE_BATCH; b++)
		kore_free(batch[b]);
	kore_free(batch);
	kore_free(texts);
	printf("generated %llu submissions for form %s\n",
	    (unsigned long long)n, form);
	return (0);
}
