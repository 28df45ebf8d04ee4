#!/usr/bin/python3
"""
webhook_receiver.py: a webhook receiver for the queue tests: a
ThreadingHTTPServer on 127.0.0.1 in a thread of the test process that
records every request and verifies its Standard Webhooks signature
(standardwebhooks.com) against the secret the server was given.

What it answers is chosen per path by a responder:

    rx = Receiver(SECRET).start()
    rx.route("/flaky", lambda n: 500 if n <= 2 else 200)
    rx.route("/busy", lambda n: (429, {"Retry-After": "2"}) if n == 1 else 200)
    url = rx.url("/flaky")

n is how many requests with this request's webhook-id the path has seen,
this one included (1 for the first try). A responder returns a status,
or (status, headers), or (status, headers, seconds to wait first). Paths without a route answer 200. rx.delay(path, s)
makes a path answer after s seconds; rx.gate(path) holds a path's
requests until rx.release(path); rx.trickle(path, s) sends a path's
answer body one byte at a time for s seconds.

Each request is kept as a Delivery (arrival time, path, headers, raw
body, parsed JSON, whether the signature verified and the status sent).
Standard library only.
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def new_secret():
    """A whsec_ secret: 'whsec_' + base64 of 24 random bytes."""
    import os
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


def sign(secret, msg_id, ts, body):
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, b"%s.%s.%s" % (msg_id.encode(), str(ts).encode(),
                                       body), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def verify(secret, headers, body, now=None):
    """
    Standard Webhooks verification: (ok, why). headers: lower-case names.
    The signature header is a space-separated list of "v1,<base64>"; one
    must match the HMAC-SHA256 of "id.timestamp.body" keyed with the
    base64-decoded part of the secret after "whsec_", and the timestamp
    must be within 5 minutes of now.
    """
    msg_id = headers.get("webhook-id")
    ts = headers.get("webhook-timestamp")
    sig = headers.get("webhook-signature")
    if not msg_id or not ts or not sig:
        return False, "missing webhook-id/-timestamp/-signature"
    try:
        ts_i = int(ts)
    except ValueError:
        return False, "webhook-timestamp %r is not a number" % ts
    now = time.time() if now is None else now
    if abs(now - ts_i) > TOLERANCE_S:
        return False, "webhook-timestamp %s is %d s off" % (ts, now - ts_i)
    want = sign(secret, msg_id, ts, body)
    for part in sig.split():
        ver, _, val = part.partition(",")
        if ver == "v1" and hmac.compare_digest(val, want):
            return True, ""
    return False, "no v1 signature matches (got %r)" % sig


class Delivery:
    def __init__(self, t, path, headers, body, secret):
        self.t = t                      # time.time() on arrival
        self.path = path
        self.headers = headers          # lower-case names
        self.body = body
        self.id = headers.get("webhook-id")
        try:
            self.json = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            self.json = None
        if secret:
            self.sig_ok, self.sig_why = verify(secret, headers, body, t)
        else:
            self.sig_ok, self.sig_why = None, "no secret to check with"
        self.status = None              # what the receiver answered
        self.t_end = None

    def __repr__(self):
        return "<Delivery %s %s id=%s status=%s>" % (
            self.path, time.strftime("%H:%M:%S", time.localtime(self.t)),
            self.id, self.status)


class Receiver:
    def __init__(self, secret=None):
        self.secret = secret
        self.lock = threading.Lock()
        self.deliveries = []
        self.routes = {}
        self.delays = {}
        self.gates = {}
        self.trickles = {}
        self.counts = {}                # (path, id) -> requests seen
        self.httpd = None
        self.thread = None

    # -- set-up -------------------------------------------------------

    def route(self, path, responder):
        self.routes[path] = responder
        return self

    def delay(self, path, seconds):
        self.delays[path] = seconds
        return self

    def gate(self, path):
        ev = threading.Event()
        self.gates[path] = ev
        return ev

    def trickle(self, path, seconds, step=0.01):
        """A path whose 200 answer's body comes one byte per `step` s for
        `seconds` s (the sender keeps reading for that long)."""
        self.trickles[path] = (seconds, step)
        return self

    def release(self, path):
        ev = self.gates.get(path)
        if ev is not None:
            ev.set()

    def start(self):
        rx = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                t = time.time()
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                path = self.path.split("?", 1)[0]
                d = Delivery(t, path, headers, body, rx.secret)
                with rx.lock:
                    key = (path, d.id)
                    rx.counts[key] = rx.counts.get(key, 0) + 1
                    nth = rx.counts[key]
                    rx.deliveries.append(d)
                out = rx.routes.get(path, lambda k: 200)(nth)
                if isinstance(out, int):
                    out = (out,)
                status = out[0]
                extra = out[1] if len(out) > 1 else {}
                wait = out[2] if len(out) > 2 else rx.delays.get(path, 0)
                gate = rx.gates.get(path)
                if gate is not None:
                    gate.wait(120)
                if wait:
                    time.sleep(wait)
                d.status = status
                payload = b'{"ok":true}' if 200 <= status < 300 else \
                    b'{"error":"test receiver says %d"}' % status
                if path in rx.trickles:
                    secs, step = rx.trickles[path]
                    n = max(1, int(secs / step))
                    try:
                        self.send_response(status)
                        self.send_header("Content-Length", str(n))
                        self.end_headers()
                        self.wfile.flush()
                        for _ in range(n):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                            time.sleep(step)
                    except OSError:
                        pass
                    d.status = status
                    d.t_end = time.time()
                    return
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in extra.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass        # the sender gave up (a time-out test)
                d.t_end = time.time()

            def do_GET(self):
                self.send_response(405)
                self.send_header("Allow", "POST")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.request_queue_size = 128
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()
        return self

    def stop(self):
        for ev in self.gates.values():
            ev.set()
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    # -- what it saw ----------------------------------------------------

    @property
    def port(self):
        return self.httpd.server_address[1]

    def url(self, path="/hook"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def seen(self, path=None, msg_id=None):
        with self.lock:
            return [d for d in self.deliveries
                    if (path is None or d.path == path) and
                    (msg_id is None or d.id == msg_id)]

    def wait_for(self, n, path=None, timeout=15.0, pred=None):
        """Waits until n requests (on path, matching pred) arrived;
        returns them (or what there is at the deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            got = [d for d in self.seen(path) if pred is None or pred(d)]
            if len(got) >= n or time.monotonic() > deadline:
                return got
            time.sleep(0.02)
