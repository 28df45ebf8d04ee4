#!/usr/bin/python3
"""
suite_desk.py: black-box tests of the admin review desk (SPEC section 7)
and of formworkctl (SPEC section 9).

Every test drives a real Kore server over HTTP (see server.py) and the
real ./formworkctl binary on that server's database; the database is
otherwise only read, except by the prune test, which ages one row.
Servers:

  main     FORMWORK_MIN_FILL_MS=0, FORMWORK_RATE_LIMIT=0, the shipped forms,
           FORMWORK_LOGIN_LIMIT=1000
  limited  FORMWORK_LOGIN_LIMIT=3 (failed sign-ins before 429)
  idle     FORMWORK_SESSION_IDLE=2 (seconds)
  export   FORMWORK_EXPORT_SYNC_MAX=2 (larger exports run in the background)

Users (password "correct horse battery" unless said otherwise) are made
with formworkctl on each server's database: ada (admin), rita (reviewer),
vic (viewer).

Usage: /usr/bin/python3 tests/integ/suite_desk.py [--so PATH] [-k PATTERN]
"""

import csv
import io
import os
import random
import re
import subprocess
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import FORM_CT, get_form, post_form, request, urlencode  # noqa
import harness  # noqa: E402
import server as srvmod  # noqa: E402
from server import Server  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CTL = os.path.join(ROOT, "formworkctl")
PW = "correct horse battery"
ID_RE = re.compile(r"^/s/([A-Za-z0-9_-]{22})$")

BASE_ENV = {"FORMWORK_MIN_FILL_MS": "0", "FORMWORK_RATE_LIMIT": "0"}
SERVER_SPECS = {
    # Tests here fail sign-ins on purpose: only "limited" locks accounts.
    "main": dict(BASE_ENV, FORMWORK_LOGIN_LIMIT="1000"),
    "limited": dict(BASE_ENV, FORMWORK_LOGIN_LIMIT="3"),
    "idle": dict(BASE_ENV, FORMWORK_SESSION_IDLE="2"),
    "export": dict(BASE_ENV, FORMWORK_EXPORT_SYNC_MAX="2"),
}
SERVERS = {}


def ctl(srv, *args, stdin=None):
    env = dict(os.environ, FORMWORK_DB=srv.db)
    return subprocess.run([CTL] + list(args), input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


def server(name):
    s = SERVERS.get(name)
    if s is None:
        s = Server(name, env=SERVER_SPECS[name])
        try:
            s.start()
            for user, role in (("ada", "admin"), ("rita", "reviewer"),
                               ("vic", "viewer")):
                r = ctl(s, "user", "add", user, "--role", role,
                        stdin=PW + "\n")
                if r.returncode != 0:
                    raise srvmod.StartError("formworkctl: " + r.stderr)
        except srvmod.StartError as e:
            print(str(e), flush=True)
            s = e
        SERVERS[name] = s
    if isinstance(s, Exception):
        raise AssertionError("the %s server did not start: %s" % (
            name, str(s).splitlines()[0]))
    return s


def signup_values(form):
    terms = form.resp.doc.find("input", name="terms")
    return {"email": uniq() + "@example.com", "name": "Grace",
            "plan": "free", "terms": terms.get("value", "on")}


def uniq(prefix="w"):
    return "%s%d%04d" % (prefix, int(time.time() * 1000),
                         random.randrange(10000))


class Desk:
    """One signed-in browser: its session cookie and the desk's token."""

    def __init__(self, base, user, password=PW):
        self.base = base
        self.cookie = None
        self.csrf = None
        self.login = self.sign_in(user, password)

    def sign_in(self, user, password, next_path=None):
        page = request(self.base, "GET", "/admin/login" + (
            "?next=" + urllib.parse.quote(next_path) if next_path else ""))
        fields = {"username": user, "password": password,
                  "_key": page.doc.input_value("_key"),
                  "_csrf": page.doc.input_value("_csrf"),
                  "next": page.doc.input_value("next")}
        r = request(self.base, "POST", "/admin/login", urlencode(fields),
                    FORM_CT)
        sc = r.header("set-cookie")
        if r.status == 303 and sc:
            self.cookie = sc.split(";")[0]
        return r

    def get(self, path):
        h = {"Cookie": self.cookie} if self.cookie else {}
        r = request(self.base, "GET", path, headers=h)
        if r.status == 200 and "text/html" in r.header("content-type", ""):
            token = r.doc.input_value("_csrf")
            if token:
                self.csrf = token
        return r

    def post(self, path, fields, csrf=True, headers=None):
        if csrf and self.csrf is None:
            self.get("/admin")
        pairs = list(fields.items()) if isinstance(fields, dict) else \
            list(fields)
        if csrf:
            pairs.append(("_csrf", self.csrf))
        h = dict(FORM_CT)
        if self.cookie:
            h["Cookie"] = self.cookie
        h.update(headers or {})
        return request(self.base, "POST", path, urlencode(pairs), h)


class Base(unittest.TestCase):
    server_name = "main"
    maxDiff = 2000

    def setUp(self):
        self.srv = server(self.server_name)
        self.base = self.srv.url

    def desk(self, user="ada"):
        d = Desk(self.base, user)
        self.assertEqual(d.login.status, 303, repr(d.login))
        return d

    def submit(self, slug="contact", **values):
        form = get_form(self.base, slug)
        v = {"name": "Ada Lovelace", "email": "ada@example.com",
             "topic": "general",
             "message": "Hello, this is a perfectly ordinary message."}
        if slug == "signup":
            v = signup_values(form)
        v.update(values)
        fields = dict(form.tokens())
        fields.update(v)
        r = post_form(self.base, slug, fields)
        self.assertEqual(r.status, 303, repr(r))
        return ID_RE.match(r.header("location")).group(1)

    def assertStatus(self, r, status):
        self.assertEqual(r.status, status, repr(r))

    def review_of(self, sid):
        return self.srv.sql("select review from submissions where id = '%s'"
                            % sid)[0]

    def list_ids(self, d, query=""):
        r = d.get("/admin" + query)
        self.assertStatus(r, 200)
        return [tr.get("data-id") for tr in r.doc.find_all("tr")
                if tr.get("data-id")], r


class T01SignIn(Base):

    def test_login_page_is_no_store_with_tokens(self):
        r = request(self.base, "GET", "/admin/login")
        self.assertStatus(r, 200)
        self.assertEqual(r.header("cache-control"), "no-store")
        for name in ("username", "password", "_csrf", "_key", "next"):
            self.assertIsNotNone(r.doc.find("input", name=name), name)

    def test_session_cookie_is_random_httponly_samesite(self):
        d = self.desk()
        sc = d.login.header("set-cookie")
        self.assertRegex(sc, r"^fw_session=[0-9a-f]{64}; ")
        for attr in ("HttpOnly", "SameSite=Strict", "Path=/admin"):
            self.assertIn(attr, sc)
        self.assertNotIn("Secure", sc)     # plain HTTP on loopback
        self.assertNotEqual(self.desk().cookie, d.cookie)

    def test_wrong_password_and_unknown_user_answer_alike(self):
        a = Desk(self.base, "ada", "wrong password!").login
        b = Desk(self.base, "nobody" + uniq(), "wrong password!").login
        self.assertStatus(a, 401)
        self.assertStatus(b, 401)
        self.assertIsNone(a.header("set-cookie"))
        self.assertIsNone(b.header("set-cookie"))
        msg = "Wrong username or password"
        self.assertIn(msg, a.text)
        self.assertIn(msg, b.text)
        self.assertNotIn("nobody", a.text.replace("value=\"ada\"", ""))

    def test_unknown_user_takes_as_long_as_a_wrong_password(self):
        def took(user):
            t = time.monotonic()
            Desk(self.base, user, "wrong password!")
            return time.monotonic() - t
        known = sorted(took("ada") for _ in range(5))[2]
        unknown = sorted(took("ghost" + uniq()) for _ in range(5))[2]
        # Both run one argon2id check (the unknown name against a decoy):
        # a name lookup alone would answer in about a millisecond. The
        # bound is loose because the machine may be busy.
        self.assertGreater(unknown, known / 3,
                           "known %.3f s, unknown %.3f s" % (known, unknown))
        self.assertGreater(known, unknown / 3,
                           "known %.3f s, unknown %.3f s" % (known, unknown))

    def test_not_signed_in_goes_to_login_and_comes_back(self):
        r = request(self.base, "GET", "/admin?review=new")
        self.assertStatus(r, 303)
        loc = r.header("location")
        self.assertTrue(loc.startswith("/admin/login?next="), loc)
        nxt = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["next"]
        self.assertEqual(nxt, ["/admin?review=new"])
        d = Desk(self.base, "ada")
        r = d.sign_in("ada", PW, next_path=nxt[0])
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), "/admin?review=new")

    def test_next_cannot_leave_the_desk(self):
        d = Desk(self.base, "ada")
        r = d.sign_in("ada", PW, next_path="//evil.example/admin")
        self.assertEqual(r.header("location"), "/admin")
        r = d.sign_in("ada", PW, next_path="https://evil.example/")
        self.assertEqual(r.header("location"), "/admin")

    def test_post_without_session_goes_to_login(self):
        r = request(self.base, "POST", "/admin/bulk", "state=spam", FORM_CT)
        self.assertStatus(r, 303)
        self.assertTrue(r.header("location").startswith("/admin/login"))

    def test_forged_login_token_is_403(self):
        page = request(self.base, "GET", "/admin/login")
        r = request(self.base, "POST", "/admin/login", urlencode({
            "username": "ada", "password": PW,
            "_key": page.doc.input_value("_key"), "_csrf": "1.forged"}),
            FORM_CT)
        self.assertStatus(r, 403)
        self.assertIsNone(r.header("set-cookie"))

    def test_logout_revokes_the_session(self):
        d = self.desk()
        self.assertStatus(d.get("/admin"), 200)
        old = d.cookie
        r = d.post("/admin/logout", {})
        self.assertStatus(r, 303)
        self.assertIn("Max-Age=0", r.header("set-cookie"))
        d.cookie = old          # a copy of the cookie kept somewhere
        r = d.get("/admin")
        self.assertStatus(r, 303)
        self.assertTrue(r.header("location").startswith("/admin/login"))

    def test_every_desk_page_is_no_store(self):
        d = self.desk()
        sid = self.submit()
        for path in ("/admin", "/admin/s/" + sid, "/admin/audit",
                     "/admin/users"):
            r = d.get(path)
            self.assertStatus(r, 200)
            self.assertEqual(r.header("cache-control"), "no-store", path)
            self.assertIn("frame-ancestors 'none'",
                          r.header("content-security-policy"))


class T02Limits(Base):
    server_name = "limited"

    def test_failed_logins_lock_the_account_with_429(self):
        for _ in range(3):
            self.assertStatus(Desk(self.base, "rita", "nope nope nope").login,
                              401)
        r = Desk(self.base, "rita", PW).login      # even the right one
        self.assertStatus(r, 429)
        self.assertGreater(int(r.header("retry-after")), 0)
        self.assertIsNone(r.header("set-cookie"))
        # Another account is not locked by rita's failures.
        self.assertStatus(Desk(self.base, "vic", PW).login, 303)


class T03Idle(Base):
    server_name = "idle"

    def test_idle_session_expires(self):
        d = self.desk()
        self.assertStatus(d.get("/admin"), 200)
        time.sleep(3)
        r = d.get("/admin")
        self.assertStatus(r, 303)
        self.assertTrue(r.header("location").startswith("/admin/login"))


class T04Roles(Base):

    def test_viewer_reads_but_cannot_change(self):
        sid = self.submit()
        v = self.desk("vic")
        self.assertStatus(v.get("/admin"), 200)
        self.assertStatus(v.get("/admin/s/" + sid), 200)
        self.assertStatus(v.post("/admin/s/%s/review" % sid,
                                 {"version": "1", "state": "approved"}), 403)
        self.assertStatus(v.post("/admin/bulk", [("ids", sid),
                                                 ("state", "spam")]), 403)
        self.assertEqual(self.review_of(sid), "new")

    def test_reviewer_reviews_but_cannot_delete_export_or_audit(self):
        sid = self.submit()
        r = self.desk("rita")
        self.assertStatus(r.post("/admin/s/%s/review" % sid,
                                 {"version": "1", "state": "approved"}), 303)
        self.assertStatus(r.post("/admin/s/%s/delete" % sid, {}), 403)
        self.assertStatus(r.post("/admin/s/%s/retry" % sid, {}), 403)
        self.assertStatus(r.post("/admin/export", {}), 403)
        forbidden = r.get("/admin/audit")
        self.assertStatus(forbidden, 403)
        self.assertIn("text/html", forbidden.header("content-type"))
        self.assertEqual(self.srv.count("id = '%s'" % sid), 1)

    def test_role_change_applies_on_next_page(self):
        name = "tmp" + uniq()[-8:]
        ctl(self.srv, "user", "add", name, "--role", "viewer",
            stdin=PW + "\n")
        d = self.desk(name)
        self.assertStatus(d.get("/admin/audit"), 403)
        self.assertEqual(ctl(self.srv, "user", "role", name,
                             "admin").returncode, 0)
        self.assertStatus(d.get("/admin/audit"), 200)

    def test_csrf_token_required_for_changes(self):
        sid = self.submit()
        d = self.desk()
        r = d.post("/admin/s/%s/review" % sid, {"version": "1",
                                                "state": "rejected"},
                   csrf=False)
        self.assertStatus(r, 403)
        r = d.post("/admin/s/%s/review" % sid,
                   [("version", "1"), ("state", "rejected"),
                    ("_csrf", "0.forged")], csrf=False)
        self.assertStatus(r, 403)
        self.assertEqual(self.review_of(sid), "new")


class T05Review(Base):

    def test_review_is_303_and_shows_in_history(self):
        sid = self.submit()
        d = self.desk("rita")
        page = d.get("/admin/s/" + sid)
        self.assertEqual(page.header("etag"), '"v1"')
        self.assertEqual(page.doc.input_value("version"), "1")
        r = d.post("/admin/s/%s/review" % sid, {
            "version": "1", "state": "approved", "note": "checked <b>ok</b>"})
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), "/admin/s/" + sid)
        page = d.get("/admin/s/" + sid)
        self.assertEqual(page.header("etag"), '"v2"')
        self.assertIn("checked &lt;b&gt;ok&lt;/b&gt;", page.text)
        self.assertIn("<strong>rita</strong> set", page.text)
        self.assertEqual(self.review_of(sid), "approved")

    def test_stale_review_is_409_showing_who_changed_it(self):
        sid = self.submit()
        ada, rita = self.desk("ada"), self.desk("rita")
        ada.get("/admin/s/" + sid)
        rita.get("/admin/s/" + sid)
        self.assertStatus(rita.post("/admin/s/%s/review" % sid, {
            "version": "1", "state": "rejected", "note": "no"}), 303)
        r = ada.post("/admin/s/%s/review" % sid, {
            "version": "1", "state": "approved", "note": "yes"})
        self.assertStatus(r, 409)
        self.assertIn("rita", r.text)
        self.assertIn('data-review="rejected"', r.text)
        self.assertEqual(self.review_of(sid), "rejected")

    def test_if_match_412_and_428(self):
        sid = self.submit()
        d = self.desk()
        r = d.post("/admin/s/%s/review" % sid, {"state": "spam"},
                   headers={"If-Match": '"v7"'})
        self.assertStatus(r, 412)
        r = d.post("/admin/s/%s/review" % sid, {"state": "spam"})
        self.assertStatus(r, 428)
        r = d.post("/admin/s/%s/review" % sid, {"state": "spam"},
                   headers={"If-Match": '"v1"'})
        self.assertStatus(r, 303)
        self.assertEqual(self.review_of(sid), "spam")

    def test_bad_state_is_422(self):
        sid = self.submit()
        r = self.desk().post("/admin/s/%s/review" % sid,
                             {"version": "1", "state": "maybe"})
        self.assertStatus(r, 422)

    def test_bulk_review(self):
        ids = [self.submit() for _ in range(3)]
        d = self.desk("rita")
        r = d.post("/admin/bulk", [("ids", ids[0]), ("ids", ids[1]),
                                   ("state", "rejected"), ("note", "bulk")])
        self.assertStatus(r, 303)
        self.assertEqual([self.review_of(i) for i in ids],
                         ["rejected", "rejected", "new"])

    def test_releasing_spam_runs_its_actions(self):
        form = get_form(self.base, "signup")
        fields = dict(form.tokens(), _homepage="http://spam.example",
                      **signup_values(form))
        r = post_form(self.base, "signup", fields)
        sid = ID_RE.match(r.header("location")).group(1)
        self.assertEqual(self.review_of(sid), "spam")
        jobs = "select count(*) from jobs where submission_id = '%s'" % sid
        self.assertEqual(self.srv.sql(jobs), ["0"])
        d = self.desk()
        self.assertStatus(d.post("/admin/s/%s/review" % sid,
                                 {"version": "1", "state": "approved"}), 303)
        self.assertEqual(self.srv.sql(jobs), ["1"])

    def test_delete_removes_everywhere(self):
        sid = self.submit()
        d = self.desk()
        r = d.post("/admin/s/%s/delete" % sid, {})
        self.assertStatus(r, 303)
        self.assertStatus(d.get("/admin/s/" + sid), 404)
        self.assertStatus(request(self.base, "GET", "/s/" + sid), 404)
        ids, _ = self.list_ids(d)
        self.assertNotIn(sid, ids)


class T06List(Base):

    def test_search_finds_a_word_in_any_field(self):
        word = uniq("zq")
        hit = self.submit(message="Please call me about " + word + " soon.")
        miss = self.submit()
        d = self.desk("vic")
        ids, _ = self.list_ids(d, "?q=" + word)
        self.assertEqual(ids, [hit])
        ids, _ = self.list_ids(d, "?q=" + urllib.parse.quote(
            "Ada " + word))        # every word must match
        self.assertEqual(ids, [hit])
        self.assertNotIn(miss, ids)
        ids, _ = self.list_ids(d, "?q=" + urllib.parse.quote('" OR *'))
        self.assertEqual(ids, [])   # no query syntax gets through

    def test_search_within_a_rare_review_state(self):
        word = uniq("rv")
        a = self.submit(message="Search and review " + word)
        b = self.submit(message="Search and review " + word)
        d = self.desk("rita")
        d.post("/admin/s/%s/review" % a, {"version": "1",
                                          "state": "approved"})
        ids, _ = self.list_ids(d, "?review=approved&q=" + word)
        self.assertEqual(ids, [a])
        ids, _ = self.list_ids(d, "?review=new&q=" + word)
        self.assertEqual(ids, [b])

    def test_filters_by_form_review_and_day(self):
        c = self.submit()
        s = self.submit("signup")
        d = self.desk("rita")
        ids, _ = self.list_ids(d, "?form=signup")
        self.assertIn(s, ids)
        self.assertNotIn(c, ids)
        d.post("/admin/s/%s/review" % c, {"version": "1",
                                          "state": "approved"})
        ids, _ = self.list_ids(d, "?review=approved")
        self.assertIn(c, ids)
        self.assertNotIn(s, ids)
        today = time.strftime("%Y-%m-%d", time.gmtime())
        tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() +
                                                          86400))
        ids, _ = self.list_ids(d, "?from=%s&to=%s" % (today, today))
        self.assertIn(c, ids)
        ids, _ = self.list_ids(d, "?from=" + tomorrow)
        self.assertEqual(ids, [])
        ids, _ = self.list_ids(d, "?actions=pending&form=contact")
        self.assertNotIn(c, ids)    # contact runs no actions

    def test_bad_filters_are_400_pages(self):
        d = self.desk("vic")
        for q in ("?review=bogus", "?form=nope", "?from=2026-02-31",
                  "?after=garbage", "?actions=sometimes"):
            r = d.get("/admin" + q)
            self.assertStatus(r, 400)
            self.assertIn("text/html", r.header("content-type"))

    def test_counts_per_state(self):
        d = self.desk("rita")
        _, page = self.list_ids(d)
        before = int(page.doc.find("span", **{"data-count": "rejected"})
                     .text)
        sid = self.submit()
        d.post("/admin/s/%s/review" % sid, {"version": "1",
                                            "state": "rejected"})
        _, page = self.list_ids(d)
        after = int(page.doc.find("span", **{"data-count": "rejected"})
                    .text)
        self.assertEqual(after, before + 1)

    def test_keyset_pages_cover_every_row_once_newest_first(self):
        r = ctl(self.srv, "generate", "130", "--form", "contact")
        self.assertEqual(r.returncode, 0, r.stderr)
        d = self.desk("vic")
        seen, path, pages = [], "/admin?form=contact", 0
        while path:
            page = d.get(path)
            self.assertStatus(page, 200)
            rows = [tr.get("data-id") for tr in page.doc.find_all("tr")
                    if tr.get("data-id")]
            self.assertLessEqual(len(rows), 50)
            seen += rows
            nxt = page.doc.find("a", rel="next")
            path = nxt.get("href") if nxt is not None else None
            self.assertNotIn("offset", path or "")
            pages += 1
        total = int(self.srv.sql("select count(*) from submissions "
                                 "where form = 'contact'")[0])
        self.assertEqual(len(seen), total)
        self.assertEqual(len(set(seen)), total)
        order = self.srv.sql("select id from submissions where form = "
                             "'contact' order by created_at desc, id desc")
        self.assertEqual(seen, order)
        self.assertGreaterEqual(pages, 3)

    def test_values_are_escaped_on_list_and_detail(self):
        evil = "<script>alert(1)</script>"
        sid = self.submit(name=evil)
        d = self.desk("vic")
        for path in ("/admin", "/admin/s/" + sid):
            r = d.get(path)
            self.assertNotIn(evil, r.text, path)
            self.assertIn("&lt;script&gt;", r.text, path)


class T07Export(Base):

    def export(self, d, **filters):
        return d.post("/admin/export", filters)

    def test_csv_is_rfc4180_with_formulas_neutralised(self):
        word = uniq("xp")
        sid = self.submit(name="=HYPERLINK(\"http://evil\",\"x\")",
                          message="+1, with \"quotes\"\nand a line " + word)
        r = self.export(self.desk(), q=word)
        self.assertStatus(r, 200)
        self.assertTrue(r.header("content-type").startswith("text/csv"))
        self.assertIn("attachment", r.header("content-disposition"))
        self.assertTrue(r.body.endswith(b"\r\n"))
        rows = list(csv.reader(io.StringIO(r.text, newline="")))
        self.assertEqual(rows[0][:5], ["id", "form", "created_at",
                                       "review", "actions"])
        self.assertEqual(len(rows), 2)
        row = dict(zip(rows[0], rows[1]))
        self.assertEqual(row["id"], sid)
        self.assertEqual(row["name"], "'=HYPERLINK(\"http://evil\",\"x\")")
        self.assertEqual(row["message"],
                         "'+1, with \"quotes\"\nand a line " + word)
        self.assertEqual(row["email"], "ada@example.com")

    def test_export_is_audited(self):
        d = self.desk()
        self.assertStatus(self.export(d, q=uniq("none")), 200)
        page = d.get("/admin/audit")
        rows = page.doc.find_all("tr", **{"data-action": "export"})
        self.assertTrue(rows)
        self.assertIn("ada", rows[0].text)


class T08BackgroundExport(Base):
    server_name = "export"

    def test_large_export_runs_behind_202_then_downloads(self):
        word = uniq("bg")
        ids = {self.submit(message="Background export " + word)
               for _ in range(4)}
        d = self.desk()
        r = d.post("/admin/export", {"q": word})
        self.assertStatus(r, 303)
        loc = r.header("location")
        self.assertRegex(loc, r"^/admin/exports/[A-Za-z0-9_-]{22}$")
        for _ in range(100):
            page = d.get(loc)
            if page.status != 202:
                break
            self.assertTrue(page.header("refresh"))
            time.sleep(0.1)
        self.assertStatus(page, 200)
        link = page.doc.find("a", href=loc + ".csv")
        self.assertIsNotNone(link, page.text)
        f = d.get(loc + ".csv")
        self.assertStatus(f, 200)
        rows = list(csv.reader(io.StringIO(f.text, newline="")))
        self.assertEqual({row[0] for row in rows[1:]}, ids)


class T09Audit(Base):

    def test_review_retry_and_delete_are_in_the_audit_log(self):
        sid = self.submit()
        d = self.desk()
        d.post("/admin/s/%s/review" % sid, {"version": "1",
                                            "state": "approved"})
        d.post("/admin/s/%s/retry" % sid, {})
        d.post("/admin/s/%s/delete" % sid, {})
        page = d.get("/admin/audit")
        self.assertStatus(page, 200)
        got = {}
        for tr in page.doc.find_all("tr"):
            if tr.get("data-action") and sid in tr.text:
                got.setdefault(tr.get("data-action"), tr.text)
        self.assertEqual(set(got), {"review", "retry", "delete"})
        self.assertIn("approved", got["review"])
        self.assertIn("new", got["review"])
        self.assertIn("Ada Lovelace", got["delete"])   # what was deleted
        for text in got.values():
            self.assertIn("ada", text)

    def test_sign_in_and_out_are_audited(self):
        d = self.desk("rita")
        d.post("/admin/logout", {})
        page = self.desk().get("/admin/audit")
        actions = [tr.get("data-action") for tr in page.doc.find_all("tr")
                   if tr.get("data-action") and "rita" in tr.text]
        self.assertIn("login", actions)
        self.assertIn("logout", actions)


class T10Ctl(Base):

    def test_user_list_and_bad_input(self):
        r = ctl(self.srv, "user", "list")
        self.assertEqual(r.returncode, 0)
        lines = [l.split("\t") for l in r.stdout.splitlines()]
        self.assertIn(["ada", "admin"], [l[:2] for l in lines])
        self.assertEqual(ctl(self.srv, "user", "add", "ada", "--role",
                             "admin", stdin=PW + "\n").returncode, 1)
        self.assertEqual(ctl(self.srv, "user", "add", "bob", "--role",
                             "boss", stdin=PW + "\n").returncode, 2)
        r = ctl(self.srv, "user", "add", "shorty", "--role", "viewer",
                stdin="short\n")
        self.assertEqual(r.returncode, 1)
        self.assertIn("shorter", r.stderr)

    def test_passwd_and_del_end_sessions(self):
        name = "p" + uniq()[-8:]
        ctl(self.srv, "user", "add", name, "--role", "viewer",
            stdin=PW + "\n")
        d = self.desk(name)
        self.assertStatus(d.get("/admin"), 200)
        r = ctl(self.srv, "user", "passwd", name, stdin="another long one\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertStatus(d.get("/admin"), 303)
        self.assertStatus(Desk(self.base, name, PW).login, 401)
        d = Desk(self.base, name, "another long one")
        self.assertStatus(d.login, 303)
        self.assertEqual(ctl(self.srv, "user", "del", name).returncode, 0)
        self.assertStatus(d.get("/admin"), 303)

    def test_first_user_before_the_first_start(self):
        # A fresh clone has no var/ until the server starts once.
        db = os.path.join(self.srv.dir, "fresh", "var", "formwork.db")
        r = subprocess.run([CTL, "user", "add", "first", "--role", "admin"],
                           input=PW + "\n", capture_output=True, text=True,
                           env=dict(os.environ, FORMWORK_DB=db), timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(db))

    def test_prune_removes_old_submissions(self):
        sid = self.submit()
        self.srv.sql("update submissions set created_at = 1000 "
                     "where id = '%s'" % sid)
        r = ctl(self.srv, "prune", "--days", "30")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.srv.count("id = '%s'" % sid), 0)
        self.assertStatus(request(self.base, "GET", "/s/" + sid), 404)


if __name__ == "__main__":
    sys.exit(harness.run(sys.modules[__name__], "desk tests", SERVERS))
