"""
loopback.py: a server of the tests' own (an SMTP server that takes its
time, a fake siteverify, the owner's static site) run by a thread of the
test process on 127.0.0.1 and a free port.

A subclass builds its socketserver handler and calls
Loopback.__init__(self, server_class, handler); then start() (returns
self), port, stop(). Standard library only.
"""

import threading


class Loopback:
    def __init__(self, server_class, handler):
        self.srv = server_class(("127.0.0.1", 0), handler)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.srv.shutdown()
        self.srv.server_close()
