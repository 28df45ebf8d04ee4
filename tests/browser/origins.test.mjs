// origins.test.mjs: posting from the owner's own pages (SPEC section 10)
// in headless Chromium. The owner's static site (tests/browser/site/,
// served by serve.py on another loopback port: FORMWORK_TEST_OWNER) has a
// plain HTML form that posts to Formwork's /f/owner and lands on the
// site's own thank-you page, and a button that sends the same values
// with fetch() and JSON through CORS. The same page served from an origin
// no form lists (FORMWORK_TEST_STRANGER) is refused: the form gets 403,
// and the browser's CORS check stops the fetch(). A form with a
// Turnstile challenge loads the provider's script (answered here by a
// stand-in) on its own page only. Rows are counted in the server's
// database (FORMWORK_TEST_DB); screenshots go to FORMWORK_BROWSER_OUT.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { doubleClickAndSettle, launch } from './chromium.mjs';

const BASE = process.env.FORMWORK_TEST_BASE;
const DB = process.env.FORMWORK_TEST_DB;
const OUT = process.env.FORMWORK_BROWSER_OUT;
const OWNER = process.env.FORMWORK_TEST_OWNER;
const STRANGER = process.env.FORMWORK_TEST_STRANGER;
const TURNSTILE = 'https://challenges.cloudflare.com/turnstile/v0/api.js';

let browser, ctx;

function sql(q) {
  return execFileSync('sqlite3', [DB, q], { encoding: 'utf8' }).trim();
}

function rows(marker) {
  return Number(sql(`select count(*) from submissions where data like '%${marker}%'`));
}

async function shot(page, name) {
  if (OUT) {
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, `origins-${name}.png`), fullPage: true });
  }
}

async function fill(page, marker) {
  await page.fill('#name', `Ada ${marker}`);
  await page.fill('#email', 'ada@example.com');
  await page.fill('#message', `Two loaves for Saturday, please. ${marker}`);
}

// Clicks the page's fetch() button; what the page then says.
async function sendWithFetch(page) {
  await page.click('#send-fetch');
  await page.waitForFunction(() => document.getElementById('result').textContent !== '');
  return page.textContent('#result');
}

// The answers to POSTs to Formwork, as the browser saw them.
function formworkPosts(page) {
  const seen = [];
  page.on('response', (r) => {
    if (r.request().method() === 'POST' && r.url().startsWith(BASE))
      seen.push({ url: r.url(), status: r.status(), headers: r.headers() });
  });
  return seen;
}

before(async () => {
  assert.ok(BASE && DB && OWNER && STRANGER,
    'FORMWORK_TEST_BASE/DB/OWNER/STRANGER are not set (use run.sh)');
  browser = await launch();
  ctx = browser.ctx;
});

after(async () => {
  await browser?.close();
});

test('a plain form on the owner\'s page lands on the page\'s own thank-you URL', async () => {
  const page = await ctx.newPage();
  const marker = `o${Date.now()}a`;
  const posts = formworkPosts(page);
  await page.goto(`${OWNER}/contact.html`);
  await fill(page, marker);
  await shot(page, 'static-page-before');
  await Promise.all([page.waitForURL(`${OWNER}/thanks.html`),
    page.click('#contact button[type=submit]')]);
  assert.match(await page.textContent('#thanks'), /reached us/);
  await shot(page, 'static-page-after');
  assert.equal(posts.length, 1);
  assert.equal(posts[0].status, 303);
  assert.equal(posts[0].headers.location, `${OWNER}/thanks.html`);
  assert.equal(posts[0].headers['access-control-allow-origin'], OWNER);
  assert.equal(rows(marker), 1);
  const [spam, subject, data] = sql(`select spam, subject, data from submissions ` +
    `where data like '%${marker}%'`).split('|');
  assert.equal(spam, '0');
  assert.equal(subject, 'A message from the bakery\'s site');
  assert.deepEqual(Object.keys(JSON.parse(data)).sort(), ['email', 'message', 'name']);
  await page.close();
});

test('a double click on the owner\'s page stores one submission', async () => {
  const page = await ctx.newPage();
  const marker = `o${Date.now()}b`;
  await page.goto(`${OWNER}/contact.html`);
  await fill(page, marker);
  await doubleClickAndSettle(page, '#contact button[type=submit]',
    `${OWNER}/thanks.html`);
  assert.equal(rows(marker), 1);
  await page.close();
});

test('fetch() with JSON from the owner\'s page works through CORS', async () => {
  const page = await ctx.newPage();
  const marker = `o${Date.now()}c`;
  const posts = formworkPosts(page);
  await page.goto(`${OWNER}/contact.html`);
  await fill(page, marker);
  const text = await sendWithFetch(page);
  const m = text.match(/^201 \/api\/submissions\/([A-Za-z0-9_-]{22}) ([A-Za-z0-9_-]{22})$/);
  assert.ok(m, `the page read: ${text}`);
  assert.equal(m[1], m[2], 'Location and id name the same submission');
  await shot(page, 'static-page-fetch');
  assert.equal(posts.length, 1);
  assert.equal(posts[0].headers['access-control-allow-origin'], OWNER);
  assert.equal(rows(marker), 1);
  const status = await (await fetch(`${BASE}/api/submissions/${m[1]}`)).json();
  assert.equal(status.values.name, `Ada ${marker}`);
  await page.close();
});

test('the same page on an unlisted origin is refused: 403, and CORS stops fetch()', async () => {
  const page = await ctx.newPage();
  const marker = `o${Date.now()}d`;
  const posts = formworkPosts(page);
  const console = [];
  page.on('console', (msg) => console.push(msg.text()));
  await page.goto(`${STRANGER}/contact.html`);
  await fill(page, marker);
  await Promise.all([page.waitForURL(`${BASE}/f/owner`),
    page.click('#contact button[type=submit]')]);
  assert.equal(posts.length, 1);
  assert.equal(posts[0].status, 403);
  assert.equal(posts[0].headers['access-control-allow-origin'], undefined);
  assert.match(await page.textContent('main'), /another site/);
  await shot(page, 'stranger-refused');

  await page.goto(`${STRANGER}/contact.html`);
  await fill(page, marker);
  assert.match(await sendWithFetch(page), /^blocked: /);
  assert.ok(console.some((t) => /CORS/.test(t)), `console: ${console.join(' | ')}`);
  assert.equal(rows(marker), 0);
  await page.close();
});

test('a challenge: its script runs on that form\'s page only, and a passed one is stored', async () => {
  const page = await ctx.newPage();
  const marker = `o${Date.now()}e`;
  // The provider's widget, played by a stand-in: like Turnstile's implicit
  // rendering, it puts the token into the form as cf-turnstile-response.
  await page.route(TURNSTILE, (route) => route.fulfill({
    status: 200, contentType: 'text/javascript',
    body: `for (const d of document.querySelectorAll('.cf-turnstile')) {
      const i = document.createElement('input');
      i.type = 'hidden'; i.name = 'cf-turnstile-response';
      i.value = 'pass-' + Date.now() + Math.random();
      d.appendChild(i); d.dataset.rendered = 'yes'; }` }));
  await page.goto(`${BASE}/f/human`);
  await page.waitForSelector('.cf-turnstile[data-rendered=yes]', { state: 'attached' });
  await page.fill('#f-name', `Ada ${marker}`);
  await page.fill('#f-email', 'ada@example.com');
  await page.fill('#f-message', `Checked by a challenge ${marker}`);
  await Promise.all([page.waitForURL(/\/s\/[A-Za-z0-9_-]{22}$/),
    page.click('button[type=submit]')]);
  assert.equal(rows(marker), 1);
  assert.equal(sql(`select spam from submissions where data like '%${marker}%'`), '0');

  // Any other page's policy refuses the same script.
  await page.goto(`${BASE}/f/contact`);
  const blocked = await page.evaluate((src) => new Promise((resolve) => {
    document.addEventListener('securitypolicyviolation',
      (e) => resolve(e.violatedDirective), { once: true });
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve('loaded');
    document.head.appendChild(s);
  }), TURNSTILE);
  assert.match(blocked, /^script-src/);
  await page.close();
});
