#!/usr/bin/python3
"""
smtp_sink.py: a real SMTP server (aiosmtpd) on 127.0.0.1 that records
every message it accepts, for the queue tests (suite_queue.py) and the
browser tests (tests/browser/).

Needs Debian's python3-aiosmtpd, so run it with /usr/bin/python3.

What the sink does depends on the recipient's local part, so one sink
can serve several forms:

  slow...@      handle_DATA sleeps `slow_s` seconds (default 3) first
  reject...@    RCPT is answered 550 (a permanent failure)
  temp...@      DATA is answered 451 the first time a message with a
                given Message-ID is seen, accepted the next time
  anything else accepted at once (after `delay_s`, default 0)

sink.refuse_for(s) makes it answer every RCPT with 451 for the next s
seconds (a mail server that is down for a while, then back).

In a test: `sink = SmtpSink(slow_s=3).start()`, then sink.url,
sink.messages (a list of Received), sink.wait_for(pred, timeout),
sink.stop(). As a program (for tests/browser/run.sh):
`/usr/bin/python3 smtp_sink.py --port N [--delay S] [--log FILE]` serves
until SIGTERM and appends one JSON line per accepted message to FILE.
"""

import argparse
import asyncio
import email
import email.policy
import json
import signal
import socket
import sys
import threading
import time

from aiosmtpd.controller import Controller


class Received:
    """One accepted message."""

    def __init__(self, mail_from, rcpt_tos, content, t_start, t_done):
        self.mail_from = mail_from
        self.rcpt_tos = list(rcpt_tos)
        self.content = content          # bytes, as sent (CRLF lines)
        self.t_start = t_start          # time.time() when DATA began
        self.t_done = t_done            # time.time() when it was accepted
        self.parsed = email.message_from_bytes(content,
                                               policy=email.policy.default)

    def header(self, name):
        v = self.parsed.get(name)
        return None if v is None else str(v)

    @property
    def message_id(self):
        return (self.header("Message-ID") or "").strip()

    @property
    def subject(self):
        return self.header("Subject")

    @property
    def text(self):
        """The body, transfer-decoded and charset-decoded."""
        part = self.parsed.get_body(preferencelist=("plain",)) or self.parsed
        return part.get_content()

    def as_json(self):
        return {"from": self.mail_from, "to": self.rcpt_tos,
                "message_id": self.message_id, "subject": self.subject,
                "submission": self.header("X-Formwork-Submission"),
                "t_start": self.t_start, "t_done": self.t_done}


class RecordingHandler:
    """aiosmtpd handler: records what it accepts (see the module doc)."""

    def __init__(self, delay_s=0.0, slow_s=3.0, log_path=None):
        self.delay_s = delay_s
        self.slow_s = slow_s
        self.log_path = log_path
        self.lock = threading.Lock()
        self.messages = []          # accepted, in order
        self.attempts = []          # (time, rcpt_tos, reply) of every DATA
        self.rejected_rcpt = []     # (time, address) answered 550
        self.refused_rcpt = []      # (time, address) answered 451
        self.refuse_until = 0.0     # time.time() before which RCPT is 451
        self.temp_seen = set()

    @staticmethod
    def local(addr):
        return addr.split("@", 1)[0].strip("<>").lower()

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        if time.time() < self.refuse_until:
            with self.lock:
                self.refused_rcpt.append((time.time(), address))
            return "451 4.3.2 Service not available, try again later"
        if self.local(address).startswith("reject"):
            with self.lock:
                self.rejected_rcpt.append((time.time(), address))
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        t0 = time.time()
        locals_ = [self.local(a) for a in envelope.rcpt_tos]
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        if any(l.startswith("temp") for l in locals_):
            mid = email.message_from_bytes(content).get("Message-ID", "")
            with self.lock:
                first = mid not in self.temp_seen
                self.temp_seen.add(mid)
            if first:
                with self.lock:
                    self.attempts.append((t0, list(envelope.rcpt_tos), 451))
                return "451 4.3.0 Try again later"
        wait = self.delay_s
        if any(l.startswith("slow") for l in locals_):
            wait = max(wait, self.slow_s)
        if wait > 0:
            await asyncio.sleep(wait)
        msg = Received(envelope.mail_from, envelope.rcpt_tos, content, t0,
                       time.time())
        with self.lock:
            self.attempts.append((t0, list(envelope.rcpt_tos), 250))
            self.messages.append(msg)
        if self.log_path:
            with open(self.log_path, "a") as f:
                f.write(json.dumps(msg.as_json()) + "\n")
        return "250 Message accepted for delivery"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """The sink in a thread of the calling process."""

    def __init__(self, delay_s=0.0, slow_s=3.0, port=None, log_path=None):
        self.handler = RecordingHandler(delay_s, slow_s, log_path)
        self.port = port
        self.controller = None

    def start(self):
        for attempt in range(3):
            port = self.port or free_port()
            c = Controller(self.handler, hostname="127.0.0.1", port=port,
                           ready_timeout=10)
            try:
                c.start()
            except Exception:
                if self.port or attempt == 2:
                    raise
                continue
            self.controller, self.port = c, port
            return self
        raise RuntimeError("smtp sink: no port")

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def refuse_for(self, seconds):
        """Answers every RCPT with 451 for the next seconds; returns the
        time.time() at which it accepts again."""
        self.handler.refuse_until = time.time() + seconds
        return self.handler.refuse_until

    @property
    def refused(self):
        with self.handler.lock:
            return list(self.handler.refused_rcpt)

    def find(self, pred):
        return [m for m in self.messages if pred(m)]

    def wait_for(self, pred, timeout=15.0, n=1):
        """Waits until n messages satisfy pred; returns them (or what
        there is at the deadline)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(pred)
            if len(found) >= n or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--delay", type=float, default=0.0,
                    help="seconds to wait before accepting any message")
    ap.add_argument("--slow", type=float, default=3.0,
                    help="seconds to wait for slow...@ recipients")
    ap.add_argument("--log", help="append one JSON line per message here")
    args = ap.parse_args()
    sink = SmtpSink(args.delay, args.slow, args.port, args.log).start()
    print("smtp sink on %s" % sink.url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    while not stop.wait(0.5):
        pass
    sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
