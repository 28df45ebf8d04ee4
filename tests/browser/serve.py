#!/usr/bin/python3
"""
serve.py: the servers behind the browser tests (started by run.sh).

Starts an SMTP sink (tests/integ/smtp_sink.py) that takes --delay seconds
to accept each message, and a Formwork server (tests/integ/server.py, own
directory under tests/out/) with FORMWORK_SMTP_URL pointing at it and
FORMWORK_MIN_FILL_MS=0 / FORMWORK_RATE_LIMIT=0 (a test fills a form
faster than a person). Writes {"base", "sink_log", "log", "dir"} as JSON to
--state once /healthz answers, then serves until SIGTERM/SIGINT. On the
way out it stops Kore by its PID, prints the log lines that mean a
failure (sandbox violation, worker gone, sanitizer report) and exits 1 if
there are any.

Usage: /usr/bin/python3 tests/browser/serve.py --so SO --state FILE [--delay 3]
"""

import argparse
import json
import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

import server as srvmod  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--so", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--delay", type=float, default=3.0)
    args = ap.parse_args()
    os.environ["FORMWORK_SO"] = os.path.abspath(args.so)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())

    srv = srvmod.Server("browser")
    sink_log = os.path.join(srv.dir, "smtp-sink.jsonl")
    os.makedirs(srv.dir, exist_ok=True)
    sink = SmtpSink(delay_s=args.delay, log_path=sink_log).start()
    srv.extra_env.update({
        "FORMWORK_SMTP_URL": sink.url,
        "FORMWORK_MIN_FILL_MS": "0",
        "FORMWORK_RATE_LIMIT": "0",
        "FORMWORK_OUTBOX": os.path.join(srv.dir, "outbox"),
    })
    rc = 0
    try:
        srv.start()
        tmp = args.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"base": srv.url, "sink_log": sink_log, "log": srv.log,
                       "dir": srv.dir, "smtp": sink.url,
                       "delay_s": args.delay}, f)
        os.rename(tmp, args.state)
        print("serve.py: Formwork on %s (dir %s), SMTP sink on %s taking "
              "%.1f s per message" % (srv.url, srv.dir, sink.url, args.delay),
              flush=True)
        while not stop.wait(0.5):
            if srv.proc.poll() is not None:
                print("serve.py: kore exited on its own (status %s)" %
                      srv.proc.returncode, flush=True)
                break
    except srvmod.StartError as e:
        print("serve.py: %s" % e, flush=True)
        rc = 1
    finally:
        problems = srv.stop()
        sink.stop()
    if problems:
        print("serve.py: log check failed (%s):" % srv.log)
        for p in problems[:20]:
            print("      " + p)
        rc = 1
    else:
        print("serve.py: log check ok (%s)" % srv.log, flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
