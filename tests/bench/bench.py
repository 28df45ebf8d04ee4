#!/usr/bin/python3
"""
bench.py: Formwork's benchmark (run by tests/bench/run.sh, `make bench`;
not part of `make test`).

Drives the app (production settings: the shipped conf/formwork.conf, 2
workers, FORMWORK_RATE_LIMIT=0, FORMWORK_MIN_FILL_MS=0, the -O2 module)
with wrk on loopback and, in the same run and interleaved with it, two
references on the same machine, both minimal Kore handlers under
tests/bench/ built by run.sh:

  ref_static  a static page of exactly the app's page size (GET ceiling)
  ref_sqlite  parse the contact fields, one INSERT with a prepared
              statement in its own transaction, WAL, synchronous=NORMAL,
              303 (POST ceiling; the app itself runs synchronous=FULL
              with group commit)

plus two peers: the same contact form in Flask under gunicorn
(tests/bench/peers/flask_contact.py), and the contact form with its
result page on Node 20 (node:cluster, 2 workers) with better-sqlite3
(tests/bench/peers/node/node_contact.js; skipped when run.sh could not
install it, BENCH_NODE_DIR unset).

Last, the review desk (step "admin"): a fresh store of BENCH_ADMIN_ROWS
submissions (1,000,000; 20,000 with QUICK) from `formworkctl generate`,
the list, filters, searches and page 50 timed with sequential keep-alive
requests (median and p90 against the 50 ms target) and with wrk (rows
admin_list and admin_search, no reference).

Then PostgreSQL (step "postgresql", a cluster of its own from
tests/integ/pg.py): POST against ref_pg (Kore's pgsql, one INSERT per
request); one node against two on the same database (each pinned to its
own CPU, CPU per process group in the notes); and the queue across two
nodes, webhooks to hook_receiver.py, jobs/s and the time from each 303
(post_times.lua) to its webhook.

Every figure is the median of RUNS runs (app and reference runs
alternate). POST runs start each server afresh on a fresh copy of the
database (empty, or a copy of one filled by `formworkctl generate` for
the database-size rows), so every run
sees the same database and every pre-fetched form instance (_key/_csrf,
fetched with wrk through tests/bench/prefetch.lua, signed with a fixed
FORMWORK_SECRET so they stay valid across restarts) can be posted once
per run.

Output: a table on stdout; tests/bench/results/<date>-<commit>.{md,csv},
tests/bench/results/latest.csv and tests/bench/results/history.svg
(QUICK=1 writes them under the work directory instead, so trial runs stay
out of the history).

Standard library only; Debian's /usr/bin/python3.
"""

import argparse
import calendar
import csv
import glob
import http.client
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True   # nothing written outside tests/bench
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integ"))

from harness import children_of, form_def, hook, write_forms  # noqa
from server import Server, free_port  # noqa: E402
import pg as pgmod  # noqa: E402

SECRET = "formwork-bench-secret-0123456789abcdef-not-for-production"
NODE_DETAIL = ("c%d; Node 20, node:cluster 2 workers, better-sqlite3 "
               "(built from source)")
SETTLE_S = 1.0          # quiet time before each timed GET run
CSV_COLUMNS = ["scenario", "formwork_rps", "reference", "reference_rps",
               "ratio", "p50_ms", "p99_ms", "peak_rss_mb"]
KEY_RE = re.compile(rb'name="_key" value="([^"]+)"')
CSRF_RE = re.compile(rb'name="_csrf" value="([^"]+)"')

# Targets (issue 18, raised from the first benchmark issue's 0.80 GET,
# 1.0x POST with p99 < 20 ms and 16 MB).
TARGET_GET = 0.95
TARGET_POST = 2.00
TARGET_POST_P99 = 10.0
TARGET_POST_P99_C256 = 25.0
TARGET_POST_PG = 1.00      # PostgreSQL: against one INSERT per request
TARGET_POST_P99_PG = 20.0
TARGET_304 = 0.90
TARGET_200 = 0.90
TARGET_RSS_MB = 12.0
TARGET_GROWTH_KB = 1024   # < 1 MB over the soak: < 1 byte per request
TARGET_ADMIN_MS = 50.0    # admin pages at 1M rows: median, sequential
TARGET_ADMIN_ROWS = 1000000
ADMIN_USER = "bench-admin"
ADMIN_PASSWORD = "bench-admin-password-0123"
NEXT_RE = re.compile(rb'<a rel="next" href="([^"]+)"')
ROW_RE = re.compile(rb'<tr data-id="[^"]+" data-review="([a-z]+)"')
SUMMARY_RE = re.compile(rb'<td class="summary">([^<]*)</td>')


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


class Settings:
    def __init__(self, quick):
        env = os.environ.get
        self.quick = quick
        self.runs = int(env("BENCH_RUNS", "1" if quick else "3"))
        self.dur = int(env("BENCH_DURATION", "2" if quick else "5"))
        self.warm = int(env("BENCH_WARMUP", "1"))
        self.conns = [int(c) for c in env("BENCH_CONNS",
                                          "16,64,256").split(",")]
        self.main_conns = 64
        self.db_sizes = [int(n) for n in env(
            "BENCH_DB_SIZES", "10000,100000,1000000").split(",") if n]
        self.soak_warm = int(env("BENCH_SOAK_WARMUP", "2" if quick else "5"))
        self.soak = int(env("BENCH_SOAK", "5" if quick else "60"))
        self.signups = int(env("BENCH_SIGNUPS", "1000" if quick else "2000"))
        self.signups_c1 = int(env("BENCH_SIGNUPS_C1",
                                  "100" if quick else "200"))
        self.threads = 2
        # PostgreSQL queue rows: webhook submissions across two nodes,
        # loaded (64 connections) and one connection per node.
        self.queue_jobs = int(env("BENCH_QUEUE_JOBS",
                                  "1000" if quick else "3000"))
        self.queue_jobs_c1 = int(env("BENCH_QUEUE_JOBS_C1",
                                     "100" if quick else "200"))
        # Admin desk: rows generated by formworkctl, sequential samples
        # per page, the page the walk goes to, wrk connections.
        self.admin_rows = int(env("BENCH_ADMIN_ROWS",
                                  "20000" if quick else "1000000"))
        self.admin_samples = int(env("BENCH_ADMIN_SAMPLES", "21"))
        self.admin_page = int(env("BENCH_ADMIN_PAGE", "50"))
        self.admin_conns = int(env("BENCH_ADMIN_CONNS", "16"))


# ---- processes ----------------------------------------------------------

def kore_workers(pid):
    out = []
    for c in sorted(children_of(pid)):
        try:
            with open("/proc/%d/cmdline" % c, "rb") as f:
                if b"wrk" in f.read():
                    out.append(c)
        except OSError:
            pass
    return out


def proc_mem(pid):
    """(VmHWM, VmRSS) of pid in kB."""
    hwm = rss = 0
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
                elif line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
    except OSError:
        pass
    return hwm, rss


CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_busy():
    """Busy CPU time of the whole machine so far, in clock ticks."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]


def proc_ticks():
    """({pid: parent pid}, {pid: CPU ticks so far, all threads}) of every
    process running."""
    parent, ticks = {}, {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        rest = st[st.rfind(")") + 2:].split()
        parent[int(d)] = int(rest[1])
        ticks[int(d)] = int(rest[11]) + int(rest[12])
    return parent, ticks


def own_cpu():
    """CPU time (ticks) of this process's descendants still running
    (the servers and their workers, all threads included)."""
    parent, ticks = proc_ticks()
    me, total = os.getpid(), 0
    for pid in ticks:
        p, seen = pid, 0
        while p > 1 and seen < 64:
            p = parent.get(p, 0)
            seen += 1
            if p == me:
                total += ticks[pid]
                break
    return total


class LoadMeter:
    """Share of the machine used by processes other than this benchmark
    while a measurement runs (other users' builds, tests, fuzzers)."""

    def __enter__(self):
        import resource
        self.resource = resource
        self.t0 = time.monotonic()
        self.busy0 = cpu_busy()
        self.own0 = own_cpu()
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.kids0 = ru.ru_utime + ru.ru_stime
        return self

    def __exit__(self, *exc):
        ru = self.resource.getrusage(self.resource.RUSAGE_CHILDREN)
        kids = (ru.ru_utime + ru.ru_stime - self.kids0) * CLK_TCK
        elapsed = time.monotonic() - self.t0
        busy = cpu_busy() - self.busy0
        own = own_cpu() - self.own0 + kids
        ncpu = os.cpu_count() or 1
        self.foreign_pct = max(0.0, 100.0 * (busy - own) /
                               (elapsed * CLK_TCK * ncpu))
        self.own_pct = 100.0 * own / (elapsed * CLK_TCK * ncpu)
        return False


class CpuShares:
    """CPU used per group of processes while a measurement runs, in % of
    one core (the machine has os.cpu_count() * 100): groups maps a name
    to a function giving its PIDs (read at the end; each PID's threads
    and its children's are counted when listed). wrk's share is the
    harness's reaped children's; "rest" is whatever else the machine
    did (other sessions, the kernel's own threads)."""

    def __init__(self, groups):
        self.groups = groups

    def __enter__(self):
        import resource
        self.resource = resource
        self.t0 = time.monotonic()
        self.busy0 = cpu_busy()
        self.ticks0 = proc_ticks()[1]
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.kids0 = ru.ru_utime + ru.ru_stime
        return self

    def __exit__(self, *exc):
        ticks = proc_ticks()[1]
        ru = self.resource.getrusage(self.resource.RUSAGE_CHILDREN)
        per_s = CLK_TCK * (time.monotonic() - self.t0) / 100.0
        self.shares = {}
        for name, pids in self.groups.items():
            t = sum(ticks.get(p, 0) - self.ticks0.get(p, 0)
                    for p in set(pids()))
            self.shares[name] = t / per_s
        self.shares["wrk"] = (ru.ru_utime + ru.ru_stime -
                              self.kids0) * CLK_TCK / per_s
        busy = (cpu_busy() - self.busy0) / per_s
        self.shares["rest"] = max(0.0, busy - sum(self.shares.values()))
        return False

    def text(self):
        return ", ".join("%s %.0f%%" % kv for kv in self.shares.items())


def pin(pids, cpu):
    """Every thread of each PID onto one CPU (threads made later inherit
    it from the thread that makes them)."""
    for p in pids:
        try:
            tids = [int(t) for t in os.listdir("/proc/%d/task" % p)]
        except OSError:
            continue
        for t in tids:
            try:
                os.sched_setaffinity(t, {cpu})
            except OSError:
                pass


def reset_hwm(pids):
    """Resets the peak RSS (VmHWM) of each pid to its current RSS."""
    for p in pids:
        try:
            with open("/proc/%d/clear_refs" % p, "w") as f:
                f.write("5")
        except OSError:
            pass


def http_get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body


def healthy(port):
    try:
        return http_get(port, "/healthz")[0] == 200
    except OSError:
        return False


class Proc:
    """A reference or peer server: started in its own session, stopped by
    its own PID only."""

    def __init__(self, name, cmd, cwd, env, logpath, port, kind):
        self.name, self.cmd, self.cwd = name, cmd, cwd
        self.env, self.logpath, self.port, self.kind = env, logpath, port, kind
        self.proc = None

    def start(self, timeout=20):
        self.logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env,
                                     stdout=self.logf,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if healthy(self.port):
                return self
            time.sleep(0.05)
        self.stop()
        with open(self.logpath, "rb") as f:
            tail = f.read()[-2000:].decode("utf-8", "replace")
        raise RuntimeError("%s did not start; log:\n%s" % (self.name, tail))

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def workers(self):
        if self.kind == "kore":
            return kore_workers(self.proc.pid)
        return sorted(children_of(self.proc.pid))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "logf", None):
            self.logf.close()
            self.logf = None

    def problems(self):
        try:
            with open(self.logpath, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return []
        return [l for l in text.splitlines()
                if re.search(r"sandbox violation|seccomp violation|"
                             r"\bgone\b.*hdlr|Traceback|insert failed|"
                             r"ref_sqlite: |node_contact: ", l)]


class Bench:
    def __init__(self, args, st):
        self.args, self.st = args, st
        self.work = os.path.abspath(args.work)
        self.refdir = os.path.abspath(args.refdir)
        os.makedirs(self.work, exist_ok=True)
        # A snapshot of the module: a rebuild during the run must not
        # mix two builds in one set of figures.
        self.so_orig = os.path.abspath(args.so)
        self.so = os.path.join(self.work, "formwork.so")
        shutil.copy2(self.so_orig, self.so)
        # Servers' directories are numbered from 1 in every run: a work
        # directory used before must not hand them an old database.
        for d in ("app", "refs", "peers"):
            shutil.rmtree(os.path.join(self.work, d), ignore_errors=True)
        os.environ["FORMWORK_RUN_DIR"] = os.path.join(self.work, "app")
        os.environ["FORMWORK_SO"] = self.so
        self.rows = []          # result rows (see add_row)
        self.notes = []         # lines for the Markdown
        self.problems = []      # log problems, failed checks
        self.memory = {}        # scenario -> {pid: hwm}
        self.soak = None
        self.signup = None
        self.admin = None
        self.seq = 0
        self.node_dir = os.environ.get("BENCH_NODE_DIR") or None
        if self.node_dir is None:
            self.notes.append("No Node peer: run.sh could not install it "
                              "(BENCH_NODE_DIR unset).")
        self.confs = {}
        for w in (1, 2):
            self.confs[w] = self.app_conf(w)

    # -- servers ---------------------------------------------------------

    def app_conf(self, workers):
        """conf/formwork.conf with `workers N`; server.py adapts the rest."""
        with open(os.path.join(REPO, "conf", "formwork.conf")) as f:
            text = f.read()
        text, n = re.subn(r"(?m)^workers\s+\d+\s*$",
                          "workers\t\t\t%d" % workers, text)
        if n == 0:
            text = "workers\t\t\t%d\n" % workers + text
        path = os.path.join(self.work, "formwork-w%d.conf" % workers)
        with open(path, "w") as f:
            f.write(text)
        return path

    def app(self, name, workers=2, db_template=None, extra_env=None,
            db_move=None, forms_dir=None):
        os.environ["FORMWORK_KORE_CONF"] = self.confs[workers]
        env = {"FORMWORK_RATE_LIMIT": "0", "FORMWORK_MIN_FILL_MS": "0",
               "FORMWORK_SECRET": SECRET}
        srv = Server(name, env=env, so=self.so, forms_dir=forms_dir)
        srv.extra_env["FORMWORK_OUTBOX"] = os.path.join(srv.dir, "outbox")
        srv.extra_env.update(extra_env or {})
        os.makedirs(srv.dir, exist_ok=True)
        if db_template:
            copy_synced(db_template, srv.db)
        if db_move:
            # A database used once: moved into place, not copied.
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db_move + suffix):
                    shutil.move(db_move + suffix, srv.db + suffix)
        srv.start(timeout=30)
        srv.kind = "app"
        return srv

    def stop_app(self, srv):
        probs = srv.stop()
        self.problems += ["%s: %s" % (srv.name, p) for p in probs]

    def ref(self, which, workers=2, db=None):
        self.seq += 1
        name = "%02d-ref_%s-w%d" % (self.seq, which, workers)
        d = os.path.join(self.work, "refs", name)
        os.makedirs(os.path.join(d, "body"), exist_ok=True)
        port = free_port()
        routes = {
            "static": [("/form", "ref_form"), ("/result", "ref_result"),
                       ("/healthz", "ref_healthz")],
            "sqlite": [("/f/contact", "ref_post"),
                       ("/healthz", "ref_healthz")],
            "pg": [("/f/contact", "ref_post"), ("/healthz", "ref_healthz")],
        }[which]
        conf = os.path.join(d, "kore.conf")
        with open(conf, "w") as f:
            f.write(REF_CONF % {
                "port": port, "so": "./ref_%s.so" % which,
                "workers": workers, "dir": d,
                "app_settings": app_kore_settings(),
                "routes": "".join("\troute\t\t%s\t%s\n" % r
                                  for r in routes)})
        env = dict(os.environ)
        env["REF_FORM_FILE"] = os.path.join(self.work, "page-form.html")
        env["REF_RESULT_FILE"] = os.path.join(self.work, "page-result.html")
        env["REF_DB"] = db or os.path.join(d, "ref.db")
        p = Proc(name, ["stdbuf", "-oL", "kore", "-fnrc", conf], self.refdir,
                 env, os.path.join(d, "kore.log"), port, "kore")
        p.db = env["REF_DB"]
        p.dir = d
        return p.start()

    def peer(self, kind, db=None):
        """A peer, "flask" (gunicorn) or "node" (installed by run.sh into
        BENCH_NODE_DIR), on a fresh port and database unless db."""
        self.seq += 1
        name = "%02d-%s" % (self.seq, kind)
        d = os.path.join(self.work, "peers", name)
        os.makedirs(d, exist_ok=True)
        port = free_port()
        env = dict(os.environ)
        env["PEER_DB"] = db or os.path.join(d, "peer.db")
        env["PEER_PORT"] = str(port)
        if kind == "flask":
            gunicorn = "/usr/bin/gunicorn" if os.path.exists(
                "/usr/bin/gunicorn") else "gunicorn"
            cmd = [gunicorn, "-w", "2", "-k", "gthread", "--threads", "4",
                   "-b", "127.0.0.1:%d" % port, "--chdir",
                   os.path.join(HERE, "peers"), "flask_contact:app"]
            log = "gunicorn.log"
        else:
            cmd = ["node", os.path.join(self.node_dir, "node_contact.js")]
            log = "node.log"
        p = Proc(name, cmd, d, env, os.path.join(d, log), port, kind)
        p.db = env["PEER_DB"]
        p.dir = d
        return p.start()

    def stop_ref(self, p):
        p.stop()
        self.problems += ["%s: %s" % (p.name, l) for l in p.problems()]

    @staticmethod
    def pids(s):
        if isinstance(s, Server):
            return kore_workers(s.proc.pid)
        return s.workers()

    # -- wrk -------------------------------------------------------------

    def wrk(self, url, conns, dur, script, args=(), headers=(), threads=None):
        threads = min(threads or self.st.threads, conns)
        return self.wrk_many([(url, conns, threads, args)], dur, script,
                             headers)

    def wrk_many(self, targets, dur, script, headers=()):
        """wrk processes run side by side, one per (url, connections,
        threads, script arguments): their requests, rates and bytes
        added, p50 the mean of theirs weighted by requests, p90/p99/max
        the highest of theirs."""
        procs = []
        with LoadMeter() as lm:
            for url, conns, threads, args in targets:
                cmd = ["wrk", "-t%d" % threads, "-c%d" % conns,
                       "-d%ds" % dur, "--latency", "--timeout", "10s",
                       "-s", os.path.join(HERE, script)]
                for h in headers:
                    cmd += ["-H", h]
                cmd.append(url)
                if args:
                    cmd += ["--"] + list(args)
                procs.append(subprocess.Popen(
                    cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    text=True))
            outs = [p.communicate(timeout=dur + 120) for p in procs]
        results = []
        for out, err in outs:
            m = re.search(r"BENCHRESULT (.*)", out)
            if not m:
                raise RuntimeError("wrk printed no result: %s %s" % (
                    out[-1000:], err[-1000:]))
            res = {}
            for kv in m.group(1).split():
                k, v = kv.split("=", 1)
                res[k] = float(v)
            results.append(res)
        res = results[0]
        if len(results) > 1:
            res = {k: sum(r[k] for r in results) for k in res}
            for k in ("p90_ms", "p99_ms", "max_ms", "exhausted"):
                res[k] = max(r[k] for r in results)
            res["p50_ms"] = sum(r["p50_ms"] * r["requests"]
                                for r in results) / max(1, res["requests"])
            res["duration_s"] = max(r["duration_s"] for r in results)
        res["errors"] = sum(res[k] for k in res if k.startswith("err_"))
        res["foreign_pct"] = lm.foreign_pct
        res["own_pct"] = lm.own_pct
        return res

    def wrk_until_done(self, url, conns, script, args, prefix, threads=None,
                       limit=600):
        """wrk with a script that writes PREFIX-<tid>.done per thread:
        stopped with SIGINT once all threads are done."""
        threads = min(threads or self.st.threads, conns)
        return self.wrk_many_until_done(
            [(url, conns, threads, args, prefix)], script, limit)[0]

    def wrk_many_until_done(self, targets, script, limit=600):
        """wrk_until_done for several wrk processes side by side, one per
        (url, connections, threads, arguments, prefix); their results."""
        procs = []
        for url, conns, threads, args, prefix in targets:
            for t in range(threads):
                try:
                    os.unlink("%s-%d.done" % (prefix, t))
                except OSError:
                    pass
            cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % limit,
                   "--latency", "--timeout", "10s", "-s",
                   os.path.join(HERE, script), url, "--"] + list(args)
            out = open(prefix + ".wrk.out", "w+")
            procs.append((subprocess.Popen(cmd, stdout=out,
                                           stderr=subprocess.STDOUT),
                          out, threads, prefix))
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit and any(
                w.poll() is None for w, _, _, _ in procs):
            if all(os.path.exists("%s-%d.done" % (prefix, t))
                   for _, _, threads, prefix in procs
                   for t in range(threads)):
                break
            time.sleep(0.01)
        took = time.monotonic() - t0
        results = []
        for w, out, _, _ in procs:
            if w.poll() is None:
                w.send_signal(signal.SIGINT)
                try:
                    w.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    w.kill()
                    w.wait()
            out.seek(0)
            text = out.read()
            out.close()
            m = re.search(r"BENCHRESULT (.*)", text)
            res = {"took_s": took}
            if m:
                for kv in m.group(1).split():
                    k, v = kv.split("=", 1)
                    res[k] = float(v)
            results.append(res)
        return results

    def prefetch(self, port, path, n, tag):
        """n fresh (key, csrf) pairs from GET path, fetched by wrk."""
        prefix = os.path.join(self.work, "prefetch-%s" % tag)
        threads = self.st.threads
        quota = int(math.ceil(n / threads))
        t0 = time.monotonic()
        self.wrk_until_done("http://127.0.0.1:%d/" % port, 16,
                            "prefetch.lua", [path, prefix, str(quota)],
                            prefix, threads=threads)
        pairs = []
        for t in range(threads):
            with open("%s-%d.txt" % (prefix, t)) as f:
                for line in f:
                    k, _, c = line.rstrip("\n").partition("\t")
                    if k and c:
                        pairs.append((k, c))
        took = time.monotonic() - t0
        log("prefetched %d %s forms in %.1f s (%.0f/s)" % (
            len(pairs), tag, took, len(pairs) / max(took, 1e-6)))
        if len(pairs) < n:
            raise RuntimeError("prefetch %s: %d of %d" % (tag, len(pairs), n))
        return pairs[:n]

    def write_bodies(self, tag, bodies, threads=None):
        threads = threads or self.st.threads
        prefix = os.path.join(self.work, "bodies-%s" % tag)
        for t in range(threads):
            with open("%s-%d.txt" % (prefix, t), "w") as f:
                for b in bodies[t::threads]:
                    f.write(b + "\n")
        return prefix

    # -- set-up ----------------------------------------------------------

    def setup(self):
        """Captures the app's pages for the static reference and fetches
        the pools of form instances."""
        srv = self.app("setup")
        try:
            st, hdr, form = http_get(srv.port, "/f/contact")
            assert st == 200, st
            with open(os.path.join(self.work, "page-form.html"), "wb") as f:
                f.write(form)
            rid, etag, result = self.app_result(srv)
            with open(os.path.join(self.work, "page-result.html"),
                      "wb") as f:
                f.write(result)
            self.page_sizes = {"form": len(form), "result": len(result)}
            log("page sizes: GET /f/contact %d bytes, GET /s/{id} %d bytes"
                % (len(form), len(result)))
            # Pool of contact forms: enough for one POST run at twice the
            # app's GET rate (the POST rate stays below it).
            st_ = self.st
            probe = self.wrk(srv.url + "/f/contact", 64, max(1, st_.warm),
                             "get.lua")
            self.pool_n = max(20000, int(probe["rps"] * st_.dur * 2))
            pairs = self.prefetch(srv.port, "/f/contact", self.pool_n,
                                  "contact")
            self.contact_bodies = [contact_body(i, k, c)
                                   for i, (k, c) in enumerate(pairs)]
            self.contact_prefix = self.write_bodies("contact",
                                                    self.contact_bodies)
            nsign = self.st.signups + self.st.signups_c1
            pairs = self.prefetch(srv.port, "/f/signup", nsign, "signup")
            sb = [signup_body(i, k, c) for i, (k, c) in enumerate(pairs)]
            self.signup_prefix = self.write_bodies(
                "signup", sb[:self.st.signups])
            self.signup_c1_prefix = self.write_bodies(
                "signup-c1", sb[self.st.signups:], threads=1)
        finally:
            self.stop_app(srv)

    def app_result(self, srv):
        """Posts one contact submission; returns (id, ETag, result page)."""
        st, hdr, form = http_get(srv.port, "/f/contact")
        k = KEY_RE.search(form).group(1).decode()
        c = CSRF_RE.search(form).group(1).decode()
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        conn.request("POST", "/f/contact", contact_body(0, k, c),
                     {"Content-Type": "application/x-www-form-urlencoded"})
        r = conn.getresponse()
        r.read()
        conn.close()
        loc = r.getheader("location")
        if r.status != 303 or not loc:
            raise RuntimeError("POST /f/contact: %d" % r.status)
        st, hdr, body = http_get(srv.port, loc)
        if st != 200 or "etag" not in hdr:
            raise RuntimeError("GET %s: %d %r" % (loc, st, hdr))
        st2, _, b2 = http_get(srv.port, loc, {"If-None-Match": hdr["etag"]})
        if st2 != 304:
            raise RuntimeError("GET %s with If-None-Match: %d" % (loc, st2))
        return loc, hdr["etag"], body

    # -- recording -------------------------------------------------------

    def add_row(self, scenario, reference, app_runs, ref_runs, peak_kb,
                detail="", value_key="rps"):
        a = med([r[value_key] for r in app_runs]) if app_runs else None
        b = med([r[value_key] for r in ref_runs]) if ref_runs else None
        row = {
            "scenario": scenario, "reference": reference,
            "formwork_rps": a, "reference_rps": b,
            "ratio": (a / b) if a and b else None,
            "p50_ms": med([r["p50_ms"] for r in app_runs]) if app_runs
            else None,
            "p99_ms": med([r["p99_ms"] for r in app_runs]) if app_runs
            else None,
            "ref_p50_ms": med([r["p50_ms"] for r in ref_runs]) if ref_runs
            else None,
            "ref_p99_ms": med([r["p99_ms"] for r in ref_runs]) if ref_runs
            else None,
            "peak_rss_mb": peak_kb / 1024.0 if peak_kb else None,
            "foreign_pct": med([r.get("foreign_pct") for r in
                                app_runs + ref_runs]),
            "app_runs": [round(r[value_key]) for r in app_runs],
            "commit": [dict(r["commit"], wrk_p50=r["p50_ms"],
                            wrk_p99=r["p99_ms"])
                       for r in app_runs if r.get("commit")],
            "ref_runs": [round(r[value_key]) for r in ref_runs],
            "detail": detail,
        }
        self.rows.append(row)
        log("%-22s formwork %9s  %-15s %9s  ratio %6s  p50 %7s  p99 %7s  "
            "rss %s  other load %s%%" % (
                scenario, fmt(a, 0), reference, fmt(b, 0),
                fmt(row["ratio"], 3), fmt(row["p50_ms"], 2),
                fmt(row["p99_ms"], 2), fmt(row["peak_rss_mb"], 1),
                fmt(row["foreign_pct"], 0)))
        return row

    def check_run(self, what, res, bytes_range=None):
        bad = []
        if res.get("errors", 0):
            bad.append("socket/status errors %d (status %d)" % (
                res["errors"], res.get("err_status", 0)))
        if res.get("exhausted", 0):
            bad.append("ran out of pre-fetched bodies")
        if bytes_range and res["requests"]:
            per = res["bytes"] / res["requests"]
            if not bytes_range[0] <= per <= bytes_range[1]:
                bad.append("%.0f bytes per answer, expected %d-%d" % (
                    per, bytes_range[0], bytes_range[1]))
        if bad:
            self.problems.append("%s: %s" % (what, "; ".join(bad)))

    # -- scenarios -------------------------------------------------------

    def get_runs(self, servers, conns, path_of, headers_of=None,
                 bytes_of=None):
        """Interleaved GET runs; returns {name: [results]} and peaks."""
        st = self.st
        out = {n: [] for n in servers}
        for n, s in servers.items():
            self.wrk(s.url + path_of[n], conns, st.warm, "get.lua",
                     headers=(headers_of or {}).get(n, ()))
            reset_hwm(self.pids(s))
        for r in range(st.runs):
            for n, s in servers.items():
                # The previous server (gunicorn above all) may still be
                # busy with what wrk left in flight: let it finish first.
                time.sleep(SETTLE_S)
                res = self.wrk(s.url + path_of[n], conns, st.dur, "get.lua",
                               headers=(headers_of or {}).get(n, ()))
                self.check_run("%s c%d run %d" % (n, conns, r + 1), res,
                               (bytes_of or {}).get(n))
                out[n].append(res)
        peaks = {n: max([proc_mem(p)[0] for p in self.pids(s)] or [0])
                 for n, s in servers.items()}
        return out, peaks

    def scenario_get(self):
        st = self.st
        app = self.app("get")
        ref = self.ref("static")
        flask = self.peer("flask")
        node = self.peer("node") if self.node_dir else None
        try:
            fsize = self.page_sizes["form"]
            rng = (fsize + 100, fsize + 1200)
            for conns in st.conns:
                servers = {"app": app, "ref": ref}
                if conns == st.main_conns:
                    servers["flask"] = flask
                    if node:
                        servers["node"] = node
                log("get_form c%d" % conns)
                runs, peaks = self.get_runs(
                    servers, conns,
                    {"app": "/f/contact", "ref": "/form",
                     "flask": "/f/contact", "node": "/f/contact"},
                    bytes_of={"app": rng, "ref": rng})
                name = scen("get_form", conns, st.main_conns)
                self.add_row(name, "kore_static", runs["app"], runs["ref"],
                             peaks["app"], "c%d, 2 workers" % conns)
                self.memory[name] = peaks
                if "flask" in runs:
                    self.add_row("get_form", "flask_gunicorn", runs["app"],
                                 runs["flask"], peaks["app"],
                                 "c%d; gunicorn 2 gthread workers x 4 "
                                 "threads" % conns)
                    self.flask_get_rps = med([r["rps"]
                                              for r in runs["flask"]])
                    self.flask_peak = peaks["flask"]
                if "node" in runs:
                    self.add_row("get_form", "node_sqlite", runs["app"],
                                 runs["node"], peaks["app"], NODE_DETAIL %
                                 conns)
                    self.node_get_rps = med([r["rps"] for r in runs["node"]])
                self.get_form_rps = getattr(self, "get_form_rps", {})
                self.get_form_rps[conns] = med([r["rps"]
                                                for r in runs["app"]])

            # The result page of one contact submission: 200 and 304
            # (the Node peer's own result page beside the 200).
            loc, etag, body = self.app_result(app)
            node_loc = self.app_result(node)[0] if node else None
            rsize = self.page_sizes["result"]
            for scenario, hdr, ref_hdr, rng in (
                    ("get_result_200", (), (), (rsize + 100, rsize + 1200)),
                    ("get_result_304", ("If-None-Match: %s" % etag,),
                     ('If-None-Match: "ref-static-0123456789abcdef'
                      '0123456789abcdef"',), (100, 900))):
                servers = {"app": app, "ref": ref}
                if node and not hdr:
                    servers["node"] = node
                log("%s c%d" % (scenario, st.main_conns))
                runs, peaks = self.get_runs(
                    servers, st.main_conns,
                    {"app": loc, "ref": "/result", "node": node_loc},
                    {"app": hdr, "ref": ref_hdr},
                    bytes_of={"app": rng, "ref": (60, 900) if hdr
                              else (rsize + 20, rsize + 1200)})
                self.add_row(scenario, "kore_static", runs["app"],
                             runs["ref"], peaks["app"],
                             "c%d, 2 workers" % st.main_conns)
                self.memory[scenario] = peaks
                if "node" in runs:
                    self.add_row(scenario, "node_sqlite", runs["app"],
                                 runs["node"], peaks["app"], NODE_DETAIL %
                                 st.main_conns)
        finally:
            self.stop_app(app)
            self.stop_ref(ref)
            self.stop_ref(flask)
            if node:
                self.stop_ref(node)

    def post_run(self, kind, workers, conns, db_template=None, rows0=0,
                 prefix=None):
        """One POST run on a fresh server and database: the result, the
        peak RSS of its workers, and the row check."""
        st = self.st
        prefix = prefix or self.contact_prefix
        if kind == "app":
            s = self.app("post-c%d-w%d" % (conns, workers), workers,
                         db_template)
            db = s.db
        elif kind == "ref":
            db = None
            if db_template:
                self.seq += 1
                db = os.path.join(self.work, "refs", "db-%d.db" % self.seq)
                os.makedirs(os.path.dirname(db), exist_ok=True)
                copy_synced(db_template, db)
            s = self.ref("sqlite", workers, db)
            db = s.db
        else:
            s = self.peer(kind)
            db = s.db
        try:
            res = self.wrk(s.url + "/", conns, st.dur, "post.lua",
                           ["/f/contact", prefix])
            peak = max([proc_mem(p)[0] for p in self.pids(s)] or [0])
            if kind == "app":
                res["commit"] = commit_phases(s.port)
        finally:
            if kind == "app":
                self.stop_app(s)
            else:
                self.stop_ref(s)
        rows = sqlite_count(db) - rows0
        res["new_rows"] = rows
        what = "post %s c%d w%d%s" % (kind, conns, workers,
                                      " db%d" % rows0 if rows0 else "")
        self.check_run(what, res)
        n = res["requests"]
        if not n <= rows <= n + conns:
            self.problems.append("%s: %d answers but %d new rows" % (
                what, n, rows))
        for suffix in ("", "-wal", "-shm"):
            if db_template and os.path.exists(db + suffix):
                os.unlink(db + suffix)   # large copies: free the disk
        return res, peak

    def scenario_post(self):
        st = self.st
        for conns in st.conns:
            log("post_submit c%d" % conns)
            a, b, f, nd, pa, pr, pf = [], [], [], [], 0, 0, 0
            for r in range(st.runs):
                res, peak = self.post_run("app", 2, conns)
                a.append(res)
                pa = max(pa, peak)
                res, peak = self.post_run("ref", 2, conns)
                b.append(res)
                pr = max(pr, peak)
                if conns == st.main_conns:
                    if r == 0:
                        self.flask_prefix = self.peer_pool("flask", 5000,
                                                           2000)
                        if self.node_dir:
                            self.node_prefix = self.peer_pool(
                                "node", 20000, 10000)
                    res, peak = self.post_run("flask", 2, conns,
                                              prefix=self.flask_prefix)
                    f.append(res)
                    pf = max(pf, peak)
                    if self.node_dir:
                        nd.append(self.post_run("node", 2, conns,
                                                prefix=self.node_prefix)[0])
            name = scen("post_submit", conns, st.main_conns)
            self.add_row(name, "kore_sqlite_normal", a, b, pa,
                         "c%d, 2 workers, empty database" % conns)
            self.memory[name] = {"app": pa, "ref": pr}
            if f:
                self.memory[name]["flask"] = pf
                self.add_row("post_submit", "flask_gunicorn", a, f, pa,
                             "c%d; gunicorn 2 gthread workers x 4 threads, "
                             "WAL synchronous=FULL" % conns)
                self.flask_post_peak = pf
            if nd:
                self.add_row("post_submit", "node_sqlite", a, nd, pa,
                             NODE_DETAIL % conns + ", WAL synchronous=FULL, "
                             "one transaction per request")

    def peer_pool(self, kind, least, rps):
        """Form instances from a peer (its own token scheme): enough for
        one POST run at twice its GET rate (rps when that is unknown), at
        least least; the prefix of their files."""
        p = self.peer(kind)
        try:
            n = max(least, int(getattr(self, kind + "_get_rps", rps) *
                               self.st.dur * 2))
            pairs = self.prefetch(p.port, "/f/contact", n, kind)
        finally:
            self.stop_ref(p)
        return self.write_bodies(kind, [contact_body(i, k, c) for i, (k, c)
                                        in enumerate(pairs)])

    def post_run_pg(self, kind, cluster, conns):
        """One POST run on PostgreSQL, app or reference, on a fresh
        database of cluster: the result, the peak RSS, the row check."""
        url = cluster.database()
        if kind == "app":
            s = self.app("post-pg-c%d" % conns, 2,
                         extra_env={"FORMWORK_DB": url})
        else:
            s = self.ref("pg", 2, url)
        try:
            res = self.wrk(s.url + "/", conns, self.st.dur, "post.lua",
                           ["/f/contact", self.contact_prefix])
            peak = max([proc_mem(p)[0] for p in self.pids(s)] or [0])
        finally:
            if kind == "app":
                self.stop_app(s)
            else:
                self.stop_ref(s)
        rows = int(cluster.lines(url, "SELECT count(*) FROM submissions")[0])
        res["new_rows"] = rows
        what = "post pg %s c%d" % (kind, conns)
        self.check_run(what, res)
        n = res["requests"]
        if not n <= rows <= n + conns:
            self.problems.append("%s: %d answers but %d new rows" % (
                what, n, rows))
        return res, peak

    def scenario_pg(self):
        """POST -> 303 with the store on PostgreSQL 15 (a cluster of its
        own on this machine, synchronous_commit=on, fsync on), against
        Kore's own asynchronous pgsql doing one INSERT per request."""
        st = self.st
        c = st.main_conns
        cluster = pgmod.Postgres({"synchronous_commit": "on"}).start()
        try:
            log("post_submit_pg c%d" % c)
            a, b, pa = [], [], 0
            for r in range(st.runs):
                res, peak = self.post_run_pg("app", cluster, c)
                a.append(res)
                pa = max(pa, peak)
                b.append(self.post_run_pg("ref", cluster, c)[0])
            self.add_row("post_submit_pg", "kore_pgsql_insert", a, b, pa,
                         "c%d, 2 workers, PostgreSQL 15 on this machine "
                         "(synchronous_commit=on, fsync on), a fresh "
                         "database per run" % c)
            self.pg_nodes(cluster)
            self.pg_queue(cluster)
        finally:
            cluster.stop()

    def pg_cpus(self):
        """The two CPUs nodes are pinned to, or None when the harness
        may not use two."""
        cpus = sorted(os.sched_getaffinity(0))
        return cpus[:2] if len(cpus) >= 2 else None

    def pg_start_nodes(self, cluster, name, count, url=None, extra_env=None,
                       forms_dir=None):
        """count nodes (2 workers each) on one database of cluster, node
        i pinned to CPU i where there are two; PostgreSQL and wrk are
        not pinned."""
        url = url or cluster.database()
        env = {"FORMWORK_DB": url}
        env.update(extra_env or {})
        nodes = []
        try:
            for i in range(count):
                nodes.append(self.app("%s-%d" % (name, i), 2, extra_env=env,
                                      forms_dir=forms_dir))
        except Exception:
            for n in nodes:
                self.stop_app(n)
            raise
        cpus = self.pg_cpus()
        if cpus:
            for i, n in enumerate(nodes):
                pin([n.proc.pid] + children_of(n.proc.pid), cpus[i])
        return nodes, url

    def pg_shares(self, cluster, nodes, extra=None):
        """CpuShares of each node, PostgreSQL's processes and extra."""
        groups = {}
        for i, n in enumerate(nodes):
            groups["node %s" % "AB"[i]] = (
                lambda n=n: [n.proc.pid] + children_of(n.proc.pid))
        groups["postgres"] = lambda: ([cluster.pid()] +
                                      children_of(cluster.pid()))
        groups.update(extra or {})
        return CpuShares(groups)

    def pg_nodes_run(self, cluster, count, halves):
        """POST at 64 connections, two wrk processes of 32 connections
        each (one per node, both on the node when there is one): the
        result, the peak RSS, the CPU shares."""
        c = self.st.main_conns
        nodes, url = self.pg_start_nodes(cluster, "pg-%dnode" % count, count)
        try:
            with self.pg_shares(cluster, nodes) as cs:
                res = self.wrk_many(
                    [(nodes[i % count].url + "/", c // 2, 1,
                      ["/f/contact", halves[i]]) for i in (0, 1)],
                    self.st.dur, "post.lua")
            peak = max([proc_mem(p)[0] for n in nodes
                        for p in self.pids(n)] or [0])
        finally:
            for n in nodes:
                self.stop_app(n)
        rows = int(cluster.lines(url, "SELECT count(*) FROM submissions")[0])
        what = "post pg %d node(s)" % count
        self.check_run(what, res)
        if not res["requests"] <= rows <= res["requests"] + c:
            self.problems.append("%s: %d answers but %d new rows" % (
                what, res["requests"], rows))
        res["shares"] = cs.shares
        return res, peak

    def pg_nodes(self, cluster):
        """One node, then two, on the same PostgreSQL (pg_nodes_run),
        interleaved: the row's reference is the one node."""
        st = self.st
        log("post_submit_pg: one node vs two")
        halves = [self.write_bodies("contact-half%d" % i,
                                    self.contact_bodies[i::2], threads=1)
                  for i in (0, 1)]
        one, two, peak = [], [], 0
        for r in range(st.runs):
            res, pk = self.pg_nodes_run(cluster, 1, halves)
            one.append(res)
            res, pk = self.pg_nodes_run(cluster, 2, halves)
            two.append(res)
            peak = max(peak, pk)
        cpus = self.pg_cpus()
        how = ("node A pinned to CPU %d, node B to CPU %d (taskset-like "
               "sched_setaffinity of every thread)" % tuple(cpus) if cpus
               else "not pinned (fewer than 2 CPUs)")
        for label, runs in (("1 node", one), ("2 nodes", two)):
            sh = {k: med([r["shares"][k] for r in runs])
                  for k in runs[0]["shares"]}
            self.notes.append(
                "post_submit_pg_2nodes, CPU during the %s runs (%% of one "
                "core, medians; the machine has %d00%%): %s." % (
                    label, os.cpu_count() or 1,
                    ", ".join("%s %.0f%%" % kv for kv in sh.items())))
        self.add_row("post_submit_pg_2nodes", "formwork_pg_1node", two, one,
                     peak, "c%d as two wrk processes of %d connections, "
                     "one per node (both on the one node for the "
                     "reference); 2 workers per node; %s; PostgreSQL and "
                     "wrk not pinned" % (st.main_conns, st.main_conns // 2,
                                         how))

    def pg_queue(self, cluster):
        """Jobs across two nodes: a form with one webhook action to
        hook_receiver.py (a process of its own). BENCH_QUEUE_JOBS
        submissions at 64 connections (32 per node), then
        BENCH_QUEUE_JOBS_C1 at one connection per node; jobs/s from the
        first submission's created_at to the last job's finished_at (the
        database's), and the time from each 303 (post_times.lua) to its
        webhook's arrival at the receiver."""
        st = self.st
        d = os.path.join(self.work, "queue")
        os.makedirs(d, exist_ok=True)
        rxlog, rxport = os.path.join(d, "hooks.txt"), os.path.join(d, "port")
        for f in (rxlog, rxport):
            if os.path.exists(f):
                os.unlink(f)
        secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
        rx = subprocess.Popen(["/usr/bin/python3",
                               os.path.join(HERE, "hook_receiver.py"),
                               rxlog, rxport, secret],
                              start_new_session=True)
        nodes = []
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(rxport) and \
                    time.monotonic() < deadline:
                time.sleep(0.05)
            with open(rxport) as f:
                hook_url = "http://127.0.0.1:%d/hook" % int(f.read())
            forms = write_forms("bench-queue",
                                [form_def("hook", [hook(hook_url)])])
            nodes, url = self.pg_start_nodes(
                cluster, "pg-queue", 2, forms_dir=forms, extra_env={
                    "FORMWORK_WEBHOOK_SECRET": secret,
                    "FORMWORK_WEBHOOK_ALLOW_PRIVATE": "1"})
            n, n1 = st.queue_jobs, st.queue_jobs_c1
            pairs = self.prefetch(nodes[0].port, "/f/hook", n + n1, "hook")
            bodies = [hook_body(i, k, c) for i, (k, c) in enumerate(pairs)]
            rows = []
            for label, part, conns in (("", bodies[:n], st.main_conns // 2),
                                       ("_c2", bodies[n:], 1)):
                log("queue_pg_2nodes%s: %d submissions, %d connection(s) "
                    "per node" % (label, len(part), conns))
                mark = int(cluster.lines(
                    url, "SELECT coalesce(max(id), 0) FROM jobs")[0])
                targets = []
                for i in (0, 1):
                    pre = self.write_bodies("hook%s-%d" % (label, i),
                                            part[i::2], threads=1)
                    targets.append((nodes[i].url + "/", conns, 1,
                                    ["/f/hook", pre, "stop",
                                     pre + "-times"], pre))
                extra = {"receiver": lambda: [rx.pid]}
                with self.pg_shares(cluster, nodes, extra) as cs, \
                        LoadMeter() as lm:
                    res = self.wrk_many_until_done(targets,
                                                   "post_times.lua")
                    self.pg_jobs_wait(cluster, url, mark)
                rows.append(self.pg_queue_row(
                    label, cluster, url, mark, targets, rxlog, res, cs, lm,
                    conns))
        finally:
            for nd in nodes:
                self.stop_app(nd)
            rx.terminate()
            rx.wait()
        for row in rows:
            self.rows.append(row)
            log("%-22s %.0f jobs/s  p50 %s ms  p99 %s ms  other load %s%%"
                % (row["scenario"], row["formwork_rps"],
                   fmt(row["p50_ms"], 1), fmt(row["p99_ms"], 1),
                   fmt(row["foreign_pct"], 0)))

    def pg_jobs_wait(self, cluster, url, mark, timeout=300):
        """Until every job after mark has ended. wrk has ended: the
        requests it left in flight are in the database within a batch
        (or were never read), so the jobs there are all there will be."""
        t0 = time.monotonic()
        time.sleep(0.2)
        while time.monotonic() - t0 < timeout:
            if int(cluster.lines(
                    url, "SELECT count(*) FROM jobs WHERE id > %d AND "
                    "state IN ('queued', 'running')" % mark)[0]) == 0:
                return
            time.sleep(0.1)
        self.problems.append("queue: jobs not done within %d s" % timeout)

    def pg_queue_row(self, label, cluster, url, mark, targets, rxlog, res,
                     cs, lm, conns):
        """The row of one queue phase: jobs/s, 303-to-webhook p50/p99."""
        first, last, done, failed = [int(x or 0) for x in cluster.lines(
            url, "SELECT min(s.created_at), max(j.finished_at), "
            "count(*) FILTER (WHERE j.state = 'done'), "
            "count(*) FILTER (WHERE j.state = 'failed') FROM jobs j "
            "JOIN submissions s ON s.id = j.submission_id "
            "WHERE j.id > %d" % mark)[0].split("|")]
        acked = {}
        for t in targets:
            with open(t[3][3] + "-0.txt") as f:
                for line in f:
                    ts, _, loc = line.strip().partition(" ")
                    acked[loc.rsplit("/", 1)[-1]] = float(ts)
        arrived, bad = {}, 0
        deadline = time.monotonic() + 2
        while len(arrived) < done and time.monotonic() < deadline:
            time.sleep(0.05)    # the receiver writes its log every 20 ms
            arrived, bad = {}, 0
            with open(rxlog) as f:
                for line in f:
                    ts, sid, *flag = line.split()
                    arrived.setdefault(sid, float(ts))
                    bad += bool(flag)
        lat = sorted((arrived[i] - t) * 1000 for i, t in acked.items()
                     if i in arrived)
        posted = sum(int(r.get("bodies_taken", 0)) for r in res)
        errors = sum(r.get("err_status", 0) + r.get("err_connect", 0) +
                     r.get("err_read", 0) + r.get("err_timeout", 0)
                     for r in res)
        what = "queue_pg_2nodes%s" % label
        # Up to a connection's request each may be cut off unread when
        # its wrk thread stops.
        if errors or failed or bad or done < posted - conns * 2:
            self.problems.append("%s: %d errors, %d of %d jobs done, %d "
                                 "failed, %d webhooks badly signed" % (
                                     what, errors, done, posted, failed,
                                     bad))
        secs = max(1e-3, (last - first) / 1000.0)
        self.notes.append("%s: %d submissions, %d jobs done in %.2f s; "
                          "%d of them timed 303 to webhook (min %.1f ms, "
                          "max %.1f ms); CPU (%% of one core): %s." % (
                              what, posted, done, secs, len(lat),
                              lat[0] if lat else 0, lat[-1] if lat else 0,
                              cs.text()))
        return {"scenario": what, "reference": "",
                "formwork_rps": done / secs, "reference_rps": None,
                "ratio": None, "p50_ms": pct(lat, 50) if lat else None,
                "p99_ms": pct(lat, 99) if lat else None,
                "ref_p50_ms": None, "ref_p99_ms": None,
                "peak_rss_mb": None, "foreign_pct": lm.foreign_pct,
                "app_runs": [round(done / secs)], "ref_runs": [],
                "detail": "%d connection(s) per node, 2 nodes (pinned as "
                "post_submit_pg_2nodes), a webhook action each to a local "
                "receiver; jobs/s = jobs done / (last job's finished_at - "
                "first submission's created_at); p50/p99 = 303 to the "
                "webhook's arrival" % conns}

    def scenario_workers1(self):
        st = self.st
        c = st.main_conns
        log("get_form c%d, 1 worker" % c)
        app = self.app("get-w1", 1)
        ref = self.ref("static", 1)
        try:
            fsize = self.page_sizes["form"]
            rng = (fsize + 100, fsize + 1200)
            runs, peaks = self.get_runs({"app": app, "ref": ref}, c,
                                        {"app": "/f/contact", "ref": "/form"},
                                        bytes_of={"app": rng, "ref": rng})
        finally:
            self.stop_app(app)
            self.stop_ref(ref)
        self.add_row("get_form_w1", "kore_static", runs["app"], runs["ref"],
                     peaks["app"], "c%d, 1 worker (app and reference)" % c)
        log("post_submit c%d, 1 worker" % c)
        a, b, pa = [], [], 0
        for r in range(st.runs):
            res, peak = self.post_run("app", 1, c)
            a.append(res)
            pa = max(pa, peak)
            b.append(self.post_run("ref", 1, c)[0])
        self.add_row("post_submit_w1", "kore_sqlite_normal", a, b, pa,
                     "c%d, 1 worker (app and reference), empty database" % c)

    def scenario_dbsize(self):
        st = self.st
        c = st.main_conns
        for n in st.db_sizes:
            tpl = self.db_template(n)
            log("post_submit c%d on %d rows" % (c, n))
            a, b, pa = [], [], 0
            for r in range(st.runs):
                res, peak = self.post_run("app", 2, c, tpl, n)
                a.append(res)
                pa = max(pa, peak)
                b.append(self.post_run("ref", 2, c, tpl, n)[0])
            self.add_row("post_submit_db%s" % human(n), "kore_sqlite_normal",
                         a, b, pa, "c%d, 2 workers, %d rows before each run"
                         % (c, n))
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(tpl + suffix):
                    os.unlink(tpl + suffix)

    def db_template(self, n):
        """A database with n contact submissions from `formworkctl
        generate`, the app's own write path: time-ordered ids, the search
        index and the review counts as the app keeps them (so a POST at 1M
        rows also pays for a search index of 1M rows)."""
        ctl, _ = self.ctl_path()
        path = os.path.join(self.work, "template-%d.db" % n)
        t0 = time.monotonic()
        self.ctl(ctl, path, ["generate", str(n), "--form", "contact"])
        took = time.monotonic() - t0
        # Each run gets a copy of the main file only: fold the log into it.
        r = subprocess.run(["sqlite3", "-batch", path,
                            "PRAGMA wal_checkpoint(TRUNCATE)"],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0 or not r.stdout.startswith("0|0|0"):
            raise RuntimeError("checkpoint of %s: %s%s" % (
                path, r.stdout, r.stderr))
        got = sqlite_count(path)
        size = os.path.getsize(path)
        log("generated %d rows in %.1f s (%d MB)" % (got, took, size >> 20))
        if got != n:
            raise RuntimeError("generate: %d rows, wanted %d" % (got, n))
        self.notes.append("Template of %d rows (`formworkctl generate`, "
                          "with its search index): %.1f s, %d MB." % (
                              n, took, size >> 20))
        return path

    def scenario_signup(self):
        """POST signup (an email action each, to the outbox) at c64, then
        until every job is done; jobs/s and submit-to-done latency from the
        jobs table. Then the same at one connection (unloaded latency)."""
        st = self.st
        c = st.main_conns
        runs, c1runs, peak = [], [], 0
        for r in range(st.runs):
            log("signup_jobs run %d: %d signups at c%d" % (
                r + 1, st.signups, c))
            srv = self.app("signup-%d" % (r + 1))
            try:
                t0 = time.monotonic()
                with LoadMeter() as lm:
                    res = self.wrk_until_done(
                        srv.url + "/", c, "post.lua",
                        ["/f/signup", self.signup_prefix, "stop"],
                        self.signup_prefix)
                    posted = time.monotonic() - t0
                    self.wait_jobs(srv, st.signups)
                    drained = time.monotonic() - t0
                peak = max([peak] + [proc_mem(p)[0]
                                     for p in self.pids(srv)])
                stats = job_stats(srv, 0)
                stats["posted"] = int(res.get("bodies_taken", 0))
                stats.update({"post_s": posted, "drain_s": drained,
                              "foreign_pct": lm.foreign_pct,
                              "post_rps": res.get("rps", 0),
                              "post_p99_ms": res.get("p99_ms", 0)})
                runs.append(stats)
                if res.get("errors", 0):
                    self.problems.append("signup c%d run %d: errors %d" % (
                        c, r + 1, res["errors"]))
                mark = int(srv.sql("select coalesce(max(id), 0) from jobs")[0])
                with LoadMeter() as lm1:
                    res1 = self.wrk_until_done(
                        srv.url + "/", 1, "post.lua",
                        ["/f/signup", self.signup_c1_prefix, "stop"],
                        self.signup_c1_prefix, threads=1)
                    self.wait_jobs(srv, st.signups + st.signups_c1)
                s1 = job_stats(srv, mark)
                s1["foreign_pct"] = lm1.foreign_pct
                s1["post_rps"] = res1.get("rps", 0)
                s1["posted"] = int(res1.get("bodies_taken", 0))
                c1runs.append(s1)
            finally:
                self.stop_app(srv)
        self.signup = {"runs": runs, "c1": c1runs}
        for name, rr, det in (
                ("signup_jobs", runs, "c%d, %d signups per run, 4 runner "
                 "threads per worker, email to the outbox" % (c, st.signups)),
                ("signup_jobs_c1", c1runs, "1 connection, %d signups per run"
                 % st.signups_c1)):
            row = {"scenario": name, "reference": "",
                   "formwork_rps": med([x["jobs_per_s"] for x in rr]),
                   "reference_rps": None, "ratio": None,
                   "p50_ms": med([x["p50_ms"] for x in rr]),
                   "p99_ms": med([x["p99_ms"] for x in rr]),
                   "ref_p50_ms": None, "ref_p99_ms": None,
                   "peak_rss_mb": peak / 1024.0,
                   "foreign_pct": med([x.get("foreign_pct") for x in rr]),
                   "app_runs": [round(x["jobs_per_s"]) for x in rr],
                   "ref_runs": [], "detail": det + "; jobs/s and "
                   "submit-to-done latency (jobs.finished_at - "
                   "jobs.created_at)"}
            self.rows.append(row)
            log("%-22s %.0f jobs/s  p50 %.1f ms  p99 %.1f ms" % (
                name, row["formwork_rps"], row["p50_ms"], row["p99_ms"]))

    def wait_jobs(self, srv, total, timeout=300):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            n, pending = [int(x) for x in srv.sql(
                "select count(*), coalesce(sum(state in ('queued', "
                "'running')), 0) from jobs")[0].split("|")]
            if n >= total - 2 and pending == 0:
                return n
            time.sleep(0.2)
        self.problems.append("signup: jobs not finished within %d s" %
                             timeout)
        return n

    def scenario_soak(self):
        """RSS after a warm-up vs after many more GETs of get_form. One wrk
        run keeps the same connections for both phases (a new set could
        land differently on the two workers and move their pools' high
        water); RSS is read while it runs: after the warm-up and just
        before it ends. Requests are counted by the app's /metrics."""
        st = self.st
        c = st.main_conns
        log("soak: warm-up %d s, then %d s of GET /f/contact at c%d" % (
            st.soak_warm, st.soak, c))
        srv = self.app("soak")
        try:
            pids = self.pids(srv)
            start = {p: proc_mem(p) for p in pids}
            cmd = ["wrk", "-t2", "-c%d" % c,
                   "-d%ds" % (st.soak_warm + st.soak + 1), "--latency",
                   "-s", os.path.join(HERE, "get.lua"),
                   srv.url + "/f/contact"]
            with LoadMeter() as lm:
                t0 = time.monotonic()
                w = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
                time.sleep(st.soak_warm)
                n_warm = metrics_requests(srv.port)
                warm = {p: proc_mem(p) for p in pids}
                time.sleep(max(0.0, st.soak_warm + st.soak -
                               (time.monotonic() - t0)))
                n_end = metrics_requests(srv.port)
                end = {p: proc_mem(p) for p in pids}
                out = w.communicate(timeout=st.soak + 120)[0]
            m = re.search(r"BENCHRESULT (.*)", out)
            res = dict((kv.split("=")[0], float(kv.split("=")[1]))
                       for kv in m.group(1).split()) if m else {}
            res["errors"] = sum(v for k, v in res.items()
                                if k.startswith("err_"))
            self.check_run("soak", res)
        finally:
            self.stop_app(srv)
        soak_n = n_end - n_warm if n_end and n_warm else 0
        rps = soak_n / st.soak if soak_n else res.get("rps", 0)
        self.soak = {"pids": pids, "start": start, "warm": warm, "end": end,
                     "warm_requests": n_warm, "soak_requests": soak_n,
                     "soak_rps": rps, "p50_ms": res.get("p50_ms"),
                     "p99_ms": res.get("p99_ms"),
                     "foreign_pct": lm.foreign_pct}
        growth = max(end[p][1] - warm[p][1] for p in pids)
        log("soak: %d + %d requests; RSS per worker after warm-up %s kB, "
            "after %s kB (max growth %d kB)" % (
                n_warm, soak_n, [warm[p][1] for p in pids],
                [end[p][1] for p in pids], growth))
        self.rows.append({
            "scenario": "soak_get_form", "reference": "",
            "formwork_rps": rps, "reference_rps": None, "ratio": None,
            "p50_ms": res.get("p50_ms"), "p99_ms": res.get("p99_ms"),
            "ref_p50_ms": None, "ref_p99_ms": None,
            "peak_rss_mb": max(end[p][0] for p in pids) / 1024.0,
            "foreign_pct": lm.foreign_pct,
            "app_runs": [round(rps)], "ref_runs": [],
            "detail": "c%d, %d requests after a %d-request warm-up, same "
            "connections throughout" % (c, soak_n, n_warm)})

    # -- admin desk ------------------------------------------------------

    def ctl_path(self):
        """formworkctl: BENCH_CTL, else next to the module, else the
        repository's; copied into the work directory like the module."""
        cands = [os.environ.get("BENCH_CTL"),
                 os.path.join(os.path.dirname(self.so_orig), "formworkctl"),
                 os.path.join(REPO, "formworkctl")]
        for c in cands:
            if c and os.access(c, os.X_OK):
                dst = os.path.join(self.work, "formworkctl")
                if os.path.abspath(c) != dst:
                    shutil.copy2(c, dst)
                return dst, os.path.abspath(c)
        raise RuntimeError("no formworkctl (run make build)")

    def ctl(self, ctl, db, args, stdin=None, timeout=3600):
        env = dict((k, v) for k, v in os.environ.items()
                   if not k.startswith("FORMWORK_"))
        env["FORMWORK_DB"] = db
        r = subprocess.run([ctl] + args, input=stdin, capture_output=True,
                           text=True, timeout=timeout, env=env, cwd=REPO)
        if r.returncode != 0:
            raise RuntimeError("formworkctl %s: %s%s" % (
                " ".join(args), r.stdout[-500:], r.stderr[-500:]))
        return r.stdout

    def admin_db(self, n):
        """A fresh database with n contact submissions from `formworkctl
        generate` (the desk's own generator: names, messages with a
        reference, 5% spam, spread over the past year) and one admin."""
        ctl, ctl_orig = self.ctl_path()
        d = os.path.join(self.work, "admin")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        db = os.path.join(d, "admin-%d.db" % n)
        t0 = time.monotonic()
        self.ctl(ctl, db, ["generate", str(n), "--form", "contact"])
        took = time.monotonic() - t0
        self.ctl(ctl, db, ["user", "add", ADMIN_USER, "--role", "admin"],
                 stdin=ADMIN_PASSWORD + "\n", timeout=60)
        got = sqlite_count(db)
        size = sum(os.path.getsize(db + x) for x in ("", "-wal", "-shm")
                   if os.path.exists(db + x))
        log("generated %d rows with %s in %.1f s (%d MB)" % (
            got, os.path.relpath(ctl_orig, REPO)
            if ctl_orig.startswith(REPO) else ctl_orig, took, size >> 20))
        if got != n:
            raise RuntimeError("formworkctl generate: %d rows, wanted %d"
                               % (got, n))
        return db, {"gen_s": took, "db_mb": size / 1048576.0}

    @staticmethod
    def admin_login(port):
        """Signs in as the bench admin; returns the Cookie header value."""
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            c.request("GET", "/admin/login")
            r = c.getresponse()
            page = r.read()
            if r.status != 200:
                raise RuntimeError("GET /admin/login: %d" % r.status)
            body = urllib.parse.urlencode([
                ("username", ADMIN_USER), ("password", ADMIN_PASSWORD),
                ("_key", KEY_RE.search(page).group(1).decode()),
                ("_csrf", CSRF_RE.search(page).group(1).decode())])
            c.request("POST", "/admin/login", body, {
                "Content-Type": "application/x-www-form-urlencoded"})
            r = c.getresponse()
            r.read()
            ck = r.getheader("set-cookie") or ""
            if r.status != 303 or not ck.startswith("fw_session="):
                raise RuntimeError("POST /admin/login: %d, cookie %r" % (
                    r.status, ck))
            return ck.split(";", 1)[0]
        finally:
            c.close()

    def scenario_admin(self):
        """The review desk on a store of BENCH_ADMIN_ROWS submissions
        (1,000,000 by default): first sequential requests over one
        keep-alive connection, as a reviewer's browser (or curl) makes
        them: median and p90 of BENCH_ADMIN_SAMPLES requests per page,
        against the 50 ms target; then wrk at c16 on the list and a
        search (rows admin_list, admin_search)."""
        st = self.st
        n = st.admin_rows
        log("admin: generating %d submissions with formworkctl" % n)
        db, info = self.admin_db(n)
        srv = self.app("admin-%s" % human(n), db_move=db)
        try:
            cookie = self.admin_login(srv.port)
            # A month in the middle of the year the rows are spread over.
            y, mo = time.gmtime().tm_year, time.gmtime().tm_mon - 6
            if mo < 1:
                y, mo = y - 1, mo + 12
            last = calendar.monthrange(y, mo)[1]
            month = ("from=%04d-%02d-01" % (y, mo),
                     "to=%04d-%02d-%02d" % (y, mo, last))
            # (label, path, page to walk to, counted for the target)
            pages = [
                ("list", "/admin", None, True),
                ("filter review=spam", "/admin?review=spam", None, True),
                ("filter form+month", "/admin?form=contact&%s&%s" % month,
                 None, True),
                ("search q=ref123", "/admin?q=ref123", None, True),
                ("search q=Ada", "/admin?q=Ada", None, True),
                ("list, page %d" % st.admin_page, "/admin", st.admin_page,
                 True),
                ("search q=Ada, page %d" % st.admin_page, "/admin?q=Ada",
                 st.admin_page, True),
                # Not in the issue's list: a search for a word in every
                # row with a filter no row matches (nothing approved yet),
                # the most the search walk can have to read.
                ("search + filter, no match", "/admin?q=about&"
                 "review=approved", None, False),
            ]
            seq = []
            with LoadMeter() as lm:
                cl = AdminClient(srv.port, cookie)
                try:
                    for label, path, page, scored in pages:
                        r = self.admin_sequential(cl, label, path, page)
                        r["scored"] = scored
                        seq.append(r)
                finally:
                    cl.close()
            # wrk: the list and a search, 16 connections, one session.
            hdr = ("Cookie: %s" % cookie,)
            for name, path in (("admin_list", "/admin"),
                               ("admin_search", "/admin?q=ref123")):
                stt, _, body = http_get(srv.port, path, {"Cookie": cookie})
                if stt != 200:
                    raise RuntimeError("GET %s: %d" % (path, stt))
                rng = (int(len(body) * 0.8), int(len(body) * 1.2) + 1500)
                log("%s c%d" % (name, st.admin_conns))
                runs, peaks = self.get_runs(
                    {"app": srv}, st.admin_conns, {"app": path},
                    {"app": hdr}, bytes_of={"app": rng})
                self.add_row(name, "", runs["app"], [], peaks["app"],
                             "c%d, 2 workers, one session, GET %s, %d rows "
                             "in the store (formworkctl generate)" % (
                                 st.admin_conns, path, n))
                self.memory[name] = peaks
        finally:
            self.stop_app(srv)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(srv.db + suffix):
                    os.unlink(srv.db + suffix)   # large: free the disk
        info.update({"rows": n, "pages": seq,
                     "foreign_pct": lm.foreign_pct})
        self.admin = info

    def admin_sequential(self, cl, label, path, page):
        """Times GET path (or, with page, the page-th page reached through
        the rel=next links from path) BENCH_ADMIN_SAMPLES times after one
        untimed request; checks each answer."""
        st = self.st
        walk = []
        reached = 1
        if page:
            for i in range(page - 1):
                status, body, ms = cl.get(path)
                if status != 200:
                    raise RuntimeError("admin %s: GET %s: %d" % (
                        label, path, status))
                walk.append(ms)
                m = NEXT_RE.search(body)
                if not m:
                    break
                path = html_unescape(m.group(1).decode())
                reached += 1
        first = None
        times, nrows = [], None
        for i in range(st.admin_samples + 1):
            status, body, ms = cl.get(path)
            if status != 200:
                raise RuntimeError("admin %s: GET %s: %d" % (label, path,
                                                            status))
            rows = ROW_RE.findall(body)
            if i == 0:
                first = ms
                nrows = len(rows)
                self.admin_check(label, path, body, rows)
            else:
                times.append(ms)
                if len(rows) != nrows:
                    self.problems.append("admin %s: %d rows, then %d" % (
                        label, nrows, len(rows)))
        times.sort()
        r = {"label": label, "path": path, "page": reached if page else 1,
             "wanted_page": page or 1, "rows": nrows, "bytes": len(body),
             "first_ms": first, "median_ms": statistics.median(times),
             "p90_ms": pct(times, 90), "min_ms": times[0],
             "max_ms": times[-1],
             "walk_ms": sum(walk), "walk_max_ms": max(walk) if walk
             else None}
        if page and reached < page:
            self.notes.append("Admin %s: the walk ended at page %d (no "
                              "more rel=next), so that page was timed." %
                              (label, reached))
        log("admin %-26s page %-3d %2d rows  median %7.2f ms  p90 %7.2f ms"
            "  (first %.2f ms%s)" % (
                label, r["page"], nrows, r["median_ms"], r["p90_ms"], first,
                ", walk %.0f ms, slowest %.2f ms" % (
                    r["walk_ms"], r["walk_max_ms"]) if walk else ""))
        return r

    def admin_check(self, label, path, body, rows):
        """The answer is the page asked for: rows there (a full page
        unless it is the last), and they match the filter or search."""
        bad = []
        if not rows and "review=approved" not in path:
            bad.append("no rows")
        elif len(rows) < 50 and NEXT_RE.search(body):
            bad.append("%d rows and a next link" % len(rows))
        if "review=spam" in path and any(x != b"spam" for x in rows):
            bad.append("rows not under review=spam")
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        if "q" in q:
            term = q["q"][0].encode().lower()
            sums = SUMMARY_RE.findall(body)
            if len(sums) != len(rows) or any(
                    term not in x.lower() for x in sums):
                bad.append("rows without %r in their summary" % q["q"][0])
        if bad:
            self.problems.append("admin %s (%s): %s" % (label, path,
                                                        "; ".join(bad)))

    def scenario_profile(self):
        """BENCH_PERF=1: perf record (DWARF call graphs) of the app's
        workers under get_form, get_result_304 and post_submit at c64; the
        top symbols go into the Markdown. Not a measured run."""
        if not shutil.which("perf"):
            self.notes.append("perf not found: no profile.")
            return
        st, c = self.st, self.st.main_conns
        srv = self.app("profile")
        self.profiles = []
        try:
            loc, etag, _ = self.app_result(srv)
            # Both workers: Kore's accept lock can hand every connection
            # of a wrk run to one of them.
            workers = ",".join(str(p) for p in self.pids(srv))
            for name, script, path, args, hdr in (
                    ("get_form", "get.lua", "/f/contact", [], []),
                    ("get_result_304", "get.lua", loc, [],
                     ["-H", "If-None-Match: %s" % etag]),
                    ("post_submit", "post.lua", "/",
                     ["/f/contact", self.contact_prefix], [])):
                data = os.path.join(self.work, "perf-%s.data" % name)
                cmd = ["wrk", "-t2", "-c%d" % c, "-d%ds" % (st.dur + 2),
                       "-s", os.path.join(HERE, script)] + hdr + \
                    [srv.url + path]
                if args:
                    cmd += ["--"] + args
                w = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                time.sleep(1)
                subprocess.run(["perf", "record", "-q", "-F", "499",
                                "--call-graph", "dwarf,16384", "-o", data,
                                "-p", workers, "--", "sleep",
                                str(min(3, st.dur))],
                               stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=120)
                w.wait(timeout=st.dur + 60)
                self.profiles.append((name, perf_summary(data)))
                os.unlink(data)
                log("profiled %s" % name)
        finally:
            self.stop_app(srv)

    # -- run -------------------------------------------------------------

    def run(self):
        t0 = time.monotonic()
        steps = [("set-up", self.setup), ("get", self.scenario_get),
                 ("post", self.scenario_post),
                 ("workers=1", self.scenario_workers1),
                 ("database size", self.scenario_dbsize),
                 ("signup jobs", self.scenario_signup),
                 ("soak", self.scenario_soak),
                 ("admin", self.scenario_admin),
                 ("postgresql", self.scenario_pg)]
        if os.environ.get("BENCH_PERF") == "1":
            steps.append(("profile", self.scenario_profile))
        only = os.environ.get("BENCH_ONLY")
        for name, fn in steps:
            if only and name != "set-up" and name not in only.split(","):
                continue
            t = time.monotonic()
            try:
                fn()
            except Exception as e:
                import traceback
                traceback.print_exc()
                self.problems.append("%s failed: %r" % (name, e))
                if name == "set-up":
                    break
            log("%s took %.0f s" % (name, time.monotonic() - t))
        self.elapsed = time.monotonic() - t0
        self.report()

    # -- report ----------------------------------------------------------

    def row(self, scenario, reference=None):
        for r in self.rows:
            if r["scenario"] == scenario and (reference is None or
                                              r["reference"] == reference):
                return r
        return None

    def targets(self):
        out = []
        g = self.row("get_form", "kore_static")
        if g and g["ratio"]:
            out.append(("GET form >= %.0f%% of the static ceiling (c64)" %
                        (TARGET_GET * 100), g["ratio"] >= TARGET_GET,
                        "%.0f%% (%.0f vs %.0f req/s)" % (
                            g["ratio"] * 100, g["formwork_rps"],
                            g["reference_rps"])))
        p = self.row("post_submit", "kore_sqlite_normal")
        if p and p["ratio"]:
            out.append(("POST -> 303 >= %.1fx the NORMAL one-row-per-txn "
                        "ceiling (c64)" % TARGET_POST,
                        p["ratio"] >= TARGET_POST,
                        "%.0f%% (%.0f vs %.0f req/s)" % (
                            p["ratio"] * 100, p["formwork_rps"],
                            p["reference_rps"])))
            out.append(("POST p99 < %.0f ms at 64 connections" %
                        TARGET_POST_P99, p["p99_ms"] < TARGET_POST_P99,
                        "p99 %.2f ms (p50 %.2f ms)" % (p["p99_ms"],
                                                       p["p50_ms"])))
        p = self.row("post_submit_c256", "kore_sqlite_normal")
        if p and p["p99_ms"] is not None:
            out.append(("POST p99 < %.0f ms at 256 connections" %
                        TARGET_POST_P99_C256,
                        p["p99_ms"] < TARGET_POST_P99_C256,
                        "p99 %.2f ms (p50 %.2f ms)" % (p["p99_ms"],
                                                       p["p50_ms"])))
        for scenario, target in (("get_result_200", TARGET_200),
                                 ("get_result_304", TARGET_304)):
            r = self.row(scenario, "kore_static")
            if r and r["ratio"]:
                out.append(("result %s >= %.0f%% of static" % (
                    scenario[-3:], target * 100), r["ratio"] >= target,
                    "%.0f%% (%.0f vs %.0f req/s)" % (
                        r["ratio"] * 100, r["formwork_rps"],
                        r["reference_rps"])))
        p = self.row("post_submit_pg", "kore_pgsql_insert")
        if p and p["ratio"]:
            out.append(("POST -> 303 on PostgreSQL >= 100% of Kore's pgsql "
                        "one INSERT per request (c64)",
                        p["ratio"] >= TARGET_POST_PG,
                        "%.0f%% (%.0f vs %.0f req/s)" % (
                            p["ratio"] * 100, p["formwork_rps"],
                            p["reference_rps"])))
            out.append(("POST p99 on PostgreSQL < 20 ms at 64 connections",
                        p["p99_ms"] < TARGET_POST_P99_PG,
                        "p99 %.2f ms (p50 %.2f ms)" % (p["p99_ms"],
                                                       p["p50_ms"])))
        peaks = [r["peak_rss_mb"] for r in self.rows if r["peak_rss_mb"]]
        if peaks:
            worst = max(peaks)
            which = [r["scenario"] for r in self.rows
                     if r["peak_rss_mb"] == worst][0]
            out.append(("peak RSS per worker < %.0f MB" % TARGET_RSS_MB,
                        worst < TARGET_RSS_MB,
                        "max %.1f MB (%s)" % (worst, which)))
        if self.admin:
            a = self.admin
            scored = [x for x in a["pages"] if x["scored"]]
            worst = max(scored, key=lambda x: x["median_ms"])
            miss = [x["label"] for x in scored
                    if x["median_ms"] >= TARGET_ADMIN_MS]
            out.append(("admin list, filters, search and page %d < 50 ms "
                        "(median, sequential) at 1M rows" % (
                            self.st.admin_page),
                        not miss and a["rows"] >= TARGET_ADMIN_ROWS,
                        "%s%s; slowest: %s, median %.1f ms (p90 %.1f ms)" % (
                            "all %d pages met" % len(scored)
                            if not miss else "missed: " + ", ".join(miss),
                            "" if a["rows"] >= TARGET_ADMIN_ROWS else
                            " (at %d rows only, not 1M)" % a["rows"],
                            worst["label"], worst["median_ms"],
                            worst["p90_ms"])))
        if self.soak:
            s = self.soak
            g = max(s["end"][p][1] - s["warm"][p][1] for p in s["pids"])
            out.append(("no RSS growth after warm-up (< 1 MB over the soak)",
                        g < TARGET_GROWTH_KB,
                        "max growth %+d kB per worker over %d requests" % (
                            g, s["soak_requests"])))
        return out

    def report(self):
        info = machine_info()
        stamp = time.strftime("%Y-%m-%d-%H%M", time.gmtime())   # UTC
        base = "%s-%s" % (stamp, info["commit"])
        if self.st.quick:
            outdir = os.path.join(self.work, "results")
        else:
            outdir = os.path.join(HERE, "results")
        os.makedirs(outdir, exist_ok=True)
        csvp = os.path.join(outdir, base + ".csv")
        mdp = os.path.join(outdir, base + ".md")

        with open(csvp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(CSV_COLUMNS)
            for r in self.rows:
                w.writerow([r["scenario"], fmt(r["formwork_rps"], 0),
                            r["reference"], fmt(r["reference_rps"], 0),
                            fmt(r["ratio"], 3), fmt(r["p50_ms"], 3),
                            fmt(r["p99_ms"], 3), fmt(r["peak_rss_mb"], 1)])
        table = self.table()
        print()
        print(table)
        tg = self.targets()
        print()
        for name, ok, detail in tg:
            print("%-4s %s: %s" % ("MET" if ok else "MISS", name, detail))
        for p in self.problems:
            print("PROBLEM: %s" % p)

        with open(mdp, "w") as f:
            f.write(self.markdown(info, table, tg))
        if not self.st.quick:
            shutil.copyfile(csvp, os.path.join(outdir, "latest.csv"))
            history_svg(outdir, self.work)
        print()
        print("wrote %s" % mdp)
        print("wrote %s" % csvp)
        if not self.st.quick:
            print("wrote %s" % os.path.join(outdir, "latest.csv"))
            print("wrote %s" % os.path.join(outdir, "history.svg"))
        print("time: %.0f s" % self.elapsed)

    def table(self):
        hdr = ("scenario", "formwork rps", "reference", "ref rps", "ratio",
               "p50 ms", "p99 ms", "peak RSS MB")
        lines = [hdr]
        for r in self.rows:
            lines.append((r["scenario"], fmt(r["formwork_rps"], 0),
                          r["reference"] or "-",
                          fmt(r["reference_rps"], 0) or "-",
                          fmt(r["ratio"], 3) or "-", fmt(r["p50_ms"], 2),
                          fmt(r["p99_ms"], 2), fmt(r["peak_rss_mb"], 1)))
        wid = [max(len(str(l[i])) for l in lines) for i in range(len(hdr))]
        out = ["| " + " | ".join(str(l[i]).ljust(wid[i])
                                 for i in range(len(hdr))) + " |"
               for l in lines]
        out.insert(1, "|" + "|".join("-" * (w + 2) for w in wid) + "|")
        return "\n".join(out)

    def commit_markdown(self):
        """The POST rows' server-side breakdown, from the app's /metrics
        (formwork_commit_*): each run's mean per stored submission."""
        rows = [r for r in self.rows if r.get("commit") and
                r["reference"] == "kore_sqlite_normal"]
        if not rows:
            return []
        m = ["## Where a POST's time goes, server side (/metrics)\n",
             "From the hand-over to the writer to the request's wake-up, "
             "per stored submission, each run (`formwork_commit_*`): "
             "wait (for a batch: the writer's previous one, the "
             "database's write lock), write (the batch's statements and "
             "COMMIT), sync (until the log is on disk), answer (until the "
             "event loop wakes the request). What wrk measures beyond "
             "that is reading and checking the request, the network and "
             "wrk itself. p99 is a histogram bucket's bound.\n",
             "| scenario | run | batches | rows per batch | wait ms | "
             "write ms | sync ms | answer ms | total ms | server p99 <= ms "
             "| wrk p50 / p99 ms |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            for i, c in enumerate(r["commit"]):
                n = c["count"]
                q = commit_quantile(c["le"], 0.99)
                m.append("| %s | %d | %s | %.1f | %s | %s | %s | %s | %.2f "
                         "| %s | %.2f / %.2f |" % (
                             r["scenario"], i + 1,
                             "{:,}".format(int(c.get("batches", 0))),
                             c.get("batched", 0) / max(1, c.get("batches",
                                                                 0)),
                             *["%.2f" % (c.get(p, 0) * 1000 / n)
                               for p in ("wait", "write", "sync",
                                         "answer")],
                             c["sum_s"] * 1000 / n,
                             "%g" % (q * 1000) if q not in (None,
                                                            float("inf"))
                             else "> 2500", c["wrk_p50"], c["wrk_p99"]))
        m.append("")
        return m

    def markdown(self, info, table, tg):
        st = self.st
        m = []
        m.append("# Formwork benchmark, %s\n" % time.strftime(
            "%Y-%m-%d %H:%M %Z"))
        m.append("- Machine: %s CPUs (`nproc`), %s, kernel %s, %s MB RAM"
                 % (info["nproc"], info["cpu"], info["kernel"],
                    info["mem_mb"]))
        m.append("- Commit: `%s`%s; module `%s` (%s)" % (
            info["commit_full"], " (working tree differs from it in src/, "
            "conf/ or templates/)" if info["dirty"] else "",
            os.path.relpath(self.so_orig, REPO)
            if self.so_orig.startswith(REPO) else self.so_orig,
            info["so_time"]))
        if os.environ.get("BENCH_BUILD_NOTE"):
            m.append("- Build: %s" % os.environ["BENCH_BUILD_NOTE"])
        m.append("- Tools: %s; %s; %s; SQLite %s" % (
            info["kore"], info["wrk"], info["gunicorn"], info["sqlite"]))
        m.append("- Settings: %s; %d run(s) per figure (median; app and "
                 "reference runs interleaved), %d s per run after a %d s "
                 "warm-up (GET), wrk -t2 --latency; headline figures at %d "
                 "connections; total time %.0f s" % (
                     "QUICK" if st.quick else "full", st.runs, st.dur,
                     st.warm, st.main_conns, self.elapsed))
        m.append("- App: shipped `conf/formwork.conf` (2 workers unless "
                 "noted), FORMWORK_RATE_LIMIT=0, FORMWORK_MIN_FILL_MS=0, "
                 "a fixed FORMWORK_SECRET, SQLite WAL synchronous=FULL with "
                 "group commit. Page sizes: GET /f/contact %d bytes, GET "
                 "/s/{id} %d bytes (the static reference serves the same "
                 "bytes)." % (self.page_sizes.get("form", 0),
                              self.page_sizes.get("result", 0))
                 if hasattr(self, "page_sizes") else "- App: set-up failed")
        fp = med([r.get("foreign_pct") for r in self.rows])
        if fp is not None:
            m.append("- Other load on the machine during the runs (CPU "
                     "share used by processes outside the benchmark, "
                     "median over the rows): %.0f%%%s" % (
                         fp, "; **the machine was shared: absolute figures "
                         "are depressed and noisy, ratios (interleaved runs) "
                         "less so**" if fp > 10 else ""))
        m.append("")
        m.append("## Results\n")
        m.append("`formwork_rps` is requests/s (for `signup_jobs*`: jobs "
                 "finished per second); `ratio` = formwork / reference; "
                 "p50/p99 are the app's (for `signup_jobs*`: submit-to-done "
                 "latency of the jobs); `peak_rss_mb` is the largest VmHWM "
                 "of one app worker during the scenario (reset with "
                 "/proc/PID/clear_refs before it).\n")
        m.append(table)
        m.append("")
        m.append("Rows: `get_form`, `post_submit`, `get_result_*` at %d "
                 "connections; `_c16`/`_c256` other connection counts; "
                 "`_w1` app and reference with 1 worker; `post_submit_db*` "
                 "with that many rows in the table before each run; "
                 "`soak_get_form` the leak check; `admin_list` and "
                 "`admin_search` the review desk (GET /admin, GET "
                 "/admin?q=ref123) at %d connections, signed in, with %s "
                 "rows in the store (no reference: see \"Admin desk\" "
                 "below).\n" % (st.main_conns, st.admin_conns,
                                 "{:,}".format(st.admin_rows)))
        m.append("## Targets\n")
        m.append("| target | met | measured |")
        m.append("|---|---|---|")
        for name, ok, detail in tg:
            m.append("| %s | %s | %s |" % (name, "yes" if ok else "**no**",
                                            detail))
        m.append("")
        m.append("## Runs and details\n")
        m.append("`other load` is the share of the machine's CPU used by "
                 "processes outside the benchmark during the runs (median), "
                 "from /proc/stat minus the benchmark's own processes: on a "
                 "shared machine, figures with a high value are depressed "
                 "and noisier.\n")
        m.append("| scenario | reference | formwork runs | reference runs | "
                 "ref p50/p99 ms | other load | setting |")
        m.append("|---|---|---|---|---|---|---|")
        for r in self.rows:
            m.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                r["scenario"], r["reference"] or "-",
                " ".join(str(x) for x in r["app_runs"]),
                " ".join(str(x) for x in r["ref_runs"]) or "-",
                "%s / %s" % (fmt(r["ref_p50_ms"], 2), fmt(r["ref_p99_ms"], 2))
                if r["ref_p50_ms"] is not None else "-",
                "%s%%" % fmt(r.get("foreign_pct"), 0)
                if r.get("foreign_pct") is not None else "-", r["detail"]))
        m.append("")
        if self.memory:
            m.append("## Memory\n")
            m.append("Peak RSS (VmHWM) of the busiest worker, MB:\n")
            m.append("| scenario | formwork | reference | flask |")
            m.append("|---|---|---|---|")
            for k, v in self.memory.items():
                m.append("| %s | %s | %s | %s |" % (
                    k, fmt(v.get("app", 0) / 1024.0, 1),
                    fmt(v["ref"] / 1024.0, 1) if v.get("ref") else "-",
                    fmt(v["flask"] / 1024.0, 1) if v.get("flask") else "-"))
            m.append("")
        if self.soak:
            s = self.soak
            m.append("Leak check (`soak_get_form`): GET /f/contact at %d "
                     "connections, %d requests of warm-up, then %d more "
                     "(%.0f req/s). RSS per worker (kB):\n" % (
                         st.main_conns, s["warm_requests"],
                         s["soak_requests"], s["soak_rps"]))
            m.append("| worker pid | at start | after warm-up | after soak "
                     "| growth | peak (VmHWM) |")
            m.append("|---|---|---|---|---|---|")
            for p in s["pids"]:
                m.append("| %d | %d | %d | %d | %+d | %d |" % (
                    p, s["start"][p][1], s["warm"][p][1], s["end"][p][1],
                    s["end"][p][1] - s["warm"][p][1], s["end"][p][0]))
            m.append("")
        if self.signup:
            m.append("## Background jobs (signup_jobs)\n")
            m.append("| run | connections | signups sent | POST req/s | "
                     "jobs | done | failed | jobs/s | p50 ms | p99 ms | "
                     "max ms |")
            m.append("|---|---|---|---|---|---|---|---|---|---|---|")
            for tag, rr, cc in (("c%d" % st.main_conns, self.signup["runs"],
                                 st.main_conns),
                                ("c1", self.signup["c1"], 1)):
                for i, x in enumerate(rr):
                    m.append("| %s #%d | %d | %d | %.0f | %d | %d | %d | "
                             "%.0f | %.1f | %.1f | %.1f |" % (
                                 tag, i + 1, cc, x["posted"],
                                 x.get("post_rps", 0), x["jobs"], x["done"],
                                 x["failed"], x["jobs_per_s"], x["p50_ms"],
                                 x["p99_ms"], x["max_ms"]))
            m.append("")
            m.append("At %d connections the POSTs arrive faster than the "
                     "runners finish jobs, so that latency includes the "
                     "wait in the queue; the 1-connection rows show the "
                     "latency of a lone submission.\n" % st.main_conns)
        if self.admin:
            a = self.admin
            m.append("## Admin desk at %s rows\n" % "{:,}".format(a["rows"]))
            m.append("Store: %s contact submissions from `formworkctl "
                     "generate` (%.0f s, %.0f MB with its WAL), a fresh "
                     "database; app with 2 workers, signed in as an admin. "
                     "Each page: one untimed request, then %d sequential "
                     "GETs over one keep-alive connection (Python "
                     "http.client, like curl), timed from sending to the "
                     "last byte; median and p90. Page %d: reached through "
                     "%d `rel=next` links first (their total and slowest "
                     "time in the last column), then timed. Other load "
                     "during these requests: %.0f%%.\n" % (
                         "{:,}".format(a["rows"]), a["gen_s"], a["db_mb"],
                         st.admin_samples, st.admin_page, st.admin_page - 1,
                         a["foreign_pct"]))
            m.append("| page | request | rows | median ms | p90 ms | "
                     "target | met | first ms | walk to it |")
            m.append("|---|---|---|---|---|---|---|---|---|")
            for x in a["pages"]:
                m.append("| %s | `%s` | %d | %.2f | %.2f | %s | %s "
                         "| %.2f | %s |" % (
                             x["label"] if x["page"] == x["wanted_page"]
                             else "%s (only %d pages)" % (x["label"],
                                                          x["page"]),
                             x["path"] if len(x["path"]) < 70 else
                             x["path"][:67] + "...", x["rows"],
                             x["median_ms"], x["p90_ms"],
                             "< %.0f ms" % TARGET_ADMIN_MS if x["scored"]
                             else "(not in the issue)",
                             ("met" if x["median_ms"] < TARGET_ADMIN_MS
                              else "**missed**") if x["scored"] else
                             ("under" if x["median_ms"] < TARGET_ADMIN_MS
                              else "over"), x["first_ms"],
                             "%.0f ms, slowest page %.1f ms" % (
                                 x["walk_ms"], x["walk_max_ms"])
                             if x["walk_max_ms"] is not None else "-"))
            m.append("")
            if a["rows"] < TARGET_ADMIN_ROWS:
                m.append("The target is for 1,000,000 rows; this run had "
                         "%s (BENCH_ADMIN_ROWS).\n" % "{:,}".format(
                             a["rows"]))
        m += self.commit_markdown()
        for name, text in getattr(self, "profiles", []):
            m.append("## Where the time goes: %s (perf, both workers, c%d)\n"
                     % (name, st.main_conns))
            m.append("```")
            m.append(text)
            m.append("```")
            m.append("")
        m.append("## How it was measured\n")
        m.append(
            "- References (tests/bench/, built by run.sh with `cc "
            "$(KORE_FEATURES) -fPIC -shared`, loaded with `load "
            "./ref_*.so` from a generated conf with the app's Kore "
            "settings): `kore_static` serves the app's captured pages from "
            "memory (ETag/304 for the result page); `kore_sqlite_normal` "
            "parses the contact fields, checks them, and inserts one row "
            "into the app's `submissions` table (same columns and indexes) "
            "with a prepared statement, one transaction per request, WAL, "
            "synchronous=NORMAL, then 303. `flask_gunicorn`: "
            "tests/bench/peers/flask_contact.py under gunicorn, 2 gthread "
            "workers x 4 threads, WAL synchronous=FULL, one transaction per "
            "request. `node_sqlite`: tests/bench/peers/node/node_contact.js "
            "on Node 20's http server under node:cluster (2 workers) with "
            "better-sqlite3 (npm, compiled from source by run.sh), WAL "
            "synchronous=FULL, one transaction per request, and its own "
            "result page read from SQLite with an ETag; the ratio is "
            "Formwork's figure over the peer's.")
        m.append(
            "- POST bodies: fresh `_key`/`_csrf` pairs pre-fetched with wrk "
            "(tests/bench/prefetch.lua; %d contact forms), each posted "
            "once per run by tests/bench/post.lua. Each POST run starts the "
            "server anew on a fresh database (for `post_submit_db*` a copy "
            "of a template filled by `formworkctl generate`), and is "
            "checked: no non-2xx/3xx answer, no socket error, new rows = "
            "answers (up to the "
            "requests in flight at the end)." % getattr(self, "pool_n", 0))
        m.append("- GET runs are checked the same way, plus the bytes per "
                 "answer (a 304 must not be a 200).")
        for n in self.notes:
            m.append("- " + n)
        m.append("")
        if self.problems:
            m.append("## Problems seen in this run\n")
            for p in self.problems:
                m.append("- " + p)
            m.append("")
        return "\n".join(m) + "\n"


class AdminClient:
    """One keep-alive connection with the session cookie, like a browser
    or curl; times each GET from sending it to the last byte read."""

    def __init__(self, port, cookie):
        self.port, self.cookie, self.conn = port, cookie, None

    def get(self, path):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1",
                                                       self.port, timeout=60)
                self.conn.connect()
            try:
                t0 = time.perf_counter()
                self.conn.request("GET", path,
                                  headers={"Cookie": self.cookie})
                r = self.conn.getresponse()
                body = r.read()
                ms = (time.perf_counter() - t0) * 1000.0
            except (http.client.HTTPException, OSError):
                # The server closed an idle keep-alive: once more.
                self.close()
                if attempt:
                    raise
                continue
            if r.will_close:
                self.close()
            return r.status, body, ms

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def html_unescape(s):
    import html
    return html.unescape(s)


# ---- helpers -------------------------------------------------------------

REF_CONF = """# Generated by tests/bench/bench.py: a reference for the benchmark,
# with the app's Kore settings (worker_* and http_* of conf/formwork.conf).
server default {
	bind		127.0.0.1 %(port)d
	tls		no
}

load			%(so)s
workers			%(workers)d
worker_death_policy	terminate
seccomp_tracing		no
pidfile			%(dir)s/kore.pid
http_body_disk_path	%(dir)s/body
%(app_settings)s

domain * {
	attach		default
%(routes)s}
"""


def app_kore_settings():
    """The app's worker_* and http_* settings (conf/formwork.conf), for
    the references; not those naming its own paths or processes."""
    out = []
    with open(os.path.join(REPO, "conf", "formwork.conf")) as f:
        for line in f:
            m = re.match(r"^(worker_\w+|http_\w+)\s+\S", line)
            if m and m.group(1) not in ("worker_death_policy",
                                        "http_body_disk_path",
                                        "http_server_version"):
                out.append(line.rstrip("\n"))
    return "\n".join(out)


def contact_body(i, key, csrf):
    return urllib.parse.urlencode([
        ("_key", key), ("_csrf", csrf), ("name", "Bench tester %d" % i),
        ("email", "bench%d@example.com" % i), ("topic", "support"),
        ("message", "Benchmark message number %d, long enough." % i),
        ("_homepage", "")])


def signup_body(i, key, csrf):
    return urllib.parse.urlencode([
        ("_key", key), ("_csrf", csrf),
        ("email", "signup%d@example.com" % i),
        ("name", "Bench signup %d" % i), ("plan", "free"), ("terms", "yes"),
        ("_homepage", "")])


def hook_body(i, key, csrf):
    return urllib.parse.urlencode([
        ("_key", key), ("_csrf", csrf), ("name", "Bench queue %d" % i),
        ("note", "Queue benchmark submission %d." % i),
        ("_homepage", "")])


def copy_synced(src, dst):
    shutil.copyfile(src, dst)
    fd = os.open(dst, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sqlite_count(db):
    r = subprocess.run(["sqlite3", "-batch", db,
                        "select count(*) from submissions"],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("sqlite3 %s: %s" % (db, r.stderr))
    return int(r.stdout.strip())


def job_stats(srv, after_id):
    rows = srv.sql("select state, created_at, coalesce(finished_at, 0) "
                   "from jobs where id > %d" % after_id)
    lat, done, failed, c0, f1 = [], 0, 0, None, 0
    for line in rows:
        state, c, f = line.split("|")
        c, f = int(c), int(f)
        c0 = c if c0 is None else min(c0, c)
        if state == "done":
            done += 1
            lat.append(f - c)
            f1 = max(f1, f)
        elif state == "failed":
            failed += 1
    lat.sort()
    span = max(1, f1 - (c0 or 0)) / 1000.0
    return {"jobs": len(rows), "done": done, "failed": failed,
            "jobs_per_s": done / span if done else 0,
            "p50_ms": pct(lat, 50), "p99_ms": pct(lat, 99),
            "max_ms": lat[-1] if lat else 0}


def commit_phases(port):
    """Where the app's stored submissions spent their time so far, from
    its /metrics: {"count", "batches", "batched", "sum_s", phase: seconds,
    "le": [(bound, cumulative count)]}, or None if unknown."""
    try:
        st, _, body = http_get(port, "/metrics")
    except OSError:
        return None
    out = {"le": []}
    for line in body.decode("utf-8", "replace").splitlines():
        m = re.match(r'formwork_commit_(\w+?)(?:\{(\w+)="([^"]*)"\})? '
                     r'(\S+)$', line)
        if not m:
            continue
        name, label, value, v = m.group(1), m.group(2), m.group(3), \
            float(m.group(4))
        if name == "seconds_bucket":
            out["le"].append((float(value.replace("Inf", "inf")), v))
        elif name == "phase_seconds_total":
            out[value] = v
        elif name in ("seconds_count", "batches_total", "batched_total",
                      "seconds_sum"):
            out[{"seconds_count": "count", "batches_total": "batches",
                 "batched_total": "batched",
                 "seconds_sum": "sum_s"}[name]] = v
    return out if out.get("count") else None


def commit_quantile(le, q):
    """The bucket bound below which a fraction q of the submissions
    fell (a histogram's resolution: an upper bound)."""
    total = le[-1][1] if le else 0
    for bound, cum in le:
        if total and cum >= q * total:
            return bound
    return None


def metrics_requests(port):
    """Requests answered so far, from the app's /metrics (0 if unknown)."""
    try:
        st, _, body = http_get(port, "/metrics")
    except OSError:
        return 0
    n = 0
    for line in body.decode("utf-8", "replace").splitlines():
        if line.startswith("formwork_http_requests_total{"):
            n += int(float(line.rsplit(" ", 1)[1]))
    return n


def perf_summary(data):
    """Self time by DSO, self time by symbol, and the app's and Kore's
    functions by inclusive time, from one perf.data."""
    def rep(*extra):
        r = subprocess.run(["perf", "report", "-i", data, "--stdio", "-q",
                            "-g", "none"] + list(extra),
                           capture_output=True, text=True, timeout=300)
        return [l.rstrip() for l in r.stdout.splitlines()
                if "%" in l and l.strip()]
    dso = rep("--no-children", "--sort", "dso")[:8]
    sym = rep("--no-children", "--sort", "dso,sym", "--percent-limit",
              "1")[:20]
    skip = re.compile(r"_start|main|kore_worker_|0x0000|\[k\]|"
                      r"start_thread|clone")
    inc = [l for l in rep("--children", "--sort", "sym", "--percent-limit",
                          "2") if not skip.search(l)][:25]
    return "\n".join(["self time by object:"] + dso +
                     ["", "self time by symbol (>= 1%):"] + sym +
                     ["", "inclusive time, user-space functions "
                      "(children, self):"] + inc)


def pct(xs, p):
    if not xs:
        return 0.0
    k = (len(xs) - 1) * p / 100.0
    lo, hi = int(math.floor(k)), int(math.ceil(k))
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, d):
    if x is None:
        return ""
    return "%.*f" % (d, x)


def scen(base, conns, main):
    return base if conns == main else "%s_c%d" % (base, conns)


def human(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dm" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def cmd_out(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                           cwd=REPO)
        return (r.stdout or r.stderr).strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info():
    so = os.environ.get("BENCH_SO_ORIG", "")
    commit = os.environ.get("BENCH_COMMIT")
    if commit:
        # The module was built from this commit elsewhere (git archive).
        full = cmd_out(["git", "rev-parse", commit]) or commit
        info = machine_info_base(so)
        info.update({"commit": full[:7], "commit_full": full,
                     "dirty": False})
        return info
    return machine_info_base(so)


def machine_info_base(so):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    return {
        "nproc": cmd_out(["nproc"]), "cpu": cpu,
        "kernel": os.uname().release, "mem_mb": mem,
        "commit": cmd_out(["git", "rev-parse", "--short", "HEAD"]) or
        "nogit",
        "commit_full": cmd_out(["git", "rev-parse", "HEAD"]),
        "dirty": bool(cmd_out(["git", "status", "--porcelain", "--", "src",
                               "conf", "templates", "assets"])),
        "so_time": time.strftime("built %Y-%m-%d %H:%M", time.localtime(
            os.path.getmtime(so))) if so and os.path.exists(so) else "",
        "kore": cmd_out(["kore", "-v"]).splitlines()[0] if cmd_out(
            ["kore", "-v"]) else "kore",
        "wrk": (cmd_out(["wrk", "-v"]).splitlines() or ["wrk"])[0],
        "gunicorn": cmd_out(["gunicorn", "--version"]),
        "sqlite": cmd_out(["sqlite3", "--version"]).split(" ")[0],
    }


HISTORY_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})-(\d{2})(\d{2})-"
                        r"([0-9a-z]+)\.csv$")


def history_svg(outdir, work):
    """Plots every dated CSV in outdir over time with gnuplot."""
    series = [("get_form", "kore_static"), ("post_submit",
                                            "kore_sqlite_normal"),
              ("get_result_304", "kore_static"),
              ("get_form", "flask_gunicorn")]
    points = []
    for p in sorted(glob.glob(os.path.join(outdir, "*.csv"))):
        m = HISTORY_RE.match(os.path.basename(p))
        if not m:
            continue
        t = calendar.timegm(time.strptime("".join(m.groups()[:5]),
                                          "%Y%m%d%H%M"))
        vals = {}
        with open(p) as f:
            for r in csv.DictReader(f):
                vals[(r["scenario"], r["reference"])] = r
        line = [str(int(t))]
        for s in series[:3]:
            r = vals.get(s, {})
            line += [r.get("formwork_rps") or "NaN", r.get("ratio") or "NaN"]
        line.append(m.group(6))
        points.append(" ".join(line))
    dat = os.path.join(work, "history.dat")
    with open(dat, "w") as f:
        f.write("# time get_form ratio post_submit ratio get_result_304 "
                "ratio commit\n")
        f.write("\n".join(points) + "\n")
    svg = os.path.join(outdir, "history.svg")
    gp = """set terminal svg size 900,640 dynamic enhanced font "sans,11"
set output '%(svg)s'
set datafile missing "NaN"
set xdata time
set timefmt "%%s"
set format x "%%Y-%%m-%%d\\n%%H:%%M UTC"
set grid
set key outside right top noenhanced
set lmargin 10
set rmargin 32
set offsets graph 0.05, graph 0.05, 0, 0
set multiplot layout 2,1 title "Formwork benchmark history (medians at 64 connections)"
set ylabel "requests/s"
set yrange [0:*]
plot '%(dat)s' using 1:2 with linespoints pt 7 ps 0.8 title "get_form", \\
     '' using 1:4 with linespoints pt 5 ps 0.8 title "post_submit", \\
     '' using 1:6 with linespoints pt 9 ps 0.8 title "get_result_304"
set ylabel "formwork / reference"
set yrange [0:*]
set arrow 1 from graph 0, first 0.95 to graph 1, first 0.95 nohead dt 2 lc rgb "#888888"
set arrow 2 from graph 0, first 0.9 to graph 1, first 0.9 nohead dt 3 lc rgb "#888888"
set arrow 3 from graph 0, first 2.0 to graph 1, first 2.0 nohead dt 4 lc rgb "#444444"
set label 1 "targets (issue 18): GET 0.95, 304 0.9, POST 2.0" at graph 0.01, graph 0.06 font "sans,9"
plot '%(dat)s' using 1:3 with linespoints pt 7 ps 0.8 title "get_form / static", \\
     '' using 1:5 with linespoints pt 5 ps 0.8 title "post_submit / sqlite NORMAL", \\
     '' using 1:7 with linespoints pt 9 ps 0.8 title "get_result_304 / static"
unset multiplot
""" % {"svg": svg, "dat": dat}
    gpf = os.path.join(work, "history.gp")
    with open(gpf, "w") as f:
        f.write(gp)
    r = subprocess.run(["gnuplot", gpf], capture_output=True, text=True)
    if r.returncode != 0:
        print("gnuplot failed: %s" % r.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--so", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--refdir", required=True)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    st = Settings(args.quick)
    b = Bench(args, st)
    os.environ["BENCH_SO_ORIG"] = b.so_orig
    log("module %s, work directory %s, %s" % (
        b.so, b.work, "QUICK" if st.quick else "full run"))
    b.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
