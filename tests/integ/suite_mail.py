#!/usr/bin/python3
"""
suite_mail.py: black-box tests of SPEC 11, mail and deliveries an owner
can work with, against real Kore servers (server.py), real SMTP servers
(smtp_sink.py, aiosmtpd) and real webhook receivers
(webhook_receiver.py), all on 127.0.0.1. Messages are read as a mail
client reads them, with Python's email package; the database only to see
jobs and the delivery log (read-only).

Servers (each with its own forms, database and log):

  mail     SMTP to the shared sink; forms whose email actions go to lists
           with cc and bcc, take their Reply-To from the visitor's field,
           subject templates and the shipped templates/mail/ pairs;
           autoreplies; webhooks with per-endpoint secrets (one of them
           rotating) and receivers that fail twice; short retries
  outage   SMTP to a sink of its own that refuses for a while;
           FORMWORK_WAIT_MAX=3 and an action retrying every second
  alerts   FORMWORK_ALERT_TO, FORMWORK_ALERT_DELAY=2, actions that fail
           for good; the default retry schedule
  + short-lived servers that must refuse to start (a missing template,
    a bad schedule, the old FORMWORK_RETRY_BASE_MS, an unset secret_env).

At the end every server is stopped and its log searched for sandbox
violations, workers gone and sanitizer reports. The last line is
"N passed, N failed"; exit status 1 on any failure.

Usage: /usr/bin/python3 tests/integ/suite_mail.py [--so PATH] [-k PATTERN]
"""

import email
import email.message
import email.utils
import os
import re
import smtplib
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from client import get_form, post_form, request  # noqa: E402
import harness  # noqa: E402
from harness import (Desk, add_user, db_rows, hook, jobs_of,  # noqa: E402
                     uniq, wait_jobs_final, write_forms)
from server import Server  # noqa: E402
from smtp_sink import SmtpSink  # noqa: E402
from webhook_receiver import Receiver, new_secret, verify  # noqa: E402

GLOBAL_SECRET = new_secret()
OLD_SECRET = new_secret()
NEW_SECRET = new_secret()
SINGLE_SECRET = new_secret()
MAIL_FROM = "forms@example.com"
BASE_ENV = {"FORMWORK_MIN_FILL_MS": "0", "FORMWORK_RATE_LIMIT": "0",
            "FORMWORK_MAIL_FROM": MAIL_FROM}

# ---- outside services (started on first use) ---------------------------

_HELPERS = {}


def helper(name):
    """The shared SMTP sink ("sink"), the outage server's own ("down"),
    and the webhook receivers ("rx" knows the global secret, "old" and
    "new" one rotating secret each, "single" an endpoint's own)."""
    h = _HELPERS.get(name)
    if h is None:
        if name in ("sink", "down"):
            h = SmtpSink().start()
        else:
            h = Receiver({"rx": GLOBAL_SECRET, "old": OLD_SECRET,
                          "new": NEW_SECRET,
                          "single": SINGLE_SECRET}[name]).start()
            h.route("/logged", lambda n: 500 if n <= 2 else 200)
            h.route("/bad", lambda n: 400)
        _HELPERS[name] = h
    return h


# ---- forms ----------------------------------------------------------------

def mail_form(slug, actions, title=None):
    """A form of a name, the visitor's address and a message."""
    return {
        "slug": slug,
        "title": title or "Mail test %s" % slug,
        "success_message": "Thanks, %s received it." % slug,
        "fields": [
            {"name": "name", "type": "text", "label": "Your name",
             "required": True, "max_length": 200},
            {"name": "email", "type": "email", "label": "Your email",
             "required": True},
            {"name": "message", "type": "textarea", "label": "Message",
             "max_length": 2000},
        ],
        "actions": actions,
    }


CONFIRM_TITLE = "Anmeldung für Zürich – Bestätigung"
SUBJECT_TMPL = "Nachricht von {{name}} – Grüße"


def forms_of(name):
    if name == "mail":
        rx, old, new, single = (helper("rx"), helper("old"), helper("new"),
                                helper("single"))
        return [
            mail_form("notify", [{
                "type": "email", "to": ["owner1@example.com",
                                        "owner2@example.org"],
                "cc": "copy@example.com", "bcc": ["hidden@example.net"],
                "subject": "New message from {{name}}",
                "template": "notification"}]),
            mail_form("subject", [{"type": "email",
                                   "to": "owner@example.com",
                                   "subject": SUBJECT_TMPL}]),
            dict(mail_form("visitorsubject", [{
                "type": "email", "to": "owner@example.com",
                "subject": "Configured subject"}]), allow_subject=True),
            mail_form("inject", [{"type": "email", "to": "owner@example.com",
                                  "subject": "Re: {{message}}"}]),
            mail_form("confirm", [
                {"type": "autoreply", "template": "confirmation"},
                {"type": "email", "to": "owner@example.com"}],
                title=CONFIRM_TITLE),
            mail_form("resendmail", [{"type": "email",
                                      "to": "owner@example.com"}]),
            mail_form("logged", [hook(rx.url("/logged"), 5)]),
            mail_form("again", [hook(rx.url("/again"), 3),
                                hook(rx.url("/bad"), 3)]),
            mail_form("rotate", [
                dict(hook(old.url("/rot"), 3), secret_env="FW_ROTATING"),
                dict(hook(new.url("/rot"), 3), secret_env="FW_ROTATING"),
                dict(hook(single.url("/one"), 3), secret_env="FW_SINGLE")]),
        ]
    if name == "outage":
        return [mail_form("outage", [{"type": "email",
                                      "to": "owner@example.com",
                                      "retry": [1], "max_attempts": 40}])]
    if name == "alerts":
        return [
            mail_form("doomed", [{"type": "email",
                                  "to": "reject-owner@example.com"}]),
            mail_form("doomedhook", [hook(helper("rx").url("/bad"))]),
            mail_form("later", [{"type": "email",
                                 "to": "temp-owner@example.com"}]),
        ]
    raise KeyError(name)


def env_of(name):
    env = dict(BASE_ENV, FORMWORK_WEBHOOK_SECRET=GLOBAL_SECRET,
               FORMWORK_WEBHOOK_ALLOW_PRIVATE="1")
    if name == "mail":
        env.update(FORMWORK_SMTP_URL=helper("sink").url,
                   FORMWORK_RETRY_SCHEDULE="0.2,0.4,0.8",
                   FW_ROTATING="%s %s" % (OLD_SECRET, NEW_SECRET),
                   FW_SINGLE=SINGLE_SECRET)
    elif name == "outage":
        env.update(FORMWORK_SMTP_URL=helper("down").url,
                   FORMWORK_WAIT_MAX="3")
    elif name == "alerts":
        env.update(FORMWORK_SMTP_URL=helper("sink").url,
                   FORMWORK_ALERT_TO="alerts@example.com, ops@example.com",
                   FORMWORK_ALERT_DELAY="2")
    return env


def start(name):
    s = Server("mail-" + name, env=env_of(name),
               forms_dir=write_forms("mail-" + name, forms_of(name)))
    return s.start()


SERVERS = harness.Servers(start)
EXTRA_SERVERS = []


# ---- reading what arrived -------------------------------------------------

def header_block(m):
    return m.content.split(b"\r\n\r\n", 1)[0]


def addresses(m, name):
    return [a for _, a in email.utils.getaddresses(m.parsed.get_all(name,
                                                                    []))]


def deliveries(srv, sid):
    return db_rows(srv, "SELECT d.*, j.action FROM deliveries d JOIN jobs j "
                   "ON j.id = d.job_id WHERE j.submission_id = ? "
                   "ORDER BY d.id", (sid,))


class Base(harness.TestCase):
    servers = SERVERS
    server_name = "mail"

    def submit(self, slug, **values):
        v = {"name": "Ada Lovelace", "email": "ada@example.com",
             "message": "Hello, this is an ordinary message."}
        v.update(values)
        return harness.submit(self.base, slug, v)

    def messages(self, pred, n=1, timeout=15.0, sink="sink"):
        got = helper(sink).wait_for(pred, timeout, n)
        self.assertEqual(len(got), n, "messages: %d of %d after %.0f s" % (
            len(got), n, timeout))
        return got

    def of(self, sid, n=1, **kw):
        return self.messages(
            lambda m: m.header("X-Formwork-Submission") == sid, n, **kw)

    def final(self, sid, n=1, timeout=20.0):
        js = wait_jobs_final(self.srv, sid, timeout)
        self.assertEqual(len(js), n, repr(js))
        for j in js:
            self.assertIn(j["state"], ("done", "failed"), repr(j))
        return js

    def assertCleanHeaders(self, m):
        """ASCII, at most 78 columns, no defects (RFC 5322 2.1.1)."""
        for line in header_block(m).split(b"\r\n"):
            self.assertTrue(all(b < 128 for b in line), line)
            self.assertLessEqual(len(line), 78, line)
        self.assertEqual(m.parsed.defects, [])

    def admin(self, name=None):
        name = name or uniq("adm")
        add_user(self.srv, name, "admin")
        d = Desk(self.srv)
        r = d.login(name)
        self.assertEqual(r.status, 303, repr(r))
        return d


# ---- 1. the notification -------------------------------------------------

class T01Notification(Base):

    def test_answering_the_notification_reaches_the_visitor(self):
        visitor = uniq("visitor") + "@example.net"
        sid = self.submit("notify", email=visitor, name="Ada " + uniq())
        m = self.of(sid)[0]
        # A mail client answers Reply-To when there is one, else From.
        to = addresses(m, "Reply-To") or addresses(m, "From")
        self.assertEqual(to, [visitor])
        reply = email.message.EmailMessage()
        reply["From"] = "owner1@example.com"
        reply["To"] = to[0]
        reply["Subject"] = "Re: " + m.subject
        reply["In-Reply-To"] = m.message_id
        reply.set_content("Thank you for writing.")
        with smtplib.SMTP("127.0.0.1", helper("sink").port, timeout=10) as c:
            c.send_message(reply)
        got = self.messages(lambda r: r.header("In-Reply-To") ==
                            m.message_id)
        self.assertEqual(got[0].rcpt_tos, [visitor])

    def test_to_list_cc_and_bcc_all_receive_and_bcc_is_in_no_header(self):
        sid = self.submit("notify", name="Many " + uniq())
        m = self.of(sid)[0]
        self.assertEqual(sorted(m.rcpt_tos), sorted([
            "owner1@example.com", "owner2@example.org", "copy@example.com",
            "hidden@example.net"]))
        self.assertEqual(addresses(m, "To"),
                         ["owner1@example.com", "owner2@example.org"])
        self.assertEqual(addresses(m, "Cc"), ["copy@example.com"])
        self.assertIsNone(m.parsed.get("Bcc"))
        self.assertNotIn(b"hidden@example.net", m.content)
        self.assertEqual(addresses(m, "From"), [MAIL_FROM])

    def test_html_and_text_parts_parse_with_the_email_package(self):
        name = "<b>Ada</b> & Co " + uniq()
        sid = self.submit("notify", name=name,
                          message="Line one\nLine <two>")
        m = self.of(sid)[0]
        self.assertCleanHeaders(m)
        p = m.parsed
        self.assertEqual(p.get_content_type(), "multipart/alternative")
        self.assertTrue(p["Message-ID"] and p["Date"])
        text = p.get_body(preferencelist=("plain",))
        html = p.get_body(preferencelist=("html",))
        self.assertIsNotNone(text)
        self.assertIsNotNone(html)
        self.assertEqual([part.get_content_type() for part in p.iter_parts()],
                         ["text/plain", "text/html"], "text first")
        for part in (text, html):
            self.assertEqual(part.defects, [])
            self.assertEqual(part.get_content_charset(), "utf-8")
        t, h = text.get_content(), html.get_content()
        self.assertIn(name, t, "the text part holds the value as it is")
        self.assertIn("Line <two>", t)
        self.assertIn("&lt;b&gt;Ada&lt;/b&gt; &amp; Co", h)
        self.assertNotIn("<b>Ada", h, "the HTML part escapes values")
        self.assertIn("/admin/s/" + sid, t)
        self.assertIn("/admin/s/" + sid, h)
        self.assertEqual(m.subject, "New message from " + name)

    def test_non_ascii_subject_round_trips(self):
        name = "Zoë Ångström 日本語 \U0001F600 " + uniq()
        sid = self.submit("subject", name=name)
        m = self.of(sid)[0]
        self.assertCleanHeaders(m)
        self.assertEqual(m.subject, SUBJECT_TMPL.replace("{{name}}", name))
        self.assertRegex(header_block(m).decode(), r"=\?UTF-8\?B\?")

    def test_the_visitors_subject_when_allowed_and_replyto_always(self):
        subject = "Frage zu Ihrem Angebot " + uniq()
        sid = self.submit("visitorsubject", _subject=subject,
                          _replyto="answer-here@example.org")
        m = self.of(sid)[0]
        self.assertCleanHeaders(m)
        self.assertEqual(m.subject, subject)
        self.assertEqual(addresses(m, "Reply-To"),
                         ["answer-here@example.org"], "_replyto overrides "
                         "the action's reply_to (the email field)")
        self.assertNotIn("_subject", m.text, "never mailed as a value")
        self.assertNotIn("_replyto", m.text)
        # A form that does not allow it keeps its own subject.
        name = "Grace " + uniq()
        sid = self.submit("notify", name=name, _subject="Buy now",
                          _replyto="answer-here@example.org")
        m = self.of(sid)[0]
        self.assertEqual(m.subject, "New message from " + name)
        self.assertEqual(addresses(m, "Reply-To"),
                         ["answer-here@example.org"])

    def test_cr_lf_in_a_value_cannot_add_a_header_or_recipient(self):
        evil = ("hi\r\nBcc: evil@example.com\r\nX-Injected: yes\r\n\r\n"
                "body for evil")
        sid = self.submit("inject", message=evil)
        m = self.of(sid)[0]
        self.assertCleanHeaders(m)
        self.assertEqual(m.rcpt_tos, ["owner@example.com"])
        self.assertIsNone(m.parsed.get("Bcc"))
        self.assertIsNone(m.parsed.get("X-Injected"))
        self.assertEqual(len(m.parsed.get_all("Subject")), 1)
        # Each line break is a space now (the form may have made CR LF
        # a LF on the way in): one line of text.
        self.assertRegex(m.subject, r"^Re: hi +Bcc: evil@example\.com +"
                         r"X-Injected: yes +body for evil$")
        # Non-ASCII with CR LF: encoded words, the same one header.
        sid = self.submit("inject", message="Grüße\r\nX-Injected: ja")
        m = self.of(sid)[0]
        self.assertCleanHeaders(m)
        self.assertIsNone(m.parsed.get("X-Injected"))
        self.assertRegex(m.subject, r"^Re: Grüße +X-Injected: ja$")

    def test_cr_lf_in_the_visitors_address_is_refused_by_the_form(self):
        n = len(helper("sink").messages)
        form = get_form(self.base, "notify")
        fields = dict(form.tokens(), name="Evil " + uniq(),
                      email="a@example.com\r\nBcc: evil@example.com")
        r = post_form(self.base, "notify", fields)
        self.assertStatus(r, 422)
        time.sleep(0.5)
        self.assertEqual(helper("sink").find(
            lambda m: "evil@example.com" in m.rcpt_tos), [])
        self.assertEqual(len(helper("sink").messages), n, "nothing sent")

    def test_a_non_ascii_reply_to_address_is_left_out(self):
        sid = self.submit("notify", email="zoë@exämple.com",
                          name="Zoë " + uniq())
        m = self.of(sid)[0]
        self.assertCleanHeaders(m)
        self.assertIsNone(m.parsed.get("Reply-To"))
        self.assertIn("zoë@exämple.com", m.text, "still mailed as a value")


# ---- 2. the autoreply ------------------------------------------------------

class T02Autoreply(Base):

    def test_one_autoreply_per_address_per_hour_compared_without_case(self):
        local = uniq("once")
        sid1 = self.submit("confirm", email=local + "@example.com",
                           name="First " + uniq())
        self.final(sid1, 2)
        sid2 = self.submit("confirm", email=local.upper() + "@EXAMPLE.com",
                           name="Second " + uniq())
        js = self.final(sid2, 2)
        self.assertEqual([j["state"] for j in js], ["done", "done"])
        time.sleep(0.5)
        got = helper("sink").find(lambda m: any(
            r.lower() == (local + "@example.com").lower()
            for r in m.rcpt_tos))
        self.assertEqual(len(got), 1, "autoreplies to one address")
        log = [d for d in deliveries(self.srv, sid2) if d["action"] == 0]
        self.assertEqual([d["outcome"] for d in log], ["skipped"])
        self.assertIn("less than an hour ago", log[0]["error"])
        # The owner's notification is not limited.
        self.assertEqual(len(self.of(sid2)), 1)
        # The address is kept for the limit only as long as the first
        # submission: deleting it removes it.
        addr = (local + "@example.com").lower()
        self.assertEqual(len(db_rows(self.srv, "SELECT 1 FROM autoreplies "
                                     "WHERE address = ?", (addr,))), 1)
        self.assertStatus(self.admin().post("/admin/s/%s/delete" % sid1),
                          303)
        self.assertEqual(db_rows(self.srv, "SELECT 1 FROM autoreplies "
                                 "WHERE address = ?", (addr,)), [])

    def test_autoreply_is_auto_submitted_with_a_null_sender(self):
        addr = uniq("auto") + "@example.com"
        name = "Grace " + uniq()
        self.submit("confirm", email=addr, name=name)
        m = self.messages(lambda m: m.rcpt_tos == [addr])[0]
        self.assertCleanHeaders(m)
        self.assertEqual(m.header("Auto-Submitted"), "auto-replied")
        self.assertIn(m.mail_from, ("", "<>"), "RFC 3834 3.3: MAIL FROM:<>")
        self.assertEqual(addresses(m, "To"), [addr])
        self.assertEqual(m.parsed["From"].addresses[0].display_name,
                         CONFIRM_TITLE)
        self.assertIsNone(m.parsed.get("X-Formwork-Submission"),
                          "the visitor's copy names no submission")
        text = m.parsed.get_body(preferencelist=("plain",)).get_content()
        html = m.parsed.get_body(preferencelist=("html",)).get_content()
        self.assertIn("Hello " + name, text)
        self.assertIn(CONFIRM_TITLE, html)

    def test_no_autoreply_for_spam_not_even_once_released(self):
        addr = uniq("spam") + "@example.com"
        sid = self.submit("confirm", email=addr, name="Spam " + uniq(),
                          _homepage="http://spam.example/")
        self.assertEqual(jobs_of(self.srv, sid), [], "spam runs nothing")
        d = self.admin()
        page = d.get("/admin/s/" + sid)
        r = d.post("/admin/s/%s/review" % sid, {
            "version": page.doc.input_value("version"),
            "state": "approved", "note": "not spam after all"})
        self.assertEqual(r.status, 303, repr(r))
        js = self.final(sid, 2)
        self.assertEqual([j["state"] for j in js], ["done", "done"])
        self.assertEqual(len(self.of(sid)), 1, "the owner is told")
        log = [x for x in deliveries(self.srv, sid) if x["action"] == 0]
        self.assertEqual([x["outcome"] for x in log], ["skipped"])
        self.assertIn("spam", log[0]["error"])
        self.assertEqual(helper("sink").find(lambda m: addr in m.rcpt_tos),
                         [])

    def test_no_autoreply_to_a_non_ascii_address(self):
        sid = self.submit("confirm", email="zoë.%s@exämple.com" % uniq(),
                          name="Zoë " + uniq())
        self.final(sid, 2)
        log = [x for x in deliveries(self.srv, sid) if x["action"] == 0]
        self.assertEqual([x["outcome"] for x in log], ["skipped"])
        self.assertIn("not a plain ASCII address", log[0]["error"])


# ---- 3. an outage: retries, the 202 window, the page after it -------------

class T03Outage(Base):
    server_name = "outage"

    def test_mail_arrives_once_after_an_outage_and_pages_say_so(self):
        back = helper("down").refuse_for(7.0)
        sid = self.submit("outage", name="Patient " + uniq())
        t0 = time.time()
        r = self.get("/s/" + sid)
        self.assertStatus(r, 202, "within FORMWORK_WAIT_MAX")
        self.assertLess(time.time() - t0, 3.0)
        api = self.get("/api/submissions/" + sid)
        self.assertStatus(api, 202)

        time.sleep(max(0.0, t0 + 3.5 - time.time()))
        r = self.get("/s/" + sid)
        self.assertStatus(r, 200, "past FORMWORK_WAIT_MAX while pending")
        self.assertNoStore(r)
        self.assertIsNone(r.header("etag"))
        self.assertIsNone(r.header("refresh"))
        text = re.sub(r"\s+", " ", r.doc.find("main").text)
        self.assertIn("Your submission is saved", text)
        self.assertRegex(text, r"Email notification to the site owner: "
                         r"(did not work yet: retry \d+ of 40, next try in "
                         r"\d s|in progress \(retry \d+ of 40\))")
        self.assertStatus(self.get("/api/submissions/" + sid), 202,
                          "the JSON status stays 202 while pending")

        m = self.of(sid, timeout=30, sink="down")[0]
        self.assertGreaterEqual(m.t_start, back - 0.05)
        time.sleep(1.5)
        self.assertEqual(len(helper("down").find(
            lambda x: x.header("X-Formwork-Submission") == sid)), 1,
            "the mail arrives once")
        js = self.final(sid)
        self.assertEqual(js[0]["state"], "done")
        log = deliveries(self.srv, sid)
        self.assertEqual(len(log), js[0]["attempts"])
        self.assertEqual([x["attempt"] for x in log],
                         list(range(1, len(log) + 1)))
        self.assertGreaterEqual(len(log), 5, "about one try a second")
        self.assertEqual({x["outcome"] for x in log[:-1]}, {"retry"})
        self.assertEqual({x["code"] for x in log[:-1]}, {451})
        self.assertTrue(all(x["response"].startswith("451 ")
                            for x in log[:-1]), "the refusal, not the QUIT's "
                        "221: %r" % [x["response"] for x in log])
        self.assertEqual((log[-1]["outcome"], log[-1]["code"]),
                         ("delivered", 250))
        self.assertIn("250", log[-1]["response"])
        self.assertEqual({x["delivery_id"] for x in log},
                         {js[0]["delivery_id"]})
        r = self.get("/s/" + sid)
        self.assertStatus(r, 200)
        self.assertIsNotNone(r.header("etag"), "final now")
        self.assertNotIn("keep trying", r.text)


# ---- 4. alerts ------------------------------------------------------------

class T04Alerts(Base):
    server_name = "alerts"

    def test_failures_for_good_send_one_digest_and_the_desk_counts(self):
        sids = [self.submit("doomed", name="Doomed %d %s" % (i, uniq()))
                for i in range(2)]
        sids.append(self.submit("doomedhook", name="Hook " + uniq()))
        for sid in sids:
            self.assertEqual(self.final(sid)[0]["state"], "failed")
        first = min(j["finished_at"] for sid in sids
                    for j in jobs_of(self.srv, sid)) / 1000.0
        digests = self.messages(lambda m: "alerts@example.com" in m.rcpt_tos,
                                timeout=60)
        d = digests[0]
        self.assertLess(d.t_done - first, 60, "within a minute")
        self.assertGreaterEqual(d.t_start - first, 2 - 0.5,
                                "FORMWORK_ALERT_DELAY gathers them")
        self.assertEqual(sorted(d.rcpt_tos),
                         ["alerts@example.com", "ops@example.com"])
        self.assertCleanHeaders(d)
        self.assertEqual(d.subject, "Formwork: 3 actions failed for good")
        body = d.text
        for sid in sids:
            self.assertIn("%s/admin/s/%s" % (self.base, sid), body)
        self.assertIn("HTTP 400", body)
        self.assertIn("550", body)

        # Another failure right after: no second mail within 15 minutes.
        sid = self.submit("doomed", name="Doomed later " + uniq())
        self.assertEqual(self.final(sid)[0]["state"], "failed")
        time.sleep(2 + 3)
        self.assertEqual(len(helper("sink").find(
            lambda m: "alerts@example.com" in m.rcpt_tos)), 1)

        failed = db_rows(self.srv, "SELECT count(*) AS n FROM jobs WHERE "
                         "state = 'failed'")[0]["n"]
        self.assertGreaterEqual(failed, 4)
        desk = self.admin()
        for path in ("/admin", "/admin/s/" + sid, "/admin/audit"):
            r = desk.get(path)
            self.assertStatus(r, 200)
            a = r.doc.find("a", class_="failed-count has-failed")
            self.assertIsNotNone(a, "%s: no failed count" % path)
            self.assertEqual(a.get("data-failed"), str(failed))
            self.assertIn("Failed actions: %d" % failed, a.text)
            self.assertEqual(a.get("href"), "/admin?actions=failed")

    def test_the_default_schedule_retries_after_about_5_s(self):
        sid = self.submit("later", name="Later " + uniq())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not deliveries(self.srv, sid):
            time.sleep(0.05)
        log = deliveries(self.srv, sid)
        self.assertEqual([x["outcome"] for x in log], ["retry"])
        j = jobs_of(self.srv, sid)[0]
        self.assertEqual(j["max_attempts"], 9, "8 waits and the first try")
        wait = j["run_at"] - (log[0]["started_at"] + log[0]["duration_ms"])
        self.assertGreaterEqual(wait, 4000 - 50, "5 s less at most a fifth")
        self.assertLessEqual(wait, 6000 + 50, "5 s more at most a fifth")
        js = self.final(sid, timeout=15)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("done", 2))


# ---- 5. webhooks: secrets, the delivery log, send again --------------------

class T05Webhooks(Base):

    def delivered(self, name, path, sid, n=1):
        got = helper(name).wait_for(n, path, 15, pred=lambda d: d.json and
                                    d.json["data"]["id"] == sid)
        self.assertEqual(len(got), n, "%s%s: %r" % (name, path, got))
        return got

    def test_rotation_receivers_knowing_either_secret_both_verify(self):
        sid = self.submit("rotate", name="Rotate " + uniq())
        old = self.delivered("old", "/rot", sid)[0]
        new = self.delivered("new", "/rot", sid)[0]
        for d in (old, new):
            self.assertTrue(d.sig_ok, d.sig_why)
            sigs = d.headers["webhook-signature"].split(" ")
            self.assertEqual(len(sigs), 2, sigs)
            self.assertTrue(all(s.startswith("v1,") for s in sigs))
        # Each receiver knows one secret only, and each request carries
        # a signature for either.
        for d in (old, new):
            for secret in (OLD_SECRET, NEW_SECRET):
                self.assertTrue(verify(secret, d.headers, d.body, d.t)[0])
        one = self.delivered("single", "/one", sid)[0]
        self.assertTrue(one.sig_ok, one.sig_why)
        self.assertEqual(len(one.headers["webhook-signature"].split()), 1)
        self.assertFalse(verify(GLOBAL_SECRET, one.headers, one.body,
                                one.t)[0], "an endpoint's own secret, not "
                         "FORMWORK_WEBHOOK_SECRET")

    def test_the_delivery_log_has_a_row_per_attempt(self):
        sid = self.submit("logged", name="Logged " + uniq())
        js = self.final(sid)
        self.assertEqual((js[0]["state"], js[0]["attempts"]), ("done", 3))
        log = deliveries(self.srv, sid)
        self.assertEqual([(x["attempt"], x["outcome"], x["code"])
                          for x in log],
                         [(1, "retry", 500), (2, "retry", 500),
                          (3, "delivered", 200)])
        self.assertIn("test receiver says 500", log[0]["response"])
        self.assertEqual(log[2]["response"], '{"ok":true}')
        self.assertIn("HTTP 500", log[0]["error"])
        self.assertEqual(log[2]["error"], "")
        self.assertEqual({x["delivery_id"] for x in log},
                         {js[0]["delivery_id"]})
        starts = [x["started_at"] for x in log]
        self.assertEqual(starts, sorted(starts))
        self.assertTrue(all(x["duration_ms"] >= 0 for x in log))
        # The desk shows them on the submission's page.
        r = self.admin().get("/admin/s/" + sid)
        self.assertStatus(r, 200)
        table = r.doc.find("table", class_="deliveries")
        self.assertIsNotNone(table, "no delivery log on the page")
        rows = table.find("tbody").find_all("tr")
        self.assertEqual([x.get("data-outcome") for x in rows],
                         ["retry", "retry", "delivered"])
        self.assertIn("test receiver says 500", rows[0].text)
        self.assertIn("500", rows[0].text)
        # Deleting the submission takes its log along (pruning deletes
        # submissions the same way).
        r = self.admin().post("/admin/s/%s/delete" % sid)
        self.assertStatus(r, 303)
        self.assertEqual(db_rows(self.srv, "SELECT count(*) AS n FROM "
                                 "deliveries WHERE job_id = ?",
                                 (js[0]["id"],))[0]["n"], 0)

    def test_send_again_gives_a_new_webhook_id_and_is_audited(self):
        sid = self.submit("again", name="Again " + uniq())
        js = self.final(sid, 2)
        self.assertEqual([j["state"] for j in js], ["done", "failed"])
        first = self.delivered("rx", "/again", sid)[0]
        d = self.admin()
        page = d.get("/admin/s/" + sid)
        rows = {int(tr.get("data-job")): tr for tr in
                page.doc.find_all("tr") if tr.get("data-job")}
        done, failed = js[0]["id"], js[1]["id"]
        self.assertIsNotNone(rows[done].find("button"), "send again")
        self.assertIsNone(rows[failed].find("button"),
                          "only a delivered action is sent again")
        # CSRF is required; a viewer may not; a failed job is no resend.
        r = d.post("/admin/s/%s/resend" % sid, {"job": done}, csrf=False)
        self.assertStatus(r, 403)
        viewer = uniq("view")
        add_user(self.srv, viewer, "viewer")
        v = Desk(self.srv)
        v.login(viewer)
        self.assertStatus(v.post("/admin/s/%s/resend" % sid, {"job": done}),
                          403)
        self.assertStatus(d.post("/admin/s/%s/resend" % sid,
                                 {"job": failed}), 409)

        r = d.post("/admin/s/%s/resend" % sid, {"job": done})
        self.assertEqual((r.status, r.header("location")),
                         (303, "/admin/s/" + sid))
        again = self.delivered("rx", "/again", sid, 2)[1]
        self.assertTrue(again.sig_ok, again.sig_why)
        self.assertNotEqual(again.id, first.id, "a new webhook-id")
        js = self.final(sid, 2)
        self.assertEqual(js[0]["delivery_id"], again.id)
        log = [x for x in deliveries(self.srv, sid) if x["action"] == 0]
        self.assertEqual([x["delivery_id"] for x in log],
                         [first.id, again.id])
        audit = db_rows(self.srv, "SELECT * FROM audit WHERE subject = ? "
                        "AND action = 'resend'", (sid,))
        self.assertEqual(len(audit), 1)
        self.assertEqual(audit[0]["before"], first.id)
        self.assertIn(again.id, audit[0]["after"])

    def test_send_again_of_a_mail_has_a_new_message_id(self):
        sid = self.submit("resendmail", name="Mail again " + uniq())
        m1 = self.of(sid)[0]
        js = self.final(sid)
        d = self.admin()
        r = d.post("/admin/s/%s/resend" % sid, {"job": js[0]["id"]})
        self.assertStatus(r, 303)
        m2 = self.of(sid, 2)[1]
        self.assertNotEqual(m2.message_id, m1.message_id)
        js = self.final(sid)
        self.assertEqual(m2.message_id, "<%s@formwork>" %
                         js[0]["delivery_id"])


# ---- 6. start-up -----------------------------------------------------------

class T06Startup(unittest.TestCase):

    def refused(self, name, forms, env, *wants):
        s = Server("mail-" + name, env=dict(BASE_ENV, **env),
                   forms_dir=write_forms("mail-" + name, forms))
        EXTRA_SERVERS.append(s)
        rc, serving, log = s.run_until_exit(10)
        self.assertFalse(serving, "served anyway")
        self.assertIsNotNone(rc, "still running")
        self.assertNotEqual(rc, 0)
        for w in wants:
            self.assertIn(w, log)

    def test_a_missing_mail_template_stops_startup(self):
        self.refused("notemplate", [mail_form("notemplate", [{
            "type": "email", "to": "o@example.com", "template": "nosuch"}])],
            {}, "notemplate.json", "actions[0]", "templates/mail/nosuch.txt")

    def test_a_bad_subject_template_stops_startup(self):
        self.refused("badsubject", [mail_form("badsubject", [{
            "type": "email", "to": "o@example.com",
            "subject": "Hi {{#name}}"}])], {}, "badsubject.json",
            "'subject' is not a valid template")

    def test_the_old_retry_setting_is_refused_naming_the_new_one(self):
        self.refused("oldretry", [], {"FORMWORK_RETRY_BASE_MS": "200"},
                     "FORMWORK_RETRY_BASE_MS", "FORMWORK_RETRY_SCHEDULE")

    def test_a_bad_retry_schedule_is_refused(self):
        self.refused("badsched", [], {"FORMWORK_RETRY_SCHEDULE": "5,soon"},
                     "FORMWORK_RETRY_SCHEDULE must be")

    def test_an_unset_secret_env_stops_startup(self):
        self.refused("nosecretenv", [mail_form("nosecretenv", [dict(
            hook("http://192.0.2.1/h"), secret_env="FW_NOT_SET_ANYWHERE")])],
            {}, "nosecretenv.json", "FW_NOT_SET_ANYWHERE is not set")


def main():
    def cleanup():
        for h in _HELPERS.values():
            h.stop()

    return harness.run(sys.modules[__name__], "mail tests", SERVERS,
                       EXTRA_SERVERS, cleanup=cleanup)


if __name__ == "__main__":
    sys.exit(main())
