// flow.test.mjs: Post/Redirect/Get as a visitor lives it, in headless
// Chromium with JavaScript on: click submit, land on /s/{id} through a
// 303; reload, Back and Forward send no POST; a double click stores one
// submission; invalid input shows the messages at the fields and keeps
// the values. Rows are counted in the server's database (FORMWORK_TEST_DB).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { doubleClickAndSettle, launch } from './chromium.mjs';

const BASE = process.env.FORMWORK_TEST_BASE;
const DB = process.env.FORMWORK_TEST_DB;
const OUT = process.env.FORMWORK_BROWSER_OUT;

let browser, ctx;

function rows(marker) {
  return Number(execFileSync('sqlite3', [DB,
    `select count(*) from submissions where data like '%${marker}%'`],
    { encoding: 'utf8' }).trim());
}

function posts(page) {
  const seen = [];
  page.on('request', (r) => {
    if (r.method() === 'POST')
      seen.push(new URL(r.url()).pathname);
  });
  return seen;
}

async function fillContact(page, marker) {
  await page.goto(`${BASE}/f/contact`);
  await page.fill('#f-name', `Ada ${marker}`);
  await page.fill('#f-email', 'ada@example.com');
  await page.selectOption('#f-topic', 'sales');
  await page.fill('#f-message', `Line one\nline two ${marker}`);
}

async function shot(page, name) {
  if (OUT) {
    mkdirSync(OUT, { recursive: true });
    await page.screenshot({ path: join(OUT, `flow-${name}.png`), fullPage: true });
  }
}

before(async () => {
  assert.ok(BASE && DB, 'FORMWORK_TEST_BASE/DB are not set (use run.sh)');
  browser = await launch();
  ctx = browser.ctx;
});

after(async () => {
  await browser?.close();
});

test('clicking submit lands on /s/{id} through a 303; reload sends no POST', async () => {
  const page = await ctx.newPage();
  const marker = `m${Date.now()}a`;
  await fillContact(page, marker);
  const sent = posts(page);
  const statuses = [];
  page.on('response', (r) => statuses.push(r.status()));
  await Promise.all([page.waitForURL(/\/s\/[A-Za-z0-9_-]{22}$/),
    page.click('button[type=submit]')]);
  assert.ok(statuses.includes(303), `a 303 was seen: ${statuses}`);
  assert.match(await page.textContent('main'), new RegExp(`Ada ${marker}`));
  await shot(page, 'result');
  const url = page.url();
  const r = await page.reload();
  assert.equal(r.request().method(), 'GET');
  assert.equal(page.url(), url);
  assert.deepEqual(sent, ['/f/contact']);
  assert.equal(rows(marker), 1);
  await page.close();
});

test('Back to the form and Forward again send no POST', async () => {
  const page = await ctx.newPage();
  const marker = `m${Date.now()}b`;
  await fillContact(page, marker);
  const sent = posts(page);
  await Promise.all([page.waitForURL(/\/s\//), page.click('button[type=submit]')]);
  const result = page.url();
  await page.goBack();
  assert.match(page.url(), /\/f\/contact$/);
  await page.goForward();
  assert.equal(page.url(), result);
  assert.deepEqual(sent, ['/f/contact']);
  assert.equal(rows(marker), 1);
  await page.close();
});

test('a double click on submit stores one submission', async () => {
  const page = await ctx.newPage();
  const marker = `m${Date.now()}c`;
  await fillContact(page, marker);
  const sent = posts(page);
  await doubleClickAndSettle(page, 'button[type=submit]', /\/s\//);
  assert.ok(sent.length >= 1);
  assert.equal(rows(marker), 1, `POSTs sent: ${sent.length}`);
  await page.close();
});

test('invalid input shows the messages next to the fields and keeps the values', async () => {
  const page = await ctx.newPage();
  await page.goto(`${BASE}/f/contact`);
  await page.fill('#f-name', 'Zoë <script>x</script>');
  await page.fill('#f-email', 'not-an-email');
  await page.fill('#f-message', 'short');
  const [resp] = await Promise.all([page.waitForNavigation(),
    page.click('button[type=submit]')]);
  assert.equal(resp.status(), 422);
  assert.equal(await page.inputValue('#f-name'), 'Zoë <script>x</script>');
  assert.equal(await page.inputValue('#f-email'), 'not-an-email');
  assert.equal(await page.inputValue('#f-message'), 'short');
  assert.equal(await page.getAttribute('#f-email', 'aria-invalid'), 'true');
  const described = await page.getAttribute('#f-email', 'aria-describedby');
  assert.ok(described.includes('f-email-error'));
  assert.match(await page.textContent('#f-email-error'), /email address/);
  assert.match(await page.textContent('#f-message-error'), /at least 10/);
  assert.equal(await page.getAttribute('#f-name', 'aria-invalid'), null);
  // The summary links to the fields.
  const links = await page.$$eval('.error-summary a', (as) => as.map((a) => a.getAttribute('href')));
  assert.deepEqual(links, ['#f-email', '#f-message']);
  await shot(page, 'invalid');
  await page.close();
});
