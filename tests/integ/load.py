#!/usr/bin/python3
"""
load.py: Formwork's load checks (run by tests/integ/load.sh, not by
run.sh). One server, started with FORMWORK_RATE_LIMIT=0 and
FORMWORK_MIN_FILL_MS=0, in its own directory under tests/out/.

  (a) 1,000 concurrent POSTs of one form instance (_key) from two
      processes: exactly one stored submission; every answer a 303 to the
      same result or a 409.
  (b) 10,000 distinct valid POSTs driven by wrk (load_post.lua): the forms
      are fetched first (keep-alive GETs) and their bodies written one per
      line, split per wrk thread; each is posted exactly once. Passes with
      exactly 10,000 new rows and 10,000 answers of 303, none other and
      no socket errors.

Prints the figures and ends with "N passed, N failed".
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
from harness import form_tokens  # noqa: E402
import server as srvmod  # noqa: E402
from server import Server, sql_quote  # noqa: E402
from suite import concurrent_same_key  # noqa: E402

check = harness.Checks()


def load_a(srv, n=1000):
    before = srv.count()
    t0 = time.monotonic()
    form, results = concurrent_same_key(srv.url, 2, n // 2,
                                        {"name": "Load burst"})
    took = time.monotonic() - t0
    counts = {}
    for st, _ in results:
        counts[st] = counts.get(st, 0) + 1
    locs = {loc for st, loc in results if st == 303}
    rows = srv.count("submit_key = %s" % sql_quote(form.key))
    print("(a) %d concurrent POSTs of one _key from 2 processes in %.2f s: "
          "statuses %s; distinct 303 locations %d; rows for the key %d; "
          "new rows %d" % (len(results), took, dict(sorted(
              counts.items(), key=lambda kv: str(kv[0]))), len(locs), rows,
              srv.count() - before), flush=True)
    errs = [r for r in results if r[0] not in (303, 409)]
    check("(a) every answer is 303 or 409", not errs and len(results) == n,
          "" if not errs else "%d others, e.g. %r" % (len(errs), errs[:3]))
    check("(a) at least one 303, all to the same result",
          counts.get(303, 0) >= 1 and len(locs) == 1, "locations %r" % locs)
    check("(a) exactly one stored submission for the key", rows == 1,
          "rows %d" % rows)
    check("(a) exactly one new row", srv.count() - before == 1)


def prefetch(url, n, nthreads=4):
    """n fresh form bodies, fetched over keep-alive connections."""
    u = urllib.parse.urlsplit(url)
    out = [None] * n
    errors = []

    def work(lo, hi):
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        for i in range(lo, hi):
            try:
                c.request("GET", "/f/contact")
                r = c.getresponse()
                body = r.read()
            except (OSError, http.client.HTTPException):
                c.close()
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
                c.request("GET", "/f/contact")
                r = c.getresponse()
                body = r.read()
            fields = form_tokens(body)
            if r.status != 200 or not fields:
                errors.append((i, r.status))
                continue
            fields.update({
                "name": "Load tester %d" % i,
                "email": "load%d@example.com" % i, "topic": "support",
                "message": "Load test message number %d, long enough." % i})
            out[i] = urllib.parse.urlencode(fields)
        c.close()

    step = (n + nthreads - 1) // nthreads
    ts = [threading.Thread(target=work, args=(i, min(n, i + step)))
          for i in range(0, n, step)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out, errors


def load_b(srv, n=10000, threads=2, conns=32):
    work = os.path.join(srv.dir, "wrk")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    t0 = time.monotonic()
    bodies, errors = prefetch(srv.url, n)
    took = time.monotonic() - t0
    print("(b) fetched %d forms in %.2f s (%.0f/s), %d failed" % (
        n - len(errors), took, n / took, len(errors)), flush=True)
    check("(b) %d forms fetched" % n, not errors,
          "errors %r" % errors[:5] if errors else "")
    if errors:
        return
    for t in range(threads):
        with open(os.path.join(work, "bodies-%d.txt" % t), "w") as f:
            for line in bodies[t::threads]:
                f.write(line + "\n")

    before = srv.count()
    cmd = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d300s", "--latency",
           "-s", os.path.join(HERE, "load_post.lua"), srv.url, "--", work]
    outf = open(os.path.join(work, "wrk.out"), "w+")
    t0 = time.monotonic()
    wrk = subprocess.Popen(cmd, stdout=outf, stderr=subprocess.STDOUT)
    deadline = t0 + 120
    while time.monotonic() < deadline and wrk.poll() is None:
        if all(os.path.exists(os.path.join(work, "done-%d" % t))
               for t in range(threads)):
            break
        time.sleep(0.01)
    posts_took = time.monotonic() - t0
    if wrk.poll() is None:
        wrk.send_signal(signal.SIGINT)   # its own PID only
        try:
            wrk.wait(timeout=30)
        except subprocess.TimeoutExpired:
            wrk.kill()
            wrk.wait()
    outf.seek(0)
    text = outf.read()
    outf.close()
    print(text.rstrip())
    after = srv.count()
    m = re.search(r"LOADRESULT (.*)", text)
    if not m:
        check("(b) wrk ran and reported", False, text[-500:])
        return
    res = {}
    for kv in m.group(1).split():
        k, v = kv.split("=", 1)
        res[k] = float(v)
    print("(b) %d POSTs in %.2f s = %.0f POST/s (wall clock, wrk start to "
          "last answer); wrk: %.0f req/s, p50 %.2f ms, p90 %.2f ms, "
          "p99 %.2f ms, max %.2f ms; statuses 303=%d 2xx=%d 4xx=%d 5xx=%d "
          "other=%d; fillers %d; new rows %d" % (
              res["answered"], posts_took, res["answered"] / posts_took,
              res["rps"], res["p50_ms"], res["p90_ms"], res["p99_ms"],
              res["max_ms"], res["s303"], res["s2xx"], res["s4xx"],
              res["s5xx"], res["sother"], res["fillers"], after - before),
          flush=True)
    check("(b) every POST answered", res["answered"] == n,
          "answered %d of %d" % (res["answered"], n))
    check("(b) every answer 303", res["s303"] == n,
          "303=%d" % res["s303"])
    check("(b) no 5xx and no other status",
          res["s5xx"] == 0 and res["s4xx"] == 0 and res["s2xx"] == 0 and
          res["sother"] == 0)
    errs = sum(res[k] for k in res if k.startswith("err_"))
    check("(b) no socket errors", errs == 0, "errors %d" % errs)
    check("(b) exactly %d new rows" % n, after - before == n,
          "new rows %d" % (after - before))
    spam = srv.count("spam != 0 and created_at >= 0 and data like "
                     "'%%Load tester%%'")
    check("(b) none of them stored as spam", spam == 0, "spam %d" % spam)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=10000)
    args = harness.parse_args(ap)
    srv = Server("load", env={"FORMWORK_RATE_LIMIT": "0",
                              "FORMWORK_MIN_FILL_MS": "0"})
    print("formwork load checks: module %s, dir %s" % (
        srvmod.module_path(), srv.dir), flush=True)
    try:
        srv.start()
    except srvmod.StartError as e:
        print(e)
        check("server starts", False)
    else:
        try:
            load_a(srv)
            load_b(srv, args.n)
        except Exception as e:  # a crash of the harness is a failure
            import traceback
            traceback.print_exc()
            check("load checks ran to the end", False, repr(e))
        problems = srv.stop()
        check("log check: no sandbox violation, worker gone or sanitizer "
              "report", not problems, "; ".join(problems[:10]))
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
