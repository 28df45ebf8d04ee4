"""
steady.py: steady load for the operator's tests (stop.py, operate.py).

A Client is one keep-alive connection that fetches the contact form and
posts it, as fast as the server answers, until told to stop. It logs
every request with the time it was fully sent and its outcome (a status,
or the name of the error), and keeps the ids the server acknowledged
with a 303. Standard library only.
"""

import http.client
import threading
import time
import urllib.parse

from harness import form_tokens

class Client(threading.Thread):
    """One keep-alive connection: GET the form, POST it, again."""

    def __init__(self, port, n):
        super().__init__(daemon=True)
        self.port = port
        self.n = n
        self.log = []       # (sent_at, method, outcome: status or error)
        self.acked = []     # submission ids answered with a 303
        self.stop = False

    def one(self, conn, method, path, body=None, headers=None):
        conn.request(method, path, body=body, headers=headers or {})
        sent = time.monotonic()
        try:
            r = conn.getresponse()
            data = r.read()
        except Exception as e:  # noqa: BLE001 (the outcome under test)
            self.log.append((sent, method, type(e).__name__))
            raise
        self.log.append((sent, method, r.status))
        return r, data

    def run(self):
        conn = None
        i = 0
        while not self.stop:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                      timeout=30)
                r, page = self.one(conn, "GET", "/f/contact")
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
                    continue
                tokens = form_tokens(page)
                i += 1
                body = urllib.parse.urlencode({
                    "name": "Stop %d.%d" % (self.n, i),
                    "email": "stop%d@example.org" % self.n,
                    "topic": "general",
                    "message": "A message sent under steady load.",
                    **tokens})
                r, _ = self.one(conn, "POST", "/f/contact", body, {
                    "Content-Type": "application/x-www-form-urlencoded"})
                if r.status == 303:
                    self.acked.append(r.getheader("location").rsplit("/")[-1])
                if r.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except Exception:  # noqa: BLE001 (refused after the stop)
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)
