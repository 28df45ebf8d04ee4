#!/usr/bin/python3
"""
crash.py: crash safety of Formwork's durable queue (run by
tests/integ/crash.sh, not by run.sh: it takes about a minute).

One server (its own directory under tests/out/) with two test forms:
`crashhook` (a webhook to a receiver that answers 200 after 0.2 s) and
`crashmail` (an email to an SMTP sink that accepts after 0.2 s), with
FORMWORK_ACTION_TIMEOUT=2, so a lease lasts 2 + 10 = 12 s.

  1. 1,000 submissions (half to each form) are posted by 4 client
     threads at about 100/s. Once 350 are acknowledged (303) and jobs are
     running, the Kore parent and every worker (children of the parent in
     /proc) are killed with SIGKILL; the server is started again on the
     same database and the clients go on posting to it.
  2. When all 1,000 are acknowledged, everything is killed once more while
     the queue drains, and started again.
  3. The test waits until no job is queued or running, then checks:
     every acknowledged submission is stored and has exactly one job;
     every job is done (none failed, none lost); jobs = stored submissions
     of the two forms; the receiver saw every webhook delivery id and the
     sink every email Message-ID at least once; the log holds no sandbox
     violation or sanitizer report.

Prints the figures and ends with "N passed, N failed".
Usage: /usr/bin/python3 tests/integ/crash.py [--so PATH] [-n 1000]
"""

import argparse
import json
import os
import signal
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import (Session, children_of, form_def, hook,  # noqa: E402
                     mail, write_forms)
import server as srvmod  # noqa: E402
from server import Server  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402
from webhook_receiver import Receiver, new_secret  # noqa: E402

LEASE_S = 12
check = harness.Checks()


def rows(srv, query, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True, timeout=10)
    try:
        return con.execute(query, args).fetchall()
    finally:
        con.close()


def job_states(srv):
    return dict(rows(srv, "SELECT state, count(*) FROM jobs GROUP BY state"))


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2:].split()[0] != "Z"


def kill9(srv):
    """SIGKILL to the Kore parent and all its workers; returns the pids."""
    parent = srv.proc.pid
    with open(os.path.join(srv.dir, "kore.pid")) as f:
        pidfile = int(f.read().strip() or 0)
    workers = children_of(parent)
    os.kill(parent, signal.SIGKILL)
    for w in workers:
        try:
            os.kill(w, signal.SIGKILL)
        except ProcessLookupError:
            pass
    srv.proc.wait()
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.02)
    srv.close_log()
    return parent, pidfile, workers, [w for w in workers if alive(w)]


class Clients:
    """n submissions by `threads` threads at about `rate` per second,
    following the server across restarts (srv.url changes)."""

    def __init__(self, srv, n, threads=4, rate=100.0):
        self.srv = srv
        self.n = n
        self.threads = threads
        self.pause = threads / rate
        self.lock = threading.Lock()
        self.acked = {}             # id -> form
        self.errors = 0
        self.next = 0
        self.stop = False
        self.ts = []

    def run(self):
        for _ in range(self.threads):
            t = threading.Thread(target=self.work, daemon=True)
            t.start()
            self.ts.append(t)
        return self

    def count(self):
        with self.lock:
            return len(self.acked)

    def work(self):
        sess, base = None, None
        while not self.stop:
            with self.lock:
                if len(self.acked) + 0 >= self.n or self.next >= 3 * self.n:
                    return
                i = self.next
                self.next += 1
            slug = "crashhook" if i % 2 == 0 else "crashmail"
            t0 = time.monotonic()
            try:
                if sess is None or base != self.srv.url:
                    base = self.srv.url
                    sess = Session(base)
                st, sid = sess.submit(slug, {"name": "Crash %d" % i})
            except Exception:  # noqa: BLE001 (a killed server: try again)
                st, sid = None, None
                sess = None
            with self.lock:
                if st == 303 and sid and len(self.acked) < self.n:
                    self.acked[sid] = slug
                elif st != 303:
                    self.errors += 1
            if st != 303:
                time.sleep(0.1)
            left = self.pause - (time.monotonic() - t0)
            if left > 0:
                time.sleep(left)

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for t in self.ts:
            t.join(max(0.0, deadline - time.monotonic()))
        return all(not t.is_alive() for t in self.ts)


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def crash_and_restart(srv, label):
    before = job_states(srv)
    t = time.monotonic()
    parent, pidfile, workers, left = kill9(srv)
    after = job_states(srv)
    print("kill -9 %s: parent %d (pidfile %d), workers %s; jobs before %s, "
          "after %s" % (label, parent, pidfile, workers, before, after),
          flush=True)
    check("%s: pidfile names the parent we started" % label,
          pidfile == parent, "pidfile %d, Popen %d" % (pidfile, parent))
    check("%s: workers found and all killed" % label,
          len(workers) >= 1 and not left,
          "workers %s, still alive %s" % (workers, left))
    srv.start()
    print("restarted on the same database in %.2f s: %s (pid %d)" % (
        time.monotonic() - t, srv.url, srv.proc.pid), flush=True)
    return after.get("running", 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000)
    n = harness.parse_args(ap).n
    secret = new_secret()
    rx = Receiver(secret).start()
    rx.delay("/crash", 0.2)
    sink = SmtpSink(delay_s=0.2).start()
    forms = write_forms("crash", [
        form_def("crashhook", [hook(rx.url("/crash"), 10)]),
        form_def("crashmail", [mail("owner@example.com", "Crash", 10)]),
    ])
    srv = Server("crash", forms_dir=forms, env={
        "FORMWORK_RATE_LIMIT": "0", "FORMWORK_MIN_FILL_MS": "0",
        "FORMWORK_WEBHOOK_SECRET": secret,
        "FORMWORK_WEBHOOK_ALLOW_PRIVATE": "1",
        "FORMWORK_SMTP_URL": sink.url,
        "FORMWORK_ACTION_TIMEOUT": "2",
        "FORMWORK_RETRY_SCHEDULE": "0.2,0.4,0.8,1.6"})
    print("formwork crash test: module %s, dir %s" % (
        srvmod.module_path(), srv.dir), flush=True)
    clients = None
    try:
        srv.start()
        clients = Clients(srv, n).run()

        # 1. kill while submissions arrive and jobs run
        ok = wait_until(lambda: clients.count() >= 0.35 * n and
                        job_states(srv).get("running", 0) > 0 and
                        len(rx.seen()) >= 10, 60)
        check("phase 1: submissions acknowledged and jobs running", ok,
              "acked %d, jobs %s" % (clients.count(), job_states(srv)))
        acked_at_kill1 = clients.count()
        running1 = crash_and_restart(srv, "while submitting (%d acked)"
                                     % acked_at_kill1)

        # 2. kill again while the queue drains
        ok = clients.join(120)
        check("all %d submissions acknowledged (303)" % n,
              ok and clients.count() == n,
              "acked %d, failed attempts %d" % (clients.count(),
                                                clients.errors))
        ok = wait_until(lambda: job_states(srv).get("running", 0) > 0, 30)
        running2 = crash_and_restart(srv, "while draining (%s)" %
                                     job_states(srv)) if ok else 0

        # 3. everything finishes
        t_wait = time.monotonic()
        drained = wait_until(lambda: not (set(job_states(srv)) &
                                          {"queued", "running"}),
                             LEASE_S + 120, 0.25)
        print("queue drained %.1f s after the last restart: %s" % (
            time.monotonic() - t_wait, job_states(srv)), flush=True)
        check("no job queued or running in the end", drained,
              json.dumps(job_states(srv)))

        acked = dict(clients.acked)
        subs = dict(rows(srv, "SELECT id, form FROM submissions WHERE form "
                         "IN ('crashhook', 'crashmail')"))
        jobs = rows(srv, "SELECT j.submission_id, j.kind, j.state, "
                    "j.attempts, j.delivery_id, j.last_error FROM jobs j "
                    "JOIN submissions s ON s.id = j.submission_id "
                    "WHERE s.form IN ('crashhook', 'crashmail')")
        per_sub = {}
        for j in jobs:
            per_sub.setdefault(j[0], []).append(j)
        missing = [s for s in acked if s not in subs]
        check("every acknowledged submission is stored", not missing,
              "%d missing, e.g. %s" % (len(missing), missing[:3]))
        wrong = [s for s in acked if len(per_sub.get(s, [])) != 1]
        check("every acknowledged submission has exactly one job", not wrong,
              "%d wrong, e.g. %s" % (len(wrong), [(s, per_sub.get(s))
                                                  for s in wrong[:3]]))
        check("jobs = stored submissions (>= %d acknowledged)" % len(acked),
              len(jobs) == len(subs) >= len(acked),
              "jobs %d, stored %d, acknowledged %d" % (
                  len(jobs), len(subs), len(acked)))
        not_done = [j for j in jobs if j[2] != "done"]
        check("every job is done", not not_done,
              "%d not done, e.g. %s" % (len(not_done), not_done[:3]))

        hook_ids = {j[4] for j in jobs if j[1] == "webhook"}
        mail_ids = {j[4] for j in jobs if j[1] == "email"}
        seen = rx.seen("/crash")
        seen_ids = {d.id for d in seen}
        lost_hooks = hook_ids - seen_ids
        check("the receiver saw every webhook delivery id",
              not lost_hooks and hook_ids,
              "%d of %d never seen, e.g. %s" % (len(lost_hooks),
                                                len(hook_ids),
                                                sorted(lost_hooks)[:3]))
        mids = {m.message_id for m in sink.messages}
        lost_mail = {d for d in mail_ids if "<%s@formwork>" % d not in mids}
        check("the SMTP sink got every email", not lost_mail and mail_ids,
              "%d of %d never arrived, e.g. %s" % (len(lost_mail),
                                                   len(mail_ids),
                                                   sorted(lost_mail)[:3]))
        bad_sig = [d for d in seen if not d.sig_ok]
        check("every webhook request was signed correctly", not bad_sig,
              "%d bad, e.g. %s" % (len(bad_sig), [d.sig_why
                                                  for d in bad_sig[:2]]))

        retried = sum(1 for j in jobs if j[3] > 1)
        dup_hooks = len(seen) - len(seen_ids)
        dup_mail = len(sink.messages) - len(mids)
        print("figures: %d acknowledged, %d stored, %d jobs; running at the "
              "kills: %d and %d; jobs that took more than one attempt: %d; "
              "duplicate deliveries (at-least-once): %d webhook, %d email; "
              "client attempts that failed while the server was down: %d" % (
                  len(acked), len(subs), len(jobs), running1, running2,
                  retried, dup_hooks, dup_mail, clients.errors), flush=True)
    except Exception as e:  # a crash of the harness is a failure
        import traceback
        traceback.print_exc()
        check("crash test ran to the end", False, repr(e))
    finally:
        if clients is not None:
            clients.stop = True
        srv.kill()
        srv.close_log()
        rx.stop()
        sink.stop()

    # The log covers three servers; two were killed, so the shutdown
    # noise of killed workers ("parent gone") is expected anywhere.
    log = srv.read_log()
    bad = [l for l in log.splitlines() if srvmod.LOG_FAILURES.search(l) and
           not srvmod.SHUTDOWN_NOISE.search(l)]
    check("log check: no sandbox violation, worker gone or sanitizer "
          "report (%s)" % srv.log, not bad, "; ".join(bad[:10]))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
