"""harness.py: the runner the integration suites share.

Each suite (suite.py, suite_queue.py, suite_api.py) keeps its tests and
its servers; run() parses the common command line (--so, -k, -v), runs
the suite's tests with a Result that prints one line per test, then stops
every server the suite started and counts each server's log check as a
test, and ends with the "N passed, N failed" line run.sh sums.
"""

import argparse
import os
import time
import traceback
import unittest

import server as srvmod


class Result(unittest.TestResult):
    def __init__(self, suite_file, verbose=False):
        super().__init__()
        self.suite_file = os.path.abspath(suite_file)
        self.verbose = verbose
        self.passed = []
        self.failed = []   # (name, text)
        self.t0 = {}

    def startTest(self, test):
        super().startTest(test)
        self.t0[test.id()] = time.monotonic()

    def name(self, test):
        return "%s.%s" % (type(test).__name__,
                          getattr(test, "_testMethodName", test.id()))

    def took(self, test):
        return time.monotonic() - self.t0.get(test.id(), time.monotonic())

    def addSuccess(self, test):
        self.passed.append(self.name(test))
        print("ok    %-72s %5.2fs" % (self.name(test), self.took(test)),
              flush=True)

    def _bad(self, test, err, kind):
        if self.verbose:
            text = "".join(traceback.format_exception(*err))
        else:
            # Where in the suite it failed, and why.
            here = [f for f in traceback.extract_tb(err[2])
                    if f.filename == self.suite_file]
            text = "".join(traceback.format_list(here[-2:])) + "".join(
                traceback.format_exception_only(err[0], err[1]))
        self.failed.append((self.name(test), text))
        print("%s  %-72s %5.2fs" % (kind, self.name(test), self.took(test)),
              flush=True)
        first = [l for l in text.strip().splitlines() if l.strip()][-1]
        print("      " + first[:300], flush=True)

    def addFailure(self, test, err):
        self._bad(test, err, "FAIL")

    def addError(self, test, err):
        self._bad(test, err, "ERROR")

    def addSkip(self, test, reason):
        print("skip  %s: %s" % (self.name(test), reason), flush=True)


def check_servers(result, servers, extra=()):
    """Stops the suite's servers; each named one's log check is a test."""
    for name, s in list(servers.items()) + [(s.name, s) for s in extra]:
        if isinstance(s, Exception):
            if name in servers:
                result.failed.append(("start: %s server" % name, str(s)))
            continue
        problems = s.stop()
        if name in servers:
            label = "log check: %s server (%s)" % (name, s.log)
            if problems:
                result.failed.append((label, "\n".join(problems)))
                print("FAIL  %s" % label)
                for p in problems[:20]:
                    print("      " + p)
            else:
                result.passed.append(label)
                print("ok    %s" % label)
        elif problems and not all("exited" in p for p in problems):
            label = "log check: %s (%s)" % (s.name, s.log)
            result.failed.append((label, "\n".join(problems)))
            print("FAIL  %s" % label)


def run(module, title, servers, extra_servers=(), cleanup=None,
        add_args=None, use_args=None):
    """Runs module's tests; returns the exit status. add_args(parser) and
    use_args(args) let a suite take options of its own; cleanup() stops
    helpers (sinks, receivers) after the servers."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--so", help="the Formwork module to load")
    ap.add_argument("-k", action="append", default=[],
                    help="only tests whose name contains this")
    ap.add_argument("-v", action="store_true", help="print full tracebacks")
    if add_args:
        add_args(ap)
    args = ap.parse_args()
    if use_args:
        use_args(args)
    if args.so:
        os.environ["FORMWORK_SO"] = os.path.abspath(args.so)
    so = srvmod.module_path()
    if not os.path.exists(so):
        print("no module at %s (build it first)" % so)
        print("0 passed, 1 failed")
        return 1

    t0 = time.monotonic()
    print("formwork %s: module %s, run dir %s" % (
        title, so, srvmod.run_root()), flush=True)
    loader = unittest.TestLoader()
    if args.k:
        loader.testNamePatterns = ["*%s*" % k for k in args.k]
    suite = loader.loadTestsFromModule(module)
    result = Result(module.__file__, args.v)
    try:
        suite.run(result)
    finally:
        check_servers(result, servers, extra_servers)
        if cleanup:
            cleanup()

    if result.failed:
        print("\n==== failures ====")
        for name, text in result.failed:
            print("---- %s" % name)
            print(text.rstrip())
    print("time: %.1f s" % (time.monotonic() - t0))
    print("%d passed, %d failed" % (len(result.passed), len(result.failed)))
    return 1 if result.failed else 0
