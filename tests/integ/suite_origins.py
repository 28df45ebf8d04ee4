#!/usr/bin/python3
"""
suite_origins.py: black-box tests of posting from the owner's own pages
(SPEC section 10): allowed origins and CORS, posts without a form token,
repeats recognised by their content (and a race of identical posts),
_next and redirect (open-redirect attempts), JSON mode on /f/{slug},
reserved fields, spam checks on every path, and the optional challenge
against a local fake siteverify server.

Every test drives a real Kore server over HTTP (see server.py); the
database is only read, with the sqlite3 CLI. Servers used:

  main       FORMWORK_MIN_FILL_MS=0, FORMWORK_RATE_LIMIT=0,
             FORMWORK_TRUST_PROXY=1 (so a test can be another client
             through X-Forwarded-For); the shipped forms plus
             "site" (listed origins, subject allowed, spam rules),
             "notify" (listed, an email action to the outbox) and
             "landing" (listed, a redirect)
  ratelimit  the same forms, FORMWORK_RATE_LIMIT=2
  captcha    "human" (Turnstile) and "hhuman" (hCaptcha), listed, with
             FORMWORK_CAPTCHA_VERIFY_URL pointing at a FakeVerifier
             (siteverify.py) in this process
  deadverify the same forms, the verify URL a port nothing listens on

plus short-lived servers for the start-up refusals. At the end every
server is stopped and its log is searched for sandbox violations,
workers gone and sanitizer reports; each finding is a failure. The last
line is "N passed, N failed"; the exit status is 1 on any failure.

Usage: /usr/bin/python3 tests/integ/suite_origins.py [--so PATH] [-k PATTERN]
"""

import email
import glob
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import FORM_CT, get_form, looks_like_page, request, urlencode  # noqa: E402
import harness  # noqa: E402
from harness import fire_together, form_def, mail, multipart, uniq, write_forms  # noqa: E402
import server as srvmod  # noqa: E402
from server import Server, sql_quote  # noqa: E402
from siteverify import FakeVerifier  # noqa: E402

OWNER = "http://owner.test:9000"        # a listed origin
SHOP = "https://shop.example"           # another listed origin
EVIL = "http://evil.test:9000"          # never listed
SECRET = "captcha-secret-for-tests"
ID_PATH = re.compile(r"^/s/([A-Za-z0-9_-]{22})$")
API_LOC = re.compile(r"^/api/submissions/([A-Za-z0-9_-]{22})$")
JSON_CT = {"Content-Type": "application/json"}
ACCEPT_JSON = {"Accept": "application/json"}
CORS_HEADERS = ("access-control-allow-origin", "access-control-allow-methods",
                "access-control-allow-headers", "access-control-max-age",
                "access-control-expose-headers",
                "access-control-allow-credentials")


# ---- forms and servers ----------------------------------------------------------

def listed(slug, actions=(), **keys):
    f = form_def(slug, list(actions))
    f["fields"].append({"name": "email", "type": "email", "label": "Email"})
    f["allowed_origins"] = [OWNER + "/", SHOP]
    f.update(keys)
    return f


FORMS = [
    listed("site", allow_subject=True,
           spam={"max_links": 2, "blocked_words": ["casino", "Cheap Pills"]}),
    listed("notify", [mail("owner@example.com", "New note")]),
    listed("landing", redirect=OWNER + "/landed.html"),
]
CAPTCHA_FORMS = [
    listed("human", captcha={"provider": "turnstile",
                             "site_key": "1x00000000000000000000AA"}),
    listed("hhuman", captcha={"provider": "hcaptcha", "site_key":
                              "10000000-ffff-ffff-ffff-000000000001"}),
]
BASE_ENV = {"FORMWORK_MIN_FILL_MS": "0", "FORMWORK_RATE_LIMIT": "0",
            "FORMWORK_TRUST_PROXY": "1"}
HELPERS = []
EXTRA_SERVERS = []
VERIFIER = []


def start(name):
    env = dict(BASE_ENV)
    if name == "ratelimit":
        env["FORMWORK_RATE_LIMIT"] = "2"
    if name in ("captcha", "deadverify"):
        forms = write_forms(name, CAPTCHA_FORMS)
        env["FORMWORK_CAPTCHA_SECRET"] = SECRET
        if name == "captcha":
            v = FakeVerifier(SECRET).start()
            HELPERS.append(v)
            VERIFIER.append(v)
            env["FORMWORK_CAPTCHA_VERIFY_URL"] = v.url
        else:
            env["FORMWORK_CAPTCHA_VERIFY_URL"] = \
                "http://127.0.0.1:%d/siteverify" % srvmod.free_port()
    else:
        forms = write_forms(name, FORMS)
    s = Server(name, env=env, forms_dir=forms)
    s.extra_env["FORMWORK_OUTBOX"] = os.path.join(s.dir, "outbox")
    return s.start()


SERVERS = harness.Servers(start)


def values(marker, **over):
    v = {"name": "Ada " + marker, "note": "Hello from my own site.",
         "email": "ada@example.com"}
    v.update(over)
    return v


class Base(harness.TestCase):
    servers = SERVERS

    # requests
    def post(self, slug, fields, headers=None, path=None):
        """An urlencoded POST to /f/slug (or path) with headers."""
        h = dict(FORM_CT)
        h.update(headers or {})
        body = fields if isinstance(fields, (str, bytes)) else \
            urlencode(fields)
        return request(self.base, "POST", path or "/f/%s" % slug, body, h)

    def from_owner(self, slug, fields, origin=OWNER, **extra):
        """A keyless POST as a browser sends it from a page at origin."""
        h = {"Origin": origin, "Sec-Fetch-Site": "cross-site"}
        h.update(extra)
        return self.post(slug, fields, h)

    def json_post(self, slug, payload, headers=None, api=False):
        """A JSON POST to /f/slug in JSON mode, or to the API."""
        h = dict(JSON_CT)
        if not api:
            h.update(ACCEPT_JSON)
        h.update(headers or {})
        path = "/api/forms/%s/submissions" % slug if api else "/f/%s" % slug
        return request(self.base, "POST", path, json.dumps(payload), h)

    # the store
    def rows(self, marker, form=None):
        where = "data like %s" % sql_quote("%" + marker + "%")
        if form:
            where += " and form = %s" % sql_quote(form)
        return self.srv.count(where)

    def row(self, marker):
        """(id, data, spam, review, subject, reply_to) of marker's row."""
        out = self.srv.sql(
            "select id, data, spam, review, coalesce(subject, '<null>'), "
            "coalesce(reply_to, '<null>') from submissions where data like "
            + sql_quote("%" + marker + "%"))
        self.assertEqual(len(out), 1, "rows for %s: %r" % (marker, out))
        sid, data, spam, review, subject, reply_to = out[0].split("|", 5)
        return sid, json.loads(data), int(spam), review, subject, reply_to

    def jobs_of(self, sid):
        return int(self.srv.sql("select count(*) from jobs where "
                                "submission_id = " + sql_quote(sid))[0])

    # assertions
    def assertCors(self, resp, origin=OWNER):
        """The answer to a listed origin: Allow-Origin, Vary: Origin,
        Expose-Headers: Location."""
        self.assertEqual(resp.header("access-control-allow-origin"), origin,
                         resp.header_list)
        vary = [v.strip().lower() for k, v in resp.header_list
                if k.lower() == "vary" for v in v.split(",")]
        self.assertIn("origin", vary, "no Vary: Origin: %r" % resp.header_list)
        expose = resp.header("access-control-expose-headers", "")
        self.assertIn("location", expose.lower())

    def assertNoCors(self, resp):
        for k, _ in resp.header_list:
            self.assertNotIn(k.lower(), CORS_HEADERS,
                             "a CORS header for an unlisted origin: %r"
                             % resp.header_list)

    def assertResult(self, resp):
        """A 303 to /s/{id}; the id."""
        self.assertStatus(resp, 303)
        m = ID_PATH.match(resp.header("location") or "")
        self.assertIsNotNone(m, "Location %r" % resp.header("location"))
        return m.group(1)

    def assertCreated(self, resp, status=201):
        """A 201/202 with Location /api/submissions/{id}; the id."""
        self.assertStatus(resp, status)
        m = API_LOC.match(resp.header("location") or "")
        self.assertIsNotNone(m, "Location %r" % resp.header("location"))
        self.assertTrue(resp.header("content-type", "").startswith(
            "application/json"), resp.header("content-type"))
        body = json.loads(resp.body)
        self.assertEqual(body.get("id"), m.group(1), body)
        if status == 202:
            self.assertTrue(resp.header("retry-after"), "202 without "
                            "Retry-After")
        return m.group(1)

    def assertProblem(self, resp, status):
        self.assertStatus(resp, status)
        self.assertEqual(resp.header("content-type", "").split(";")[0],
                         "application/problem+json", resp.header_list)
        p = json.loads(resp.body)
        self.assertEqual(p.get("status"), status, p)
        self.assertTrue(p.get("title") and p.get("detail"), p)
        return p

    def assertPage(self, resp, status):
        self.assertStatus(resp, status)
        self.assertTrue(resp.header("content-type", "").startswith(
            "text/html"), resp.header("content-type"))
        self.assertTrue(looks_like_page(resp.text), resp.text[:300])


# ---- 1. preflights ----------------------------------------------------------------

class O01Preflight(Base):

    def preflight(self, path, origin, method="POST"):
        return request(self.base, "OPTIONS", path, None, {
            "Origin": origin, "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "content-type,accept"})

    def assertPreflightYes(self, r, origin):
        self.assertStatus(r, 204)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.header("access-control-allow-origin"), origin)
        self.assertIn("POST", r.header("access-control-allow-methods", ""))
        allowed = {h.strip().lower() for h in
                   r.header("access-control-allow-headers", "").split(",")}
        self.assertEqual(allowed, {"content-type", "accept",
                                   "idempotency-key"})
        self.assertGreaterEqual(int(r.header("access-control-max-age", "0")),
                                600)
        self.assertIn("origin", r.header("vary", "").lower())

    def test_listed_origin_gets_204_with_cors_on_the_form_route(self):
        self.assertPreflightYes(self.preflight("/f/site", OWNER), OWNER)
        self.assertPreflightYes(self.preflight("/f/site", SHOP), SHOP)

    def test_listed_origin_gets_204_with_cors_on_the_api_route(self):
        self.assertPreflightYes(
            self.preflight("/api/forms/site/submissions", OWNER), OWNER)

    def test_listed_origin_in_other_case_is_the_same_origin(self):
        r = self.preflight("/f/site", "HTTP://Owner.TEST:9000")
        self.assertPreflightYes(r, OWNER)

    def test_unlisted_origin_gets_no_cors_headers(self):
        for path in ("/f/site", "/api/forms/site/submissions"):
            for origin in (EVIL, "null", "http://owner.test:9001",
                           "https://owner.test:9000"):
                r = self.preflight(path, origin)
                self.assertStatus(r, 204, "%s from %s" % (path, origin))
                self.assertNoCors(r)

    def test_form_without_the_list_answers_options_as_before(self):
        for path in ("/f/contact", "/api/forms/contact/submissions"):
            r = self.preflight(path, OWNER)
            self.assertStatus(r, 405, path)
            self.assertTrue(r.header("allow"), "405 without Allow")
            self.assertNoCors(r)


# ---- 2. posts from a listed origin -------------------------------------------------

class O02ListedPost(Base):

    def test_keyless_post_from_listed_origin_is_303_to_the_result(self):
        m = uniq()
        r = self.from_owner("site", values(m))
        sid = self.assertResult(r)
        self.assertCors(r)
        self.assertEqual(self.rows(m, "site"), 1)
        got = self.get("/s/" + sid)
        self.assertStatus(got, 200)
        self.assertIn("Ada " + m, got.text)

    def test_second_listed_origin_is_accepted_too(self):
        m = uniq()
        r = self.from_owner("site", values(m), origin=SHOP)
        self.assertResult(r)
        self.assertCors(r, SHOP)
        self.assertEqual(self.rows(m), 1)

    def test_referer_without_origin_from_a_listed_page_is_accepted(self):
        m = uniq()
        r = self.post("site", values(m), {
            "Referer": OWNER + "/contact.html?from=menu"})
        self.assertResult(r)
        self.assertEqual(self.rows(m), 1)

    def test_referer_without_origin_from_another_site_is_403(self):
        m = uniq()
        r = self.post("site", values(m), {"Referer": EVIL + "/page.html"})
        self.assertPage(r, 403)
        self.assertNoCors(r)
        self.assertEqual(self.rows(m), 0)

    def test_unlisted_origin_is_403_without_cors_and_nothing_stored(self):
        m = uniq()
        for origin in (EVIL, "http://owner.test:9001", "https://owner.test:9000",
                       "http://sub.owner.test:9000"):
            r = self.from_owner("site", values(m), origin=origin)
            self.assertPage(r, 403)
            self.assertNoCors(r)
        self.assertEqual(self.rows(m), 0)

    def test_origin_null_is_403(self):
        m = uniq()
        r = self.from_owner("site", values(m), origin="null")
        self.assertPage(r, 403)
        self.assertNoCors(r)
        r = self.post("site", values(m), {"Origin": "null"})
        self.assertPage(r, 403)
        self.assertEqual(self.rows(m), 0)

    def test_origin_wins_over_a_listed_referer(self):
        m = uniq()
        r = self.post("site", values(m), {"Origin": EVIL,
                                          "Referer": OWNER + "/x.html"})
        self.assertPage(r, 403)
        self.assertEqual(self.rows(m), 0)

    def test_neither_header_and_no_token_is_403(self):
        m = uniq()
        r = self.post("site", values(m))
        self.assertPage(r, 403)
        self.assertNoCors(r)
        self.assertEqual(self.rows(m), 0)

    def test_own_form_page_still_posts_with_its_tokens(self):
        m = uniq()
        form = get_form(self.base, "site")
        fields = dict(form.tokens())
        fields.update(values(m))
        r = self.post("site", fields, {"Origin": self.base,
                                       "Sec-Fetch-Site": "same-origin"})
        self.assertResult(r)
        self.assertNoCors(r)
        self.assertEqual(self.srv.count("submit_key = %s"
                                        % sql_quote(form.key)), 1)

    def test_form_without_the_list_refuses_the_owner_origin(self):
        m = uniq()
        r = self.from_owner("contact", {"name": "Ada " + m, "email":
                                        "ada@example.com", "message":
                                        "Hello there, from elsewhere."})
        self.assertPage(r, 403)
        self.assertNoCors(r)
        self.assertEqual(self.rows(m), 0)

    def test_reserved_fields_are_not_stored_as_values(self):
        m = uniq()
        r = self.from_owner("site", values(
            m, _next=OWNER + "/thanks.html", _subject="Hello " + m,
            _replyto="reply@example.com", _gotcha="", _homepage="",
            _key="not-a-real-key", _csrf="nope"))
        self.assertStatus(r, 303)
        sid, data, spam, _, subject, reply_to = self.row(m)
        self.assertEqual(sorted(data), ["email", "name", "note"], data)
        self.assertNotIn("_", "".join(data))
        self.assertEqual(spam, 0)
        self.assertEqual(subject, "Hello " + m)
        self.assertEqual(reply_to, "reply@example.com")
        key = self.srv.sql("select submit_key from submissions where id = "
                           + sql_quote(sid))[0]
        self.assertNotEqual(key, "not-a-real-key")

    def test_subject_needs_allow_subject(self):
        m = uniq()
        r = self.from_owner("notify", values(m, _subject="Hi " + m,
                                             _replyto="not an address"))
        self.assertStatus(r, 303)
        _, data, _, _, subject, reply_to = self.row(m)
        self.assertEqual(subject, "<null>")
        self.assertEqual(reply_to, "<null>")
        self.assertNotIn("_subject", data)


# ---- 3. repeats recognised by their content ------------------------------------------

class O03Repeats(Base):

    def test_same_values_again_give_the_first_result_and_one_row(self):
        m = uniq()
        a = self.assertResult(self.from_owner("site", values(m)))
        b = self.assertResult(self.from_owner("site", values(m)))
        self.assertEqual(a, b)
        self.assertEqual(self.rows(m), 1)

    def test_repeat_with_next_lands_on_next_again(self):
        m = uniq()
        v = values(m, _next=OWNER + "/thanks.html")
        for _ in range(2):
            r = self.from_owner("site", v)
            self.assertStatus(r, 303)
            self.assertEqual(r.header("location"), OWNER + "/thanks.html")
        self.assertEqual(self.rows(m), 1)

    def test_other_values_are_another_submission(self):
        m = uniq()
        a = self.assertResult(self.from_owner("site", values(m)))
        b = self.assertResult(self.from_owner("site", values(m, note="Other.")))
        self.assertNotEqual(a, b)
        self.assertEqual(self.rows(m), 2)

    def test_another_client_is_another_submission(self):
        m = uniq()
        a = self.assertResult(self.from_owner(
            "site", values(m), **{"X-Forwarded-For": "192.0.2.10"}))
        b = self.assertResult(self.from_owner(
            "site", values(m), **{"X-Forwarded-For": "192.0.2.11"}))
        c = self.assertResult(self.from_owner(
            "site", values(m), **{"X-Forwarded-For": "192.0.2.10"}))
        self.assertNotEqual(a, b)
        self.assertEqual(a, c)
        self.assertEqual(self.rows(m), 2)

    def test_same_values_for_another_form_are_another_submission(self):
        m = uniq()
        self.assertResult(self.from_owner("site", values(m)))
        self.assertStatus(self.from_owner("notify", values(m)), 303)
        self.assertEqual(self.rows(m, "site"), 1)
        self.assertEqual(self.rows(m, "notify"), 1)

    def test_json_mode_repeat_answers_the_first_id(self):
        m = uniq()
        h = {"Origin": OWNER}
        a = self.assertCreated(self.json_post("site", values(m), h))
        b = self.assertCreated(self.json_post("site", values(m), h))
        self.assertEqual(a, b)
        self.assertEqual(self.rows(m), 1)

    def race(self, body, headers, n=24):
        res = fire_together(self.base, "/f/site", body, headers, n)
        errors = [r for r in res if r[0] == "error"]
        self.assertEqual(errors, [], errors)
        return res

    def assertRace(self, encode, headers, done, busy_type):
        """Rounds of identical keyless POSTs fired at once: each round
        answers done (one Location for all) or 409 (busy_type) and stores
        one row; over the rounds, both answers are seen."""
        seen = set()
        for _ in range(4):
            m = uniq()
            res = self.race(encode(values(m)), headers)
            statuses = {r[0] for r in res}
            self.assertTrue(statuses <= {done, 409}, statuses)
            self.assertIn(done, statuses)
            locations = {r[1] for r in res if r[0] == done}
            self.assertEqual(len(locations), 1, locations)
            for r in res:
                if r[0] == 409:
                    self.assertTrue(r[2].startswith(busy_type), r[2])
            self.assertEqual(self.rows(m), 1, "rows after a race")
            seen |= statuses
            if seen == {done, 409}:
                break
        self.assertEqual(seen, {done, 409}, "no 409 while the first was "
                         "being committed")

    def test_identical_posts_at_once_store_one_row(self):
        self.assertRace(urlencode, dict(FORM_CT, Origin=OWNER), 303,
                        "text/html")

    def test_identical_json_posts_at_once_store_one_row(self):
        self.assertRace(json.dumps, dict(JSON_CT, Origin=OWNER,
                                         **ACCEPT_JSON), 201,
                        "application/problem+json")


# ---- 4. _next and redirect ------------------------------------------------------------

class O04Next(Base):

    def test_next_on_a_listed_origin_is_303_there_after_the_commit(self):
        m = uniq()
        r = self.from_owner("site", values(m, _next=OWNER + "/thanks.html?a=1"))
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), OWNER + "/thanks.html?a=1")
        self.assertCors(r)
        self.assertEqual(self.rows(m), 1)

    def test_next_on_the_base_url_is_followed(self):
        m = uniq()
        r = self.from_owner("site", values(m, _next=self.base + "/"))
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), self.base + "/")

    def test_open_redirect_attempts_are_400_and_nothing_stored(self):
        m = uniq()
        attempts = [
            "https://evil.test/", EVIL + "/thanks.html",
            "http://owner.test:9001/thanks.html",   # another port
            "https://owner.test:9000/thanks.html",  # another scheme
            "http://sub.owner.test:9000/",
            "//evil.test/thanks.html", "/thanks.html", "thanks.html",
            "/\\evil.test/", "http://owner.test:9000@evil.test/",
            "http://evil.test\\@owner.test:9000/",
            "http://owner.test:9000\\.evil.test/",
            "javascript:alert(1)", "data:text/html,<script>x</script>",
            "http://owner.test:9000/\r\nSet-Cookie: x=1",
            "http://owner.test:9000/ space", "",
            "http://owner.test:9000/" + "a" * 2100,
        ]
        for i, nxt in enumerate(attempts):
            r = self.from_owner("site", values(m, note="try %d" % i,
                                               _next=nxt))
            self.assertPage(r, 400)
            self.assertIsNone(r.header("location"), nxt)
            self.assertIn("Nothing was saved", r.text)
        self.assertEqual(self.rows(m), 0)

    def test_next_on_formworks_own_form_is_checked_too(self):
        m = uniq()
        form = get_form(self.base, "contact")
        fields = dict(form.tokens(), name="Ada " + m, email="a@example.com",
                      message="Hello there, this is long enough.",
                      _next=EVIL + "/")
        r = self.post("contact", fields)
        self.assertPage(r, 400)
        self.assertEqual(self.rows(m), 0)
        fields["_next"] = self.base + "/"
        r = self.post("contact", fields)
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), self.base + "/")
        self.assertEqual(self.rows(m), 1)

    def test_redirect_key_sends_there_and_next_wins(self):
        m = uniq()
        r = self.from_owner("landing", values(m))
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), OWNER + "/landed.html")
        r = self.from_owner("landing", values(m, note="two",
                                              _next=SHOP + "/done"))
        self.assertStatus(r, 303)
        self.assertEqual(r.header("location"), SHOP + "/done")
        self.assertEqual(self.rows(m), 2)

    def test_json_mode_ignores_next(self):
        m = uniq()
        r = self.json_post("site", values(m, _next=EVIL + "/"),
                           {"Origin": OWNER})
        self.assertCreated(r)
        self.assertCors(r)
        self.assertEqual(self.rows(m), 1)

    def test_actions_still_run_after_a_next(self):
        m = uniq()
        r = self.from_owner("notify", values(m, _next=OWNER + "/t.html"))
        self.assertEqual(r.header("location"), OWNER + "/t.html")
        sid = self.row(m)[0]
        self.assertEqual(self.jobs_of(sid), 1)
        self.assertEqual(self.wait_done("/api/submissions/" + sid).status,
                         200)
        text = ""
        for path in glob.glob(os.path.join(self.srv.dir, "outbox", "*.eml")):
            with open(path, "rb") as f:
                msg = email.message_from_bytes(f.read())
            if msg["X-Formwork-Submission"] == sid:
                text = msg.get_payload(decode=True).decode("utf-8")
        self.assertIn("Ada " + m, text)
        self.assertNotIn("/t.html", text, "_next mailed as a value")

    def test_invalid_values_reshow_the_form_carrying_next(self):
        m = uniq()
        r = self.from_owner("site", {"name": "", "note": m,
                                     "_next": OWNER + "/thanks.html",
                                     "_subject": "About " + m})
        self.assertPage(r, 422)
        self.assertCors(r)
        doc = r.doc
        self.assertEqual(doc.input_value("_next"), OWNER + "/thanks.html")
        self.assertEqual(doc.input_value("_subject"), "About " + m)
        self.assertTrue(doc.input_value("_key"))
        # The re-shown page may send the visitor on to the owner's page.
        csp = r.header("content-security-policy", "")
        self.assertRegex(csp, r"form-action 'self' [^;]*%s" % re.escape(OWNER))
        self.assertEqual(self.rows(m), 0)


# ---- 5. JSON mode on /f/{slug} -------------------------------------------------------

class O05JsonMode(Base):

    def test_urlencoded_body_answers_201_with_location(self):
        m = uniq()
        r = self.post("site", values(m), dict(ACCEPT_JSON, Origin=OWNER))
        sid = self.assertCreated(r)
        self.assertCors(r)
        self.assertNoStore(r)
        self.assertEqual(self.row(m)[0], sid)

    def test_multipart_body_answers_201(self):
        m = uniq()
        body, ct = multipart(values(m))
        r = request(self.base, "POST", "/f/site", body, {
            "Content-Type": ct, "Accept": "application/json",
            "Origin": OWNER})
        self.assertCreated(r)
        self.assertEqual(self.rows(m), 1)

    def test_json_body_answers_201(self):
        m = uniq()
        r = self.json_post("site", values(m), {"Origin": OWNER})
        self.assertCreated(r)
        self.assertCors(r)
        self.assertEqual(self.rows(m), 1)

    def test_form_with_actions_answers_202_with_retry_after(self):
        m = uniq()
        r = self.json_post("notify", values(m), {"Origin": OWNER})
        sid = self.assertCreated(r, 202)
        self.assertCors(r)
        self.assertEqual(self.wait_done("/api/submissions/" + sid).status,
                         200)

    def test_invalid_fields_are_422_problem_json(self):
        m = uniq()
        r = self.json_post("site", {"name": "", "note": m, "email": "no"},
                           {"Origin": OWNER})
        p = self.assertProblem(r, 422)
        self.assertCors(r)
        self.assertEqual(sorted(e["field"] for e in p["errors"]),
                         ["email", "name"])
        self.assertEqual(self.rows(m), 0)

    def test_refusals_are_problem_json(self):
        m = uniq()
        r = self.json_post("site", values(m), {"Origin": EVIL})
        self.assertProblem(r, 403)
        self.assertNoCors(r)
        r = self.json_post("site", values(m))      # no origin, no token
        self.assertProblem(r, 403)
        r = request(self.base, "POST", "/f/site", "name=x", {
            "Content-Type": "text/plain", "Accept": "application/json",
            "Origin": OWNER})
        self.assertProblem(r, 415)
        self.assertCors(r)
        r = request(self.base, "POST", "/f/site", "{not json", dict(
            JSON_CT, Accept="application/json", Origin=OWNER))
        self.assertProblem(r, 400)
        r = self.json_post("site", values(m, other="x"), {"Origin": OWNER})
        self.assertProblem(r, 400)
        self.assertEqual(self.rows(m), 0)

    def test_json_body_without_json_mode_is_415_as_before(self):
        m = uniq()
        r = request(self.base, "POST", "/f/site", json.dumps(values(m)),
                    dict(JSON_CT, Origin=OWNER))
        self.assertPage(r, 415)
        self.assertEqual(self.rows(m), 0)

    def test_idempotency_key_replays_the_first_answer(self):
        m = uniq()
        h = {"Origin": OWNER, "Idempotency-Key": "k-" + m}
        a = self.assertCreated(self.json_post("site", values(m), h))
        b = self.assertCreated(self.json_post("site", values(m), h))
        self.assertEqual(a, b)
        p = self.assertProblem(self.json_post("site", values(m, note="x"), h),
                               422)
        self.assertIn("Idempotency-Key", p["title"])
        self.assertEqual(self.rows(m), 1)

    def test_own_page_tokens_work_in_json_mode(self):
        m = uniq()
        form = get_form(self.base, "contact")
        r = self.post("contact", dict(form.tokens(), name="Ada " + m,
                                      email="a@example.com", message="Hello "
                                      "there, from a script."),
                      ACCEPT_JSON)
        self.assertCreated(r)
        self.assertNoCors(r)
        self.assertEqual(self.rows(m), 1)


# ---- 6. the API and origins ---------------------------------------------------------

class O06Api(Base):

    def test_api_from_listed_origin_gets_cors(self):
        m = uniq()
        r = self.json_post("site", values(m), {"Origin": OWNER}, api=True)
        self.assertCreated(r)
        self.assertCors(r)

    def test_api_from_unlisted_origin_is_403_and_nothing_stored(self):
        m = uniq()
        for slug in ("site", "contact"):
            for origin in (EVIL, "null"):
                r = self.json_post(slug, values(m), {"Origin": origin},
                                   api=True)
                self.assertProblem(r, 403)
                self.assertNoCors(r)
        self.assertEqual(self.rows(m), 0)

    def test_api_without_origin_works_as_before(self):
        m = uniq()
        r = self.json_post("site", values(m), api=True)
        self.assertCreated(r)
        self.assertNoCors(r)
        r = self.json_post("contact", {"name": "Ada " + m, "email":
                                       "a@example.com", "message": "Hello "
                                       "there, from a program."}, api=True)
        self.assertCreated(r)
        self.assertEqual(self.rows(m), 2)

    def test_api_from_its_own_origin_works(self):
        m = uniq()
        r = self.json_post("site", values(m), {"Origin": self.base}, api=True)
        self.assertCreated(r)
        self.assertNoCors(r)


# ---- 7. spam on every path -----------------------------------------------------------

class O07Spam(Base):

    def via(self, path, slug, fields):
        """fields posted through the HTML form (path 0), JSON mode (1)
        or the API (2), from the owner's page."""
        if path == 0:
            return self.from_owner(slug, fields)
        return self.json_post(slug, fields, {"Origin": OWNER}, api=path == 2)

    def assertSpamEverywhere(self, slug, make):
        for i in range(3):
            m = uniq("s%d" % i)
            r = self.via(i, slug, make(m))
            self.assertIn(r.status, (201, 303), r)
            sid, _, spam, review, _, _ = self.row(m)
            self.assertEqual((spam, review), (1, "spam"), "path %d" % i)
            self.assertEqual(self.jobs_of(sid), 0, "a job for spam")

    def test_honeypot_is_spam_on_every_path(self):
        self.assertSpamEverywhere("notify", lambda m: values(
            m, _homepage="http://spam.example"))

    def test_gotcha_is_spam_on_every_path(self):
        self.assertSpamEverywhere("notify", lambda m: values(m, _gotcha="x"))

    def test_too_many_links_are_spam_on_every_path(self):
        self.assertSpamEverywhere("site", lambda m: values(
            m, email="x@example.com", note="http://a.example, see "
            "https://b.example and HTTPS://c.example"))

    def test_blocked_word_is_spam_on_every_path(self):
        self.assertSpamEverywhere("site", lambda m: values(
            m, note="Best CASINO bonus"))
        self.assertSpamEverywhere("site", lambda m: values(
            m, note="buy cheap pills today"))

    def test_blocked_word_inside_another_word_is_not_spam(self):
        for i in range(3):
            m = uniq("n%d" % i)
            r = self.via(i, "site", values(m, note="The casinos of Essex, "
                                           "see https://a.example and "
                                           "https://b.example"))
            self.assertIn(r.status, (201, 303), r)
            self.assertEqual(self.row(m)[2], 0, "path %d" % i)

    def test_spam_repeat_is_still_one_row(self):
        m = uniq()
        a = self.assertResult(self.from_owner("site", values(m, _gotcha="y")))
        b = self.assertResult(self.from_owner("site", values(m, _gotcha="y")))
        self.assertEqual(a, b)
        self.assertEqual(self.rows(m), 1)


class O08RateLimit(Base):
    server_name = "ratelimit"

    def test_rate_limit_is_429_on_every_path(self):
        h = {"Origin": OWNER, "X-Forwarded-For": "198.51.100.%d"}
        for i, kind in enumerate(("html", "json", "api")):
            xff = {"X-Forwarded-For": h["X-Forwarded-For"] % (i + 1)}
            marks = [uniq("r%d" % i) for _ in range(3)]
            answers = []
            for m in marks:
                if kind == "html":
                    r = self.from_owner("site", values(m), **xff)
                else:
                    r = self.json_post("site", values(m), dict(
                        xff, Origin=OWNER), api=kind == "api")
                answers.append(r)
            self.assertEqual([a.status for a in answers[:2]],
                             [303, 303] if kind == "html" else [201, 201])
            last = answers[2]
            if kind == "html":
                self.assertPage(last, 429)
            else:
                self.assertProblem(last, 429)
            self.assertRegex(last.header("retry-after", ""), r"^\d+$")
            self.assertCors(last)
            self.assertEqual(self.rows(marks[2]), 0, kind)


# ---- 8. the challenge ------------------------------------------------------------------

class O09Captcha(Base):
    server_name = "captcha"

    @property
    def verifier(self):
        return VERIFIER[0]

    def test_form_page_shows_the_widget_and_allows_its_script_only(self):
        r = self.get("/f/human")
        self.assertStatus(r, 200)
        csp = r.header("content-security-policy")
        self.assertIn("script-src https://challenges.cloudflare.com", csp)
        self.assertIn("frame-src https://challenges.cloudflare.com", csp)
        self.assertRegex(csp, r"form-action 'self' %s" % re.escape(OWNER))
        self.assertNotIn("unsafe-inline", csp)
        self.assertIn('class="cf-turnstile" data-sitekey="1x00000000000000000000AA"',
                      r.text)
        self.assertIn('<script src="https://challenges.cloudflare.com/'
                      'turnstile/v0/api.js" async defer></script>', r.text)
        r = self.get("/f/hhuman")
        csp = r.header("content-security-policy")
        self.assertIn("script-src https://hcaptcha.com https://*.hcaptcha.com",
                      csp)
        self.assertIn("frame-src https://hcaptcha.com", csp)
        self.assertIn('class="h-captcha"', r.text)
        # Every other page keeps the strict policy.
        for path in ("/f/contact", "/", "/nope"):
            csp = self.get(path).header("content-security-policy")
            self.assertNotIn("script-src", csp, path)
            self.assertNotIn("hcaptcha", csp, path)
            self.assertNotIn("cloudflare", csp, path)

    def test_passed_challenge_stores_the_submission(self):
        m = uniq()
        tok = "pass-" + m
        r = self.from_owner("human", values(m, **{"cf-turnstile-response":
                                                  tok}),
                            **{"X-Forwarded-For": "203.0.113.7"})
        self.assertResult(r)
        _, data, spam, _, _, _ = self.row(m)
        self.assertEqual(spam, 0)
        self.assertNotIn("cf-turnstile-response", data)
        calls = self.verifier.calls_with(tok)
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["secret"], SECRET)
        self.assertEqual(calls[0]["remoteip"], "203.0.113.7")
        self.assertEqual(calls[0]["_content_type"],
                         "application/x-www-form-urlencoded")

    def test_hcaptcha_token_arrives_under_its_own_name(self):
        m = uniq()
        r = self.from_owner("hhuman", values(m, **{"h-captcha-response":
                                                   "pass-" + m}))
        self.assertResult(r)
        self.assertEqual(self.row(m)[2], 0)

    def test_failed_challenge_is_422_and_nothing_stored(self):
        m = uniq()
        r = self.from_owner("human", values(m, **{"cf-turnstile-response":
                                                  "fail-" + m}))
        self.assertPage(r, 422)
        self.assertCors(r)
        self.assertIn("did not succeed", r.text)
        self.assertIn('href="#f-captcha"', r.text)
        self.assertEqual(r.doc.input_value("name"), "Ada " + m)
        self.assertEqual(self.rows(m), 0)

    def test_missing_token_is_422_without_asking_the_verifier(self):
        m = uniq()
        r = self.from_owner("human", values(m))
        self.assertPage(r, 422)
        self.assertIn("Complete the check", r.text)
        r = self.json_post("human", values(m), {"Origin": OWNER})
        p = self.assertProblem(r, 422)
        self.assertEqual([e["field"] for e in p["errors"]],
                         ["cf-turnstile-response"])
        self.assertEqual(self.rows(m), 0)
        self.assertEqual([c for c in self.verifier.calls
                          if m in c.get("response", "")], [])

    def test_failed_challenge_on_the_api_is_422_problem(self):
        m = uniq()
        r = self.json_post("human", values(m, **{"cf-turnstile-response":
                                                 "fail-" + m}),
                           {"Origin": OWNER}, api=True)
        p = self.assertProblem(r, 422)
        self.assertEqual([e["field"] for e in p["errors"]],
                         ["cf-turnstile-response"])
        r = self.json_post("human", values(m, **{"cf-turnstile-response":
                                                 "pass-" + m}), api=True)
        self.assertCreated(r)
        self.assertEqual(self.row(m)[2], 0)

    def test_invalid_fields_come_before_the_challenge(self):
        m = uniq()
        tok = "pass-" + m
        r = self.from_owner("human", {"name": "", "note": m,
                                      "cf-turnstile-response": tok})
        self.assertPage(r, 422)
        self.assertEqual(self.verifier.calls_with(tok), [],
                         "the token was spent on invalid values")

    def test_double_click_with_one_token_stores_once(self):
        m = uniq()
        v = values(m, **{"cf-turnstile-response": "pass-" + m})
        a = self.assertResult(self.from_owner("human", v))
        # The provider refuses a token's second use: still the first.
        b = self.assertResult(self.from_owner("human", v))
        self.assertEqual(a, b)
        self.assertEqual(len(self.verifier.calls_with("pass-" + m)), 2)
        self.assertEqual(self.rows(m), 1)

    def assertStoredAsSpam(self, token_prefix):
        m = uniq()
        r = self.from_owner("human", values(
            m, **{"cf-turnstile-response": token_prefix + m}))
        self.assertResult(r)
        _, _, spam, review, _, _ = self.row(m)
        self.assertEqual((spam, review), (1, "spam"))

    def test_verifier_5xx_stores_as_spam(self):
        self.assertStoredAsSpam("5xx-")

    def test_verifier_answer_not_json_stores_as_spam(self):
        self.assertStoredAsSpam("html-")

    def test_verifier_refusing_the_secret_stores_as_spam(self):
        self.assertStoredAsSpam("secret-")

    def test_verifier_time_out_stores_as_spam(self):
        t0 = time.monotonic()
        self.assertStoredAsSpam("slow-")
        self.assertLess(time.monotonic() - t0, 7.5, "no time-out")

    def test_honeypot_is_spam_without_asking_the_verifier(self):
        m = uniq()
        tok = "pass-" + m
        r = self.from_owner("human", values(m, _gotcha="bot", **{
            "cf-turnstile-response": tok}))
        self.assertResult(r)
        self.assertEqual(self.row(m)[2], 1)
        self.assertEqual(self.verifier.calls_with(tok), [])

    def test_pages_stay_quick_while_a_verifier_is_slow(self):
        m = uniq()
        done = []
        t = threading.Thread(target=lambda: done.append(self.from_owner(
            "human", values(m, **{"cf-turnstile-response": "slow-" + m}))))
        t.start()
        time.sleep(0.3)
        for _ in range(5):
            t0 = time.monotonic()
            self.assertStatus(self.get("/f/contact"), 200)
            self.assertLess(time.monotonic() - t0, 1.0,
                            "the event loop waited for the verifier")
        t.join()
        self.assertEqual(done[0].status, 303)


class O10VerifierDown(Base):
    server_name = "deadverify"

    def test_unreachable_verifier_stores_as_spam(self):
        m = uniq()
        r = self.from_owner("human", values(
            m, **{"cf-turnstile-response": "pass-" + m}))
        self.assertResult(r)
        _, _, spam, review, _, _ = self.row(m)
        self.assertEqual((spam, review), (1, "spam"))
        r = self.json_post("human", values(
            uniq(), **{"cf-turnstile-response": "pass-x"}), {"Origin": OWNER})
        self.assertCreated(r)


# ---- 9. start-up refusals -----------------------------------------------------------------

class O11Startup(Base):

    def refused(self, name, forms, env=None):
        d = write_forms(name, forms)
        s = Server(name, env=env or {}, forms_dir=d)
        EXTRA_SERVERS.append(s)
        rc, serving, log = s.run_until_exit()
        self.assertFalse(serving, "served with %s" % name)
        self.assertIsNotNone(rc, "did not exit")
        return log

    def test_captcha_without_a_secret_stops_start_up(self):
        log = self.refused("nosecret", CAPTCHA_FORMS[:1])
        self.assertIn("human.json", log)
        self.assertIn("FORMWORK_CAPTCHA_SECRET", log)

    def test_redirect_to_an_unlisted_origin_stops_start_up(self):
        f = listed("away", redirect=EVIL + "/thanks.html")
        log = self.refused("badredirect", [f])
        self.assertIn("away.json", log)
        self.assertIn("'redirect' leads to " + EVIL, log)

    def test_wildcard_origin_stops_start_up(self):
        f = listed("star")
        f["allowed_origins"] = ["*"]
        log = self.refused("star", [f])
        self.assertIn("star.json", log)
        self.assertIn("allowed_origins[0]", log)

    def test_bad_verify_url_stops_start_up(self):
        log = self.refused("badurl", [], {"FORMWORK_CAPTCHA_VERIFY_URL":
                                          "ftp://x"})
        self.assertIn("FORMWORK_CAPTCHA_VERIFY_URL", log)


# ---- runner ---------------------------------------------------------------------------------

def main():
    return harness.run(sys.modules[__name__], "origin tests", SERVERS,
                       extra_servers=EXTRA_SERVERS, helpers=HELPERS)


if __name__ == "__main__":
    sys.exit(main())
