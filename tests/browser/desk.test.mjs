// desk.test.mjs: the review desk as a site admin lives it, in headless
// Chromium with JavaScript off: /admin sends them to the sign-in page and
// back; they open a submission, review it with a note, see it in the
// history; reloading and going Back send no POST; signing out ends the
// session; a signup's delivery log shows its mail going out, and "Send
// again" sends it once more as a new delivery. The users are made with
// ./formworkctl on the server's database.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.FORMWORK_TEST_BASE;
const DB = process.env.FORMWORK_TEST_DB;
const OUT = process.env.FORMWORK_BROWSER_OUT;
const CTL = new URL('../../formworkctl', import.meta.url).pathname;
const PW = 'a long desk passphrase';

let browser, udd;

before(async () => {
  assert.ok(BASE && DB, 'use tests/browser/run.sh');
  execFileSync(CTL, ['user', 'add', 'flow-admin', '--role', 'reviewer'], {
    input: PW + '\n', env: { ...process.env, FORMWORK_DB: DB } });
  udd = mkdtempSync(join(tmpdir(), 'formwork-desk-'));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium',
    headless: true, args: ['--no-sandbox', '--disable-gpu'] });
  if (OUT)
    mkdirSync(OUT, { recursive: true });
});

after(async () => {
  await browser?.close();
  if (udd) rmSync(udd, { recursive: true, force: true });
});

async function shot(page, name) {
  if (OUT)
    await page.screenshot({ path: join(OUT, `desk-${name}.png`), fullPage: true });
}

test('sign in, review with a note, no resubmission, sign out', async () => {
  const marker = `desk${Date.now()}`;
  // A submission to review, sent as a visitor would.
  const ctx = await browser.newContext({ javaScriptEnabled: false,
    viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/f/contact`);
  await page.fill('#f-name', `Grace ${marker}`);
  await page.fill('#f-email', 'grace@example.com');
  await page.fill('#f-message', 'Please review this message, thank you.');
  await Promise.all([page.waitForURL(/\/s\//), page.click('button[type=submit]')]);

  const posts = [];
  page.on('request', (r) => { if (r.method() === 'POST') posts.push(new URL(r.url()).pathname); });

  await page.goto(`${BASE}/admin?q=${marker}`);
  assert.match(page.url(), /\/admin\/login\?next=/, 'sent to sign in');
  await shot(page, 'login');
  await page.fill('#username', 'flow-admin');
  await page.fill('#password', PW);
  await Promise.all([page.waitForURL(/\/admin\?q=/), page.click('button[type=submit]')]);
  assert.equal(new URL(page.url()).search, `?q=${marker}`, 'back where they were going');
  const rows = page.locator('tbody tr');
  assert.equal(await rows.count(), 1);
  await shot(page, 'list');

  await Promise.all([page.waitForURL(/\/admin\/s\//), rows.first().locator('a').click()]);
  assert.match(await page.textContent('main'), new RegExp(`Grace ${marker}`));
  await page.selectOption('#state', 'approved');
  await page.fill('#note', 'Looks <fine>');
  const detail = page.url();
  await Promise.all([page.waitForURL(detail), page.click('text=Save review')]);
  assert.equal(page.url(), detail, '303 back to the submission');
  const history = await page.textContent('.history');
  assert.match(history, /flow-admin set approved/);
  assert.match(history, /Looks <fine>/);	// shown as text, not markup
  await shot(page, 'detail');

  const before = posts.length;
  await page.reload();
  await page.goBack();
  await page.goForward();
  assert.equal(posts.length, before, 'reload/back/forward sent no POST');

  await Promise.all([page.waitForURL(/\/admin\/login/), page.click('text=Sign out')]);
  await page.goto(`${BASE}/admin`);
  assert.match(page.url(), /\/admin\/login/, 'signed out for good');
  await ctx.close();
});

test('a stale review shows who changed it (409)', async () => {
  const marker = `stale${Date.now()}`;
  const a = await browser.newContext({ javaScriptEnabled: false });
  const b = await browser.newContext({ javaScriptEnabled: false });
  const pa = await a.newPage();
  await pa.goto(`${BASE}/f/contact`);
  await pa.fill('#f-name', `Stale ${marker}`);
  await pa.fill('#f-email', 'stale@example.com');
  await pa.fill('#f-message', 'Two reviewers open this at once.');
  await Promise.all([pa.waitForURL(/\/s\//), pa.click('button[type=submit]')]);
  const pages = [];
  for (const ctx of [a, b]) {
    const p = ctx === a ? pa : await ctx.newPage();
    await p.goto(`${BASE}/admin/login`);
    await p.fill('#username', 'flow-admin');
    await p.fill('#password', PW);
    await Promise.all([p.waitForURL(/\/admin$/), p.click('button[type=submit]')]);
    await p.goto(`${BASE}/admin?q=${marker}`);
    await Promise.all([p.waitForURL(/\/admin\/s\//), p.locator('tbody tr a').first().click()]);
    pages.push(p);
  }
  await pages[0].selectOption('#state', 'rejected');
  await Promise.all([pages[0].waitForLoadState(), pages[0].click('text=Save review')]);
  await pages[1].selectOption('#state', 'approved');
  const [resp] = await Promise.all([
    pages[1].waitForResponse((r) => r.url().endsWith('/review')),
    pages[1].click('text=Save review')]);
  assert.equal(resp.status(), 409);
  await pages[1].waitForLoadState();
  const text = await pages[1].textContent('main');
  assert.match(text, /Changed while you were reviewing/);
  assert.match(text, /flow-admin changed this submission/);
  assert.match(text, /It is now rejected/);
  await shot(pages[1], 'conflict');
  await a.close();
  await b.close();
});

test('the delivery log of a signup, and sending its mail again', async () => {
  const marker = `log${Date.now()}`;
  execFileSync(CTL, ['user', 'add', 'log-admin', '--role', 'admin'], {
    input: PW + '\n', env: { ...process.env, FORMWORK_DB: DB } });
  const ctx = await browser.newContext({ javaScriptEnabled: false,
    viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.goto(`${BASE}/f/signup`);
  await page.fill('#f-email', `${marker}@example.com`);
  await page.fill('#f-name', `Grace ${marker}`);
  await page.check('input[name=plan][value=pro]');
  await page.check('input[name=terms]');
  await Promise.all([page.waitForURL(/\/s\//), page.click('button[type=submit]')]);
  const id = new URL(page.url()).pathname.split('/').pop();
  // The sink takes 3 s per message: wait until the result page is final.
  for (let i = 0; i < 100 && (await fetch(`${BASE}/s/${id}`)).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 200));

  await page.goto(`${BASE}/admin/login?next=/admin/s/${id}`);
  await page.fill('#username', 'log-admin');
  await page.fill('#password', PW);
  await Promise.all([page.waitForURL(new RegExp(`/admin/s/${id}$`)),
    page.click('button[type=submit]')]);
  const log = page.locator('table.deliveries tbody tr');
  assert.equal(await log.count(), 1, 'one attempt so far');
  assert.equal(await log.first().getAttribute('data-outcome'), 'delivered');
  assert.match(await log.first().textContent(), /250/);
  assert.match(await page.textContent('nav.desk-nav'), /Failed actions: \d+/);
  await shot(page, 'delivery-log');

  const first = await log.first().locator('code').textContent();
  await Promise.all([page.waitForURL(new RegExp(`/admin/s/${id}$`)),
    page.click('text=Send again')]);
  for (let i = 0; i < 100 && await log.count() < 2; i++) {
    await new Promise((r) => setTimeout(r, 200));
    await page.reload();
  }
  assert.equal(await log.count(), 2, 'sent again: a second attempt');
  assert.equal(await log.nth(1).getAttribute('data-outcome'), 'delivered');
  const second = await log.nth(1).locator('code').textContent();
  assert.notEqual(second, first, 'a new delivery id (Message-ID)');
  await shot(page, 'delivery-log-sent-again');
  await ctx.close();
});
