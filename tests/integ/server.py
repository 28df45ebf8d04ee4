"""
server.py: start and stop a real Formwork (Kore) server for the
integration tests, each in its own temporary directory under tests/out/
with its own database, signing secret, Kore configuration and log.

The Kore configuration is generated from conf/formwork.conf: `load` the
module under test (absolute path), `pidfile` and `http_body_disk_path` move into the run's
directory, and `worker_death_policy` becomes `terminate` so a crashing
worker stops the server instead of being restarted silently. The server
listens on 127.0.0.1 and a free port (FORMWORK_LISTEN).

Kore runs from the repository root (paths such as conf/forms, templates
and assets are relative to it) as `stdbuf -oL kore -fnrc CONF`. It is
stopped by its own PID only. After a stop, the log is searched for the
signs of a crash or a sanitizer report, which Kore's exit status hides.

With FORMWORK_TEST_PG=1 (make integ-pg) every server's store is a
database of its own in one PostgreSQL cluster that this process starts
on first use and stops at exit (pg.py): FORMWORK_DB is its URL, and
sql() / rows() read it with psql instead of sqlite3.

Standard library only; run with Debian's /usr/bin/python3.
"""

import atexit
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pg as pgmod

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "out")

# Lines in Kore's output that fail a run, whatever the tests said. A
# thread that does not end within its stop wait ("threads still busy")
# makes every stop seconds slower: once, the queue's listener never even
# started (the worker had no Kore task thread left for it).
LOG_FAILURES = re.compile(
    r"sandbox violation|seccomp violation|\bgone\b|AddressSanitizer|"
    r"LeakSanitizer|threads still busy|"
    r"runtime error|UndefinedBehaviorSanitizer")
# Kore 4.1.0 workers print this on every ordinary shutdown (their message
# socket to the parent closes); it only counts before the stop was asked.
SHUTDOWN_NOISE = re.compile(r"\]: parent gone, shutting down$")


_CLUSTER = None


def on_postgres():
    """1 when the servers of this run keep their store in PostgreSQL."""
    return os.environ.get("FORMWORK_TEST_PG") == "1"


def cluster():
    """This process's PostgreSQL cluster, started on first use."""
    global _CLUSTER
    if _CLUSTER is None:
        _CLUSTER = pgmod.Postgres().start()
        atexit.register(_CLUSTER.stop)
    return _CLUSTER


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def terminate(proc, timeout=10, on_stuck=None):
    """Stops a process started here by its PID: SIGTERM, then SIGKILL,
    to its children too (a Kore worker that hangs in exit, as one can
    under the preloaded AddressSanitizer, must not outlive the test).
    on_stuck(), if given, runs before the SIGKILL."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if on_stuck is not None:
            try:
                on_stuck()
            except Exception as e:  # noqa: BLE001 (the kill must follow)
                print("      NOTE the report before SIGKILL failed: %r" % e)
        left = children_of(proc.pid)
        proc.kill()
        proc.wait()
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def thread_stacks(pid):
    """What every thread of pid and of its children is doing: the kernel's
    wait channel and system call of each, then each process's stacks from
    gdb (when installed). For a server that stops answering: the report
    of a hang that a later run may never show again."""
    out = []
    for p in [pid] + children_of(pid):
        out.append("== process %d" % p)
        try:
            tids = sorted(os.listdir("/proc/%d/task" % p), key=int)
        except OSError:
            continue
        for tid in tids:
            info = []
            for what in ("comm", "wchan", "syscall"):
                try:
                    with open("/proc/%d/task/%s/%s" % (p, tid, what)) as f:
                        info.append(f.read().strip().split(" ")[0])
                except OSError:
                    info.append("?")
            out.append("  thread %s %s: waits in %s (system call %s)"
                       % (tid, info[0], info[1], info[2]))
        if shutil.which("gdb"):
            try:
                r = subprocess.run(
                    ["gdb", "-p", str(p), "-batch", "-nx",
                     "-ex", "thread apply all bt 12"],
                    capture_output=True, text=True, timeout=120)
            except subprocess.TimeoutExpired:
                out.append("  (gdb did not finish within 120 s)")
                continue
            out.extend("  " + l[:200] for l in r.stdout.splitlines()
                       if l.startswith(("Thread", "#")))
    return "\n".join(out)


def children_of(pid):
    """The pids whose parent is pid (a Kore parent's workers)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after ')'
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(d))
    return out


def module_path():
    """The module under test: FORMWORK_SO (set by run.sh) or ./formwork.so."""
    return os.path.abspath(os.environ.get("FORMWORK_SO",
                                          os.path.join(REPO, "formwork.so")))


def base_conf():
    """The Kore configuration the test confs derive from (FORMWORK_KORE_CONF
    or the shipped conf/formwork.conf)."""
    return os.path.abspath(os.environ.get(
        "FORMWORK_KORE_CONF", os.path.join(REPO, "conf", "formwork.conf")))


def run_root():
    """One directory per test run, shared by every server of that run."""
    root = os.environ.get("FORMWORK_RUN_DIR")
    if not root:
        os.makedirs(OUT, exist_ok=True)
        root = os.path.join(OUT, "run-%s-%d" % (
            time.strftime("%Y%m%d-%H%M%S"), os.getpid()))
        os.environ["FORMWORK_RUN_DIR"] = root
    os.makedirs(root, exist_ok=True)
    return root


def make_conf(src, dst, port, so, rundir, tracing=False, workers=None,
              restart=False):
    """Writes the per-run Kore configuration derived from conf/formwork.conf
    (with workers worker processes instead of the shipped number, if
    given; a worker that dies stops the whole server unless restart)."""
    with open(src) as f:
        text = f.read()
    subs = [
        (r"(?m)^load\s+.*$", "load\t\t\t%s" % so),
        (r"(?m)^pidfile\s+.*$", "pidfile\t\t\t%s/kore.pid" % rundir),
        (r"(?m)^http_body_disk_path\s+.*$",
         "http_body_disk_path\t%s/body" % rundir),
        (r"(?m)^worker_death_policy\s+.*$", "worker_death_policy\t%s"
         % ("restart" if restart else "terminate")),
        (r"(?m)^seccomp_tracing\s+.*$",
         "seccomp_tracing\t\t%s" % ("yes" if tracing else "no")),
    ]
    if workers is not None:
        subs.append((r"(?m)^workers\s+.*$", "workers\t\t\t%d" % workers))
    for pat, rep in subs:
        text, n = re.subn(pat, rep, text)
        if n == 0:
            # Directive missing from the shipped conf: add it.
            text = rep.replace("\\g<1>", "") + "\n" + text
    with open(dst, "w") as f:
        f.write(text)


class StartError(Exception):
    pass


class Server:
    """
    One Formwork server. env: extra environment (strings); forms_dir: a
    directory of form definitions instead of conf/forms; workers: Kore's
    worker count instead of the shipped conf's. Use start(),
    then url / db / port, then stop(), which returns the log problems.
    """

    counter = 0

    def __init__(self, name="main", env=None, forms_dir=None, so=None,
                 tracing=None, workers=None, restart=False):
        Server.counter += 1
        self.name = "%02d-%s" % (Server.counter, name)
        self.extra_env = dict(env or {})
        self.forms_dir = forms_dir
        self.so = os.path.abspath(so) if so else module_path()
        if tracing is None:
            tracing = os.environ.get("FORMWORK_SECCOMP_TRACING") == "1"
        self.tracing = tracing
        self.workers = workers
        self.restart = restart
        self.dir = os.path.join(run_root(), self.name)
        self.db = cluster().database() if on_postgres() else \
            os.path.join(self.dir, "formwork.db")
        self.log = os.path.join(self.dir, "kore.log")
        self.conf = os.path.join(self.dir, "kore.conf")
        self.proc = None
        self.port = None
        self.logf = None
        self.stop_offset = None
        self.died_early = None

    # -- environment -------------------------------------------------

    def environment(self, port):
        env = dict(os.environ)
        for k in list(env):
            # Settings of the calling shell must not leak into a test.
            if k.startswith("FORMWORK_") and k not in (
                    "FORMWORK_SAN", "FORMWORK_SO", "FORMWORK_RUN_DIR",
                    "FORMWORK_KORE_CONF", "FORMWORK_SECCOMP_TRACING"):
                del env[k]
        env.update({
            "FORMWORK_DB": self.db,
            "FORMWORK_SECRET_FILE": os.path.join(self.dir, "secret.key"),
            "FORMWORK_BASE_URL": "http://127.0.0.1:%d" % port,
            "FORMWORK_LISTEN": "127.0.0.1:%d" % port,
        })
        if self.forms_dir:
            env["FORMWORK_FORMS"] = self.forms_dir
        if os.environ.get("FORMWORK_SAN") == "1":
            lib = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                                 capture_output=True, text=True).stdout.strip()
            env["LD_PRELOAD"] = lib
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
            env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
        env.update(self.extra_env)
        return env

    # -- life cycle --------------------------------------------------

    def spawn(self):
        """Starts kore without waiting for it; returns the Popen."""
        os.makedirs(os.path.join(self.dir, "body"), exist_ok=True)
        self.port = free_port()
        make_conf(base_conf(), self.conf, self.port, self.so, self.dir,
                  self.tracing, self.workers, self.restart)
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "kore", "-fnrc", self.conf],
            cwd=REPO, env=self.environment(self.port),
            stdout=self.logf, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own process group: with seccomp_tracing a Kore 4.1.0
            # worker can see its pid as 0 and, on shutdown, send SIGQUIT
            # to kill(0, ...), i.e. its whole process group.
            start_new_session=True)
        return self.proc

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def healthy(self):
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            c.request("GET", "/healthz")
            r = c.getresponse()
            r.read()
            c.close()
            return r.status == 200
        except OSError:
            return False

    def start(self, timeout=10.0):
        """Starts and waits for /healthz to answer 200, or raises."""
        for attempt in range(3):
            self.spawn()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if self.healthy():
                    return self
                time.sleep(0.05)
            log = self.read_log()
            if self.proc.poll() is None:
                self.kill()
                raise StartError("%s: /healthz did not answer 200 within "
                                 "%.0f s; log:\n%s" % (self.name, timeout, log))
            self.close_log()
            # Lost a race for the port: try another one.
            if "Address already in use" in log and attempt < 2:
                continue
            raise StartError("%s: kore exited with %s before it was ready; "
                             "log:\n%s" % (self.name, self.proc.returncode, log))
        raise StartError("%s: no free port" % self.name)

    def run_until_exit(self, timeout=10.0):
        """
        For a configuration that must be refused: starts kore, waits for
        it to exit, and returns (exit status or None if still running,
        serving?, output). A server that did not exit is stopped.
        """
        self.spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        rc = self.proc.poll()
        serving = rc is None and self.healthy()
        if rc is None:
            self.kill()
        self.close_log()
        return rc, serving, self.read_log()

    def read_log(self):
        try:
            with open(self.log, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def close_log(self):
        if self.logf:
            self.logf.close()
            self.logf = None

    def kill(self):
        """Stops the server by its PID: SIGTERM, then SIGKILL after 10 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.stop_offset = len(self.read_log())
        terminate(self.proc, on_stuck=lambda: self.save_stacks(
            "did not stop within 10 s of SIGTERM"))

    def save_stacks(self, why):
        """Writes what every thread of the server is doing into its
        directory (thread_stacks) and prints it, with where."""
        text = thread_stacks(self.proc.pid)
        path = os.path.join(self.dir, "stacks-%d.txt" % time.time_ns())
        with open(path, "w") as f:
            f.write("%s: %s\n%s\n" % (self.name, why, text))
        # Printed too: CI's output is all that is left of a run elsewhere.
        print("      NOTE %s %s; its threads (also in %s):\n%s" % (
            self.name, why, path, text), flush=True)

    def stop(self):
        """Stops the server; returns the log lines that mean a failure."""
        if self.proc is not None and self.proc.poll() is not None:
            self.died_early = str(self.proc.returncode)
        self.kill()
        self.close_log()
        return self.log_problems()

    def log_problems(self):
        """
        Log lines that fail the run: a sandbox violation, a worker gone,
        a sanitizer report. Also a server that died on its own before
        it was asked to stop.
        """
        log = self.read_log()
        cut = self.stop_offset if self.stop_offset is not None else len(log)
        out = [l for l in log[:cut].splitlines() if LOG_FAILURES.search(l)]
        out += [l for l in log[cut:].splitlines()
                if LOG_FAILURES.search(l) and not SHUTDOWN_NOISE.search(l)]
        if self.died_early:
            out.append("kore exited (status %s) before it was stopped"
                       % self.died_early)
        return out

    # -- the database ------------------------------------------------

    def sql(self, query):
        """Runs one query with the sqlite3 CLI (psql on PostgreSQL);
        returns its output lines, '|' between columns."""
        if on_postgres():
            return cluster().lines(self.db, query)
        r = subprocess.run(["sqlite3", "-batch", self.db, query],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("sqlite3 %r: %s" % (query, r.stderr))
        return r.stdout.splitlines()

    def rows(self, query, args=()):
        """Rows as dicts, read-only, with '?' placeholders for args."""
        if on_postgres():
            return cluster().rows(self.db, query, args)
        import sqlite3
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True,
                              timeout=10)
        try:
            con.row_factory = sqlite3.Row
            return [dict(r) for r in con.execute(query, args).fetchall()]
        finally:
            con.close()

    def count(self, where=None):
        q = "select count(*) from submissions"
        if where:
            q += " where " + where
        return int(self.sql(q)[0])


def sql_quote(s):
    return "'" + s.replace("'", "''") + "'"


def copy_forms(dst):
    """Copies conf/forms into dst (to be changed by a test)."""
    shutil.copytree(os.path.join(REPO, "conf", "forms"), dst)
    return dst
