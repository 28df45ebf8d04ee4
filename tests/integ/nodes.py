"""
nodes.py: several Formwork nodes on one PostgreSQL (SPEC 13), as an
operator runs them: two nodes (FORMWORK_LISTEN on two ports, the same
FORMWORK_SECRET and FORMWORK_DB) behind Debian's nginx, round robin,
sharing a PostgreSQL 15 this script starts (pg.py). Every check goes
through nginx, so consecutive requests land on alternate nodes.

  flows     a form, its 303 and result page, the same ETag from both
            nodes and 304s from both; a desk session opened on one node
            valid on the other; a review on one node seen on the other's
            next page and voiding the result page's ETag on both; search
            on both; a job queued on one node and run by some node
  kill -9   steady load of submissions with webhook jobs (a slow
            receiver, so leases are held), one node killed with SIGKILL:
            every acknowledged submission is in the database, and every
            job, those the dead node held included, is done once the
            leases end
  outage    PostgreSQL stopped for 5 s under steady load and started
            again: only 303s, 503s (with Retry-After) or nginx's own 502
            while it is down, every acknowledged submission stored, and
            both nodes serving again within 30 s, neither restarted; a
            third node started while it is down answers 503 (/healthz),
            then serves by itself
  migrate   a 100,000-row SQLite store with users, jobs and reviews, made
            by formworkctl generate and a real server, copied by
            formworkctl migrate: counts equal table by table, and the
            desk's first page on a PostgreSQL node shows what it showed
            on SQLite

Ends with "N passed, N failed"; the exit status is non-zero on any
failure. Run: /usr/bin/python3 -u tests/integ/nodes.py --so formwork.so
(make integ-nodes).
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

import harness
import pg as pgmod
import server as srvmod
from client import request
from harness import Checks, Desk, add_user, ctl, form_def, hook, uniq, \
    write_forms
from webhook_receiver import Receiver, new_secret

SECRET = "nodes-test-secret-" + "x" * 30
LEASE_S = 12            # FORMWORK_ACTION_TIMEOUT 2 s + 10 s
NGINX = "/usr/sbin/nginx"


class Front:
    """Debian's nginx, round robin over the nodes, on a free port."""

    def __init__(self, ports, port):
        self.dir = os.path.join(srvmod.run_root(), "nginx")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o777)
        self.port = port
        servers = "".join("\t\tserver 127.0.0.1:%d max_fails=1 "
                          "fail_timeout=2s;\n" % p for p in ports)
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write("""worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %(d)s/body;
	proxy_temp_path %(d)s/proxy;
	fastcgi_temp_path %(d)s/fastcgi;
	uwsgi_temp_path %(d)s/uwsgi;
	scgi_temp_path %(d)s/scgi;
	upstream formwork {
%(servers)s		keepalive 16;
	}
	server {
		listen 127.0.0.1:%(port)d;
		location / {
			proxy_pass http://formwork;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
		}
	}
}
""" % {"d": self.dir, "servers": servers, "port": self.port})
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.dir, "-c", os.path.join(self.dir, "nginx.conf"),
             "-e", os.path.join(self.dir, "error.log"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if request(self.url, "GET", "/healthz", timeout=2).status:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def stop(self):
        srvmod.terminate(self.proc)


class Loader(threading.Thread):
    """Keep-alive GET + POST of a form through the front, as fast as it
    answers, until stopped; keeps every outcome and the acknowledged ids."""

    def __init__(self, base, slug, values, pause=0.0):
        super().__init__(daemon=True)
        self.session = harness.Session(base)
        self.slug, self.values, self.pause = slug, values, pause
        self.acked, self.outcomes = [], []
        self.halt = False

    def run(self):
        i = 0
        while not self.halt:
            i += 1
            try:
                st, sid = self.session.submit(self.slug,
                                              self.values(i))
            except (OSError, http.client.HTTPException) as e:
                self.outcomes.append(type(e).__name__)
                time.sleep(0.02)
                continue
            self.outcomes.append(st)
            if st == 303 and sid:
                self.acked.append(sid)
            elif st != 303:
                time.sleep(0.02)
            time.sleep(self.pause)

    def stop(self):
        self.halt = True
        self.join(60)


def stored(srv, ids):
    """How many of ids are in the shared database."""
    have = set()
    ids = list(ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        q = "SELECT id FROM submissions WHERE id IN (%s)" % ",".join(
            pgmod.quote(x) for x in chunk)
        have.update(r["id"] for r in srv.rows(q))
    return len(have)


def load_values(i):
    return {"name": "Node load %d" % i, "note": "steady %d" % i}


def healthy_both(nodes):
    return all(n.healthy() for n in nodes)


# ---- the checks -----------------------------------------------------------

def check_flows(ok, front, nodes, rx, pg, url):
    base = front.url
    # Alternate requests reach alternate nodes: both serve the form.
    sid = harness.submit(base, "contact", harness.contact_values(
        message="Across nodes %s and more words" % uniq("w")))
    word = None
    r1 = request(base, "GET", "/s/%s" % sid)
    r2 = request(base, "GET", "/s/%s" % sid)
    etag = r1.header("etag")
    ok("flows: the result page is 200 with one ETag on both nodes",
       r1.status == r2.status == 200 and etag and etag == r2.header("etag"),
       "%s %s %s %s" % (r1.status, r2.status, etag, r2.header("etag")))
    st = [request(base, "GET", "/s/%s" % sid,
                  headers={"If-None-Match": etag}).status for _ in range(4)]
    ok("flows: both nodes answer 304 to that ETag", st == [304] * 4, st)

    add_user(nodes[0], "nadia", "reviewer")
    d = Desk(front)
    r = d.login("nadia")
    ok("flows: sign-in through nginx is 303", r.status == 303, r)
    pages = [d.get("/admin").status for _ in range(4)]
    ok("flows: the session is valid on both nodes", pages == [200] * 4,
       pages)
    r = d.post("/admin/s/%s/review" % sid, {"state": "approved",
                                            "note": "seen", "version": "1"})
    ok("flows: a review is 303", r.status == 303, r)
    states = []
    for _ in range(4):
        page = d.get("/admin/s/%s" % sid).text
        states.append("approved" in page and "seen" in page)
    ok("flows: both nodes show the review on their next page",
       all(states), states)
    st = [request(base, "GET", "/s/%s" % sid,
                  headers={"If-None-Match": etag}).status for _ in range(4)]
    ok("flows: no node answers 304 for the page the review changed",
       st == [200] * 4, st)
    word = re.search(r"Across nodes (w\d+)",
                     request(base, "GET", "/s/%s" % sid).text).group(1)
    found = [sid in d.get("/admin?" + urllib.parse.urlencode(
        {"q": word})).text for _ in range(2)]
    ok("flows: search finds it on both nodes", all(found), found)

    # Each worker's listener waits on a connection of its own whose last
    # statement is its LISTEN; without it the runners would find jobs
    # queued on the other node by polling alone.
    workers = sum(len(srvmod.children_of(n.proc.pid)) for n in nodes)
    listening = int(pg.lines(url, "SELECT count(*) FROM pg_stat_activity "
                             "WHERE query = 'LISTEN formwork_jobs'")[0])
    ok("flows: every worker of both nodes LISTENs for queued jobs",
       workers >= 2 and listening == workers,
       "%d listening, %d workers" % (listening, workers))

    t0 = time.monotonic()
    hsid = harness.submit(base, "fast", {"name": "Hook", "note": "one"})
    got = rx.wait_for(1, path="/fast", timeout=10)
    took = time.monotonic() - t0
    ok("flows: a job queued through one node runs within a second",
       got and took < 1.5, "%.2f s" % took)
    done = harness.wait_jobs_final(nodes[0], hsid, timeout=10)
    ok("flows: its job is done", done and done[0]["state"] == "done", done)


def check_kill(ok, front, nodes, rx):
    # A few submissions a second, so the queue drains while leases are
    # held: each webhook takes the receiver 0.3 s.
    loaders = [Loader(front.url, "slow", load_values, 0.05)
               for _ in range(2)]
    for ld in loaders:
        ld.start()
    time.sleep(4)
    running = [r["id"] for r in nodes[0].rows(
        "SELECT id FROM jobs WHERE state = 'running'")]
    os.killpg(nodes[0].proc.pid, signal.SIGKILL)
    nodes[0].proc.wait()
    nodes[0].died_early = None
    t_kill = time.monotonic()
    time.sleep(4)
    for ld in loaders:
        ld.stop()
    acked = [s for ld in loaders for s in ld.acked]
    n = stored(nodes[1], acked)
    ok("kill -9: every acknowledged submission is stored",
       acked and n == len(acked), "%d of %d" % (n, len(acked)))
    # The dead node's leases end, then the live node runs its jobs.
    deadline = t_kill + LEASE_S + 40
    left = None
    while time.monotonic() < deadline:
        left = nodes[1].rows("SELECT count(*) AS n FROM jobs j JOIN "
                             "submissions s ON s.id = j.submission_id "
                             "WHERE s.form = 'slow' AND j.state <> 'done'"
                             )[0]["n"]
        if left == 0:
            break
        time.sleep(0.5)
    total = nodes[1].rows("SELECT count(*) AS n FROM jobs j JOIN "
                          "submissions s ON s.id = j.submission_id "
                          "WHERE s.form = 'slow'")[0]["n"]
    held = nodes[1].rows("SELECT count(*) AS n FROM jobs WHERE state = "
                         "'done' AND id IN (%s)" % ",".join(
                             str(i) for i in running or [0]))[0]["n"]
    ok("kill -9: every job is done, those leased at the kill included",
       left == 0 and total >= len(acked) and running and
       held == len(running), "%s of %d not done; %d of the %d running at "
       "the kill done" % (left, total, held, len(running)))


def check_outage(ok, front, nodes, pg, late):
    live = [n for n in nodes if n.proc.poll() is None]
    pids = [n.proc.pid for n in live]
    loaders = [Loader(front.url, "contact", lambda i: harness.contact_values(
        message="Outage load %d and more" % i)) for _ in range(3)]
    for ld in loaders:
        ld.start()
    time.sleep(2)
    pg.pause()
    # A node that starts while the database is down starts all the same.
    late.spawn()
    down = []
    t0 = time.monotonic()
    while time.monotonic() < t0 + 4.5:
        try:
            down.append(request(late.url, "GET", "/healthz",
                                timeout=3).status)
        except OSError:
            pass
        time.sleep(0.2)
    pg.resume()
    t_back = time.monotonic()
    back = None
    while time.monotonic() < t_back + 30:
        if all(n.healthy() for n in live):
            back = time.monotonic() - t_back
            break
        time.sleep(0.2)
    time.sleep(2)
    for ld in loaders:
        ld.stop()
    outcomes = [o for ld in loaders for o in ld.outcomes]
    odd = sorted(set(o for o in outcomes if o not in (200, 303, 503, 502)))
    acked = [s for ld in loaders for s in ld.acked]
    ok("outage: only 303s, 503s (or nginx's 502) while PostgreSQL is down",
       not odd and 503 in outcomes,
       "odd %s; %d answers, %d 503s" % (odd, len(outcomes),
                                        outcomes.count(503)))
    n = stored(live[0], acked)
    ok("outage: every acknowledged submission is stored",
       acked and n == len(acked), "%d of %d" % (n, len(acked)))
    ok("outage: every node serves again within 30 s, none restarted",
       back is not None and [n.proc.pid for n in live] == pids and
       all(n.proc.poll() is None for n in live),
       "back after %s s" % (None if back is None else "%.1f" % back))
    t_back = time.monotonic()
    while time.monotonic() < t_back + 30 and not late.healthy():
        time.sleep(0.2)
    ok("outage: a node started while PostgreSQL was down answered 503, "
       "then serves by itself", down and set(down) == {503} and
       late.healthy() and late.proc.poll() is None,
       "/healthz while down: %s" % sorted(set(down)))


def first_page_ids(base, user):
    d = Desk(base)
    d.login(user)
    return re.findall(r'href="/admin/s/([A-Za-z0-9_-]{22})"',
                      d.get("/admin").text)


class Base:
    def __init__(self, url):
        self.url = url


def check_migrate(ok, pg, rx):
    forms = write_forms("migrate", [form_def("fast",
                                             [hook(rx.url("/fast"), 5)])])
    env = {"FORMWORK_MIN_FILL_MS": "0", "FORMWORK_RATE_LIMIT": "0",
           "FORMWORK_WEBHOOK_SECRET": rx.secret,
           "FORMWORK_WEBHOOK_ALLOW_PRIVATE": "1"}
    lite = srvmod.Server("migrate-sqlite", env=env, forms_dir=forms)
    lite.db = os.path.join(lite.dir, "formwork.db")
    lite.extra_env["FORMWORK_DB"] = lite.db
    os.makedirs(lite.dir, exist_ok=True)
    r = ctl(lite, "generate", "100000", env=lite.environment(0))
    ok("migrate: formworkctl generate made 100,000 rows", r.returncode == 0,
       r.stderr)
    lite.start()
    add_user(lite, "mira", "admin")
    sids = [harness.submit(lite.url, "fast", {"name": "M %d" % i,
                                              "note": "migrated"})
            for i in range(20)]
    d = Desk(lite)
    d.login("mira")
    for sid in sids[:5]:
        d.post("/admin/s/%s/review" % sid, {"state": "approved",
                                            "note": "ok", "version": "1"})
    time.sleep(1)
    before = first_page_ids(Base(lite.url), "mira")
    problems = lite.stop()
    ok("log check: %s" % lite.name, not problems, problems[:5])
    tables = ["users", "sessions", "submissions", "unique_values",
              "submission_repeats", "jobs", "deliveries", "autoreplies",
              "webhook_endpoints", "reviews", "audit", "exports",
              "login_failures"]
    import sqlite3
    con = sqlite3.connect(lite.db)
    want = {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
            for t in tables}
    con.close()
    url = pg.database("migrated")
    env_ctl = lite.environment(lite.port)
    t0 = time.monotonic()
    r = ctl(lite, "migrate", "--to", url, env=env_ctl)
    took = time.monotonic() - t0
    ok("migrate: formworkctl migrate copies it", r.returncode == 0,
       r.stderr + r.stdout)
    said = dict(re.findall(r"(?m)^(\w+): (\d+)$", r.stdout))
    got = {t: int(pg.rows(url, "SELECT count(*) AS n FROM %s" % t)[0]["n"])
           for t in tables}
    ok("migrate: counts match table by table, and it says them",
       got == want and all(int(said.get(t, -1)) == want[t] for t in tables),
       "sqlite %s, postgresql %s (%.1f s)" % (want, got, took))
    ok("migrate: 100,000 generated rows, with users, jobs and reviews",
       want["submissions"] >= 100020 and want["users"] >= 1 and
       want["jobs"] >= 20 and want["reviews"] >= 5, want)
    vec = pg.rows(url, "SELECT count(*) FILTER (WHERE search IS NULL) AS "
                  "missing, count(*) FILTER (WHERE search IS DISTINCT FROM "
                  "fw_search_vector(data)) AS differ, count(*) FILTER "
                  "(WHERE search @@ fw_search_query('migrated')) AS found "
                  "FROM submissions")[0]
    ok("migrate: every copied row has its search vector, and a search "
       "finds the migrated ones", vec["missing"] == 0 and
       vec["differ"] == 0 and vec["found"] >= 20, vec)
    r = ctl(lite, "migrate", "--to", url, env=env_ctl)
    ok("migrate: a non-empty target is refused", r.returncode == 1 and
       "empty" in r.stderr, r.stderr)
    node = srvmod.Server("migrate-pg", env=dict(env, FORMWORK_DB=url),
                         forms_dir=forms)
    node.db = url
    node.start()
    after = first_page_ids(Base(node.url), "mira")
    ok("migrate: the desk's first page is the same on PostgreSQL",
       before and after == before, "%s vs %s" % (before[:3], after[:3]))
    return [node]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[])
    args = harness.parse_args(ap)
    os.environ["FORMWORK_TEST_PG"] = "1"
    checks = Checks()

    def ok(name, cond, detail=""):
        checks(name, cond, str(detail))

    print("formwork nodes: module %s, run dir %s" % (
        srvmod.module_path(), srvmod.run_root()), flush=True)
    pg = pgmod.Postgres().start()
    srvmod._CLUSTER = pg
    rx = Receiver(new_secret()).start()
    rx.delay("/slow", 0.3)
    extra, nodes, front = [], [], None
    try:
        url = pg.database("nodes")
        forms = write_forms("nodes", [
            form_def("slow", [hook(rx.url("/slow"), 5)]),
            form_def("fast", [hook(rx.url("/fast"), 5)])])
        front_port = srvmod.free_port()
        env = None
        for name in ("node-a", "node-b"):
            env = {"FORMWORK_DB": url, "FORMWORK_SECRET": SECRET,
                   "FORMWORK_BASE_URL": "http://127.0.0.1:%d" % front_port,
                   "FORMWORK_MIN_FILL_MS": "0", "FORMWORK_RATE_LIMIT": "0",
                   "FORMWORK_TRUST_PROXY": "1",
                   "FORMWORK_WEBHOOK_SECRET": rx.secret,
                   "FORMWORK_WEBHOOK_ALLOW_PRIVATE": "1",
                   "FORMWORK_ACTION_TIMEOUT": "2"}
            n = srvmod.Server(name, env=env, forms_dir=forms)
            n.db = url
            nodes.append(n.start())
        front = Front([n.port for n in nodes], front_port)
        late = srvmod.Server("node-late", env=env, forms_dir=forms)
        late.db = url
        extra.append(late)
        steps = [("flows", lambda: check_flows(ok, front, nodes, rx, pg,
                                                  url)),
                 ("outage", lambda: check_outage(ok, front, nodes, pg,
                                                  late)),
                 ("kill", lambda: check_kill(ok, front, nodes, rx)),
                 ("migrate", lambda: extra.extend(check_migrate(ok, pg,
                                                                rx)))]
        for name, step in steps:
            if args.k and not any(k in name for k in args.k):
                continue
            try:
                step()
            except Exception as e:  # noqa: BLE001 (a step that broke)
                import traceback
                traceback.print_exc()
                ok("%s: ran to its end" % name, False, repr(e))
    finally:
        if front:
            front.stop()
        for n in nodes + extra:
            problems = n.stop()
            problems = [p for p in problems if "exited" not in p]
            ok("log check: %s" % n.name, not problems, problems[:5])
        rx.stop()
        pg.stop()
    return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
