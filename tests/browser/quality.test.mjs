// quality.test.mjs: every kind of page Formwork serves must be valid HTML
// (W3C Nu HTML Checker, npm vnu-jar on the system Java) and accessible
// (axe-core in headless Chromium: no violations). The pages are fetched
// for real from the server run.sh started (FORMWORK_TEST_BASE), including
// error pages that need a crafted request; each is checked by both tools.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launch } from './chromium.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const VNU = require.resolve('vnu-jar/build/dist/vnu.jar');
const BASE = process.env.FORMWORK_TEST_BASE;
const OUT = process.env.FORMWORK_BROWSER_OUT;

let browser, ctx;
const pages = [];		// { name, status, html }

async function form(slug) {
  const html = await (await fetch(`${BASE}/f/${slug}`)).text();
  const key = html.match(/name="_key" value="([^"]+)"/)[1];
  const csrf = html.match(/name="_csrf" value="([^"]+)"/)[1];
  return { key, csrf };
}

async function grab(name, url, init = {}, want) {
  const r = await fetch(BASE + url, { redirect: 'manual', ...init });
  const html = await r.text();
  assert.equal(r.status, want, `${name}: status`);
  pages.push({ name, status: r.status, html });
}

function post(fields, extra = {}) {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...extra },
    body: new URLSearchParams(fields).toString(),
  };
}

// The review desk: users made with formworkctl on the server's database,
// signed in with fetch; pages of every kind a desk user meets.
const CTL = new URL('../../formworkctl', import.meta.url).pathname;
const PW = 'correct horse battery';

function user(name, role) {
  execFileSync(CTL, ['user', 'add', name, '--role', role], {
    input: PW + '\n', env: { ...process.env, FORMWORK_DB: process.env.FORMWORK_TEST_DB } });
}

async function signIn(name, password = PW, want = 303) {
  const html = await (await fetch(`${BASE}/admin/login`)).text();
  const key = html.match(/name="_key" value="([^"]+)"/)[1];
  const csrf = html.match(/name="_csrf" value="([^"]+)"/)[1];
  const r = await fetch(`${BASE}/admin/login`, { redirect: 'manual',
    ...post({ username: name, password, _key: key, _csrf: csrf, next: '/admin' }) });
  assert.equal(r.status, want, `sign-in of ${name}`);
  return want === 303 ? r.headers.get('set-cookie').split(';')[0] : r;
}

async function grabDesk() {
  user('q-admin', 'admin');
  user('q-viewer', 'viewer');
  await grab('desk-login', '/admin/login', {}, 200);
  const bad = await signIn('q-admin', 'not the password', 401);
  pages.push({ name: 'desk-login-401', status: 401, html: await bad.text() });
  const cookie = await signIn('q-admin');
  const as = (init = {}) => ({ ...init, headers: { ...(init.headers || {}), cookie } });
  // A signup, so the detail page has an action.
  const f = await form('signup');
  const html = await (await fetch(`${BASE}/f/signup`)).text();
  const terms = (html.match(/name="terms"[^>]*value="([^"]+)"/) || [, 'on'])[1];
  await fetch(`${BASE}/f/signup`, { redirect: 'manual', ...post({ _key: f.key,
    _csrf: f.csrf, email: `q${Date.now()}@example.com`, name: 'Quality <i>check</i>',
    plan: 'free', terms }) });
  await grab('desk-list', '/admin', as(), 200);
  const list = pages[pages.length - 1].html;
  const id = list.match(/data-id="([^"]+)"/)[1];
  const csrf = list.match(/name="_csrf" value="([^"]+)"/)[1];
  await grab('desk-list-filtered', '/admin?review=new&q=quality', as(), 200);
  await grab('desk-detail', `/admin/s/${id}`, as(), 200);
  // Once its mail went out: the delivery log, with "Send again".
  for (let i = 0; i < 100 && (await fetch(`${BASE}/s/${id}`)).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 200));
  await grab('desk-detail-log', `/admin/s/${id}`, as(), 200);
  assert.match(pages[pages.length - 1].html, /<table class="deliveries">/);
  assert.match(pages[pages.length - 1].html, />Send again</);
  await fetch(`${BASE}/admin/s/${id}/review`, as({ redirect: 'manual',
    ...post({ _csrf: csrf, version: '1', state: 'approved', note: 'fine' }) }));
  await grab('desk-409', `/admin/s/${id}/review`, as(post({ _csrf: csrf,
    version: '1', state: 'rejected', note: 'stale' })), 409);
  await grab('desk-audit', '/admin/audit', as(), 200);
  await grab('desk-users', '/admin/users', as(), 200);
  await grab('desk-400', '/admin?review=bogus', as(), 400);
  const viewer = await signIn('q-viewer');
  await grab('desk-403', '/admin/audit', { headers: { cookie: viewer } }, 403);
  const r = await fetch(`${BASE}/admin/export`, as({ redirect: 'manual',
    ...post({ _csrf: csrf }) }));
  assert.equal(r.status, 200, 'small export');
  assert.match(r.headers.get('content-type'), /^text\/csv/);
}

before(async () => {
  assert.ok(BASE, 'FORMWORK_TEST_BASE is not set (use tests/browser/run.sh)');
  browser = await launch({ viewport: { width: 390, height: 844 } }); // a phone
  ctx = browser.ctx;

  const contact = { name: 'Ada', email: 'ada@example.com', topic: 'support',
                    message: 'Hello <b>there</b>, a long enough message.' };
  await grab('index', '/', {}, 200);
  await grab('form-contact', '/f/contact', {}, 200);
  await grab('form-signup', '/f/signup', {}, 200);

  let t = await form('contact');
  await grab('form-422', '/f/contact', post({ _key: t.key, _csrf: t.csrf,
    name: '', email: 'bad', message: 'short' }), 422);

  t = await form('contact');
  let r = await fetch(`${BASE}/f/contact`, { redirect: 'manual',
    ...post({ _key: t.key, _csrf: t.csrf, ...contact }) });
  assert.equal(r.status, 303);
  const result = r.headers.get('location');
  await grab('result-200', result, {}, 200);
  await grab('already-sent-422', '/f/contact', post({ _key: t.key,
    _csrf: t.csrf, ...contact, name: 'Someone else' }), 422);

  // signup: its email action is slow (run.sh's SMTP sink), so 202 first.
  const email = `q${Date.now()}@example.com`;
  t = await form('signup');
  r = await fetch(`${BASE}/f/signup`, { redirect: 'manual',
    ...post({ _key: t.key, _csrf: t.csrf, email, name: 'Q', plan: 'pro',
              terms: 'yes' }) });
  assert.equal(r.status, 303);
  await grab('processing-202', r.headers.get('location'), {}, 202);
  await grab('processing-202-norefresh',
    r.headers.get('location') + '?refresh=off', {}, 202);
  t = await form('signup');
  await grab('unique-409', '/f/signup', post({ _key: t.key, _csrf: t.csrf,
    email, name: 'Q2', plan: 'free', terms: 'yes' }), 409);

  // Posting from the owner's own pages: a form with a challenge, the
  // form again carrying the owner's hidden fields, a challenge not
  // done, a page to return to that is not allowed.
  const owner = process.env.FORMWORK_TEST_OWNER;
  const fromOwner = (fields) => post(fields, { origin: owner });
  await grab('form-challenge', '/f/human', {}, 200);
  await grab('form-422-carried', '/f/owner', fromOwner({ name: '',
    email: 'bad', message: 'hi', _next: `${owner}/thanks.html`,
    _subject: 'From the site' }), 422);
  await grab('form-422-challenge', '/f/human', fromOwner({ name: 'Ada',
    email: 'ada@example.com', message: 'Hello there' }), 422);
  await grab('error-400-next', '/f/owner', fromOwner({ name: 'Ada',
    email: 'ada@example.com', message: 'Hello there',
    _next: 'https://elsewhere.example/' }), 400);

  await grab('error-400', '/f/contact', post({ nosuch: 'x' }), 400);
  await grab('error-403', '/f/contact', post(contact), 403);
  await grab('error-404', '/nowhere', {}, 404);
  await grab('error-404-form', '/f/nosuch', {}, 404);
  await grab('error-404-result', '/s/AAAAAAAAAAAAAAAAAAAAAA', {}, 404);
  await grab('error-405', '/f/contact', { method: 'PUT', body: 'x' }, 405);
  await grab('error-413', '/f/contact', post({ message: 'x'.repeat(70000) }), 413);
  await grab('error-415', '/f/contact', { method: 'POST', body: '{}',
    headers: { 'content-type': 'application/json' } }, 415);
  await grabDesk();
});

after(async () => {
  await browser?.close();
});

test('every page is valid HTML (W3C Nu checker, no errors)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'formwork-vnu-'));
  for (const p of pages)
    writeFileSync(join(dir, `${p.name}.html`), p.html);
  let report;
  try {
    report = execFileSync('java', ['-jar', VNU, '--errors-only',
      '--format', 'json', '--exit-zero-always', '--stdout', dir],
      { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const errors = JSON.parse(report).messages.filter((m) => m.type === 'error');
  console.log(`# vnu: ${pages.length} pages checked, ${errors.length} errors`);
  assert.deepEqual(errors.map((m) => `${m.url.split('/').pop()}:` +
    `${m.lastLine}: ${m.message}`), []);
});

test('every page has no axe-core violations, on a phone-sized screen', async () => {
  const page = await ctx.newPage();
  const found = [];
  if (OUT)
    mkdirSync(OUT, { recursive: true });
  for (const p of pages) {
    // Serve the fetched HTML under the site's origin so its CSS loads.
    await page.route(`${BASE}/__page`, (route) => route.fulfill({
      status: 200, contentType: 'text/html; charset=utf-8', body: p.html }));
    await page.goto(`${BASE}/__page`);
    await page.unroute(`${BASE}/__page`);
    await page.addScriptTag({ path: AXE });
    const v = await page.evaluate(() => window.axe.run(document,
      { resultTypes: ['violations'] }));
    for (const x of v.violations)
      found.push(`${p.name}: ${x.id} (${x.impact}, ${x.nodes.length} nodes)`);
    if (OUT)
      await page.screenshot({ path: join(OUT, `page-${p.name}.png`),
        fullPage: true });
  }
  await page.close();
  console.log(`# axe: ${pages.length} pages checked, ${found.length} violations`);
  assert.deepEqual(found, []);
});

test('forms work with the keyboard alone', async () => {
  const page = await ctx.newPage();
  await page.goto(`${BASE}/f/contact`);
  // Tab from the top: skip link first, then every control in order.
  const order = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement?.id ||
      document.activeElement?.textContent?.trim()));
  }
  for (const id of ['f-name', 'f-email', 'f-topic', 'f-message', 'Send'])
    assert.ok(order.includes(id), `${id} is reachable with Tab: ${order}`);
  assert.ok(!order.includes('f-_homepage'), 'the honeypot is not in the tab order');
  await page.focus('#f-name');
  await page.keyboard.type('Kay');
  await page.focus('#f-email');
  await page.keyboard.type('kay@example.com');
  await page.focus('#f-message');
  await page.keyboard.type('Typed with the keyboard only.');
  await page.focus('button[type=submit]');
  await Promise.all([page.waitForURL(/\/s\//), page.keyboard.press('Enter')]);
  assert.match(await page.textContent('h1'), /Contact us/);
  await page.close();
});
