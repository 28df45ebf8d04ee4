/*
 * app.c: Kore's hooks. The parent reads the settings, the forms, the
 * templates and the assets once, prepares the database and the signing
 * secret, and stops start-up with a clear message if any of it is wrong;
 * the workers inherit all of it across fork and open their own database
 * connection on first use. Also the single seccomp hook.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/hooks.h>
#include <kore/seccomp.h>
#include <kore/tasks.h>
#include <sodium.h>

/*
 * Kore's structs change with its build flags: a module compiled without
 * them loads and runs, but reads the wrong fields of every request.
 */
#if !defined(KORE_USE_TASKS) || !defined(KORE_USE_PGSQL)
#error "compile with Kore's flags, from /usr/share/kore/features"
#endif

#include "queue/actions.h"
#include "web/assets.h"
#include "web/captcha.h"
#include "worker/accept_share.h"
#include "worker/checkpoint.h"
#include "web/commit.h"
#include "web/drain.h"
#include "web/offload.h"
#include "web/login_check.h"
#include "core/config.h"
#include "core/fail.h"
#include "core/forms.h"
#include "worker/metrics.h"
#include "web/origin.h"
#include "web/page.h"
#include "web/privsep.h"
#include "core/password.h"
#include "queue/queue.h"
#include "store/store.h"
#include "store/store_admin.h"
#include "core/util.h"
#include "core/token.h"

/* SQLite in WAL mode (KORE-NOTES section 2, checked with tracing). */
static struct sock_filter filter_store[] = {
	KORE_SYSCALL_ALLOW(newfstatat),		/* sqlite: stat, fstat */
	KORE_SYSCALL_ALLOW(pread64),		/* sqlite: page reads */
	KORE_SYSCALL_ALLOW(pwrite64),		/* sqlite: WAL writes */
	KORE_SYSCALL_ALLOW(fdatasync),		/* sqlite: commit */
	KORE_SYSCALL_ALLOW(fsync),		/* sqlite: directory sync */
	KORE_SYSCALL_ALLOW(ftruncate),		/* sqlite: WAL reset */
	KORE_SYSCALL_ALLOW(fchown),		/* sqlite: -wal, -shm as root */
	KORE_SYSCALL_ALLOW(unlink),		/* sqlite: last close of WAL */
	KORE_SYSCALL_ALLOW(rename),		/* outbox: whole files only */
};

/* libcurl in the runner threads (KORE-NOTES section 2). */
static struct sock_filter filter_fetch[] = {
	KORE_SYSCALL_ALLOW_ARG(socket, 0, AF_INET),
	KORE_SYSCALL_ALLOW_ARG(socket, 0, AF_INET6),
	KORE_SYSCALL_ALLOW_ARG(socket, 0, AF_UNIX),	/* resolver: nscd */
	KORE_SYSCALL_ALLOW(connect),
	KORE_SYSCALL_ALLOW(getsockopt),
	KORE_SYSCALL_ALLOW(getsockname),
	KORE_SYSCALL_ALLOW(getpeername),
	KORE_SYSCALL_ALLOW(uname),		/* resolver thread */
	KORE_SYSCALL_ALLOW(recvmsg),		/* DNS over UDP */
	KORE_SYSCALL_ALLOW(sendmmsg),		/* DNS over UDP */
};

/*
 * The background threads are Kore tasks (glibc pthreads). A system call
 * no filter allows kills only the thread that made it (Kore's policy is
 * SECCOMP_RET_KILL, a thread's), silently: worker_thread.c watches for
 * that. restart_syscall is how the kernel resumes a timed wait (poll,
 * a futex, nanosleep) after the process was stopped and continued, by
 * SIGSTOP, a cgroup freezer or a debugger's attach.
 */
static struct sock_filter filter_task[] = {
	KORE_SYSCALL_DENY(clone3, ENOSYS),	/* glibc falls back to clone */
	KORE_SYSCALL_ALLOW(rseq),		/* glibc: new threads */
	KORE_SYSCALL_ALLOW(restart_syscall),
};

#if defined(__SANITIZE_ADDRESS__)
/*
 * Only in the AddressSanitizer build: its runtime asks for these. Its
 * spin locks yield under contention: without sched_yield the thread
 * that yielded was killed (the writer once, and every POST of that
 * worker waited for ever).
 */
static struct sock_filter filter_sanitizer[] = {
	KORE_SYSCALL_ALLOW(gettid),
	KORE_SYSCALL_ALLOW(sched_getaffinity),
	KORE_SYSCALL_ALLOW(sched_yield),
};
#endif

static void	app_secret_load(void);
static void	app_listen(void);
static void	app_module_pin(void);
static void	app_mkdirs(const char *, int);
static void	app_exports_abandon(void);

void
kore_seccomp_hook(void)
{
	kore_seccomp_filter("store", filter_store,
	    KORE_FILTER_LEN(filter_store));
	kore_seccomp_filter("threads", filter_task,
	    KORE_FILTER_LEN(filter_task));
	kore_seccomp_filter("fetch", filter_fetch,
	    KORE_FILTER_LEN(filter_fetch));
#if defined(__SANITIZE_ADDRESS__)
	kore_seccomp_filter("sanitizer", filter_sanitizer,
	    KORE_FILTER_LEN(filter_sanitizer));
#endif
}

void
kore_parent_configure(int argc, char **argv)
{
	char		err[1024];

	if (sodium_init() == -1)
		fail_exit("libsodium failed to initialise");
	if (config_load(err, sizeof(err)) == -1)
		fail_exit("%s", err);
	app_listen();
	if (forms_load(config.forms_dir, err, sizeof(err)) == -1)
		fail_exit("%s", err);
	if (origin_init(err, sizeof(err)) == -1 ||
	    captcha_init(err, sizeof(err)) == -1)
		fail_exit("%s", err);
	if (page_templates_load(config.templates_dir, err, sizeof(err)) == -1)
		fail_exit("%s", err);
	if (assets_load(config.assets_dir, err, sizeof(err)) == -1)
		fail_exit("%s", err);
	if (metrics_init(err, sizeof(err)) == -1 ||
	    accept_share_init(err, sizeof(err)) == -1)
		fail_exit("%s", err);
	if (actions_init(err, sizeof(err)) == -1)
		fail_exit("%s", err);
	/* A fresh clone has no var/: make what the settings point into. */
	app_mkdirs(config.outbox_dir, 1);
	app_mkdirs(config.exports_dir, 1);
	if (store_is_file(config.db_path))
		app_mkdirs(config.db_path, 0);
	app_mkdirs(config.secret_file, 0);
	app_mkdirs(http_body_disk_path, 1);
	/* Held for the server's life: formworkctl restore waits for it. */
	if (store_lock(config.db_path, 0, err, sizeof(err)) == -1 ||
	    store_init(config.db_path, err, sizeof(err)) == -1)
		fail_exit("%s", err);
	app_secret_load();
	privsep_configure();
	if (page_build_id_make(config.templates_dir, config.forms_dir, err,
	    sizeof(err)) == -1)
		fail_exit("%s", err);
	store_configure(config.db_path);
	app_exports_abandon();

	app_module_pin();

	/* Each worker_thread_start() adds the Kore task threads it needs. */
	kore_task_threads = 0;
	/* Made once here, so each worker inherits it (login_check.c). */
	if (password_decoy()[0] == '\0')
		fail_exit("cannot hash a password (out of memory?)");

	kore_log(LOG_NOTICE, "formwork: database %s, forms from %s, "
	    "listening on %s port %s, public address %s", config.db_path,
	    config.forms_dir, config.listen_host, config.listen_port,
	    config.base_url);
}

void
kore_worker_configure(void)
{
	accept_share_start();
	store_worker_open();
	checkpoint_init();
	commit_init();
	offload_init();
	login_check_init();
	captcha_start();
	queue_init();
}

void
kore_worker_teardown(void)
{
	/* Answer what was read, then end the threads: Kore unloads us next. */
	accept_share_stop();
	drain_run();
	commit_stop();
	offload_stop();
	checkpoint_stop();
	login_check_stop();
	captcha_stop();
	queue_stop();
	store_close();
}

/*
 * Where this node listens: FORMWORK_LISTEN, so several nodes can share a
 * machine without each its own Kore config. A config that binds by
 * itself (written before the setting existed) keeps its address when
 * FORMWORK_LISTEN is not set, and is refused when it is: two answers to
 * one question.
 */
static void
app_listen(void)
{
	struct kore_server	*srv;

	if ((srv = kore_server_lookup("default")) == NULL)
		fail_exit("the Kore config has no 'server default' block");
	if (!LIST_EMPTY(&srv->listeners)) {
		if (config.listen_set)
			fail_exit("FORMWORK_LISTEN is set, but the Kore config "
			    "binds an address itself: remove its bind line");
		return;
	}
	if (kore_server_bind(srv, config.listen_host, config.listen_port,
	    NULL) != KORE_RESULT_OK)
		fail_exit("cannot listen on %s port %s (FORMWORK_LISTEN): "
		    "see the line above", config.listen_host,
		    config.listen_port);
}

/*
 * The secret that signs form tokens: FORMWORK_SECRET when set (several
 * nodes must share it), otherwise a random one kept in the secret file
 * and created on first start, readable by its owner only.
 */
static void
app_secret_load(void)
{
	const char	*env;
	u_int8_t	 key[32];
	ssize_t		 n;
	int		 fd;

	if ((env = getenv("FORMWORK_SECRET")) != NULL && *env != '\0') {
		if (strlen(env) < 32)
			fail_exit("FORMWORK_SECRET must be at least 32 "
			    "characters long");
		token_secret_set((const u_int8_t *)env, strlen(env));
		return;
	}

	if ((fd = open(config.secret_file, O_RDONLY)) != -1) {
		n = read(fd, key, sizeof(key));
		(void)close(fd);
		if (n != (ssize_t)sizeof(key))
			fail_exit("%s: must hold %zu bytes; delete it to make "
			    "a new one", config.secret_file, sizeof(key));
	} else if (errno == ENOENT) {
		randombytes_buf(key, sizeof(key));
		fd = open(config.secret_file, O_WRONLY | O_CREAT | O_EXCL,
		    0600);
		if (fd == -1 || write(fd, key, sizeof(key)) !=
		    (ssize_t)sizeof(key) || fsync(fd) == -1)
			fail_exit("%s: cannot create: %s", config.secret_file,
			    strerror(errno));
		(void)close(fd);
	} else {
		fail_exit("%s: %s", config.secret_file, strerror(errno));
	}
	token_secret_set(key, sizeof(key));
	sodium_memzero(key, sizeof(key));
}

/* Creates path's directories (all but the last when it names a file). */
static void
app_mkdirs(const char *path, int is_dir)
{
	char		err[512];

	if (util_mkdirs(path, is_dir, err, sizeof(err)) == -1)
		fail_exit("%s", err);
}

/*
 * Kore unloads the module (dlclose) while a worker shuts down, after
 * kore_worker_teardown(); a runner still returning from our code would
 * then jump into unmapped memory. Marking the module RTLD_NODELETE (once,
 * in the parent; the workers inherit it) keeps it mapped until exit.
 */
static void
app_module_pin(void)
{
	static void	*self;
	Dl_info		 info;

	if (dladdr((void *)app_module_pin, &info) == 0 ||
	    info.dli_fname == NULL ||
	    (self = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD |
	    RTLD_NODELETE)) == NULL)
		fail_exit("cannot pin the module in memory: %s", dlerror());
}

/* Exports that were running when Formwork stopped will never finish. */
static void
app_exports_abandon(void)
{
	struct store_handle	*h;

	h = store_handle_new();
	if (store_exports_abandon(h, util_now_ms()) != STORE_OK)
		fail_exit("%s: cannot update the exports table",
		    config.db_path);
	store_handle_free(h);
}
