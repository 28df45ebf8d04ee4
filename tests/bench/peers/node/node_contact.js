// node_contact.js: the contact form and its result page on Node 20's
// own http server under node:cluster (2 workers), with better-sqlite3, a
// peer for tests/bench (rows with reference "node_sqlite"). Installed by
// tests/bench/run.sh (npm ci, better-sqlite3 compiled from source against
// the installed Node's headers) and started by tests/bench/bench.py:
//
//     PEER_DB=... PEER_PORT=... node node_contact.js
//
// GET /f/contact: the form with a fresh _key and an HMAC _csrf token.
// POST /f/contact: checks the token and the fields, inserts one row into
// SQLite (PEER_DB, WAL, synchronous=FULL like Formwork, one transaction
// per request, the app's submissions table) and answers 303 to /s/<id>.
// GET /s/<id>: the result page, read from SQLite, with an ETag and a 304
// for If-None-Match, as Formwork answers a finished one.
// GET /healthz: "ok" once a worker has its database open.
//
// Node's http, crypto and cluster only, plus better-sqlite3.

'use strict';

const cluster = require('node:cluster');
const crypto = require('node:crypto');
const http = require('node:http');

const WORKERS = 2;
const PORT = Number(process.env.PEER_PORT || 8090);
const DB = process.env.PEER_DB || 'peer.db';
const SECRET = process.env.PEER_SECRET || 'peer-secret-'.repeat(3);
const TOPICS = ['general', 'support', 'sales'];
const BODY_MAX = 65536;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS submissions (
  id TEXT PRIMARY KEY, form TEXT NOT NULL, submit_key TEXT NOT NULL,
  values_hash TEXT NOT NULL, data TEXT NOT NULL,
  client TEXT NOT NULL DEFAULT '', spam INTEGER NOT NULL DEFAULT 0,
  review TEXT NOT NULL DEFAULT 'new', version INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL, UNIQUE (form, submit_key));
CREATE INDEX IF NOT EXISTS submissions_created ON submissions (created_at, id);
CREATE INDEX IF NOT EXISTS submissions_client ON submissions (client, created_at);
`;

const HEAD = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Contact us</title><link rel="stylesheet" href="/assets/style.css"></head>
<body><main id="main"><h1>Contact us</h1>
`;
const TAIL = '</main></body></html>\n';

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]);
}

function formPage(key, csrf) {
  const options = TOPICS.map((t) => `<option value="${t}">` +
    `${t[0].toUpperCase()}${t.slice(1)}</option>`).join('');
  return `${HEAD}<p class="lead">Ask a question or tell us what you need. We answer every message within two working days.</p>
<form method="post" action="/f/contact" novalidate>
<input type="hidden" name="_key" value="${key}">
<input type="hidden" name="_csrf" value="${csrf}">
<div class="field"><label for="f-name">Your name (required)</label>
<input id="f-name" name="name" type="text" required maxlength="100" autocomplete="name"></div>
<div class="field"><label for="f-email">Email address (required)</label>
<p class="help" id="f-email-help">We only use it to answer you.</p>
<input id="f-email" name="email" type="email" required autocomplete="email" aria-describedby="f-email-help"></div>
<div class="field"><label for="f-topic">Topic</label><select id="f-topic" name="topic">
<option value="">Choose…</option>${options}
</select></div>
<div class="field"><label for="f-message">Message (required)</label>
<textarea id="f-message" name="message" rows="8" required maxlength="5000"></textarea></div>
<button type="submit">Send</button></form>${TAIL}`;
}

function resultPage(row) {
  const v = JSON.parse(row.data);
  const when = new Date(row.created_at).toISOString().slice(0, 16)
    .replace('T', ' ');
  return `${HEAD}<div class="notice success" role="status">
<p>Thank you, your message has been received. We will reply within two working days.</p>
</div>
<h2>What you sent</h2>
<dl class="answers">
<dt>Your name</dt>
<dd>${esc(v.name)}</dd>
<dt>Email address</dt>
<dd>${esc(v.email)}</dd>
<dt>Topic</dt>
<dd>${esc(v.topic)}</dd>
<dt>Message</dt>
<dd>${esc(v.message)}</dd>
</dl>
<p class="meta">Received ${when} UTC. Your reference: <code>${esc(row.id)}</code>. You can bookmark this page.</p>
<p><a href="/f/contact">Send another response</a></p>
${TAIL}`;
}

function mac(key, issued) {
  return crypto.createHmac('sha256', SECRET)
    .update(`contact|${key}|${issued}`).digest('hex');
}

function send(res, status, headers, body) {
  if (body !== undefined) {
    headers['content-length'] = Buffer.byteLength(body);
  }
  res.writeHead(status, headers);
  res.end(body);
}

function serve() {
  const Database = require('better-sqlite3');
  const db = new Database(DB, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(SCHEMA);
  const insert = db.prepare('INSERT INTO submissions (id, form, ' +
    'submit_key, values_hash, data, client, created_at) ' +
    "VALUES (?, 'contact', ?, ?, ?, ?, ?)");
  const find = db.prepare('SELECT id, data, version, created_at ' +
    'FROM submissions WHERE id = ?');

  function form(req, res) {
    const key = crypto.randomBytes(16).toString('base64url');
    const issued = Date.now();
    const csrf = `${issued.toString(16)}.${mac(key, issued)}`;
    send(res, 200, { 'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store' }, formPage(key, csrf));
  }

  function submit(req, res, body) {
    const f = new URLSearchParams(body);
    const key = f.get('_key') || '';
    const [issued, sig] = (f.get('_csrf') || '').split('.');
    const want = mac(key, parseInt(issued, 16));
    if (!sig || sig.length !== want.length ||
        !crypto.timingSafeEqual(Buffer.from(sig), Buffer.from(want))) {
      send(res, 403, {}, 'forbidden\n');
      return;
    }
    const v = {};
    for (const k of ['name', 'email', 'topic', 'message']) {
      v[k] = (f.get(k) || '').trim();
    }
    if (!(v.name.length > 0 && v.name.length <= 100 &&
          v.email.includes('@') &&
          (v.topic === '' || TOPICS.includes(v.topic)) &&
          v.message.length >= 10 && v.message.length <= 5000)) {
      send(res, 422, {}, 'invalid\n');
      return;
    }
    const data = JSON.stringify(v);
    const id = crypto.randomBytes(16).toString('base64url');
    try {
      insert.run(id, key, crypto.createHash('blake2b512').update(data)
        .digest('hex').slice(0, 64), data, req.socket.remoteAddress || '',
      Date.now());
    } catch (e) {
      // This form instance was sent already (UNIQUE (form, submit_key)).
      send(res, e.code === 'SQLITE_CONSTRAINT_UNIQUE' ? 409 : 503, {},
        'not stored\n');
      return;
    }
    send(res, 303, { location: `/s/${id}` }, '');
  }

  function result(req, res, id) {
    const row = find.get(id);
    if (row === undefined) {
      send(res, 404, {}, 'not found\n');
      return;
    }
    const etag = `"${row.id}-${row.version}"`;
    const headers = { etag, 'cache-control': 'private, no-cache' };
    if (req.headers['if-none-match'] === etag) {
      send(res, 304, headers);
      return;
    }
    headers['content-type'] = 'text/html; charset=utf-8';
    send(res, 200, headers, resultPage(row));
  }

  http.createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'GET' && path === '/f/contact') {
      form(req, res);
    } else if (req.method === 'POST' && path === '/f/contact') {
      const chunks = [];
      let size = 0;
      req.on('data', (c) => {
        size += c.length;
        if (size > BODY_MAX) {
          send(res, 413, { connection: 'close' }, 'too large\n');
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        if (size <= BODY_MAX) {
          submit(req, res, Buffer.concat(chunks).toString('utf8'));
        }
      });
    } else if (req.method === 'GET' && path.startsWith('/s/')) {
      result(req, res, path.slice(3));
    } else if (req.method === 'GET' && path === '/healthz') {
      send(res, 200, {}, 'ok\n');
    } else {
      send(res, 404, {}, 'not found\n');
    }
  }).listen(PORT, '127.0.0.1');
}

if (cluster.isPrimary) {
  for (let i = 0; i < WORKERS; i++) {
    cluster.fork();
  }
  cluster.on('exit', (worker, code) => {
    console.error(`node_contact: worker ${worker.process.pid} exited ` +
      `with ${code}`);
  });
  process.on('SIGTERM', () => {
    for (const id in cluster.workers) {
      cluster.workers[id].kill('SIGTERM');
    }
    process.exit(0);
  });
} else {
  serve();
}
