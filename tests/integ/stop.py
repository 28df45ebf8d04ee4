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
from client import request  # noqa: E402
from steady import Client  # noqa: E402
from server import Server  # noqa: E402

RESULTS = []
CLIENTS = 24
LOAD_S = 2.0
STOP_BOUND_S = 15.0   # the drain's 10 s plus the threads' stop


def check(name, ok, detail=""):
    RESULTS.append((name, bool(ok)))
    print("%s  %s%s" % ("ok  " if ok else "FAIL", name,
                        "" if ok else "\n      " + detail), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--so")
    args = ap.parse_args()
    if args.so:
        os.environ["FORMWORK_SO"] = os.path.abspath(args.so)
    t0 = time.monotonic()
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
        again = Server("stop-again", env={"FORMWORK_DB": srv.db})
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
    passed = sum(1 for r in RESULTS if r[1])
    failed = len(RESULTS) - passed
    print("time: %.1f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
