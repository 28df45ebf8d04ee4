"""
stop.py: a graceful stop under load (SPEC section 12).

Clients on keep-alive connections fetch the contact form and post it, as
fast as the server answers, for a couple of seconds; then the Kore parent
gets SIGTERM. Every request a client had finished sending before the
signal must get an answer (no reset, no connection closed without one);
the parent must exit 0 within the bound; every acknowledged submission
(303) must be in the database; and a server started again on the same
database serves them. Requests sent after the signal may be refused.
Ends with "N passed, N failed" (exit status non-zero on failure).
"""

import argparse
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import server as srvmod  # noqa: E402
from harness import Checks, form_def, hook, submit, write_forms  # noqa: E402
from client import request  # noqa: E402
from steady import Client  # noqa: E402
from server import Server  # noqa: E402
from webhook_receiver import Receiver, new_secret  # noqa: E402

check = Checks()
CLIENTS = 24
LOAD_S = 2.0
STOP_BOUND_S = 15.0   # the drain's 10 s plus the threads' stop



def job_state(srv):
    return srv.sql("SELECT state || ' ' || attempts || ' ' || "
                   "(run_at <= (julianday('now') - 2440587.5) * 86400000) "
                   "FROM jobs")


def give_back():
    """A webhook that takes 30 s is running when SIGTERM comes: the job
    must go back to the queue, due now, the cut attempt not counted, and
    be delivered after a restart."""
    secret = new_secret()
    rx = Receiver(secret).start()
    rx.delay("/slow", 30.0)
    forms = write_forms("stop", [form_def("stophook",
                                          [hook(rx.url("/slow"), 5)])])
    env = {"FORMWORK_MIN_FILL_MS": "0", "FORMWORK_WEBHOOK_SECRET": secret,
           "FORMWORK_WEBHOOK_ALLOW_PRIVATE": "1",
           "FORMWORK_ACTION_TIMEOUT": "60"}
    srv = Server("stop-jobs", forms_dir=forms, env=env)
    problems = []
    try:
        srv.start()
        submit(srv.url, "stophook", {"name": "Given back"})
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and \
                job_state(srv)[:1] != ["running 1 1"]:
            time.sleep(0.05)
        running = job_state(srv)
        srv.stop_offset = len(srv.read_log())
        t = time.monotonic()
        os.kill(srv.proc.pid, signal.SIGTERM)
        rc = srv.proc.wait(STOP_BOUND_S)
        srv.close_log()
        after = job_state(srv)
        check("a running job is given back on SIGTERM: queued, due now, "
              "the cut attempt not counted (exit %s in %.1f s)" % (
                  rc, time.monotonic() - t),
              running == ["running 1 1"] and after == ["queued 0 1"] and
              rc == 0, "before %s, after %s, exit %s" % (running, after, rc))
        problems += srv.log_problems()
        rx.delay("/slow", 0)
        again = Server("stop-jobs-again", forms_dir=forms, env=env)
        again.db = srv.db
        again.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and job_state(again) != \
                ["done 1 1"]:
            time.sleep(0.05)
        check("after a restart the job is delivered at its first attempt",
              job_state(again) == ["done 1 1"] and len(rx.seen("/slow")) >= 1,
              "%s, %d deliveries" % (job_state(again),
                                    len(rx.seen("/slow"))))
        problems += again.stop()
    finally:
        srv.kill()
        rx.stop()
    check("log check (jobs): no sandbox violation, worker gone or "
          "sanitizer report", not problems, "; ".join(problems[:10]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--so")
    args = ap.parse_args()
    if args.so:
        os.environ["FORMWORK_SO"] = os.path.abspath(args.so)
    srv = Server("stop", env={"FORMWORK_RATE_LIMIT": "0",
                              "FORMWORK_MIN_FILL_MS": "0"})
    print("formwork stop test: module %s, dir %s" % (
        srvmod.module_path(), srv.dir), flush=True)
    clients = []
    problems = ["the test ended before the server was stopped"]
    try:
        srv.start()
        clients = [Client(srv.port, n) for n in range(CLIENTS)]
        for c in clients:
            c.start()
        time.sleep(LOAD_S)
        srv.stop_offset = len(srv.read_log())
        signalled = time.monotonic()
        os.kill(srv.proc.pid, signal.SIGTERM)
        try:
            rc = srv.proc.wait(STOP_BOUND_S)
            srv.close_log()
        except Exception:  # noqa: BLE001 (still running: a failure)
            rc = None
        took = time.monotonic() - signalled
        for c in clients:
            c.stop = True
        for c in clients:
            c.join(5)

        log = [e for c in clients for e in c.log]
        before = [e for e in log if e[0] < signalled]
        lost = [e for e in before if not isinstance(e[2], int)]
        after = [e for e in log if e[0] >= signalled]
        print("requests sent before the signal: %d (%d POST), answered %d; "
              "after it: %d, answered %d; stop took %.2f s" % (
                  len(before), sum(1 for e in before if e[1] == "POST"),
                  len(before) - len(lost), len(after),
                  sum(1 for e in after if isinstance(e[2], int)), took),
              flush=True)
        check("load ran: over 200 requests before the signal",
              len(before) > 200, "%d" % len(before))
        check("every request sent before SIGTERM was answered", not lost,
              "%d without an answer, e.g. %s" % (len(lost), lost[:5]))
        check("no 5xx among the answers",
              not [e for e in log if isinstance(e[2], int) and e[2] >= 500],
              str([e for e in log if isinstance(e[2], int)
                   and e[2] >= 500][:5]))
        check("the parent exited 0 within %.0f s" % STOP_BOUND_S, rc == 0,
              "exit status %r after %.2f s" % (rc, took))

        acked = {s for c in clients for s in c.acked}
        stored = set(srv.sql("SELECT id FROM submissions"))
        missing = acked - stored
        check("every acknowledged submission (%d) is stored" % len(acked),
              acked and not missing,
              "%d missing, e.g. %s" % (len(missing), sorted(missing)[:3]))

        problems = srv.log_problems()
        again = Server("stop-again")
        again.db = srv.db
        again.start()
        sample = sorted(acked)[-5:]
        pages = [request(again.url, "GET", "/s/%s" % s).status
                 for s in sample]
        problems += again.stop()
        check("after a restart the last acknowledged pages are served",
              pages and all(p == 200 for p in pages), str(pages))
    except Exception as e:  # a crash of the harness is a failure
        import traceback
        traceback.print_exc()
        check("stop test ran to the end", False, repr(e))
    finally:
        for c in clients:
            c.stop = True
        srv.kill()
        srv.close_log()
    check("log check: no sandbox violation, worker gone or sanitizer "
          "report (%s)" % srv.dir, not problems, "; ".join(problems[:10]))
    try:
        give_back()
    except Exception as e:  # a crash of the harness is a failure
        import traceback
        traceback.print_exc()
        check("the jobs part ran to the end", False, repr(e))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
