#!/usr/bin/python3
"""
suite_api.py: black-box tests of Formwork's JSON API (SPEC section 5) and
of GET /metrics (SPEC section 8).

Every test drives a real Kore server over HTTP (see server.py); the
database is only read, with the sqlite3 CLI, to count what was stored.
Servers used (each with its own outbox directory, so e-mail actions
finish without SMTP):

  main       FORMWORK_MIN_FILL_MS=0, FORMWORK_RATE_LIMIT=0,
             FORMWORK_BODY_MAX=20000, the shipped forms
  typed      like main, with a forms directory that adds a form "typed"
             with integer, number, checkbox and multiple-checkbox fields
  ratelimit  FORMWORK_RATE_LIMIT=2
  slowsmtp   FORMWORK_SMTP_URL pointing at a small SMTP server in this
             process that waits 3 s before its greeting, so a signup's
             e-mail job stays pending long enough to be seen pending
  metrics    like main, used only by the /metrics tests, so the counters
             move only with the requests those tests make

They start on first use. At the end every server is stopped and its log
is searched for sandbox violations, workers gone and sanitizer reports;
each finding is a failure. The last line is "N passed, N failed"; the
exit status is 1 on any failure.

Usage: /usr/bin/python3 tests/integ/suite_api.py [--so PATH] [-k PATTERN]
"""

import json
import math
import os
import re
import socketserver
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from client import request, urlencode  # noqa: E402
import harness  # noqa: E402
from loopback import Loopback  # noqa: E402
from harness import contact_values, uniq, write_forms  # noqa: E402
import server as srvmod  # noqa: E402
from server import Server  # noqa: E402

LOC_RE = re.compile(r"^/api/submissions/([A-Za-z0-9_-]{22})$")
JSON_CT = {"Content-Type": "application/json"}
BODY_MAX = 20000

# ---- a slow SMTP server ---------------------------------------------------


class SlowSmtp(Loopback):
    """
    A minimal SMTP server on 127.0.0.1 (standard library only). Each
    connection waits `delay` seconds before the 220 greeting, then accepts
    whatever it is sent. messages: the DATA of each accepted message.
    """

    def __init__(self, delay=3.0):
        self.delay = delay
        self.messages = []
        self.connections = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 60

            def handle(self):
                with outer.lock:
                    outer.connections += 1
                time.sleep(outer.delay)
                w = self.wfile
                w.write(b"220 slow.test ESMTP\r\n")
                w.flush()
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    verb = line.strip().split(b" ")[0].upper()
                    if verb in (b"EHLO", b"HELO"):
                        w.write(b"250-slow.test\r\n250 8BITMIME\r\n")
                    elif verb == b"DATA":
                        w.write(b"354 go ahead\r\n")
                        w.flush()
                        data = []
                        while True:
                            l = self.rfile.readline()
                            if not l or l in (b".\r\n", b".\n"):
                                break
                            data.append(l)
                        with outer.lock:
                            outer.messages.append(b"".join(data))
                        w.write(b"250 queued\r\n")
                    elif verb == b"QUIT":
                        w.write(b"221 bye\r\n")
                        w.flush()
                        return
                    else:
                        # MAIL, RCPT, RSET, NOOP and the rest.
                        w.write(b"250 OK\r\n")
                    w.flush()

        class TCPServer(socketserver.ThreadingTCPServer):
            allow_reuse_address = True

        Loopback.__init__(self, TCPServer, Handler)

    @property
    def url(self):
        return "smtp://127.0.0.1:%d" % self.port


# ---- servers ------------------------------------------------------------

BASE_ENV = {"FORMWORK_MIN_FILL_MS": "0", "FORMWORK_RATE_LIMIT": "0"}
SERVER_SPECS = {
    "main": dict(BASE_ENV, FORMWORK_BODY_MAX=str(BODY_MAX)),
    "typed": dict(BASE_ENV),
    "ratelimit": {"FORMWORK_MIN_FILL_MS": "0", "FORMWORK_RATE_LIMIT": "2"},
    "slowsmtp": dict(BASE_ENV),
    "metrics": dict(BASE_ENV),
}
HELPERS = []        # things with stop(): the SMTP server

TYPED_FORM = {
    "slug": "typed",
    "title": "Typed values",
    "success_message": "Thanks.",
    "fields": [
        {"name": "age", "type": "integer", "label": "Age", "min": 0,
         "max": 150},
        {"name": "ratio", "type": "number", "label": "Ratio", "min": -10,
         "max": 10},
        {"name": "agree", "type": "checkbox", "label": "I agree",
         "required": True},
        {"name": "news", "type": "checkbox", "label": "Newsletter"},
        {"name": "colours", "type": "checkbox", "label": "Colours",
         "options": ["red", "green", "blue"]},
        {"name": "note", "type": "text", "label": "Note"},
    ],
    "actions": [],
}


def start(name):
    env = dict(SERVER_SPECS[name])
    forms = write_forms("typed", [TYPED_FORM]) if name == "typed" else None
    if name == "slowsmtp":
        smtp = SlowSmtp(delay=3.0).start()
        HELPERS.append(smtp)
        env["FORMWORK_SMTP_URL"] = smtp.url
    s = Server(name, env=env, forms_dir=forms)
    s.extra_env["FORMWORK_OUTBOX"] = os.path.join(s.dir, "outbox")
    if name == "slowsmtp":
        s.smtp = smtp
    return s.start()


SERVERS = harness.Servers(start)


# ---- values -------------------------------------------------------------

def signup_values(email, **over):
    v = {"email": email, "name": "Grace Hopper", "plan": "free",
         "terms": True}
    v.update(over)
    return v


def loads(resp):
    try:
        return json.loads(resp.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise AssertionError("not JSON (%s): %r" % (e, resp.body[:300]))


class Base(harness.TestCase):
    servers = SERVERS

    # requests
    def api_post(self, slug, payload, headers=None, ctype="application/json"):
        """payload: an object (sent as json.dumps), or str/bytes as is."""
        if not isinstance(payload, (str, bytes)):
            payload = json.dumps(payload)
        h = {}
        if ctype is not None:
            h["Content-Type"] = ctype
        h.update(headers or {})
        return request(self.base, "POST", "/api/forms/%s/submissions" % slug,
                       payload, h)

    # the store
    def marked(self, marker, form="contact"):
        """Submissions of form whose data holds marker (alphanumeric)."""
        self.assertRegex(marker, r"^[A-Za-z0-9]+$")
        return self.srv.count("form = %s and data like %s" % (
            srvmod.sql_quote(form), srvmod.sql_quote("%" + marker + "%")))

    def stored(self, sid):
        out = self.srv.sql("select data from submissions where id = %s"
                           % srvmod.sql_quote(sid))
        self.assertEqual(len(out), 1, "rows with id %s: %r" % (sid, out))
        return json.loads(out[0])

    # assertions
    def assertCreated(self, resp, status=201):
        """A 201/202 with a Location to /api/submissions/{id}; the id."""
        self.assertStatus(resp, status)
        loc = resp.header("location")
        self.assertIsNotNone(loc, "no Location")
        m = LOC_RE.match(urllib.parse.urlsplit(loc).path)
        self.assertIsNotNone(m, "Location %r" % loc)
        self.assertTrue(resp.header("content-type", "").startswith(
            "application/json"), "content-type %r"
            % resp.header("content-type"))
        self.assertNoStore(resp)
        body = loads(resp)
        self.assertEqual(body.get("id"), m.group(1), body)
        return m.group(1), body

    def assertProblem(self, resp, status):
        """An RFC 9457 problem of this status; returns it parsed."""
        self.assertStatus(resp, status)
        ct = resp.header("content-type", "")
        self.assertEqual(ct.split(";")[0].strip().lower(),
                         "application/problem+json",
                         "content-type %r" % ct)
        self.assertNoStore(resp)
        self.assertEqual(resp.header("x-content-type-options", "").lower(),
                         "nosniff")
        p = loads(resp)
        self.assertIsInstance(p, dict)
        for k in ("type", "title", "detail"):
            self.assertIsInstance(p.get(k), str, "%s in %r" % (k, p))
            self.assertTrue(p[k].strip(), "empty %s in %r" % (k, p))
        self.assertEqual(p.get("status"), status, p)
        self.assertIsNone(resp.header("location"),
                          "a problem with a Location")
        return p

    def assertFieldErrors(self, problem, fields):
        """problem's errors: exactly one entry for each name in fields."""
        errs = problem.get("errors")
        self.assertIsInstance(errs, list, "no errors list: %r" % problem)
        names = []
        for e in errs:
            self.assertIsInstance(e, dict, errs)
            self.assertIsInstance(e.get("field"), str, e)
            self.assertIsInstance(e.get("detail"), str, e)
            self.assertTrue(e["detail"].strip(), e)
            names.append(e["field"])
        self.assertEqual(sorted(names), sorted(fields), errs)

    def assertRetryAfter(self, resp):
        ra = resp.header("retry-after")
        self.assertTrue(ra, "no Retry-After: %r" % resp)
        self.assertRegex(ra.strip(), r"^\d+$|GMT$")


# ---- 1. creating a submission ---------------------------------------------

class A01Create(Base):

    def test_contact_is_201_with_location_json_body_and_row(self):
        marker = uniq()
        r = self.api_post("contact", contact_values(name="Api " + marker))
        sid, body = self.assertCreated(r, 201)
        self.assertEqual(body.get("status"), "done", body)
        self.assertIsNone(r.header("retry-after"), "Retry-After on a 201")
        self.assertEqual(self.srv.count("id = %s" % srvmod.sql_quote(sid)), 1)
        self.assertEqual(self.marked(marker), 1)
        self.assertEqual(self.stored(sid)["name"], "Api " + marker)

    def test_get_submission_is_200_with_values_and_no_actions(self):
        v = contact_values(name="Get " + uniq(), topic="sales")
        sid, _ = self.assertCreated(self.api_post("contact", v))
        r = self.get("/api/submissions/%s" % sid)
        self.assertStatus(r, 200)
        self.assertTrue(r.header("content-type", "").startswith(
            "application/json"), r.header("content-type"))
        self.assertNoStore(r)
        self.assertIsNone(r.header("retry-after"))
        body = loads(r)
        self.assertEqual(body.get("id"), sid)
        self.assertEqual(body.get("form"), "contact")
        self.assertEqual(body.get("status"), "done")
        self.assertEqual(body.get("values"), v)
        self.assertEqual(body.get("actions"), [])

    def test_head_submission_is_200_without_body(self):
        sid, _ = self.assertCreated(self.api_post("contact", contact_values()))
        r = request(self.base, "HEAD", "/api/submissions/%s" % sid)
        self.assertStatus(r, 200)
        self.assertEqual(r.body, b"")

    def test_content_type_with_charset_is_accepted(self):
        marker = uniq()
        r = self.api_post("contact", contact_values(name=marker),
                          ctype="application/json; charset=utf-8")
        self.assertCreated(r, 201)
        self.assertEqual(self.marked(marker), 1)

    def test_null_value_counts_as_absent(self):
        marker = uniq()
        r = self.api_post("contact", contact_values(name=marker, topic=None))
        sid, _ = self.assertCreated(r, 201)
        self.assertEqual(self.stored(sid)["topic"], "")

    def test_each_post_without_key_is_a_new_submission(self):
        marker = uniq()
        v = contact_values(name=marker)
        a, _ = self.assertCreated(self.api_post("contact", v))
        b, _ = self.assertCreated(self.api_post("contact", v))
        self.assertNotEqual(a, b)
        self.assertEqual(self.marked(marker), 2)


# ---- 2. queued actions -----------------------------------------------------

class A02Queued(Base):

    def test_signup_is_202_queued_then_200_done(self):
        email = "%s@example.com" % uniq("q")
        r = self.api_post("signup", signup_values(email))
        sid, body = self.assertCreated(r, 202)
        self.assertRetryAfter(r)
        self.assertEqual(body.get("status"), "queued", body)
        loc = urllib.parse.urlsplit(r.header("location")).path

        done = self.wait_done(loc)
        self.assertStatus(done, 200, "the e-mail job did not finish")
        self.assertIsNone(done.header("retry-after"))
        body = loads(done)
        self.assertEqual(body.get("id"), sid)
        self.assertEqual(body.get("form"), "signup")
        self.assertEqual(body.get("status"), "done", body)
        self.assertEqual(body["values"]["email"], email)
        acts = body.get("actions")
        self.assertIsInstance(acts, list, body)
        self.assertEqual(len(acts), 1, acts)
        self.assertEqual(acts[0].get("type"), "email", acts)
        self.assertEqual(acts[0].get("state"), "done", acts)
        self.assertEqual(acts[0].get("attempts"), 1, acts)
        outbox = os.path.join(self.srv.dir, "outbox")
        self.assertTrue(any(n.endswith(".eml") for n in os.listdir(outbox)),
                        "no message in %s" % outbox)


class A03Pending(Base):
    server_name = "slowsmtp"

    def test_pending_submission_is_202_with_retry_after_then_200(self):
        email = "%s@example.com" % uniq("p")
        sent = len(self.srv.smtp.messages)
        r = self.api_post("signup", signup_values(email))
        sid, body = self.assertCreated(r, 202)
        self.assertRetryAfter(r)
        self.assertEqual(body.get("status"), "queued", body)
        loc = urllib.parse.urlsplit(r.header("location")).path

        # The SMTP server answers only after 3 s: the job is pending.
        p = self.get(loc)
        self.assertStatus(p, 202)
        self.assertRetryAfter(p)
        self.assertNoStore(p)
        pb = loads(p)
        self.assertEqual(pb.get("id"), sid)
        self.assertIn(pb.get("status"), ("queued", "running"), pb)
        self.assertEqual(len(pb.get("actions", [])), 1, pb)
        self.assertIn(pb["actions"][0].get("state"), ("queued", "running"),
                      pb)

        done = self.wait_done(loc, timeout=40)
        self.assertStatus(done, 200, "the e-mail job did not finish")
        db = loads(done)
        self.assertEqual(db.get("status"), "done", db)
        self.assertEqual(db["actions"][0].get("state"), "done", db)
        self.assertEqual(len(self.srv.smtp.messages), sent + 1)


# ---- 3. Idempotency-Key ------------------------------------------------------

class A04Idempotency(Base):

    def test_same_key_same_payload_replays_first_answer_one_row(self):
        marker = uniq()
        key = "replay-" + marker
        v = contact_values(name=marker)
        r1 = self.api_post("contact", v, {"Idempotency-Key": key})
        sid, _ = self.assertCreated(r1, 201)
        r2 = self.api_post("contact", v, {"Idempotency-Key": key})
        sid2, _ = self.assertCreated(r2, 201)
        self.assertEqual(r2.header("location"), r1.header("location"))
        self.assertEqual(sid2, sid)
        self.assertEqual(self.marked(marker), 1)

    def test_replay_of_signup_is_2xx_same_location_and_no_second_job(self):
        email = "%s@example.com" % uniq("r")
        key = "signup-" + uniq()
        v = signup_values(email)
        r1 = self.api_post("signup", v, {"Idempotency-Key": key})
        sid, _ = self.assertCreated(r1, 202)
        r2 = self.api_post("signup", v, {"Idempotency-Key": key})
        self.assertIn(r2.status, (201, 202), r2)
        sid2, _ = self.assertCreated(r2, r2.status)
        self.assertEqual(sid2, sid)
        self.assertEqual(r2.header("location"), r1.header("location"))
        self.assertEqual(self.srv.count(
            "form = 'signup' and data like %s"
            % srvmod.sql_quote("%" + email + "%")), 1)
        jobs = self.srv.sql("select count(*) from jobs where submission_id "
                            "= %s" % srvmod.sql_quote(sid))
        self.assertEqual(jobs, ["1"], "jobs for one submission")

    def test_same_key_other_payload_is_422_problem(self):
        marker = uniq()
        key = "reuse-" + marker
        v = contact_values(name=marker)
        sid, _ = self.assertCreated(
            self.api_post("contact", v, {"Idempotency-Key": key}))
        other = uniq()
        r = self.api_post("contact", contact_values(name=other),
                          {"Idempotency-Key": key})
        self.assertProblem(r, 422)
        self.assertEqual(self.marked(other), 0)
        self.assertEqual(self.marked(marker), 1)
        # The first submission is untouched.
        self.assertEqual(loads(self.get("/api/submissions/%s" % sid))
                         ["values"]["name"], marker)

    def test_100_concurrent_posts_of_one_key_store_one_row(self):
        marker = uniq()
        body = json.dumps(contact_values(name="Burst " + marker))
        h = dict(JSON_CT, **{"Idempotency-Key": "burst-" + marker})
        results = harness.fire_together(self.base, "/api/forms/contact/submissions",
                                body, h, 100)
        statuses = {}
        for st, _, _, _ in results:
            statuses[st] = statuses.get(st, 0) + 1
        bad = [r for r in results if r[0] not in (201, 202, 409)]
        self.assertFalse(bad, "unexpected answers: %r; e.g. %r" % (
            statuses, bad[:3]))
        ok = [r for r in results if r[0] in (201, 202)]
        self.assertGreaterEqual(len(ok), 1, statuses)
        locs = {r[1] for r in ok}
        self.assertEqual(len(locs), 1, "2xx to different places: %r" % locs)
        self.assertRegex(urllib.parse.urlsplit(locs.pop()).path, LOC_RE)
        for st, loc, ct, data in results:
            if st == 409:
                self.assertIsNone(loc)
                self.assertEqual((ct or "").split(";")[0],
                                 "application/problem+json")
                self.assertEqual(json.loads(data)["status"], 409)
        self.assertEqual(self.marked(marker), 1)
        self.assertEqual(self.get("/healthz").status, 200)

    def test_key_of_255_characters_is_accepted(self):
        marker = uniq()
        key = (marker + "k" * 255)[:255]
        r = self.api_post("contact", contact_values(name=marker),
                          {"Idempotency-Key": key})
        self.assertCreated(r, 201)
        self.assertEqual(self.marked(marker), 1)

    def test_key_over_255_characters_is_400(self):
        marker = uniq()
        r = self.api_post("contact", contact_values(name=marker),
                          {"Idempotency-Key": "k" * 256})
        self.assertProblem(r, 400)
        self.assertEqual(self.marked(marker), 0)

    def test_key_with_a_space_is_400(self):
        marker = uniq()
        r = self.api_post("contact", contact_values(name=marker),
                          {"Idempotency-Key": "two words"})
        self.assertProblem(r, 400)
        self.assertEqual(self.marked(marker), 0)

    def test_key_with_non_ascii_bytes_is_400(self):
        marker = uniq()
        r = self.api_post("contact", contact_values(name=marker),
                          {"Idempotency-Key": "cl\xe9".encode("utf-8")})
        # Kore itself refuses header bytes above 0x7f with its own 400
        # page, before Formwork sees the request: only the status counts.
        self.assertStatus(r, 400)
        self.assertIsNone(r.header("location"))
        self.assertEqual(self.marked(marker), 0)


# ---- 4. validation ------------------------------------------------------------

class A05Validation(Base):

    def test_bad_fields_are_422_problem_with_one_entry_each(self):
        marker = uniq()
        r = self.api_post("contact", contact_values(
            name="", email="not-an-email", topic="nope", message=marker))
        p = self.assertProblem(r, 422)
        self.assertFieldErrors(p, ["name", "email", "topic"])
        self.assertEqual(self.marked(marker), 0)

    def test_missing_required_fields_are_422(self):
        before = self.srv.count()
        p = self.assertProblem(self.api_post("contact", {}), 422)
        self.assertFieldErrors(p, ["name", "email", "message"])
        self.assertEqual(self.srv.count(), before)

    def test_too_short_message_is_422_for_message_only(self):
        marker = uniq()
        p = self.assertProblem(self.api_post("contact", contact_values(
            name=marker, message="short")), 422)
        self.assertFieldErrors(p, ["message"])
        self.assertEqual(self.marked(marker), 0)

    def test_signup_with_terms_false_is_422_at_terms(self):
        email = "%s@example.com" % uniq("t")
        p = self.assertProblem(self.api_post(
            "signup", signup_values(email, terms=False)), 422)
        self.assertFieldErrors(p, ["terms"])
        self.assertEqual(self.srv.count(
            "data like %s" % srvmod.sql_quote("%" + email + "%")), 0)


class A06Unique(Base):

    def test_signup_same_email_twice_is_409_with_email_error(self):
        local = uniq("u")
        r1 = self.api_post("signup", signup_values(local + "@example.com"))
        self.assertCreated(r1, 202)
        r2 = self.api_post("signup", signup_values(
            local.upper() + "@EXAMPLE.com", name="Someone Else"))
        p = self.assertProblem(r2, 409)
        self.assertFieldErrors(p, ["email"])
        self.assertEqual(self.srv.count(
            "form = 'signup' and lower(data) like %s"
            % srvmod.sql_quote("%" + local.lower() + "%")), 1)


# ---- 5. what is refused before validation -----------------------------------------

class A07Refused(Base):

    def refused(self, status, body, ctype="application/json", headers=None,
                slug="contact"):
        before = self.srv.count()
        r = self.api_post(slug, body, headers, ctype=ctype)
        p = self.assertProblem(r, status)
        self.assertEqual(self.srv.count(), before)
        return r, p

    def test_text_plain_is_415(self):
        self.refused(415, contact_values(), ctype="text/plain")

    def test_form_urlencoded_is_415(self):
        self.refused(415, urlencode(contact_values()),
                     ctype="application/x-www-form-urlencoded")

    def test_no_content_type_is_415(self):
        self.refused(415, contact_values(), ctype=None)

    def test_json_lookalike_media_type_is_415(self):
        self.refused(415, contact_values(), ctype="application/jsonp")

    def test_malformed_json_is_400(self):
        self.refused(400, '{"name": "Ada", "email": ')

    def test_trailing_garbage_is_400(self):
        self.refused(400, json.dumps(contact_values()) + " x")

    def test_empty_body_is_400(self):
        self.refused(400, b"")

    def test_array_root_is_400(self):
        self.refused(400, json.dumps([contact_values()]))

    def test_string_root_is_400(self):
        self.refused(400, json.dumps("name"))

    def test_nested_object_is_400(self):
        self.refused(400, contact_values(name={"first": "Ada"}))

    def test_array_of_numbers_is_400(self):
        self.refused(400, contact_values(topic=[1, 2]))

    def test_unknown_field_is_400(self):
        self.refused(400, contact_values(nickname="ada"))

    def test_field_twice_is_400(self):
        body = json.dumps(contact_values())[:-1] + ', "name": "Other"}'
        self.refused(400, body)

    def test_body_at_body_max_is_accepted(self):
        marker = uniq()
        body = json.dumps(contact_values(name=marker))
        body = body[:-1] + " " * (BODY_MAX - len(body)) + "}"
        self.assertEqual(len(body), BODY_MAX)
        self.assertCreated(self.api_post("contact", body), 201)
        self.assertEqual(self.marked(marker), 1)

    def test_body_over_body_max_is_413(self):
        marker = uniq()
        body = json.dumps(contact_values(name=marker))
        body = body[:-1] + " " * (BODY_MAX + 1 - len(body)) + "}"
        self.assertEqual(len(body), BODY_MAX + 1)
        self.refused(413, body)
        self.assertEqual(self.marked(marker), 0)

    def test_one_megabyte_body_is_413(self):
        self.refused(413, contact_values(message="y" * (1 << 20)))
        self.assertEqual(self.get("/healthz").status, 200)

    def test_unknown_form_is_404_problem(self):
        self.refused(404, contact_values(), slug="no-such-form")

    def test_get_on_submit_url_is_405_with_allow(self):
        r = self.get("/api/forms/contact/submissions")
        self.assertProblem(r, 405)
        allow = [m.strip() for m in r.header("allow", "").split(",")]
        self.assertIn("POST", allow, r.header("allow"))
        self.assertNotIn("GET", allow)

    def test_post_on_submission_is_405_with_allow(self):
        sid, _ = self.assertCreated(self.api_post("contact", contact_values()))
        before = self.srv.count()
        r = request(self.base, "POST", "/api/submissions/%s" % sid,
                    json.dumps(contact_values()), JSON_CT)
        self.assertProblem(r, 405)
        allow = [m.strip() for m in r.header("allow", "").split(",")]
        self.assertIn("GET", allow, r.header("allow"))
        self.assertNotIn("POST", allow)
        self.assertEqual(self.srv.count(), before)

    def test_delete_on_submission_is_405(self):
        sid, _ = self.assertCreated(self.api_post("contact", contact_values()))
        r = request(self.base, "DELETE", "/api/submissions/%s" % sid)
        self.assertProblem(r, 405)
        self.assertEqual(self.srv.count("id = %s" % srvmod.sql_quote(sid)), 1)

    def test_unknown_submission_id_is_404_problem(self):
        self.assertProblem(self.get("/api/submissions/%s" % ("A" * 22)), 404)

    def test_malformed_submission_id_is_404_problem(self):
        for sid in ("abc", "A" * 23, "A" * 21 + "%21"):
            self.assertProblem(self.get("/api/submissions/" + sid), 404)


# ---- 6. \u escapes ---------------------------------------------------------------

class A08Unicode(Base):

    def test_escaped_unicode_quote_and_backslash_round_trip(self):
        marker = uniq()
        v = contact_values(
            name="Ren\u00e9e \u65e5\u672c \U0001F600 " + marker,
            message='She said "hi" \\ then left: caf\u00e9 \U0001F389\n'
                    "second line \u65e5\u672c\u8a9e \\\" \\u0041")
        body = json.dumps(v)    # ensure_ascii: \u00e9, \ud83d\ude00, ...
        for esc in ("\\u00e9", "\\u65e5", "\\ud83d\\ude00", '\\"', "\\\\",
                    "\\n"):
            self.assertIn(esc, body)
        self.assertNotIn("\u00e9", body)
        sid, _ = self.assertCreated(self.api_post("contact", body), 201)
        got = loads(self.get("/api/submissions/%s" % sid))["values"]
        self.assertEqual(got, v)
        self.assertEqual(self.stored(sid), v)

    def test_escaped_key_names_are_decoded(self):
        marker = uniq()
        body = json.dumps(contact_values(name=marker)).replace(
            '"message"', '"\\u006dessage"')
        self.assertIn("\\u006d", body)
        sid, _ = self.assertCreated(self.api_post("contact", body), 201)
        self.assertEqual(self.stored(sid)["message"],
                         contact_values()["message"])

    def lone(self, esc):
        marker = uniq()
        body = json.dumps(contact_values(name=marker))
        body = body.replace(marker, marker + esc)
        r = self.api_post("contact", body)
        self.assertProblem(r, 400)
        self.assertEqual(self.marked(marker), 0)

    def test_lone_high_surrogate_is_400(self):
        self.lone("\\ud800")

    def test_lone_low_surrogate_is_400(self):
        self.lone("\\udc00")

    def test_reversed_surrogate_pair_is_400(self):
        self.lone("\\ude00\\ud83d")

    def test_bad_hex_escape_is_400(self):
        self.lone("\\u12g4")

    def test_escaped_nul_is_refused(self):
        self.lone("\\u0000")

    def test_escaped_control_character_is_refused(self):
        self.lone("\\u0001")


# ---- 7. numbers and booleans (the "typed" form) ---------------------------------------

class A09Typed(Base):
    server_name = "typed"

    def typed(self, **over):
        v = {"agree": True, "note": uniq()}
        v.update(over)
        return v

    def ok(self, **over):
        v = self.typed(**over)
        sid, _ = self.assertCreated(self.api_post("typed", v), 201)
        return self.stored(sid)

    def invalid(self, fields, **over):
        v = self.typed(**over)
        p = self.assertProblem(self.api_post("typed", v), 422)
        self.assertFieldErrors(p, fields)
        self.assertEqual(self.marked(v["note"], form="typed"), 0)

    def test_integer_number_is_stored_as_text(self):
        d = self.ok(age=42)
        self.assertEqual(d["age"], "42")

    def test_integer_as_string_is_accepted(self):
        self.assertEqual(self.ok(age="42")["age"], "42")

    def test_integer_zero_and_max_are_accepted(self):
        self.assertEqual(self.ok(age=0)["age"], "0")
        self.assertEqual(self.ok(age=150)["age"], "150")

    def test_negative_integer_below_min_is_422(self):
        self.invalid(["age"], age=-7)

    def test_integer_above_max_is_422(self):
        self.invalid(["age"], age=151)

    def test_fraction_in_integer_field_is_422(self):
        self.invalid(["age"], age=2.5)

    def test_exponent_integer_value_is_accepted(self):
        body = json.dumps(self.typed(age=0)).replace('"age": 0',
                                                     '"age": 1e2')
        self.assertIn("1e2", body)
        sid, _ = self.assertCreated(self.api_post("typed", body), 201)
        self.assertEqual(float(self.stored(sid)["age"]), 100.0)

    def test_decimal_number_is_stored_as_text(self):
        self.assertEqual(self.ok(ratio=0.5)["ratio"], "0.5")
        self.assertEqual(self.ok(ratio=-3.25)["ratio"], "-3.25")
        self.assertEqual(self.ok(ratio=7)["ratio"], "7")

    def test_decimal_number_keeps_its_short_form(self):
        # 0.1 is sent as "0.1"; it should be stored as the visitor's
        # program wrote it, not as 0.10000000000000001.
        d = self.ok(ratio=0.1)
        self.assertEqual(float(d["ratio"]), 0.1)
        self.assertEqual(d["ratio"], "0.1")

    def test_number_above_max_is_422(self):
        self.invalid(["ratio"], ratio=10.5)

    def test_number_and_integer_errors_together(self):
        self.invalid(["age", "ratio"], age=-1, ratio=-11)

    def test_big_integer_in_text_field_is_kept_as_written(self):
        d = self.ok(note=12345678901234567890)
        self.assertEqual(d["note"], "12345678901234567890")
        d = self.ok(note=-9007199254740993)
        self.assertEqual(d["note"], "-9007199254740993")

    def test_huge_number_in_number_field_is_422(self):
        self.invalid(["ratio"], ratio=12345678901234567890)

    def test_true_ticks_a_single_checkbox(self):
        d = self.ok(agree=True, news=True)
        self.assertEqual(d["agree"], "yes")
        self.assertEqual(d["news"], "yes")

    def test_false_leaves_a_checkbox_unticked(self):
        d = self.ok(agree=True, news=False)
        self.assertEqual(d["news"], "")

    def test_false_on_required_checkbox_is_422(self):
        self.invalid(["agree"], agree=False)

    def test_absent_or_null_required_checkbox_is_422(self):
        v = self.typed()
        del v["agree"]
        p = self.assertProblem(self.api_post("typed", v), 422)
        self.assertFieldErrors(p, ["agree"])
        self.invalid(["agree"], agree=None)

    def test_checkbox_value_as_string_ticks_it(self):
        self.assertEqual(self.ok(agree="yes")["agree"], "yes")

    def test_array_of_strings_fills_a_multiple_checkbox(self):
        d = self.ok(colours=["red", "blue"])
        self.assertEqual(d["colours"], ["red", "blue"])

    def test_unknown_option_in_multiple_checkbox_is_422(self):
        self.invalid(["colours"], colours=["red", "purple"])

    def test_true_on_a_multiple_checkbox_is_422(self):
        self.invalid(["colours"], colours=True)

    def test_search_vectors_are_the_databases_own(self):
        """PostgreSQL: the search text the writer makes from the values
        (store_pg_words.c) gives every row the vector the database's own
        function makes from its JSON: the same words at the same places,
        arrays, empty values and escapes included."""
        if not srvmod.on_postgres():
            self.skipTest("PostgreSQL only (FORMWORK_TEST_PG=1)")
        m = uniq()
        self.ok(colours=["red", "blue"],
                note='Zo\u00eb "said" \\ back-slash, a\ttab; %s' % m)
        self.ok(colours=[], note="")
        rows = srvmod.cluster().rows(
            self.srv.db, "SELECT count(*) AS n, "
            "count(*) FILTER (WHERE search IS NULL) AS missing, "
            "count(*) FILTER (WHERE search IS DISTINCT FROM "
            "fw_search_vector(data)) AS differ FROM submissions")
        self.assertGreaterEqual(rows[0]["n"], 2)
        self.assertEqual((rows[0]["missing"], rows[0]["differ"]), (0, 0),
                         rows)


# ---- 8. rate limit ------------------------------------------------------------------

class A10RateLimit(Base):
    server_name = "ratelimit"

    def test_third_submission_in_a_minute_is_429_problem(self):
        marker = uniq()
        for i in range(2):
            self.assertCreated(self.api_post(
                "contact", contact_values(name="%s n%d" % (marker, i))), 201)
        r = self.api_post("contact", contact_values(name=marker + " n2"))
        self.assertProblem(r, 429)
        self.assertRetryAfter(r)
        self.assertEqual(self.marked(marker), 2)


# ---- 9. /metrics ------------------------------------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
VALUE = r"[-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN)"
SAMPLE_RE = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*,?)?\})? (%s)(?: -?\d+)?$"
                       % (NAME, LABEL, LABEL, VALUE))
COMMENT_RE = re.compile(r"^# (HELP|TYPE) (%s) (.*)$" % NAME)
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def parse_metrics(text):
    """
    Parses Prometheus text format 0.0.4 strictly. Returns (samples, types,
    problems): samples a list of (name, {label: value}, float), types
    {family: type}, problems a list of sentences.
    """
    samples, types, helps, problems = [], {}, {}, []
    if not text.endswith("\n"):
        problems.append("the text does not end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line == "":
            continue
        if line.startswith("#"):
            m = COMMENT_RE.match(line)
            if not m:
                if re.match(r"^# (HELP|TYPE)", line):
                    problems.append("line %d: bad comment %r" % (n, line))
                continue
            kind, fam, rest = m.groups()
            if kind == "TYPE":
                if rest not in ("counter", "gauge", "histogram", "summary",
                                "untyped"):
                    problems.append("line %d: bad type %r" % (n, rest))
                if fam in types:
                    problems.append("line %d: second TYPE for %s" % (n, fam))
                types[fam] = rest
            else:
                if fam in helps:
                    problems.append("line %d: second HELP for %s" % (n, fam))
                helps[fam] = rest
            continue
        m = SAMPLE_RE.match(line)
        if not m:
            problems.append("line %d: not a sample: %r" % (n, line))
            continue
        name, labels, value = m.groups()
        lab = dict(LABEL_RE.findall(labels or ""))
        fam = family_of(name, types)
        if fam is None:
            problems.append("line %d: %s has no TYPE before it" % (n, name))
        v = float(value.replace("Inf", "inf"))
        samples.append((name, lab, v))
    return samples, types, problems


def family_of(name, types):
    if name in types:
        return name
    for suf in ("_bucket", "_sum", "_count"):
        if name.endswith(suf) and types.get(name[:-len(suf)]) in (
                "histogram", "summary"):
            return name[:-len(suf)]
    return None


def sample(samples, name, **labels):
    """The value of name{labels}, 0 when absent."""
    for n, lab, v in samples:
        if n == name and lab == labels:
            return v
    return 0.0


class A11Metrics(Base):
    server_name = "metrics"

    def scrape(self):
        r = self.get("/metrics")
        self.assertStatus(r, 200)
        samples, types, problems = parse_metrics(r.text)
        self.assertEqual(problems, [], r.text)
        return r, samples, types

    def settle(self, timeout=20.0):
        """Waits until no job of this server is queued or running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            n = self.srv.sql("select count(*) from jobs where state in "
                             "('queued', 'running')")
            if n == ["0"]:
                return
            time.sleep(0.1)
        self.fail("jobs still pending after %.0f s" % timeout)

    def db_jobs(self, state):
        return int(self.srv.sql("select count(*) from jobs where state = %s"
                                % srvmod.sql_quote(state))[0])

    def test_metrics_is_200_prometheus_text(self):
        r, samples, types = self.scrape()
        ct = r.header("content-type", "")
        self.assertTrue(ct.startswith("text/plain; version=0.0.4"), ct)
        self.assertGreater(len(samples), 0)
        self.assertEqual(types.get("formwork_http_requests_total"), "counter")
        self.assertEqual(types.get("formwork_jobs"), "gauge")
        self.assertEqual(types.get("formwork_job_latency_seconds"),
                         "histogram")
        for line in r.text.splitlines():
            self.assertTrue(line.startswith("# HELP ") or
                            line.startswith("# TYPE ") or
                            SAMPLE_RE.match(line), "bad line %r" % line)
        for fam in types:
            self.assertIn("# HELP %s " % fam, r.text)

    def test_request_counters_grow_by_exactly_the_requests_made(self):
        R = "formwork_http_requests_total"
        _, s1, _ = self.scrape()
        for _ in range(3):
            self.assertStatus(self.get("/f/contact"), 200)
        self.assertStatus(self.get("/f/no-such-form"), 404)
        for i in range(2):
            self.assertCreated(self.api_post("contact", contact_values()), 201)
        self.assertProblem(self.api_post("contact", {}), 422)
        self.assertProblem(self.api_post("contact", "[]"), 400)
        self.assertProblem(self.get("/api/submissions/%s" % ("B" * 22)), 404)
        _, s2, _ = self.scrape()

        def diff(route, status):
            return (sample(s2, R, route=route, status=str(status)) -
                    sample(s1, R, route=route, status=str(status)))

        api = "/api/forms/{slug}/submissions"
        self.assertEqual(diff("/f/{slug}", 200), 3)
        self.assertEqual(diff("/f/{slug}", 404), 1)
        self.assertEqual(diff(api, 201), 2)
        self.assertEqual(diff(api, 422), 1)
        self.assertEqual(diff(api, 400), 1)
        self.assertEqual(diff("/api/submissions/{id}", 404), 1)
        self.assertEqual(diff("/metrics", 200), 1)
        self.assertEqual(diff("/healthz", 200), 0)
        # Nothing else moved.
        changed = {(n, tuple(sorted(l.items())))
                   for n, l, v in s2 if n == R and v != sample(s1, n, **l)}
        self.assertEqual(changed, {
            (R, (("route", "/f/{slug}"), ("status", "200"))),
            (R, (("route", "/f/{slug}"), ("status", "404"))),
            (R, (("route", api), ("status", "201"))),
            (R, (("route", api), ("status", "422"))),
            (R, (("route", api), ("status", "400"))),
            (R, (("route", "/api/submissions/{id}"), ("status", "404"))),
            (R, (("route", "/metrics"), ("status", "200"))),
        })

    def test_commit_phases_add_up_for_each_stored_submission(self):
        """Each stored submission (a page's 303, the API's 201) is counted
        once in the durable-write histogram, its four phases sum to its
        time there, and a refused one (422) is not counted."""
        H = "formwork_commit_seconds"
        phases = ("wait", "write", "sync", "answer")
        _, s1, types = self.scrape()
        self.assertEqual(types.get(H), "histogram")
        self.assertEqual(types.get("formwork_commit_phase_seconds_total"),
                         "counter")
        for _ in range(4):
            harness.submit(self.base, "contact", contact_values())
        for _ in range(3):
            self.assertCreated(self.api_post("contact", contact_values()),
                               201)
        self.assertProblem(self.api_post("contact", {}), 422)
        _, s2, _ = self.scrape()

        def diff(name, **labels):
            return sample(s2, name, **labels) - sample(s1, name, **labels)

        self.assertEqual(diff(H + "_count"), 7)
        self.assertEqual(diff(H + "_bucket", le="+Inf"), 7)
        self.assertEqual(diff("formwork_commit_batched_total"), 7)
        self.assertTrue(1 <= diff("formwork_commit_batches_total") <= 7)
        spent = {p: diff("formwork_commit_phase_seconds_total", phase=p)
                 for p in phases}
        for p in phases:
            self.assertGreaterEqual(spent[p], 0, p)
        self.assertGreater(spent["write"], 0)
        # The phases partition each submission's time: same microseconds.
        self.assertAlmostEqual(sum(spent.values()), diff(H + "_sum"),
                               delta=1e-5)
        buckets = [(float(l["le"].replace("Inf", "inf")), v)
                   for n, l, v in s2 if n == H + "_bucket"]
        self.assertEqual([b for b, _ in buckets],
                         sorted(b for b, _ in buckets))
        counts = [v for _, v in buckets]
        self.assertEqual(counts, sorted(counts), "not cumulative")

    def test_job_gauges_match_the_database(self):
        for _ in range(3):
            self.assertCreated(self.api_post("signup", signup_values(
                "%s@example.com" % uniq("g"))), 202)
        self.settle()
        _, s, _ = self.scrape()
        self.assertGreaterEqual(self.db_jobs("done"), 3)
        for state in ("queued", "running", "done", "failed"):
            self.assertEqual(sample(s, "formwork_jobs", state=state),
                             self.db_jobs(state), state)
        # All four states are reported, even at zero.
        states = {l.get("state") for n, l, _ in s if n == "formwork_jobs"}
        self.assertEqual(states, {"queued", "running", "done", "failed"})

    def test_latency_histogram_is_cumulative_and_counts_finished_jobs(self):
        self.assertCreated(self.api_post("signup", signup_values(
            "%s@example.com" % uniq("h"))), 202)
        self.settle()
        H = "formwork_job_latency_seconds"
        deadline = time.monotonic() + 5
        while True:
            _, s, _ = self.scrape()
            finished = self.db_jobs("done") + self.db_jobs("failed")
            count = sample(s, H + "_count")
            if count == finished or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(count, finished, "jobs finished on this server")
        buckets = [(l.get("le"), v) for n, l, v in s if n == H + "_bucket"]
        self.assertGreater(len(buckets), 1)
        self.assertEqual(buckets[-1][0], "+Inf")
        les = [float(le.replace("Inf", "inf")) for le, _ in buckets]
        self.assertEqual(les, sorted(les), "le not ascending: %r" % buckets)
        self.assertEqual(len(set(les)), len(les), "le repeated")
        vals = [v for _, v in buckets]
        for a, b in zip(vals, vals[1:]):
            self.assertLessEqual(a, b, "buckets not cumulative: %r" % buckets)
        self.assertEqual(count, vals[-1], "_count != +Inf bucket")
        self.assertGreaterEqual(count, 1)
        total = sample(s, H + "_sum")
        self.assertTrue(math.isfinite(total) and total >= 0, total)
        self.assertEqual(sample(s, "formwork_job_attempts_total",
                                outcome="done"), self.db_jobs("done"))


# ---- runner -----------------------------------------------------------------

def main():
    return harness.run(sys.modules[__name__], "API tests", SERVERS,
                       helpers=HELPERS)

if __name__ == "__main__":
    sys.exit(main())
