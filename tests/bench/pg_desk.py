#!/usr/bin/python3
"""pg_desk.py: the review desk on PostgreSQL at a million rows (issue 15:
"the desk's filters and keyset pages fast at a million rows, as on
SQLite"). Not part of make bench (generating the rows takes minutes);
run it by hand after `make build`:

    /usr/bin/python3 tests/bench/pg_desk.py [--rows 1000000] [--samples 30]

It starts a PostgreSQL 15 of its own (tests/integ/pg.py: the postgres
user, a temporary directory, a free port), fills a database with
`formworkctl generate` (the generator of make bench's SQLite admin step:
nine rows in ten of the contact form, one in ten of the signup form), starts one Formwork on it, signs a reviewer in and times,
one request at a time from outside, each kind of desk page: the first
page, a form filter, a review filter, searches for a word in one row in
1,000, one in 13 and in every row, and the keyset pages after them (the
`next` link each page gives). Prints p50/p90/max in milliseconds per
page kind and the rows per table. Everything it starts it stops.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

import harness  # noqa: E402
import pg as pgmod  # noqa: E402
import server as srvmod  # noqa: E402
from client import request  # noqa: E402

NEXT = re.compile(r'href="(/admin\?[^"]*after=[^"]*)"')


def timed(desk, path):
    t0 = time.monotonic()
    r = desk.get(path.replace("&amp;", "&"))
    ms = (time.monotonic() - t0) * 1000
    if r.status != 200:
        raise RuntimeError("%s: %d" % (path, r.status))
    return ms, r.text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--samples", type=int, default=30)
    args = ap.parse_args()
    os.environ["FORMWORK_TEST_PG"] = "1"
    pg = pgmod.Postgres().start()
    srvmod._CLUSTER = pg
    srv = None
    try:
        srv = srvmod.Server("pg-desk", env={"FORMWORK_RATE_LIMIT": "0"})
        srv.port = srvmod.free_port()
        os.makedirs(srv.dir, exist_ok=True)
        t0 = time.monotonic()
        signups = args.rows // 10
        for gen in (("generate", str(args.rows - signups)),
                    ("generate", str(signups), "--form", "signup")):
            # harness.ctl's two minutes are too few for a million rows.
            r = subprocess.run([harness.CTL] + list(gen),
                               env=srv.environment(srv.port),
                               cwd=srvmod.REPO, capture_output=True,
                               text=True)
            if r.returncode != 0:
                raise RuntimeError("%s: %s" % (" ".join(gen), r.stderr))
        print("generated %d rows in %.0f s" % (args.rows,
                                               time.monotonic() - t0))
        srv.sql("ANALYZE")
        harness.add_user(srv, "rita", "reviewer")
        srv.start()
        desk = harness.Desk(srv)
        if desk.login("rita").status != 303:
            raise RuntimeError("sign-in failed")
        kinds = [("first page", "/admin"),
                 ("form filter (1 row in 10)", "/admin?form=signup"),
                 ("review filter (every row)", "/admin?review=new"),
                 ("search (1 row in 1,000)", "/admin?q=ref123"),
                 ("search (1 row in 13)", "/admin?q=invoice"),
                 ("search (every row)", "/admin?q=example")]
        print("%-40s %8s %8s %8s  (ms, %d samples each, one at a time)" % (
            "page", "p50", "p90", "max", args.samples))
        for name, path in kinds:
            for label, follow in ((name, False), (name + ", next page",
                                                  True)):
                times = []
                for _ in range(args.samples):
                    ms, text = timed(desk, path)
                    if follow:
                        m = NEXT.search(text)
                        if m is None:
                            break
                        ms, text = timed(desk, m.group(1))
                    times.append(ms)
                if not times:
                    print("%-40s (no next page)" % label)
                    continue
                times.sort()
                print("%-40s %8.1f %8.1f %8.1f" % (
                    label, statistics.median(times),
                    times[int(len(times) * 0.9) - 1], times[-1]))
        for line in srv.sql("SELECT 'submissions', count(*) FROM "
                            "submissions UNION ALL SELECT 'jobs', "
                            "count(*) FROM jobs"):
            print(line)
        print("healthz:", request(srv.url, "GET", "/healthz").status)
    finally:
        if srv is not None and srv.proc is not None:
            srv.stop()
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
