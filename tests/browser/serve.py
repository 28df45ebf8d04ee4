#!/usr/bin/python3
"""
serve.py: the servers behind the browser tests (started by run.sh).

Starts an SMTP sink (tests/integ/smtp_sink.py) that takes --delay seconds
to accept each message, and a Formwork server (tests/integ/server.py, own
directory under tests/out/) with FORMWORK_SMTP_URL pointing at it and
FORMWORK_MIN_FILL_MS=0 / FORMWORK_RATE_LIMIT=0 (a test fills a form
faster than a person).

For the origin tests (origins.test.mjs) it also serves the owner's own
site, the static pages of tests/browser/site/, twice on loopback ports of
their own: as "owner", the origin the forms "owner" and "human" list in
allowed_origins, and as "stranger", an origin no form lists. And a fake
siteverify (tests/integ/siteverify.py) that the challenge of "human"
(Turnstile) is checked with. The forms are the shipped ones plus those
two.

Writes {"base", "sink_log", "log", "dir", "owner", "stranger"} as JSON to
--state once /healthz answers, then serves until SIGTERM/SIGINT. On the
way out it stops Kore by its PID, prints the log lines that mean a
failure (sandbox violation, worker gone, sanitizer report) and exits 1 if
there are any.

Usage: /usr/bin/python3 tests/browser/serve.py --so SO --state FILE [--delay 3]
"""

import argparse
import http.server
import json
import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

import harness  # noqa: E402
from loopback import Loopback  # noqa: E402
import server as srvmod  # noqa: E402
from siteverify import FakeVerifier  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402

SITE = os.path.join(HERE, "site")
CAPTCHA_SECRET = "browser-test-secret"
SITE_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css",
              ".js": "text/javascript"}


class OwnerSite(Loopback):
    """
    The owner's static site: tests/browser/site/ served on 127.0.0.1 at a
    port of its own, with @BASE@ (Formwork's address, known once it has
    started: base is a one-item list) and @ORIGIN@ (this site's) filled
    in.
    """

    def __init__(self, base):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                name = os.path.basename(self.path.split("?")[0]) or \
                    "contact.html"
                path = os.path.join(SITE, name)
                ext = os.path.splitext(name)[1]
                if not os.path.isfile(path) or ext not in SITE_TYPES:
                    self.send_error(404)
                    return
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                text = text.replace("@BASE@", base[0]).replace(
                    "@ORIGIN@", outer.origin)
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", SITE_TYPES[ext])
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

        Loopback.__init__(self, http.server.ThreadingHTTPServer, Handler)
        self.origin = "http://127.0.0.1:%d" % self.port


def owner_forms(owner):
    """The forms "owner" (a contact form) and "human" (the same with a
    Turnstile challenge), both listing owner."""
    fields = [
        {"name": "name", "type": "text", "label": "Your name",
         "required": True, "max_length": 100},
        {"name": "email", "type": "email", "label": "Email",
         "required": True},
        {"name": "message", "type": "textarea", "label": "Message",
         "required": True, "min_length": 5, "max_length": 2000},
    ]
    owner_form = {
        "slug": "owner", "title": "Message from the bakery's site",
        "success_message": "Thanks, the bakery has your message.",
        "fields": fields, "allowed_origins": [owner], "allow_subject": True,
    }
    human = dict(owner_form, slug="human", title="Message, checked human",
                 captcha={"provider": "turnstile",
                          "site_key": "1x00000000000000000000AA"})
    return [owner_form, human]


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

    base = [""]
    owner, stranger = OwnerSite(base).start(), OwnerSite(base).start()
    verifier = FakeVerifier(CAPTCHA_SECRET).start()
    srv = srvmod.Server("browser", forms_dir=harness.write_forms(
        "browser", owner_forms(owner.origin)))
    sink_log = os.path.join(srv.dir, "smtp-sink.jsonl")
    os.makedirs(srv.dir, exist_ok=True)
    sink = SmtpSink(delay_s=args.delay, log_path=sink_log).start()
    srv.extra_env.update({
        "FORMWORK_SMTP_URL": sink.url,
        "FORMWORK_MIN_FILL_MS": "0",
        "FORMWORK_RATE_LIMIT": "0",
        "FORMWORK_OUTBOX": os.path.join(srv.dir, "outbox"),
        "FORMWORK_CAPTCHA_SECRET": CAPTCHA_SECRET,
        "FORMWORK_CAPTCHA_VERIFY_URL": verifier.url,
    })
    rc = 0
    try:
        srv.start()
        base[0] = srv.url
        tmp = args.state + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"base": srv.url, "sink_log": sink_log, "log": srv.log,
                       "dir": srv.dir, "smtp": sink.url,
                       "delay_s": args.delay, "owner": owner.origin,
                       "stranger": stranger.origin}, f)
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
        verifier.stop()
        owner.stop()
        stranger.stop()
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
