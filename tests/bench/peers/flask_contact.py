"""
flask_contact.py: the contact form as an ordinary Flask app, a peer for
tests/bench (rows with reference "flask_gunicorn"). Debian's python3-flask
under Debian's gunicorn (gthread workers), started by tests/bench/bench.py:

    gunicorn -w 2 -k gthread --threads 4 -b 127.0.0.1:PORT \
        --chdir tests/bench/peers flask_contact:app

GET /f/contact: the form with a fresh _key and an HMAC _csrf token.
POST /f/contact: checks the token and the fields, inserts one row into
SQLite (PEER_DB, WAL, synchronous=FULL like Formwork, one transaction per
request, the app's submissions table) and answers 303 to /s/<id>.
"""

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import threading
import time

from flask import Flask, abort, redirect, render_template_string, request

app = Flask(__name__)
SECRET = os.environ.get("PEER_SECRET", "peer-secret-" * 3).encode()
DB = os.environ.get("PEER_DB", "peer.db")
TOPICS = ("general", "support", "sales")
local = threading.local()

# The table both peers write (the Node peer too).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "schema.sql"), encoding="utf-8") as _f:
    SCHEMA = _f.read()

# The form page both peers serve (the Node peer too): {{ key }} and
# {{ csrf }} are filled in per request.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "contact_form.html"), encoding="utf-8") as _f:
    PAGE = _f.read()


def db():
    if getattr(local, "db", None) is None:
        local.db = sqlite3.connect(DB, timeout=5, isolation_level=None)
        local.db.execute("PRAGMA journal_mode=WAL")
        local.db.execute("PRAGMA synchronous=FULL")
        local.db.executescript(SCHEMA)
    return local.db


def mac(key, issued):
    return hmac.new(SECRET, b"contact|%s|%d" % (key.encode(), issued),
                    hashlib.sha256).hexdigest()


@app.get("/healthz")
def healthz():
    db().execute("SELECT 1")
    return "ok\n"


@app.get("/f/contact")
def form():
    key, issued = secrets.token_urlsafe(16), int(time.time() * 1000)
    csrf = "%x.%s" % (issued, mac(key, issued))
    return render_template_string(PAGE, key=key, csrf=csrf), \
        {"Cache-Control": "no-store"}


@app.post("/f/contact")
def submit():
    f = request.form
    key, csrf = f.get("_key", ""), f.get("_csrf", "")
    issued, _, sig = csrf.partition(".")
    try:
        ok = hmac.compare_digest(sig, mac(key, int(issued, 16)))
    except ValueError:
        ok = False
    if not ok:
        abort(403)
    values = {k: f.get(k, "").strip() for k in ("name", "email", "topic",
                                                 "message")}
    if not (0 < len(values["name"]) <= 100 and "@" in values["email"] and
            values["topic"] in ("",) + TOPICS and
            10 <= len(values["message"]) <= 5000):
        abort(422)
    data = json.dumps(values)
    sid = secrets.token_urlsafe(16)
    db().execute(
        "INSERT INTO submissions (id, form, submit_key, values_hash, data, "
        "client, created_at) VALUES (?, 'contact', ?, ?, ?, ?, ?)",
        (sid, key, hashlib.blake2b(data.encode(), digest_size=32).hexdigest(),
         data, request.remote_addr or "", int(time.time() * 1000)))
    return redirect("/s/" + sid, code=303)
