#!/usr/bin/python3
"""
suite_queue.py: black-box tests of Formwork's background actions (the
durable queue, email over SMTP or to the outbox, signed webhooks, the 202
processing page), against real Kore servers (server.py), a real SMTP
server (smtp_sink.py, aiosmtpd) and a real HTTP webhook receiver
(webhook_receiver.py), all on 127.0.0.1.

The database is only read (Python's sqlite3, read-only) to see the jobs.
Servers (each with its own forms directory, database and log):

  main     the shipped forms plus test forms with email actions (to the
           sink's normal, slow, rejecting and "try later" recipients) and
           webhook actions (to the receiver's paths), SMTP to the sink,
           FORMWORK_WEBHOOK_ALLOW_PRIVATE=1, FORMWORK_RETRY_SCHEDULE=0.2,0.4,...
  timeout  one webhook form, FORMWORK_ACTION_TIMEOUT=1
  outbox   the shipped forms, no SMTP: email goes to a per-test outbox
  ssrf     webhook forms to 127.0.0.1 and localhost, private addresses
           not allowed
  figures  webhook forms to a fast and to a gated receiver path; prints
           latency and throughput (nothing about time is asserted)
  + short-lived servers: one that must refuse to start (a webhook form
    without FORMWORK_WEBHOOK_SECRET), and up to two stopped while their
    runners are delivering, to see that no worker dies of SIGSEGV on
    shutdown (read from dmesg; skipped where dmesg cannot be read).

At the end every server is stopped and its log searched for sandbox
(seccomp) violations, workers gone and sanitizer reports; each finding
is a failure. The last line is "N passed, N failed"; exit status 1 on any
failure.

Usage: /usr/bin/python3 tests/integ/suite_queue.py [--so PATH] [-k PATTERN]
       [--no-figures]
"""

import email
import email.policy
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from client import (get_form, location_path, looks_like_page,  # noqa: E402
                    post_form)
import harness  # noqa: E402
from harness import (Session, children_of, db_rows, form_def,  # noqa: E402
                     hook, jobs_of, mail, signup_values, uniq,
                     wait_jobs_final, write_forms)
import server as srvmod  # noqa: E402
from server import Server  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402
from webhook_receiver import Receiver, new_secret  # noqa: E402

SECRET = new_secret()
# Short retries: each wait twice the one before (SPEC 11's schedule is a
# day long; FORMWORK_RETRY_SCHEDULE sets it for a server).
RETRY_SCHEDULE = [0.2, 0.4, 0.8, 1.6, 3.2]
RETRY_ENV = ",".join("%g" % w for w in RETRY_SCHEDULE)
NO_FIGURES = False

# ---- outside services (shared, started on first use) -------------------

_SINK = None
_RX = None


def sink():
    global _SINK
    if _SINK is None:
        _SINK = SmtpSink(slow_s=3.0).start()
    return _SINK


def rx():
    global _RX
    if _RX is None:
        _RX = Receiver(SECRET).start()
        # What each receiver path answers; n = tries of this webhook-id.
        _RX.route("/flaky", lambda n: 500 if n <= 2 else 200)
        _RX.route("/backoff", lambda n: 503 if n <= 2 else 200)
        _RX.route("/down", lambda n: 500)
        _RX.route("/g410", lambda n: 410)
        _RX.route("/g410b", lambda n: 410)
        _RX.route("/bad", lambda n: 400)
        _RX.route("/busy", lambda n: (429, {"Retry-After": "2"})
                  if n == 1 else 200)
        _RX.route("/r408", lambda n: 408 if n == 1 else 200)
        _RX.route("/slow", lambda n: (200, {}, 2.5) if n == 1 else 200)
    return _RX


# ---- form definitions --------------------------------------------------

LONG_SUBJECT = ("Neue Anmeldung für das Seminar „Größenordnungen“ – bitte "
                "prüfen und bestätigen, Grüße aus Zürich")


def main_forms():
    r = rx()
    return [
        form_def("slowmail", [mail("slow@example.com", "Slow mail")]),
        form_def("rejectmail", [mail("reject@example.com", "Rejected")]),
        form_def("tempmail", [mail("temp@example.com", "Later", 3)]),
        form_def("hook", [hook(r.url("/ok"), 3)]),
        form_def("flaky", [hook(r.url("/flaky"), 5)]),
        form_def("backoff", [hook(r.url("/backoff"), 5)]),
        form_def("down", [hook(r.url("/down"), 3)]),
        form_def("g410", [hook(r.url("/g410"), 5)]),
        form_def("g410b", [hook(r.url("/g410b"), 5)]),
        form_def("bad", [hook(r.url("/bad"), 5)]),
        form_def("busy", [hook(r.url("/busy"), 3)]),
        form_def("r408", [hook(r.url("/r408"), 3)]),
        form_def("multi", [mail("owner@example.com", "Multi"),
                           hook(r.url("/multi"), 3)]),
        form_def("longsubject", [mail("owner@example.com", LONG_SUBJECT)]),
        form_def("byname", [hook("http://localhost:%d/byname" % r.port, 3)]),
    ]


BASE_ENV = {"FORMWORK_MIN_FILL_MS": "0", "FORMWORK_RATE_LIMIT": "0"}


def spec(name):
    """(env, forms) of each server, built on first use."""
    if name == "main":
        env = dict(BASE_ENV, FORMWORK_SMTP_URL=sink().url,
                   FORMWORK_WEBHOOK_SECRET=SECRET,
                   FORMWORK_WEBHOOK_ALLOW_PRIVATE="1",
                   FORMWORK_RETRY_SCHEDULE=RETRY_ENV,
                   FORMWORK_ACTION_TIMEOUT="10")
        return env, main_forms()
    if name == "timeout":
        env = dict(BASE_ENV, FORMWORK_WEBHOOK_SECRET=SECRET,
                   FORMWORK_WEBHOOK_ALLOW_PRIVATE="1",
                   FORMWORK_RETRY_SCHEDULE=RETRY_ENV,
                   FORMWORK_ACTION_TIMEOUT="1")
        return env, [form_def("slowhook", [hook(rx().url("/slow"), 3)])]
    if name == "outbox":
        env = dict(BASE_ENV)
        env["FORMWORK_OUTBOX"] = os.path.join(srvmod.run_root(),
                                              "outbox-" + name)
        os.makedirs(env["FORMWORK_OUTBOX"], exist_ok=True)
        return env, []
    if name == "ssrf":
        port = rx().port
        env = dict(BASE_ENV, FORMWORK_WEBHOOK_SECRET=SECRET,
                   FORMWORK_RETRY_SCHEDULE=RETRY_ENV)
        return env, [
            form_def("ssrf", [hook("http://127.0.0.1:%d/ssrf" % port, 3)]),
            form_def("ssrfname", [hook("http://localhost:%d/ssrf-name" % port,
                                       3)]),
        ]
    if name == "figures":
        env = dict(BASE_ENV, FORMWORK_WEBHOOK_SECRET=SECRET,
                   FORMWORK_WEBHOOK_ALLOW_PRIVATE="1",
                   FORMWORK_RETRY_SCHEDULE=RETRY_ENV,
                   FORMWORK_ACTION_TIMEOUT="60")
        return env, [form_def("fast", [hook(rx().url("/fast"), 5)]),
                     form_def("gated", [hook(rx().url("/gated"), 5)])]
    raise KeyError(name)


def start(name):
    env, forms = spec(name)
    s = Server("queue-" + name, env=env, forms_dir=write_forms(name, forms))
    s.outbox = env.get("FORMWORK_OUTBOX")
    return s.start()


SERVERS = harness.Servers(start)
EXTRA_SERVERS = []  # short-lived servers, for the log check


# ---- values and helpers ---------------------------------------------------

def main_text(resp):
    m = resp.doc.find("main")
    return re.sub(r"\s+", " ", (m.text if m is not None else resp.text))


def link_by_text(resp, text):
    for a in resp.doc.find_all("a"):
        if re.sub(r"\s+", " ", a.text).strip() == text:
            return a.get("href")
    return None


class Base(harness.TestCase):
    servers = SERVERS

    def submit(self, slug, values):
        """Submits values (or values(form)) through the form; the id."""
        return harness.submit(self.base, slug, values)

    def final_jobs(self, sid, n=1, timeout=20.0):
        js = wait_jobs_final(self.srv, sid, timeout)
        self.assertEqual(len(js), n, "jobs of %s: %r" % (sid, js))
        for j in js:
            self.assertIn(j["state"], ("done", "failed"),
                          "still pending after %.0f s: %r" % (timeout, j))
        return js

    def wait_page(self, sid, status, timeout=15.0):
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            r = self.get("/s/" + sid)
            seen.append(r.status)
            if r.status == status or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertStatus(r, status, "/s/%s after %.0f s (statuses seen: "
                          "%s)" % (sid, timeout, sorted(set(seen))))
        return r, seen


# ---- 1. jobs are written with their submission ---------------------------

class T01Jobs(Base):

    def test_one_job_per_action_exists_when_the_303_arrives(self):
        sid = self.submit("multi", {"name": "Two actions " + uniq()})
        js = jobs_of(self.srv, sid)
        self.assertEqual([(j["action"], j["kind"]) for j in js],
                         [(0, "email"), (1, "webhook")], repr(js))
        self.assertEqual(js[0]["target"], "owner@example.com")
        self.assertEqual(js[1]["target"], rx().url("/multi"))
        # SPEC 11: by default, as many attempts as the server's schedule
        # has waits, plus the first (was 5 before the schedule).
        self.assertEqual(js[0]["max_attempts"], len(RETRY_SCHEDULE) + 1,
                         "default max_attempts")
        self.assertEqual(js[1]["max_attempts"], 3)
        self.assertNotEqual(js[0]["delivery_id"], js[1]["delivery_id"])

    def test_form_without_actions_has_no_jobs_and_result_is_200(self):
        sid = self.submit("contact", {
            "name": "No actions", "email": "ada@example.com",
            "topic": "general", "message": "No actions for this form."})
        self.assertEqual(jobs_of(self.srv, sid), [])
        self.assertStatus(self.get("/s/" + sid), 200)

    def test_honeypot_spam_signup_creates_no_job_and_sends_no_mail(self):
        addr = uniq("spam") + "@example.com"
        sid = self.submit("signup", lambda f: signup_values(
            f, addr, _homepage="http://spam.example/"))
        rows = db_rows(self.srv, "SELECT spam FROM submissions WHERE id = ?",
                       (sid,))
        self.assertEqual(rows, [{"spam": 1}], "not stored as spam")
        self.assertEqual(jobs_of(self.srv, sid), [])
        r = self.get("/s/" + sid)
        self.assertStatus(r, 200, "a spam submission has nothing pending")
        # Nothing goes out for it (an ordinary signup mails within ms).
        time.sleep(1.0)
        self.assertEqual(sink().find(lambda m: sid in m.content.decode(
            "ascii", "replace") or m.header("X-Formwork-Submission") == sid),
            [])

    def test_replayed_form_instance_creates_no_second_job_or_mail(self):
        form = get_form(self.base, "signup")
        fields = dict(form.tokens())
        fields.update(signup_values(form, uniq("replay") + "@example.com"))
        r1 = post_form(self.base, "signup", fields)
        r2 = post_form(self.base, "signup", fields)
        self.assertEqual((r1.status, r2.status), (303, 303))
        self.assertEqual(location_path(r1), location_path(r2))
        sid = harness.ID_RE.match(location_path(r1)).group(1)
        js = self.final_jobs(sid)
        self.assertEqual(js[0]["state"], "done")
        time.sleep(0.5)
        self.assertEqual(len(sink().find(
            lambda m: m.header("X-Formwork-Submission") == sid)), 1)

    def test_unique_value_taken_409_creates_no_job(self):
        addr = uniq("dup") + "@example.com"
        self.submit("signup", lambda f: signup_values(f, addr))
        before = db_rows(self.srv, "SELECT count(*) AS n FROM jobs")[0]["n"]
        form = get_form(self.base, "signup")
        fields = dict(form.tokens())
        fields.update(signup_values(form, addr))
        r = post_form(self.base, "signup", fields)
        self.assertStatus(r, 409)
        after = db_rows(self.srv, "SELECT count(*) AS n FROM jobs")[0]["n"]
        self.assertEqual(after, before)

    def test_every_job_runs_once_and_both_finish(self):
        sid = self.submit("multi", {"name": "Both " + uniq()})
        js = self.final_jobs(sid, 2)
        self.assertEqual([(j["state"], j["attempts"]) for j in js],
                         [("done", 1), ("done", 1)], repr(js))
        self.assertEqual(len(rx().seen("/multi", js[1]["delivery_id"])), 1)
        self.assertEqual(len(sink().find(
            lambda m: m.header("X-Formwork-Submission") == sid)), 1)


# ---- 2. email over SMTP -------------------------------------------------

NAME_UNICODE = "Zoë Ångström 日本語 \U0001F600"


class T02Smtp(Base):

    def signup(self, **over):
        addr = uniq("mime") + "@example.com"
        name = over.pop("name", NAME_UNICODE + " " + uniq())
        sid = self.submit("signup", lambda f: signup_values(
            f, addr, name=name, **over))
        return sid, addr, name

    def message_of(self, sid, timeout=15.0):
        got = sink().wait_for(
            lambda m: m.header("X-Formwork-Submission") == sid, timeout)
        self.assertEqual(len(got), 1, "messages for %s after %.0f s: %d "
                         "(sink has %d in all)" % (sid, timeout, len(got),
                                                   len(sink().messages)))
        return got[0]

    def test_signup_notification_arrives_as_valid_mime(self):
        sid, addr, name = self.signup()
        m = self.message_of(sid)
        p = m.parsed
        self.assertEqual(p.defects, [], "MIME defects")
        self.assertEqual(p.get_content_type(), "text/plain")
        self.assertEqual((p.get_content_charset() or "").lower(), "utf-8")
        self.assertEqual(p.get("MIME-Version", "").strip(), "1.0")
        for line in m.content.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
            self.assertTrue(all(b < 128 for b in line),
                            "raw header line is not ASCII: %r" % line)
        self.assertTrue(p.get("Date"), "no Date header")
        self.assertIn("owner@example.com", str(p.get("To")))
        self.assertEqual(m.rcpt_tos, ["owner@example.com"])

    def test_subject_decodes_to_the_actions_subject(self):
        sid, _, _ = self.signup()
        self.assertEqual(self.message_of(sid).subject, "New signup")

    def test_long_non_ascii_subject_is_valid_rfc_2047(self):
        sid = self.submit("longsubject", {"name": "Long " + uniq()})
        m = self.message_of(sid)
        self.assertEqual(m.subject, LONG_SUBJECT)
        head = m.content.split(b"\r\n\r\n", 1)[0].decode("ascii")
        words = re.findall(r"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=", head)
        self.assertTrue(words, "no encoded-word in %r" % head)
        self.assertEqual([w for w in words if len(w) > 75], [],
                         "RFC 2047 section 2: an encoded-word may not be "
                         "more than 75 characters long")
        long_lines = [l for l in head.split("\r\n") if len(l) > 78]
        self.assertEqual(long_lines, [], "RFC 5322 2.1.1: header lines "
                         "SHOULD be at most 78 characters (fold them)")

    def test_body_decodes_to_text_with_the_submitted_values(self):
        sid, addr, name = self.signup()
        text = self.message_of(sid).text
        self.assertIn(name, text)
        self.assertIn(addr, text)
        self.assertIn("/s/" + sid, text)

    def test_message_id_is_the_jobs_delivery_id(self):
        sid, _, _ = self.signup()
        m = self.message_of(sid)
        js = self.final_jobs(sid)
        self.assertEqual(m.message_id, "<%s@formwork>" % js[0]["delivery_id"])

    def test_job_ends_done_and_result_page_turns_200(self):
        sid, _, name = self.signup()
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["kind"], js[0]["state"], js[0]["attempts"]),
                         ("email", "done", 1), repr(js[0]))
        self.assertIsNone(js[0]["last_error"])
        r, _ = self.wait_page(sid, 200, 5)
        self.assertTrue(looks_like_page(r.text))
        self.assertIn("Welcome aboard", main_text(r))
        self.assertIn(name, main_text(r))
        self.assertNotIn("could not be completed", main_text(r))
        self.assertIsNone(r.header("refresh"))

    def test_smtp_550_fails_for_good_after_one_attempt(self):
        sid = self.submit("rejectmail", {"name": "Bounce " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("failed", 1),
                         repr(js[0]))
        self.assertIn("550", js[0]["last_error"] or "")
        r, _ = self.wait_page(sid, 200, 5)
        self.assertIn("could not be completed", main_text(r))

    def test_smtp_451_is_retried_then_done(self):
        sid = self.submit("tempmail", {"name": "Later " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("done", 2),
                         repr(js[0]))
        mid = "<%s@formwork>" % js[0]["delivery_id"]
        got = sink().find(lambda m: m.message_id == mid)
        self.assertEqual(len(got), 1)


# ---- 3. the 202 processing page (slow SMTP server) -----------------------

class T03Processing(Base):

    def slow_submission(self):
        sid = self.submit("slowmail", {"name": "Patient " + uniq()})
        return sid

    def test_202_while_sending_with_refresh_retry_after_no_store(self):
        sid = self.slow_submission()
        r = self.get("/s/" + sid)
        self.assertStatus(r, 202)
        self.assertTrue(looks_like_page(r.text), r.text[:300])
        refresh = r.header("refresh")
        self.assertIsNotNone(refresh, "no Refresh header")
        self.assertRegex(refresh.strip(), r"^\d+$")
        self.assertTrue(1 <= int(refresh) <= 10, "Refresh: %s" % refresh)
        self.assertRegex((r.header("retry-after") or "").strip(), r"^\d+$")
        cc = [x.strip().lower() for x in
              (r.header("cache-control") or "").split(",")]
        self.assertIn("no-store", cc)
        self.assertNotRegex(r.text.lower(), r"<meta[^>]+http-equiv")
        self.assertNotIn("<script", r.text.lower())
        self.assertRegex(main_text(r), r"Email notification to the site "
                         r"owner: (waiting to start|in progress)")

    def test_202_page_has_check_now_and_stop_updating_links(self):
        sid = self.slow_submission()
        r = self.get("/s/" + sid)
        self.assertStatus(r, 202)
        self.assertEqual(link_by_text(r, "Check now"), "/s/" + sid)
        self.assertEqual(link_by_text(r, "Stop updating automatically"),
                         "/s/%s?refresh=off" % sid)

    def test_refresh_off_is_202_without_refresh_header(self):
        sid = self.slow_submission()
        r = self.get("/s/%s?refresh=off" % sid)
        self.assertStatus(r, 202)
        self.assertIsNone(r.header("refresh"), "Refresh: %s" %
                          r.header("refresh"))
        cc = [x.strip().lower() for x in
              (r.header("cache-control") or "").split(",")]
        self.assertIn("no-store", cc)
        self.assertNotRegex(r.text.lower(), r"<meta[^>]+http-equiv")
        self.assertIsNotNone(link_by_text(r, "Check now"),
                             "no way to check by hand")

    def test_page_turns_200_only_after_the_mail_was_accepted(self):
        sid = self.slow_submission()
        r, seen = self.wait_page(sid, 200, 15)
        t200 = time.time()
        self.assertIn(202, seen, "never saw the 202 page")
        got = sink().find(lambda m: m.header("X-Formwork-Submission") == sid)
        self.assertEqual(len(got), 1)
        self.assertLessEqual(got[0].t_done, t200)
        self.assertGreaterEqual(got[0].t_done - got[0].t_start, 2.9)
        self.assertIn("Thanks, slowmail received it.", main_text(r))

    def test_page_shows_retry_k_of_n_while_waiting_to_retry(self):
        # /busy answers 429 with Retry-After: 2 the first time.
        sid = self.submit("busy", {"name": "Busy " + uniq()})
        got = rx().wait_for(1, "/busy", 10, pred=lambda d: d.json and
                            d.json["data"]["id"] == sid)
        self.assertEqual(len(got), 1)
        deadline = time.monotonic() + 1.5
        r = None
        while time.monotonic() < deadline:
            r = self.get("/s/" + sid)
            if "retry" in main_text(r):
                break
            time.sleep(0.05)
        self.assertStatus(r, 202)
        self.assertRegex(main_text(r), r"Notification to the site's other "
                         r"systems: [^.]*retry 2 of 3, next try in [12] s")


# ---- 4. webhooks ----------------------------------------------------------

class T04Webhook(Base):

    def delivered(self, path, sid, n=1, timeout=15.0):
        return rx().wait_for(n, path, timeout, pred=lambda d: d.json and
                             d.json.get("data", {}).get("id") == sid)

    def test_delivery_is_signed_per_standard_webhooks_and_accepted(self):
        sid = self.submit("hook", {"name": "Signed " + uniq()})
        got = self.delivered("/ok", sid)
        self.assertEqual(len(got), 1)
        d = got[0]
        self.assertTrue(d.sig_ok, d.sig_why)
        self.assertEqual(d.headers.get("content-type"), "application/json")
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("done", 1))
        self.assertEqual(d.id, js[0]["delivery_id"])
        self.assertRegex(d.id, r"^[A-Za-z0-9_-]{16,}$")

    def test_payload_holds_the_submitted_values(self):
        name = NAME_UNICODE + " " + uniq()
        note = 'Quotes " and \\ backslash\r\nand a new line'
        sid = self.submit("hook", {"name": name, "note": note})
        got = self.delivered("/ok", sid)
        self.assertEqual(len(got), 1)
        p = got[0].json
        self.assertIsNotNone(p, "body is not JSON: %r" % got[0].body[:200])
        self.assertEqual(p["type"], "submission.created")
        self.assertEqual(str(p["timestamp"]),
                         got[0].headers["webhook-timestamp"])
        self.assertEqual(p["data"]["form"], "hook")
        self.assertIs(p["data"]["spam"], False)
        self.assertEqual(p["data"]["values"]["name"], name)
        self.assertIn(p["data"]["values"]["note"],
                      (note, note.replace("\r\n", "\n")))
        created = db_rows(self.srv, "SELECT created_at FROM submissions "
                          "WHERE id = ?", (sid,))[0]["created_at"]
        self.assertEqual(p["data"]["created_at"], created)

    def test_webhook_to_a_host_name_is_delivered(self):
        # http://localhost:PORT/...: name resolution in a runner thread,
        # under the worker's seccomp filter.
        sid = self.submit("byname", {"name": "By name " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("done", 1),
                         repr(js[0]))
        self.assertEqual(len(rx().seen("/byname", js[0]["delivery_id"])), 1)

    def test_500_twice_then_200_is_one_delivery_with_one_webhook_id(self):
        sid = self.submit("flaky", {"name": "Flaky " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("done", 3),
                         repr(js[0]))
        got = rx().seen("/flaky", js[0]["delivery_id"])
        self.assertEqual([d.status for d in got], [500, 500, 200])
        self.assertEqual({d.id for d in got}, {js[0]["delivery_id"]})
        self.assertTrue(all(d.sig_ok for d in got),
                        [d.sig_why for d in got])
        self.assertIsNone(js[0]["last_error"], "done keeps no error")

    def test_retries_wait_the_schedule_with_at_most_a_fifth_of_jitter(self):
        # SPEC 11 (was: exponential backoff with "equal jitter"): the
        # first retry 0.2 s after the failure, the second 0.4 s after the
        # next, each moved by at most a fifth (the runners look for due
        # jobs every 0.1 s, and a busy machine adds its own delay).
        sid = self.submit("backoff", {"name": "Backoff " + uniq()})
        js = self.final_jobs(sid)
        got = rx().seen("/backoff", js[0]["delivery_id"])
        self.assertEqual([d.status for d in got], [503, 503, 200])
        gaps = [got[1].t - got[0].t_end, got[2].t - got[1].t_end]
        for gap, wait in zip(gaps, RETRY_SCHEDULE):
            self.assertGreaterEqual(gap, wait * 0.8 - 0.01, "gaps %r" % gaps)
            self.assertLess(gap, wait * 1.2 + 0.6, "gaps %r" % gaps)

    def test_always_500_fails_after_max_attempts_with_last_error(self):
        sid = self.submit("down", {"name": "Down " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("failed", 3),
                         repr(js[0]))
        self.assertIn("HTTP 500", js[0]["last_error"] or "")
        time.sleep(RETRY_SCHEDULE[2])
        self.assertEqual(len(rx().seen("/down", js[0]["delivery_id"])), 3)

    def test_failed_action_result_page_is_200_and_says_so(self):
        sid = self.submit("down", {"name": "Told " + uniq()})
        self.final_jobs(sid)
        r = self.get("/s/" + sid)
        self.assertStatus(r, 200)
        self.assertIsNone(r.header("refresh"))
        t = main_text(r)
        self.assertIn("could not be completed", t)
        self.assertIn("the site owner has been told", t)
        self.assertIn("Thanks, down received it.", t)

    def test_410_fails_at_once_and_disables_the_endpoint(self):
        sid = self.submit("g410", {"name": "Gone " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("failed", 1),
                         repr(js[0]))
        self.assertIn("410", js[0]["last_error"] or "")
        self.assertEqual(len(rx().seen("/g410", js[0]["delivery_id"])), 1)
        eps = db_rows(self.srv, "SELECT url FROM webhook_endpoints")
        self.assertIn(rx().url("/g410"), [e["url"] for e in eps])

    def test_after_410_later_jobs_fail_without_a_request(self):
        sid1 = self.submit("g410b", {"name": "Gone first " + uniq()})
        self.final_jobs(sid1)
        n_before = len(rx().seen("/g410b"))
        sid2 = self.submit("g410b", {"name": "Gone second " + uniq()})
        js = self.final_jobs(sid2)
        self.assertEqual(js[0]["state"], "failed", repr(js[0]))
        time.sleep(0.3)
        self.assertEqual(len(rx().seen("/g410b")), n_before,
                         "a request reached a disabled endpoint")
        self.assertRegex(js[0]["last_error"] or "", r"disabled|410")

    def test_400_fails_after_one_attempt(self):
        sid = self.submit("bad", {"name": "Bad " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("failed", 1),
                         repr(js[0]))
        self.assertIn("HTTP 400", js[0]["last_error"] or "")
        time.sleep(RETRY_SCHEDULE[1])
        self.assertEqual(len(rx().seen("/bad", js[0]["delivery_id"])), 1)

    def test_408_is_retried(self):
        sid = self.submit("r408", {"name": "408 " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("done", 2),
                         repr(js[0]))

    def test_429_retry_after_is_honoured(self):
        sid = self.submit("busy", {"name": "Retry-After " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("done", 2),
                         repr(js[0]))
        got = rx().seen("/busy", js[0]["delivery_id"])
        self.assertEqual([d.status for d in got], [429, 200])
        gap = got[1].t - got[0].t
        self.assertGreaterEqual(gap, 2.0 - 0.01, "retried %.3f s after a 429 "
                                "with Retry-After: 2" % gap)


class T05Timeout(Base):
    server_name = "timeout"

    def test_receiver_slower_than_action_timeout_is_retried(self):
        sid = self.submit("slowhook", {"name": "Slow " + uniq()})
        js = self.final_jobs(sid, timeout=15)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("done", 2),
                         repr(js[0]))
        got = rx().seen("/slow", js[0]["delivery_id"])
        self.assertEqual(len(got), 2)
        # The second try began before the first answer (2.5 s) was due:
        # the sender gave up after FORMWORK_ACTION_TIMEOUT=1.
        self.assertLess(got[1].t - got[0].t, 2.5)


# ---- 5. no SMTP server: the outbox -----------------------------------------

class T06Outbox(Base):
    server_name = "outbox"

    def test_mail_lands_in_the_outbox_as_one_eml_file(self):
        box = self.srv.outbox
        before = set(os.listdir(box))
        addr = uniq("box") + "@example.com"
        sid = self.submit("signup", lambda f: signup_values(
            f, addr, name=NAME_UNICODE))
        js = self.final_jobs(sid)
        self.assertEqual(js[0]["state"], "done", repr(js[0]))
        new = sorted(set(os.listdir(box)) - before)
        self.assertEqual(new, [js[0]["delivery_id"] + ".eml"],
                         "new files in the outbox")
        with open(os.path.join(box, new[0]), "rb") as f:
            p = email.message_from_bytes(f.read(), policy=email.policy.default)
        self.assertEqual(p.defects, [])
        self.assertEqual(str(p["X-Formwork-Submission"]), sid)
        self.assertEqual(str(p["Subject"]), "New signup")
        self.assertIn(NAME_UNICODE, p.get_content())
        self.assertStatus(self.get("/s/" + sid), 200)


# ---- 6. webhooks to private addresses -----------------------------------------

class T07Ssrf(Base):
    server_name = "ssrf"

    def check_refused(self, slug, path):
        sid = self.submit(slug, {"name": "SSRF " + uniq()})
        js = self.final_jobs(sid)
        self.assertEqual(js[0]["state"], "failed", repr(js[0]))
        self.assertEqual(js[0]["attempts"], 1, "a refusal is not retried")
        self.assertIn("FORMWORK_WEBHOOK_ALLOW_PRIVATE", js[0]["last_error"])
        time.sleep(0.3)
        self.assertEqual(rx().seen(path), [], "the receiver got a request")
        return js[0]

    def test_webhook_to_127_0_0_1_is_refused(self):
        j = self.check_refused("ssrf", "/ssrf")
        self.assertIn("127.0.0.1", j["last_error"])

    def test_webhook_to_localhost_name_is_refused(self):
        self.check_refused("ssrfname", "/ssrf-name")


# ---- 7. start-up -----------------------------------------------------------

class T08Startup(unittest.TestCase):

    def test_webhook_form_without_secret_stops_startup_naming_the_file(self):
        d = write_forms("nosecret", [form_def("nosecret", [
            hook("http://192.0.2.1/hook")])])
        s = Server("queue-nosecret", env=BASE_ENV, forms_dir=d)
        EXTRA_SERVERS.append(s)
        rc, serving, log = s.run_until_exit(10)
        self.assertFalse(serving, "served without a webhook secret")
        self.assertIsNotNone(rc, "still running without a webhook secret")
        self.assertNotEqual(rc, 0)
        self.assertIn("nosecret.json", log)
        self.assertIn("FORMWORK_WEBHOOK_SECRET", log)


class T08bShutdown(unittest.TestCase):
    """
    Stopping the server (SIGTERM) while runners are delivering must not
    kill a worker with a signal. Kore unloads the module (dlclose) when a
    worker shuts down; a runner thread still inside an action then calls
    back into unmapped code. Kore's log does not say how a worker ended,
    so this reads the kernel log (dmesg) for "kore[TID]: segfault" of any
    thread of the server's workers; skipped where dmesg cannot be read.
    The receiver trickles its answer, so the runners are inside libcurl
    (calling the module's write callback every 10 ms) at the stop.
    """

    def test_workers_do_not_segfault_when_stopped_mid_delivery(self):
        try:
            subprocess.run(["dmesg"], capture_output=True, check=True,
                           timeout=10)
        except (OSError, subprocess.SubprocessError):
            self.skipTest("dmesg cannot be read here")
        r = rx()
        r.trickle("/trickle", 5.0)
        d = write_forms("shutdown", [form_def("trickle", [
            hook(r.url("/trickle"), 3)])])
        for attempt in range(2):
            s = Server("queue-shutdown", forms_dir=d, env=dict(
                BASE_ENV, FORMWORK_WEBHOOK_SECRET=SECRET,
                FORMWORK_WEBHOOK_ALLOW_PRIVATE="1"))
            EXTRA_SERVERS.append(s)
            old = set(subprocess.run(["dmesg"], capture_output=True,
                                     text=True, timeout=10).stdout
                      .splitlines())
            s.start()
            n0 = len(r.seen("/trickle"))
            for i in range(4):
                form = get_form(s.url, "trickle")
                resp = post_form(s.url, "trickle", dict(
                    form.tokens(), name="Shutdown %d" % i))
                self.assertEqual(resp.status, 303, repr(resp))
            got = r.wait_for(n0 + 4, "/trickle", 10)
            self.assertGreaterEqual(len(got), n0 + 4, "not delivering")
            time.sleep(0.3)
            workers = children_of(s.proc.pid)
            tids = set(workers)
            for w in workers:
                try:
                    tids.update(int(t) for t in
                                os.listdir("/proc/%d/task" % w))
                except OSError:
                    pass
            s.stop()
            time.sleep(0.5)
            log = subprocess.run(["dmesg"], capture_output=True, text=True,
                                 timeout=10).stdout
            bad = [l for l in log.splitlines() if l not in old and
                   any("kore[%d]: segfault" % t in l for t in tids)]
            self.assertEqual(bad, [], "stop %d: a thread of workers %s "
                             "died of SIGSEGV on shutdown" % (
                                 attempt + 1, workers))


# ---- 8. figures (printed, not asserted) ----------------------------------------

def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def submit_many(srv, slug, n, threads):
    """n submissions from threads keep-alive clients: (ids, errors). The
    first time-out ends them all, with the server's threads saved: a
    server that stopped answering is one failure, not n time-outs."""
    ids, errors = [], []
    lock = threading.Lock()
    counter = iter(range(n))
    hung = threading.Event()

    def work():
        sess = Session(srv.url)
        while True:
            with lock:
                i = None if hung.is_set() else next(counter, None)
            if i is None:
                return
            try:
                st, sid = sess.submit(slug, {"name": "Load %d" % i})
            except TimeoutError as e:
                st, sid = repr(e), None
                with lock:
                    first = not hung.is_set()
                    hung.set()
                if first:
                    srv.save_stacks("left a request unanswered (its "
                                    "client's time-out: 30 s)")
            except Exception as e:  # noqa: BLE001 (counted, reported)
                st, sid = repr(e), None
            with lock:
                (ids if st == 303 and sid else errors).append(sid or st)

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ids, errors


class T09Figures(Base):
    server_name = "figures"

    def setUp(self):
        if NO_FIGURES:
            self.skipTest("--no-figures")
        super().setUp()

    def test_latency_submit_to_action_start_200_webhooks(self):
        n = 200
        sess = Session(self.base)
        ids = []
        for i in range(n):
            st, sid = sess.submit("fast", {"name": "Latency %d" % i})
            self.assertEqual(st, 303)
            ids.append(sid)
        got = rx().wait_for(n, "/fast", 30)
        first = {}
        for d in got:
            sid = d.json["data"]["id"]
            first.setdefault(sid, d.t)
        self.assertEqual(set(first), set(ids), "not every submission was "
                         "delivered within 30 s")
        created = {r["id"]: r["created_at"] for r in db_rows(
            self.srv, "SELECT id, created_at FROM submissions WHERE "
            "form = 'fast'")}
        lat = [first[s] * 1000.0 - created[s] for s in ids]
        print("      FIGURE submit-to-action-start latency over %d webhook "
              "submissions (sequential, fast receiver): median %.1f ms, "
              "p90 %.1f ms, p99 %.1f ms, max %.1f ms, min %.1f ms" % (
                  n, statistics.median(lat), pct(lat, 90), pct(lat, 99),
                  max(lat), min(lat)), flush=True)
        js = db_rows(self.srv, "SELECT state, count(*) AS n FROM jobs "
                     "WHERE submission_id IN (SELECT id FROM submissions "
                     "WHERE form = 'fast') GROUP BY state")
        deadline = time.monotonic() + 10
        while js != [{"state": "done", "n": n}] and \
                time.monotonic() < deadline:
            time.sleep(0.1)
            js = db_rows(self.srv, "SELECT state, count(*) AS n FROM jobs "
                         "WHERE submission_id IN (SELECT id FROM submissions "
                         "WHERE form = 'fast') GROUP BY state")
        self.assertEqual(js, [{"state": "done", "n": n}])

    def test_throughput_1000_jobs(self):
        n = 1000
        gate = rx().gate("/gated")
        t0 = time.monotonic()
        ids, errors = submit_many(self.srv, "gated", n, 8)
        t_sub = time.monotonic() - t0
        self.assertEqual(errors, [], "submissions not answered 303")
        self.assertEqual(len(ids), n)
        queued = db_rows(self.srv, "SELECT state, count(*) AS n FROM jobs "
                         "GROUP BY state")
        t_release = time.time()
        rx().release("/gated")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            left = db_rows(self.srv, "SELECT count(*) AS n FROM jobs WHERE "
                           "state IN ('queued', 'running')")[0]["n"]
            if left == 0:
                break
            time.sleep(0.05)
        last = db_rows(self.srv, "SELECT max(finished_at) AS t FROM jobs "
                       "JOIN submissions s ON s.id = submission_id "
                       "WHERE s.form = 'gated'")[0]["t"]
        states = db_rows(self.srv, "SELECT state, count(*) AS n FROM jobs "
                         "JOIN submissions s ON s.id = submission_id "
                         "WHERE s.form = 'gated' GROUP BY state")
        took = last / 1000.0 - t_release
        seen = rx().seen("/gated")
        dup = len(seen) - len({d.id for d in seen})
        act = db_rows(self.srv, "SELECT avg(finished_at - started_at) AS a "
                      "FROM jobs JOIN submissions s ON s.id = submission_id "
                      "WHERE s.form = 'gated' AND started_at >= ?",
                      (int(t_release * 1000),))[0]["a"]
        print("      FIGURE %d submissions (8 client threads, keep-alive) "
              "in %.2f s (%.0f/s); queue when released: %s" % (
                  n, t_sub, n / t_sub, queued), flush=True)
        print("      FIGURE %d webhook jobs drained in %.2f s after the "
              "receiver opened: %.0f jobs/s (requests %d, duplicates %d; "
              "mean time from claim to finish %.1f ms with %s runners "
              "per worker x 2 workers)" % (
                  n, took, n / took, len(seen), dup, act or -1,
                  os.environ.get("FORMWORK_RUNNERS", "4")), flush=True)
        del gate
        self.assertEqual(states, [{"state": "done", "n": n}])
        # Without a crash every job is delivered exactly once.
        self.assertEqual((len(seen), dup), (n, 0))


# ---- runner -----------------------------------------------------------------

def main():
    def add_args(ap):
        ap.add_argument("--no-figures", action="store_true",
                        help="skip the latency and throughput figures")

    def use_args(args):
        global NO_FIGURES
        NO_FIGURES = args.no_figures

    def cleanup():
        for helper in (_RX, _SINK):
            if helper is not None:
                helper.stop()

    return harness.run(sys.modules[__name__], "queue tests", SERVERS,
                       EXTRA_SERVERS, cleanup=cleanup, add_args=add_args,
                       use_args=use_args)

if __name__ == "__main__":
    sys.exit(main())
