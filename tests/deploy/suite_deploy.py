#!/usr/bin/python3
"""
suite_deploy.py: the files that put Formwork on a server, tried for real.

nginx: conf/nginx/formwork.conf as shipped, but for its listen addresses,
the upstream's port and the certificate (rewritten into the run
directory), in Debian's nginx started here as a process of its own (own
prefix, configuration, pid and logs under tests/out/; the system's nginx
is never touched), with a self-signed certificate made by openssl, in
front of a real Formwork (tests/integ/server.py) that has
FORMWORK_TRUST_PROXY=1 and FORMWORK_BASE_URL=https://127.0.0.1:PORT.
Visitors (curl, Chromium) come from 127.0.0.1 and nginx reaches Kore from
127.0.0.2 (a proxy_bind line of the test's own nginx.conf), so an address
recorded as 127.0.0.1 can only have come from the proxy's X-Forwarded-For
entry. Checked: HTTP/2; HSTS exactly once on a 200, a 303, a 404, and a
413 from Formwork and one from nginx; plain http redirected; a forged
X-Forwarded-For ignored; an https Origin accepted and a foreign one
refused; and in headless Chromium (browser.mjs) the form -> 303 -> result
flow and the desk's sign-in with a Secure session cookie, the desk showing
the browser's address. Screenshots: tests/out/deploy/.

systemd: conf/systemd/formwork.service passes `systemd-analyze verify`
and `systemd-analyze security --offline=true` (its exposure score is
printed and must stay at most 2.0); conf/systemd/formwork.sysusers
creates the user the unit runs as (systemd-sysusers into a scratch root).

make install: into a scratch DESTDIR, the exact list of files it puts in
place (the unit as shipped, the Kore configuration differing from
conf/formwork.conf only in its paths); a second install keeps what an
operator changed; make uninstall removes the program and keeps the
configuration, the forms and the data. Then an install with PREFIX,
SYSCONFDIR and STATEDIR under the run directory, run from there as the
user nobody with no FORMWORK_* path in its environment (only
FORMWORK_LISTEN, for a free port): it serves
the sample forms, a contact form goes through 303 to its result page, the
installed formworkctl (as nobody, no variables) adds a desk user to the
same database and that user signs in; /proc shows the workers run as
nobody with no capabilities, and a process with those credentials cannot
open /etc/shadow.

Usage: /usr/bin/python3 tests/deploy/suite_deploy.py [--so PATH] [-k PATTERN]
(tests/deploy/run.sh installs playwright-core first).
"""

import collections
import json
import os
import pwd
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integ"))

from client import Form, Response, request, urlencode  # noqa: E402
import harness  # noqa: E402
import server as srvmod  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CTL = os.path.join(ROOT, "formworkctl")
SITE_CONF = os.path.join(ROOT, "conf", "nginx", "formwork.conf")
UNIT = os.path.join(ROOT, "conf", "systemd", "formwork.service")
SYSUSERS = os.path.join(ROOT, "conf", "systemd", "formwork.sysusers")
SHOTS = os.path.join(srvmod.OUT, "deploy")
KORE_CONF = os.path.join(ROOT, "conf", "formwork.conf")

VISITOR = "127.0.0.1"       # where curl and Chromium connect from
PROXY = "127.0.0.2"         # where nginx connects to Kore from
FORGED = "203.0.113.9"      # what a visitor claims to be
HSTS = "max-age=31536000"
DESK_USER = "deploy-admin"
DESK_PW = "a long deploy passphrase"
SCORE_MAX = 2.0

CONTACT = {"name": "Ada Lovelace", "email": "ada@example.com",
           "topic": "general", "message": "A message through the proxy."}

SERVERS = collections.OrderedDict()
STACK = {}
StartError = srvmod.StartError


# ---- nginx -------------------------------------------------------------

# The shipped site file's lines the test changes, each found exactly once.
SITE_SUBS = [
    (r"(?m)^(\s*)listen 443 ssl http2;$",
     r"\g<1>listen 127.0.0.1:{tls} ssl http2;"),
    (r"(?m)^\s*listen \[::\]:443 ssl http2;\n", ""),
    (r"(?m)^(\s*)listen 80;$", r"\g<1>listen 127.0.0.1:{plain};"),
    (r"(?m)^\s*listen \[::\]:80;\n", ""),
    (r"(?m)^(\s*)server 127\.0\.0\.1:8080;$",
     r"\g<1>server 127.0.0.1:{kore};"),
    (r"(?m)^(\s*)ssl_certificate \S+;$", r"\g<1>ssl_certificate {cert};"),
    (r"(?m)^(\s*)ssl_certificate_key \S+;$",
     r"\g<1>ssl_certificate_key {key};"),
]

MAIN_CONF = """\
# The test's own nginx: everything under {dir}.
worker_processes 1;
pid {dir}/nginx.pid;
lock_file {dir}/nginx.lock;
events {{
	worker_connections 128;
}}
http {{
	access_log {dir}/access.log;
	client_body_temp_path {dir}/temp/body;
	proxy_temp_path {dir}/temp/proxy;
	fastcgi_temp_path {dir}/temp/fastcgi;
	uwsgi_temp_path {dir}/temp/uwsgi;
	scgi_temp_path {dir}/temp/scgi;
	# Test only: Kore sees the proxy as {proxy}, never as the visitor.
	proxy_bind {proxy};
	include {dir}/formwork.conf;
}}
"""

# nginx error log lines that fail the run.
NGINX_FAILURES = re.compile(r"\[(emerg|alert|crit)\]")


class Nginx:
    """Debian's nginx with the shipped site file, in front of kore_port."""

    def __init__(self, tls_port, kore_port):
        self.dir = os.path.join(srvmod.run_root(), "nginx")
        self.log = os.path.join(self.dir, "error.log")
        self.tls_port = tls_port
        self.plain_port = srvmod.free_port()
        self.kore_port = kore_port
        self.proc = None

    def configure(self):
        os.makedirs(os.path.join(self.dir, "temp"), exist_ok=True)
        cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        r = subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext",
             "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
            capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise StartError("openssl req: " + r.stderr)
        with open(SITE_CONF) as f:
            text = f.read()
        values = {"tls": self.tls_port, "plain": self.plain_port,
                  "kore": self.kore_port, "cert": cert, "key": key}
        for pat, rep in SITE_SUBS:
            text, n = re.subn(pat, rep.format(**values), text)
            if n != 1:
                raise StartError(
                    "%s: %r matched %d times, not once (update SITE_SUBS "
                    "in %s)" % (SITE_CONF, pat, n, __file__))
        with open(os.path.join(self.dir, "formwork.conf"), "w") as f:
            f.write(text)
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(MAIN_CONF.format(dir=self.dir, proxy=PROXY))

    def start(self, timeout=10.0):
        self.configure()
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir, "-c",
             os.path.join(self.dir, "nginx.conf"), "-e", self.log,
             "-g", "daemon off;"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError("nginx exited with %s; %s:\n%s" % (
                    self.proc.returncode, self.log, self.read_log()))
            try:
                socket.create_connection(("127.0.0.1", self.tls_port),
                                         timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise StartError("nginx did not listen on %d within %.0f s" % (
            self.tls_port, timeout))

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        """Stops nginx by its PID (SIGTERM, then SIGKILL after 10 s);
        returns the error log's alert lines."""
        if self.proc is not None and self.proc.poll() is None:
            srvmod.terminate(self.proc)
        return [l for l in self.read_log().splitlines()
                if NGINX_FAILURES.search(l)]


def stack():
    """Formwork behind nginx, started once for the tests that need them."""
    if not STACK:
        tls_port = srvmod.free_port()
        srv = srvmod.Server("proxied", env={
            "FORMWORK_TRUST_PROXY": "1",
            "FORMWORK_BASE_URL": "https://127.0.0.1:%d" % tls_port,
            "FORMWORK_MIN_FILL_MS": "0",
        })
        # Stopped and its log checked whatever happens next.
        SERVERS["formwork"] = srv
        try:
            srv.start()
            STACK["formwork"] = srv
            r = subprocess.run(
                [CTL, "user", "add", DESK_USER, "--role", "reviewer"],
                input=DESK_PW + "\n", capture_output=True, text=True,
                env=dict(os.environ, FORMWORK_DB=srv.db), timeout=60)
            if r.returncode != 0:
                raise StartError("formworkctl user add: " + r.stderr)
            ngx = Nginx(tls_port, srv.port)
            # Stopped before Formwork: the front goes first.
            SERVERS["nginx"] = ngx
            SERVERS.move_to_end("nginx", last=False)
            ngx.start()
            STACK["nginx"] = ngx
            STACK["base"] = "https://127.0.0.1:%d" % tls_port
        except StartError as e:
            STACK["error"] = str(e)
            print(str(e), flush=True)
    if "error" in STACK:
        raise AssertionError("Formwork behind nginx did not start: %s" %
                             STACK["error"].splitlines()[0])
    return STACK


# ---- curl --------------------------------------------------------------

def curl(url, *args):
    """One request with curl -k -D-; returns (Response, HTTP version)."""
    with tempfile.NamedTemporaryFile() as body:
        r = subprocess.run(
            ["curl", "-k", "-sS", "--max-time", "30", "-D", "-",
             "-o", body.name] + list(args) + [url],
            capture_output=True, timeout=60)
        if r.returncode != 0:
            raise AssertionError("curl %s: %s" % (url, r.stderr.decode()))
        data = body.read()
    # The last header block (after any 100 Continue).
    block = r.stdout.decode("latin-1").replace("\r\n", "\n").strip()
    block = block.split("\n\n")[-1].split("\n")
    version, status = block[0].split()[:2]
    headers = [tuple(s.strip() for s in l.split(":", 1))
               for l in block[1:] if ":" in l]
    return Response(int(status), headers, data), version


def hsts(resp):
    """Every Strict-Transport-Security header's value."""
    return [v for k, v in resp.header_list
            if k.lower() == "strict-transport-security"]


def form_tokens(base):
    resp, _ = curl(base + "/f/contact")
    if resp.status != 200:
        raise AssertionError("GET /f/contact: %r" % resp)
    return Form(resp).tokens()


def post_contact(base, fields=None, *args):
    body = dict(CONTACT, **form_tokens(base))
    body.update(fields or {})
    return curl(base + "/f/contact", "-H",
                "Content-Type: application/x-www-form-urlencoded",
                "--data-binary", urlencode(body), *args)[0]


def recorded_client(srv, resp):
    """The client address stored with the submission a 303 points to."""
    sid = urllib.parse.urlsplit(resp.header("location")).path.split("/")[-1]
    rows = srv.sql("select client from submissions where id = %s" %
                   srvmod.sql_quote(sid))
    if len(rows) != 1:
        raise AssertionError("no submission %s in the database" % sid)
    return rows[0]


# ---- tests: nginx in front of Formwork ---------------------------------

class Proxy(unittest.TestCase):
    def setUp(self):
        s = stack()
        self.base, self.srv = s["base"], s["formwork"]

    def assert_hsts_once(self, resp):
        self.assertEqual(hsts(resp), [HSTS], "HSTS once on %r" % resp)

    def test_http2_and_hsts_on_200(self):
        resp, version = curl(self.base + "/f/contact", "--http2")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(version, "HTTP/2")
        self.assert_hsts_once(resp)

    def test_hsts_on_303(self):
        resp = post_contact(self.base)
        self.assertEqual(resp.status, 303, resp)
        self.assertRegex(resp.header("location"), r"^/s/[A-Za-z0-9_-]{22}$")
        self.assert_hsts_once(resp)

    def test_hsts_on_404(self):
        resp, _ = curl(self.base + "/no/such/page")
        self.assertEqual(resp.status, 404, resp)
        self.assert_hsts_once(resp)

    def test_hsts_on_formwork_413(self):
        # Over FORMWORK_BODY_MAX (64 KB), under nginx's 12 MB: Formwork's
        # own page says so.
        resp = post_contact(self.base, {"message": "x" * 100000})
        self.assertEqual(resp.status, 413, resp)
        self.assertIn("text/html", resp.header("content-type"))
        self.assertNotIn("nginx", resp.text)
        self.assert_hsts_once(resp)

    def test_hsts_on_nginx_413(self):
        # Over client_max_body_size: nginx answers without asking Kore.
        big = os.path.join(srvmod.run_root(), "big-body")
        with open(big, "wb") as f:
            f.write(b"message=" + b"x" * (13 * 1024 * 1024))
        before = self.srv.count()
        resp, _ = curl(self.base + "/f/contact", "-H",
                       "Content-Type: application/x-www-form-urlencoded",
                       "--data-binary", "@" + big)
        os.unlink(big)
        self.assertEqual(resp.status, 413, resp)
        self.assertIn("nginx", resp.text)
        self.assert_hsts_once(resp)
        self.assertEqual(self.srv.count(), before)

    def test_plain_http_redirects_to_https(self):
        port = STACK["nginx"].plain_port
        resp, _ = curl("http://127.0.0.1:%d/f/contact?x=1" % port)
        self.assertEqual(resp.status, 301, resp)
        self.assertEqual(resp.header("location"),
                         "https://127.0.0.1/f/contact?x=1")
        self.assertEqual(hsts(resp), [], "no HSTS over plain http")

    def test_client_address_is_the_visitors(self):
        resp = post_contact(self.base)
        self.assertEqual(resp.status, 303, resp)
        self.assertEqual(recorded_client(self.srv, resp), VISITOR)

    def test_forged_x_forwarded_for_is_ignored(self):
        for forged in ([FORGED], [FORGED + ", 198.51.100.7"],
                       [FORGED, "198.51.100.7"]):
            args = []
            for value in forged:
                args += ["-H", "X-Forwarded-For: " + value]
            resp = post_contact(self.base, None, *args)
            self.assertEqual(resp.status, 303, resp)
            self.assertEqual(recorded_client(self.srv, resp), VISITOR,
                             "sent X-Forwarded-For: %s" % forged)

    def test_https_origin_accepted(self):
        resp = post_contact(self.base, None, "-H", "Origin: " + self.base)
        self.assertEqual(resp.status, 303, resp)

    def test_foreign_origin_refused(self):
        before = self.srv.count()
        resp = post_contact(self.base, None,
                            "-H", "Origin: https://evil.example")
        self.assertEqual(resp.status, 403, resp)
        self.assert_hsts_once(resp)
        self.assertEqual(self.srv.count(), before)


# ---- tests: Chromium through nginx -------------------------------------

BROWSER = {}


def browser_run():
    """Runs browser.mjs once; returns what it saw (or raises its error)."""
    if not BROWSER:
        s = stack()
        os.makedirs(SHOTS, exist_ok=True)
        marker = "deploy%d" % int(time.time() * 1000)
        r = subprocess.run(
            ["node", os.path.join(HERE, "browser.mjs")],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, DEPLOY_BASE=s["base"], DEPLOY_USER=DESK_USER,
                     DEPLOY_PW=DESK_PW, DEPLOY_MARKER=marker,
                     DEPLOY_FORGED=FORGED, DEPLOY_SHOTS=SHOTS))
        if r.returncode != 0:
            BROWSER["error"] = (r.stderr.strip() or r.stdout.strip() or
                                "exit status %d" % r.returncode)
        else:
            BROWSER.update(json.loads(r.stdout.strip().splitlines()[-1]))
            BROWSER["marker"] = marker
    if "error" in BROWSER:
        raise AssertionError("browser.mjs: %s" %
                             BROWSER["error"].splitlines()[0])
    return BROWSER


class Browser(unittest.TestCase):
    def test_form_303_result_over_http2(self):
        b = browser_run()
        self.assertEqual(b["formStatus"], 200)
        self.assertEqual(b["formProtocol"], "h2")
        self.assertEqual(b["submit"]["method"], "POST")
        self.assertEqual(b["submit"]["status"], 303)
        self.assertEqual(b["submit"]["location"], b["resultPath"])
        self.assertRegex(b["resultPath"], r"^/s/[A-Za-z0-9_-]{22}$")
        self.assertEqual(b["submit"]["final"], 200)
        self.assertEqual(b["resultProtocol"], "h2")
        self.assertIn("your message has been received", b["resultText"])
        self.assertIn(b["marker"], b["resultText"])

    def test_desk_sign_in_with_a_secure_cookie(self):
        b = browser_run()
        self.assertEqual(b["loginPath"], "/admin/login")
        self.assertEqual(b["signIn"]["status"], 303)
        self.assertEqual(b["signIn"]["final"], 200)
        self.assertEqual(b["deskProtocol"], "h2")
        self.assertEqual(b["deskRows"], 1, "the visitor's submission found")
        self.assertEqual(b["cookies"], [{
            "name": "fw_session", "secure": True, "httpOnly": True,
            "sameSite": "Strict", "path": "/admin"}])
        self.assertRegex(b["signIn"]["setCookie"], r"; Secure(;|$)")

    def test_desk_shows_the_browsers_address(self):
        b = browser_run()
        self.assertIn(b["marker"], b["detailText"])
        # The browser sent X-Forwarded-For: FORGED; nginx came from PROXY.
        self.assertEqual(b["fromAddress"], VISITOR)
        sid = b["detailPath"].split("/")[-1]
        self.assertEqual(STACK["formwork"].sql(
            "select client from submissions where id = %s" %
            srvmod.sql_quote(sid)), [VISITOR])
        self.assertTrue(os.path.getsize(b["shot"]) > 0)
        print("      screenshot: %s" % os.path.relpath(b["shot"], ROOT),
              flush=True)


# ---- tests: the systemd unit -------------------------------------------

class Systemd(unittest.TestCase):
    def test_unit_verifies(self):
        r = subprocess.run(["systemd-analyze", "verify", UNIT],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))
        # verify looks for ExecStart's program (stdbuf), not for the one
        # that runs it (kore).
        with open(UNIT) as f:
            start = re.search(r"(?m)^ExecStart=(.*)$", f.read()).group(1)
        programs = [w for w in start.split() if w.startswith("/usr/bin/")]
        self.assertEqual(programs, ["/usr/bin/stdbuf", "/usr/bin/kore"])
        for p in programs:
            self.assertTrue(os.access(p, os.X_OK), p)

    def test_unit_security_score(self):
        r = subprocess.run(
            ["systemd-analyze", "security", "--offline=true",
             "--threshold=%d" % int(SCORE_MAX * 10), UNIT],
            capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) (\S+)",
                      r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        print("      systemd-analyze security: %s %s" % m.groups(),
              flush=True)
        self.assertLessEqual(float(m.group(1)), SCORE_MAX)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_sysusers_makes_the_units_user(self):
        with open(UNIT) as f:
            unit = f.read()
        user = re.search(r"(?m)^User=(\S+)$", unit).group(1)
        group = re.search(r"(?m)^Group=(\S+)$", unit).group(1)
        with tempfile.TemporaryDirectory() as root:
            os.mkdir(os.path.join(root, "etc"))
            with open(SYSUSERS) as f:
                r = subprocess.run(["systemd-sysusers", "--root=" + root,
                                    "-"], stdin=f, capture_output=True,
                                   text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(os.path.join(root, "etc", "passwd")) as f:
                pw = [l.split(":") for l in f.read().splitlines()]
            with open(os.path.join(root, "etc", "group")) as f:
                gr = [l.split(":")[0] for l in f.read().splitlines()]
        entry = [e for e in pw if e[0] == user]
        self.assertEqual(len(entry), 1, pw)
        self.assertLess(int(entry[0][2]), 1000, "a system user")
        self.assertEqual(entry[0][5], "/var/lib/formwork")
        self.assertEqual(entry[0][6], "/usr/sbin/nologin")
        self.assertIn(group, gr)


# ---- tests: make install ----------------------------------------------

# What make install puts in place (DESTDIR-relative, default directories).
INSTALLED_PROGRAM = [
    "usr/local/bin/formworkctl",
    "usr/local/lib/formwork/formwork.so",
    "usr/local/lib/systemd/system/formwork.service",
    "usr/local/lib/sysusers.d/formwork.conf",
    "usr/local/share/formwork/nginx/formwork.conf",
] + ["usr/local/share/formwork/" + os.path.relpath(os.path.join(d, f), ROOT)
     for top in ("templates", "assets")
     for d, _, files in os.walk(os.path.join(ROOT, top))
     for f in files]
INSTALLED_OPERATOR = ["etc/formwork/formwork.conf"] + [
    "etc/formwork/forms/" + f
    for f in os.listdir(os.path.join(ROOT, "conf", "forms"))]


def make(*args):
    """Runs make in the checkout; returns (exit status, output)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["make", "--no-print-directory"] + list(args),
                       cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    return r.returncode, r.stdout + r.stderr


def tree(root):
    """Every file under root, as paths relative to it."""
    out = set()
    for d, _, files in os.walk(root):
        out.update(os.path.relpath(os.path.join(d, f), root) for f in files)
    return out


def read(path):
    with open(path) as f:
        return f.read()


class InstallDestdir(unittest.TestCase):
    def test_install_upgrade_uninstall(self):
        dest = os.path.join(srvmod.run_root(), "destdir")
        rc, out = make("install", "DESTDIR=" + dest)
        self.assertEqual(rc, 0, out)
        self.assertEqual(tree(dest),
                         set(INSTALLED_PROGRAM + INSTALLED_OPERATOR))
        state = os.path.join(dest, "var/lib/formwork")
        self.assertEqual(os.listdir(state), [])
        self.assertEqual(os.stat(state).st_mode & 0o777, 0o750)

        # With the default directories the unit is the shipped one, and
        # it names no path a FORMWORK_* variable would: the program has
        # them compiled in.
        unit = read(os.path.join(
            dest, "usr/local/lib/systemd/system/formwork.service"))
        self.assertEqual(unit, read(UNIT))
        self.assertEqual(re.findall(r"(?m)^Environment=(\w+)=", unit),
                         ["FORMWORK_TRUST_PROXY", "FORMWORK_BASE_URL"])
        # The Kore configuration: conf/formwork.conf with the installed
        # paths, nothing else changed (limits, routes, tls no, no HSTS).
        conf = read(os.path.join(dest, "etc/formwork/formwork.conf"))
        shipped = read(KORE_CONF).splitlines()
        lines = conf.splitlines()
        self.assertEqual(len(lines), len(shipped))
        changed = [(a, b) for a, b in zip(shipped, lines) if a != b]
        self.assertEqual([b.split()[:2] for _, b in changed[1:]], [
            ["load", "/usr/local/lib/formwork/formwork.so"],
            ["pidfile", "/run/formwork/kore.pid"],
            ["http_body_disk_path", "/var/lib/formwork/tmp"]])
        self.assertTrue(changed[0][1].startswith("# "), changed[0])
        self.assertRegex(conf, r"(?m)^\s*tls\s+no$")
        self.assertRegex(conf, r"(?m)^http_hsts_enable\s+0$")

        # An operator's changes survive an upgrade.
        etc = os.path.join(dest, "etc/formwork")
        with open(os.path.join(etc, "formwork.conf"), "a") as f:
            f.write("# the operator's line\n")
        with open(os.path.join(etc, "forms/contact.json"), "a") as f:
            f.write("\n")
        os.unlink(os.path.join(etc, "forms/signup.json"))
        with open(os.path.join(etc, "formwork.env"), "w") as f:
            f.write("FORMWORK_BASE_URL=https://forms.example.net\n")
        with open(os.path.join(state, "formwork.db"), "w") as f:
            f.write("data")
        mine = "usr/local/share/formwork/templates/mail/mine.txt"
        with open(os.path.join(dest, mine), "w") as f:
            f.write("The owner's own mail template, {{name}}.\n")
        kept = {p: read(os.path.join(dest, p)) for p in (
            "etc/formwork/formwork.conf", "etc/formwork/forms/contact.json",
            "etc/formwork/formwork.env", "var/lib/formwork/formwork.db",
            mine)}
        rc, out = make("install", "DESTDIR=" + dest)
        self.assertEqual(rc, 0, out)
        self.assertIn("formwork.conf.new", out)
        self.assertEqual({p: read(os.path.join(dest, p)) for p in kept},
                         kept)
        self.assertFalse(os.path.exists(
            os.path.join(etc, "forms/signup.json")), "a deleted sample")
        self.assertEqual(read(os.path.join(etc, "formwork.conf.new")), conf)

        rc, out = make("uninstall", "DESTDIR=" + dest)
        self.assertEqual(rc, 0, out)
        self.assertIn("kept", out)
        # The templates go, the owner's mail templates among them.
        self.assertEqual(tree(dest), set(kept) - {mine})
        for d in ("usr/local/lib/formwork", "usr/local/share/formwork"):
            self.assertFalse(os.path.exists(os.path.join(dest, d)), d)
        shutil.rmtree(dest)


class Installed(srvmod.Server):
    """
    The Kore configuration an install put in ROOT/etc/formwork, run by
    the user nobody from / with none of the FORMWORK_* paths set,
    listening on a free port (FORMWORK_LISTEN).
    """

    def __init__(self, root):
        super().__init__("installed")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(root, "etc/formwork/formwork.conf")
        self.db = os.path.join(root, "var/lib/formwork/formwork.db")

    def spawn(self):
        self.port = srvmod.free_port()
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(
            as_nobody(["env", "-i", "PATH=/usr/bin:/bin",
                       "FORMWORK_MIN_FILL_MS=0",
                       "FORMWORK_LISTEN=127.0.0.1:%d" % self.port,
                       "stdbuf", "-oL", "kore", "-f", "-n", "-r", "-c",
                       self.conf]),
            cwd="/", stdout=self.logf, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
        return self.proc


def as_nobody(argv, uid="nobody", gid="nogroup"):
    return ["setpriv", "--reuid=%s" % uid, "--regid=%s" % gid,
            "--clear-groups", "--"] + argv


def proc_status(pid):
    """/proc/PID/status as {name: value}."""
    out = {}
    for line in read("/proc/%d/status" % pid).splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


INSTALL = {}


def installed():
    """An install under the run directory, its server started as nobody."""
    if not INSTALL:
        root = os.path.join(srvmod.run_root(), "installed")
        os.makedirs(root)
        # nobody must reach the files through the run directory.
        for d in (srvmod.run_root(), root):
            os.chmod(d, 0o755)
        rc, out = make("install", "PREFIX=%s/usr" % root,
                       "SYSCONFDIR=%s/etc/formwork" % root,
                       "STATEDIR=%s/var/lib/formwork" % root)
        INSTALL.update(root=root, out=out)
        if rc != 0:
            INSTALL["error"] = "make install: " + out
        else:
            subprocess.run(["chown", "-R", "nobody:nogroup",
                            os.path.join(root, "var/lib/formwork")],
                           check=True)
            srv = Installed(root)
            SERVERS["installed"] = srv
            try:
                srv.start()
                INSTALL["srv"] = srv
            except StartError as e:
                INSTALL["error"] = str(e)
                print(str(e), flush=True)
    if "error" in INSTALL:
        raise AssertionError(INSTALL["error"].splitlines()[0])
    return INSTALL


class InstallRun(unittest.TestCase):
    def setUp(self):
        i = installed()
        self.root, self.srv = i["root"], i["srv"]

    def test_installed_files_name_the_install_directories(self):
        unit = read(os.path.join(
            self.root, "usr/lib/systemd/system/formwork.service"))
        self.assertIn("ExecStart=/usr/bin/stdbuf -oL /usr/bin/kore -f -n -r "
                      "-c %s/etc/formwork/formwork.conf\n" % self.root, unit)
        self.assertIn("EnvironmentFile=-%s/etc/formwork/formwork.env\n"
                      % self.root, unit)
        self.assertIn("%s/usr/lib/formwork/formwork.so" % self.root, unit)
        self.assertNotIn("/usr/local", unit)
        self.assertNotIn("/etc/formwork",
                         unit.replace(self.root + "/etc/formwork", ""))
        conf = read(self.srv.conf)
        self.assertRegex(conf, r"(?m)^load\s+%s/usr/lib/formwork/formwork\.so$"
                         % re.escape(self.root))
        self.assertRegex(conf, r"(?m)^http_body_disk_path\s+%s/var/lib/"
                         r"formwork/tmp$" % re.escape(self.root))
        # The unit's StateDirectory= is still /var/lib/formwork: said.
        self.assertIn("edit it for %s/var/lib/formwork" % self.root,
                      INSTALL["out"])

    def test_serves_the_sample_forms_from_its_own_files(self):
        # The server's start line names the files it found by itself.
        self.assertIn("formwork: database %s/var/lib/formwork/formwork.db, "
                      "forms from %s/etc/formwork/forms" % (self.root,
                                                            self.root),
                      self.srv.read_log())
        r = request(self.srv.url, "GET", "/")
        self.assertEqual(r.status, 200, r)
        links = {a.get("href") for a in r.doc.find_all("a")}
        self.assertTrue({"/f/contact", "/f/signup"} <= links, links)
        r = request(self.srv.url, "GET", "/assets/style.css")
        self.assertEqual(r.status, 200, r)

        form = Form(request(self.srv.url, "GET", "/f/contact"))
        body = dict(CONTACT, message="Sent to the installed Formwork.",
                    **form.tokens())
        r = request(self.srv.url, "POST", "/f/contact", urlencode(body),
                    {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 303, r)
        result = request(self.srv.url, "GET", r.header("location"))
        self.assertEqual(result.status, 200, result)
        self.assertIn("your message has been received", result.text)
        st = os.stat(self.srv.db)
        self.assertEqual(pwd.getpwuid(st.st_uid).pw_name, "nobody")

    def test_installed_formworkctl_uses_the_same_database(self):
        ctl = os.path.join(self.root, "usr/bin/formworkctl")
        r = subprocess.run(
            as_nobody(["env", "-i", "PATH=/usr/bin:/bin", ctl, "user", "add",
                       DESK_USER, "--role", "reviewer"]),
            input=DESK_PW + "\n", capture_output=True, text=True, cwd="/",
            timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        login = request(self.srv.url, "GET", "/admin/login")
        self.assertEqual(login.status, 200, login)
        fields = {"username": DESK_USER, "password": DESK_PW,
                  "_csrf": login.doc.input_value("_csrf") or "",
                  "_key": login.doc.input_value("_key") or ""}
        r = request(self.srv.url, "POST", "/admin/login", urlencode(fields),
                    {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 303, r)
        cookie = re.match(r"fw_session=([^;]+)", r.header("set-cookie", ""))
        self.assertIsNotNone(cookie, r)
        desk = request(self.srv.url, "GET", "/admin",
                       headers={"Cookie": "fw_session=" + cookie.group(1)})
        self.assertEqual(desk.status, 200, desk)
        self.assertIn(DESK_USER, desk.text)

    def test_workers_run_as_nobody_without_privileges(self):
        nobody = pwd.getpwnam("nobody")
        parent = self.srv.proc.pid
        workers = [int(p) for p in read(
            "/proc/%d/task/%d/children" % (parent, parent)).split()]
        self.assertGreaterEqual(len(workers), 2, "workers 2 in the conf")
        ids = "%d\t%d\t%d\t%d"
        for pid in [parent] + workers:
            st = proc_status(pid)
            print("      pid %d (%s): Uid %s, Gid %s, Groups '%s', CapEff %s, "
                  "NoNewPrivs %s, Seccomp %s" % (
                      pid, st["Name"], st["Uid"], st["Gid"], st["Groups"],
                      st["CapEff"], st["NoNewPrivs"], st["Seccomp"]),
                  flush=True)
            self.assertEqual(st["Uid"], ids % ((nobody.pw_uid,) * 4))
            self.assertEqual(st["Gid"], ids % ((nobody.pw_gid,) * 4))
            self.assertEqual(st["Groups"], "")
            self.assertEqual(int(st["CapEff"], 16), 0)
            self.assertEqual(int(st["CapPrm"], 16), 0)
            if pid != parent:
                # Kore's seccomp filter, which sets no_new_privs.
                self.assertEqual(st["Seccomp"], "2")
                self.assertEqual(st["NoNewPrivs"], "1")
        # A process with a worker's credentials, as /proc shows them.
        st = proc_status(workers[0])
        r = subprocess.run(
            as_nobody(["cat", "/etc/shadow"], uid=st["Uid"].split()[0],
                      gid=st["Gid"].split()[0]),
            capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("Permission denied", r.stderr)
        self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    sys.exit(harness.run(sys.modules[__name__], "deploy tests", SERVERS))
