#!/usr/bin/python3
"""
siteverify.py: a fake of the challenge providers' siteverify call
(Cloudflare Turnstile and hCaptcha speak the same protocol) on
127.0.0.1, for the origin tests (suite_origins.py) and the browser tests
(tests/browser/serve.py). Formwork is pointed at it with
FORMWORK_CAPTCHA_VERIFY_URL.

In a test: `v = FakeVerifier(secret).start()`, then v.url, v.calls (the
fields of each request), v.calls_with(token), v.stop(). Standard library
only.
"""

import http.server
import json
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loopback import Loopback  # noqa: E402


class FakeVerifier(Loopback):
    """
    The providers' siteverify protocol on 127.0.0.1: a form-encoded POST
    of secret, response and remoteip. What it answers depends on the
    token: "pass-*" {"success": true} (once: a second use of the same
    token fails, as at the real providers), "fail-*" {"success": false},
    "secret-*" a refused secret, "5xx-*" 503, "html-*" a 200 that is not
    JSON, "slow-*" an answer after 8 s. calls: each request's fields.
    """

    def __init__(self, secret):
        self.calls = []
        self.used = set()
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n).decode("utf-8", "replace")
                f = dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))
                f["_content_type"] = self.headers.get("Content-Type", "")
                token = f.get("response", "")
                with outer.lock:
                    outer.calls.append(f)
                    again = token in outer.used
                    outer.used.add(token)
                status, ctype, body = 200, "application/json", None
                if f.get("secret") != secret or token.startswith("secret-"):
                    body = {"success": False,
                            "error-codes": ["invalid-input-secret"]}
                elif token.startswith("pass-"):
                    body = {"success": not again, "error-codes":
                            ["timeout-or-duplicate"] if again else []}
                elif token.startswith("fail-"):
                    body = {"success": False,
                            "error-codes": ["invalid-input-response"]}
                elif token.startswith("5xx-"):
                    status, body = 503, {"success": True}
                elif token.startswith("html-"):
                    ctype, body = "text/html", "<p>maintenance</p>"
                elif token.startswith("slow-"):
                    time.sleep(8)
                    body = {"success": True}
                else:
                    body = {"success": False}
                data = body if isinstance(body, str) else json.dumps(body)
                data = data.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass    # the caller gave up waiting

        Loopback.__init__(self, http.server.ThreadingHTTPServer, Handler)

    @property
    def url(self):
        return "http://127.0.0.1:%d/siteverify" % self.port

    def calls_with(self, token):
        with self.lock:
            return [c for c in self.calls if c.get("response") == token]
