#!/usr/bin/python3
"""
hook_receiver.py: the webhook receiver of tests/bench's queue rows
(queue_pg_2nodes*): the queue tests' receiver (tests/integ/
webhook_receiver.py, signatures checked against SECRET) in a process of
its own, so that its CPU is not the harness's. Every 20 ms it appends
one line per webhook that arrived meanwhile to LOG: the arrival time
(seconds since the epoch, the clock post_times.lua reads too), the
submission id the webhook's body carries (data.id), and "bad" if its
signature did not verify.

Usage: hook_receiver.py LOG PORTFILE SECRET (writes the port it listens
on to PORTFILE once it listens; stopped by SIGTERM).
"""

import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integ"))
from webhook_receiver import Receiver  # noqa: E402


def main():
    log = open(sys.argv[1], "a")
    rx = Receiver(sys.argv[3]).start()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    with open(sys.argv[2], "w") as f:
        f.write("%d\n" % rx.port)
    written = 0
    while True:
        time.sleep(0.02)
        with rx.lock:
            new = rx.deliveries[written:]
        written += len(new)
        for d in new:
            sid = (d.json or {}).get("data", {}).get("id", "-")
            log.write("%.6f %s%s\n" % (d.t, sid,
                                       "" if d.sig_ok else " bad"))
        log.flush()


if __name__ == "__main__":
    main()
