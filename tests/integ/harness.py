"""harness.py: what the integration suites and scripts share.

The suites (suite.py, suite_queue.py, suite_api.py, suite_desk.py) keep
their tests and the settings of their servers; the scripts crash.py and
load.py keep their scenarios. Everything they would otherwise each write
again lives here:

  run(), Result    parse the common command line (--so, -k, -v), run a
                   suite's tests printing one line per test, stop every
                   server the suite started and count each server's log
                   check as a test, end with the "N passed, N failed"
                   line run.sh sums
  Checks           the same summary for a script's named checks
  Servers          a suite's servers by name, each started on first use
  TestCase         the base of every suite's tests: its server, a GET,
                   status and no-store assertions
  children_of()    a Kore parent's workers, found in /proc
  values, forms    uniq(), contact_values(), signup_values(), forms with
                   actions (form_def(), hook(), mail(), write_forms()),
                   multipart() bodies,
                   submit() through the public form, fire_together() for
                   concurrent POSTs, and Session, a keep-alive client for
                   many submissions
  the jobs         db_rows() reads a server's database (read-only),
                   jobs_of() a submission's jobs, wait_jobs_final() waits
                   until none is queued or running
  the desk         ctl() runs ./formworkctl on a server's database,
                   add_user() makes an account, Desk signs in, keeps the
                   session cookie and fetches the desk's CSRF token
"""

import argparse
import http.client
import json
import os
import random
import re
import subprocess
import threading
import time
import traceback
import unittest
import urllib.parse

from client import FORM_CT, get_form, location_path, post_form, request, \
    urlencode
import server as srvmod
from server import children_of  # noqa: E402,F401 (the suites use it from here)

CTL = os.path.join(srvmod.REPO, "formworkctl")
ID_RE = re.compile(r"^/s/([A-Za-z0-9_-]{22})$")


# ---- the runner of a suite ------------------------------------------------

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


def parse_args(ap):
    """Adds --so to ap, parses the command line and makes --so the module
    every Server loads; the parsed arguments."""
    ap.add_argument("--so", help="the Formwork module to load")
    args = ap.parse_args()
    if args.so:
        os.environ["FORMWORK_SO"] = os.path.abspath(args.so)
    return args


def run(module, title, servers, extra_servers=(), cleanup=None,
        add_args=None, use_args=None, helpers=()):
    """Runs module's tests; returns the exit status. add_args(parser) and
    use_args(args) let a suite take options of its own; after the
    servers, each of helpers (sinks, receivers: a list the tests may
    still add to) is stopped with its stop(), then cleanup() runs."""
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[],
                    help="only tests whose name contains this")
    ap.add_argument("-v", action="store_true", help="print full tracebacks")
    if add_args:
        add_args(ap)
    args = parse_args(ap)
    if use_args:
        use_args(args)
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
        for h in helpers:
            try:
                h.stop()
            except Exception:  # a helper that failed to stop is no test
                pass
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


class Checks:
    """A script's named checks (crash.py, load.py are scenarios, not
    unittest suites): each prints one line; finish() prints the summary
    line the shell wrappers pass on and gives the exit status."""

    def __init__(self):
        self.results = []   # (name, ok, detail)
        self.t0 = time.monotonic()

    def __call__(self, name, ok, detail=""):
        self.results.append((name, bool(ok), detail))
        print("%s  %s%s" % ("ok  " if ok else "FAIL", name,
                            (": " + detail) if detail else ""), flush=True)

    def finish(self):
        passed = sum(1 for r in self.results if r[1])
        failed = len(self.results) - passed
        print("time: %.1f s" % (time.monotonic() - self.t0))
        print("%d passed, %d failed" % (passed, failed))
        return 1 if failed else 0


# ---- servers ----------------------------------------------------------------

class Servers(dict):
    """
    A suite's servers by name (the dict run() stops and checks). Each is
    started on first use by start(name), which returns a started Server.
    One that failed to start is kept as its exception: every test that
    asks for it fails with the reason, and run() reports it once.
    """

    def __init__(self, start):
        super().__init__()
        self.start = start

    def started(self, name):
        s = self.get(name)
        if s is None:
            try:
                s = self.start(name)
            except Exception as e:  # StartError, or a helper it needed
                print(str(e), flush=True)
                s = e
            self[name] = s
        if isinstance(s, Exception):
            raise AssertionError("the %s server did not start: %s" % (
                name, str(s).splitlines()[0] if str(s)
                else type(s).__name__))
        return s


class TestCase(unittest.TestCase):
    """The base of every suite's tests: self.srv is the server_name
    server of the suite's `servers`, self.base its URL."""

    servers = None      # the suite's Servers
    server_name = "main"
    maxDiff = 4000

    def setUp(self):
        self.srv = self.servers.started(self.server_name)
        self.base = self.srv.url

    def get(self, path, headers=None):
        return request(self.base, "GET", path, headers=headers)

    def assertStatus(self, resp, status, msg=""):
        self.assertEqual(resp.status, status, "%s\n%r\n%r" % (
            msg, resp, resp.body[:400]))

    def assertNoStore(self, resp):
        cc = [x.strip().lower()
              for x in resp.header("cache-control", "").split(",")]
        self.assertIn("no-store", cc, "Cache-Control %r on %r"
                      % (resp.header("cache-control"), resp))

    def wait_done(self, path, timeout=30.0):
        """Polls path until it answers anything but 202 (or timeout
        seconds have passed); the last response."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.get(path)
            if r.status != 202 or time.monotonic() > deadline:
                return r
            time.sleep(0.1)


# ---- values, forms and submitting -------------------------------------------

def uniq(prefix="u"):
    """A word no other test uses (letters and digits after prefix)."""
    return "%s%d%05d" % (prefix, int(time.time() * 1000) % 10 ** 9,
                         random.randrange(100000))


def contact_values(**over):
    v = {"name": "Ada Lovelace", "email": "ada@example.com",
         "topic": "general",
         "message": "Hello, this is a perfectly ordinary message."}
    v.update(over)
    return v


def signup_values(form, email, **over):
    """A signup's values; the terms box ticked with the value the served
    form gives it."""
    terms = form.resp.doc.find("input", name="terms")
    v = {"email": email, "name": "Grace Hopper", "plan": "free",
         "terms": terms.get("value", "on") if terms is not None else "on"}
    v.update(over)
    return v


def form_def(slug, actions, title=None):
    """A form of a name and a note, running actions."""
    return {
        "slug": slug,
        "title": title or ("Test form %s" % slug),
        "description": "A form of the integration tests.",
        "success_message": "Thanks, %s received it." % slug,
        "fields": [
            {"name": "name", "type": "text", "label": "Your name",
             "required": True, "max_length": 100},
            {"name": "note", "type": "textarea", "label": "Note",
             "max_length": 1000},
        ],
        "actions": actions,
    }


def hook(url, max_attempts=None):
    a = {"type": "webhook", "url": url}
    if max_attempts is not None:
        a["max_attempts"] = max_attempts
    return a


def mail(to, subject, max_attempts=None):
    a = {"type": "email", "to": to, "subject": subject}
    if max_attempts is not None:
        a["max_attempts"] = max_attempts
    return a


def write_forms(name, forms):
    """The shipped forms plus `forms` (dicts), in a fresh directory of
    the run."""
    d = os.path.join(srvmod.run_root(), "forms-" + name)
    srvmod.copy_forms(d)
    for f in forms:
        with open(os.path.join(d, f["slug"] + ".json"), "w") as fh:
            json.dump(f, fh, indent=1, ensure_ascii=False)
    return d


def submit(base, slug, values):
    """A visitor's submission: GET the form, POST values (a dict, or a
    function of the served Form giving one) with its tokens; the id the
    303 leads to."""
    form = get_form(base, slug)
    if callable(values):
        values = values(form)
    fields = dict(form.tokens())
    fields.update(values)
    r = post_form(base, slug, fields)
    if r.status != 303:
        raise AssertionError("POST /f/%s: %r\n%s" % (slug, r, r.text[:600]))
    m = ID_RE.match(location_path(r) or "")
    if not m:
        raise AssertionError("303 to %r" % r.header("location"))
    return m.group(1)


def multipart(fields, files=(), boundary="----formworktest7MA4YWxkTrZu0gW"):
    """A multipart/form-data body of fields (a dict) and files ((name,
    file name, bytes) each); (body, Content-Type)."""
    out = []
    for k, v in fields.items():
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n"
                    % (boundary, k, v)).encode("utf-8"))
    for name, fname, data in files:
        out.append(("--%s\r\nContent-Disposition: form-data; name=\"%s\"; "
                    "filename=\"%s\"\r\nContent-Type: text/plain\r\n\r\n"
                    % (boundary, name, fname)).encode("utf-8") + data + b"\r\n")
    out.append(("--%s--\r\n" % boundary).encode())
    return b"".join(out), "multipart/form-data; boundary=%s" % boundary


FORM_KEY = re.compile(rb'name="_key" value="([^"]+)"')
FORM_CSRF = re.compile(rb'name="_csrf" value="([^"]+)"')


def form_tokens(page):
    """The hidden _key and _csrf of a served form's bytes (read with a
    regular expression: cheap enough for thousands of forms), or None."""
    k, t = FORM_KEY.search(page), FORM_CSRF.search(page)
    if not k or not t:
        return None
    return {"_key": k.group(1).decode(), "_csrf": t.group(1).decode()}


def fire_together(base, path, body, headers, n, start_at=None):
    """
    n POSTs of body on n connections of their own, sent at the same
    moment: once all are connected, or at the time start_at (for several
    processes firing together). [(status, Location, Content-Type, body)];
    a request that failed gives ("error", what, None, b"").
    """
    u = urllib.parse.urlsplit(base)
    results = [None] * n
    ready = threading.Barrier(n)

    def one(i):
        try:
            c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            c.connect()
            try:
                ready.wait(timeout=30)
            except threading.BrokenBarrierError:
                pass
            wait = start_at - time.time() if start_at is not None else 0
            if wait > 0:
                time.sleep(wait)
            c.request("POST", path, body, dict(headers))
            r = c.getresponse()
            data = r.read()
            results[i] = (r.status, r.getheader("location"),
                          r.getheader("content-type"), data)
            c.close()
        except Exception as e:  # reported, and fails the test
            results[i] = ("error", "%s: %s" % (type(e).__name__, e), None,
                          b"")

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return results


class Session:
    """Keep-alive GET form + POST, for many submissions."""

    def __init__(self, base):
        u = urllib.parse.urlsplit(base)
        self.host, self.port = u.hostname, u.port
        self.c = None

    def _req(self, method, path, body=None, headers=None):
        for attempt in range(2):
            if self.c is None:
                self.c = http.client.HTTPConnection(self.host, self.port,
                                                    timeout=30)
            try:
                self.c.request(method, path, body=body, headers=headers or {})
                r = self.c.getresponse()
                data = r.read()
                if r.getheader("connection", "").lower() == "close":
                    self.c.close()
                    self.c = None
                return r.status, r.getheader("location"), data
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = None
                if attempt == 1 or method == "POST":
                    raise
        raise RuntimeError("unreachable")

    def submit(self, slug, values):
        """(status, id or None) of one submission of values."""
        st, _, page = self._req("GET", "/f/" + slug)
        if st != 200:
            return st, None
        fields = form_tokens(page)
        fields.update(values)
        st, loc, _ = self._req("POST", "/f/" + slug,
                               urllib.parse.urlencode(fields), FORM_CT)
        m = ID_RE.match(urllib.parse.urlsplit(loc or "").path)
        return st, (m.group(1) if m else None)


# ---- the jobs (the database, read only) -------------------------------------

def db_rows(srv, query, args=()):
    """Rows as dicts, from a read-only connection of our own (SQLite's
    file, or psql on PostgreSQL: server.Server.rows)."""
    return srv.rows(query, args)


def jobs_of(srv, sid):
    return db_rows(srv, "SELECT * FROM jobs WHERE submission_id = ? "
                   "ORDER BY action", (sid,))


def wait_jobs_final(srv, sid, timeout=20.0):
    """Waits until none of the submission's jobs is queued or running."""
    deadline = time.monotonic() + timeout
    while True:
        js = jobs_of(srv, sid)
        if all(j["state"] in ("done", "failed") for j in js) or \
                time.monotonic() > deadline:
            return js
        time.sleep(0.05)


# ---- the desk: accounts and signing in --------------------------------------

def pw(name):
    """The password the suites give the account name."""
    return "pw-%s-0123456789" % name


def ctl(srv, *args, stdin=None, env=None):
    """Runs ./formworkctl on srv's database (the server's environment
    unless env is given); a CompletedProcess (text)."""
    e = srv.environment(srv.port) if env is None else env
    return subprocess.run([CTL] + list(args), input=stdin, env=e,
                          cwd=srvmod.REPO, capture_output=True, text=True,
                          timeout=120)


def add_user(srv, name, role, password=None):
    """formworkctl user add name --role role; password pw(name) unless
    given. Raises AssertionError when formworkctl refuses."""
    r = ctl(srv, "user", "add", name, "--role", role,
            stdin=(password or pw(name)) + "\n")
    if r.returncode != 0:
        raise AssertionError("formworkctl user add %s: %d %s" % (
            name, r.returncode, r.stderr))


class Desk:
    """One browser on the desk: keeps fw_session, sends it back, knows
    its _csrf."""

    def __init__(self, srv):
        self.srv = srv
        self.base = srv.url
        self.cookie = None
        self.set_cookies = []
        self._csrf = None

    def req(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        if self.cookie is not None:
            h["Cookie"] = "fw_session=%s" % self.cookie
        r = request(self.base, method, path, body, h)
        for k, v in r.header_list:
            if k.lower() == "set-cookie":
                self.set_cookies.append(v)
                m = re.match(r"\s*fw_session=([^;]*)", v)
                if m:
                    gone = (not m.group(1) or
                            re.search(r"(?i)max-age=0\b", v) or
                            re.search(r"(?i)expires=[^;]*19[67]\d", v))
                    self.cookie = None if gone else m.group(1)
                    self._csrf = None
        return r

    def get(self, path, headers=None):
        return self.req("GET", path, headers=headers)

    def post(self, path, fields=(), headers=None, csrf=True):
        """fields: dict or list of pairs; _csrf added unless csrf=False
        or already there."""
        pairs = list(fields.items()) if isinstance(fields, dict) \
            else list(fields)
        if csrf and not any(k == "_csrf" for k, _ in pairs):
            pairs.append(("_csrf", self.csrf))
        h = dict(FORM_CT)
        h.update(headers or {})
        return self.req("POST", path, urlencode(pairs), h)

    @property
    def csrf(self):
        """The desk's CSRF token of this session (from GET /admin)."""
        if self._csrf is None:
            r = self.get("/admin")
            tok = r.doc.input_value("_csrf")
            if r.status != 200 or not tok:
                raise AssertionError("no _csrf on GET /admin: %r" % r)
            self._csrf = tok
        return self._csrf

    def login_form(self, next_=None):
        path = "/admin/login"
        if next_ is not None:
            path += "?" + urlencode({"next": next_})
        r = self.get(path)
        if r.status != 200:
            raise AssertionError("GET %s: %r" % (path, r))
        return r

    def login(self, user, password=None, next_=None, form_next=None):
        """Posts the sign-in form (password pw(user) unless given);
        returns the response."""
        f = self.login_form(form_next)
        doc = f.doc
        fields = {"username": user,
                  "password": pw(user) if password is None else password,
                  "_csrf": doc.input_value("_csrf") or "",
                  "_key": doc.input_value("_key") or ""}
        nxt = next_ if next_ is not None else doc.input_value("next")
        if nxt is not None:
            fields["next"] = nxt
        return self.req("POST", "/admin/login", urlencode(fields), FORM_CT)
