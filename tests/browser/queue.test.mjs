// queue.test.mjs: the 202 "processing" page in a real browser (headless
// Debian Chromium driven by playwright-core, JavaScript switched off), with
// an SMTP server that takes FORMWORK_TEST_SMTP_DELAY (3) seconds per
// message. Run by ./run.sh SO_PATH, which starts the servers (serve.py)
// and sets FORMWORK_TEST_BASE. Screenshots go to tests/out/browser/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch } from './chromium.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const BASE = process.env.FORMWORK_TEST_BASE;
const OUT = process.env.FORMWORK_BROWSER_OUT ?? join(HERE, '..', 'out', 'browser');
const SUCCESS = 'Welcome aboard! Your account has been created.';

let browser, ctx;

before(async () => {
  assert.ok(BASE, 'FORMWORK_TEST_BASE is not set (use tests/browser/run.sh)');
  mkdirSync(OUT, { recursive: true });
  browser = await launch({ javaScriptEnabled: false,
    viewport: { width: 800, height: 900 } });
  ctx = browser.ctx;
});

after(async () => {
  await browser?.close();
});

// Every request the page makes, and every main-frame response.
function watch(page) {
  const log = { requests: [], docs: [] };
  page.on('request', (r) => log.requests.push(`${r.method()} ${new URL(r.url()).pathname}${new URL(r.url()).search}`));
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) {
      log.docs.push({ status: r.status(), url: r.url(), t: Date.now(),
                      refresh: r.headers()['refresh'] ?? null });
    }
  });
  return log;
}

// Opens the signup form, fills it in and clicks "submit"; returns the
// response of the page the browser landed on after the 303.
async function submitSignup(page, name) {
  await page.goto(`${BASE}/f/signup`);
  const email = `browser${Date.now()}${Math.floor(Math.random() * 1e4)}@example.com`;
  await page.getByLabel('Email address').fill(email);
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Free').check();
  await page.getByLabel('I accept the terms of service').check();
  const landed = page.waitForResponse((r) => /\/s\/[A-Za-z0-9_-]{22}$/.test(new URL(r.url()).pathname)
                                      && r.request().method() === 'GET');
  await page.locator('form button[type=submit], form input[type=submit]').first().click();
  const resp = await landed;
  await page.waitForLoadState('domcontentloaded');
  return { resp, email };
}

const norm = (s) => (s ?? '').replace(/\s+/g, ' ').trim();

test('clicking submit on signup lands on the 202 processing page', async () => {
  const page = await ctx.newPage();
  try {
    const log = watch(page);
    const { resp } = await submitSignup(page, 'Zoë Browser');
    assert.equal(resp.status(), 202, 'the page after the 303');
    assert.equal(resp.headers()['refresh'], '2');
    assert.equal(norm(await page.locator('main h1').first().textContent()), 'Sign up');
    const status = norm(await page.getByRole('status').textContent());
    assert.match(status, /received and saved/);
    const main = norm(await page.locator('main').textContent());
    assert.match(main, /Email notification to the site owner: (waiting to start|in progress)/);
    await page.screenshot({ path: join(OUT, 'processing-202.png'), fullPage: true });
    assert.deepEqual(log.requests.filter((r) => r.startsWith('POST')), ['POST /f/signup']);
  } finally {
    await page.close();
  }
});

test('without JavaScript the 202 page turns into the 200 result page by itself', async () => {
  const page = await ctx.newPage();
  try {
    const log = watch(page);
    const { resp } = await submitSignup(page, 'Ada Refresh');
    assert.equal(resp.status(), 202);
    const url = page.url();
    await page.getByText(SUCCESS).waitFor({ timeout: 15000 });
    await page.screenshot({ path: join(OUT, 'result-200.png'), fullPage: true });
    assert.equal(page.url(), url, 'stayed on the same result address');
    const docs = log.docs.filter((d) => d.url === url);
    assert.ok(docs.length >= 2, `reloaded by itself: ${JSON.stringify(docs)}`);
    assert.equal(docs.at(-1).status, 200);
    assert.equal(docs.at(-1).refresh, null, 'the 200 page does not refresh');
    assert.ok(docs.slice(0, -1).every((d) => d.status === 202), JSON.stringify(docs));
    assert.match(norm(await page.locator('main').textContent()), /Ada Refresh/);
    assert.deepEqual(log.requests.filter((r) => r.startsWith('POST')), ['POST /f/signup'],
                     'the refresh never posts the form again');
  } finally {
    await page.close();
  }
});

test('"Stop updating automatically" stops the reloads; "Check now" then shows the result', async () => {
  const page = await ctx.newPage();
  try {
    const log = watch(page);
    const { resp } = await submitSignup(page, 'Grace Paused');
    assert.equal(resp.status(), 202);
    await Promise.all([page.waitForURL(/\?refresh=off$/),
                       page.getByRole('link', { name: 'Stop updating automatically' }).click()]);
    assert.equal(log.docs.at(-1).status, 202);
    assert.equal(log.docs.at(-1).refresh, null, 'Refresh header after ?refresh=off');
    assert.match(norm(await page.locator('main').textContent()), /Automatic updates are off/);
    const n = log.docs.length;
    // The mail is accepted after ~3 s; a page that still refreshed would
    // have reloaded at least twice in 6 s.
    await page.waitForTimeout(6000);
    assert.equal(log.docs.length, n, `reloaded by itself: ${JSON.stringify(log.docs.slice(n))}`);
    await page.screenshot({ path: join(OUT, 'refresh-off-202.png'), fullPage: true });
    await Promise.all([page.waitForLoadState('load'),
                       page.getByRole('link', { name: 'Check now' }).click()]);
    await page.getByText(SUCCESS).waitFor({ timeout: 5000 });
    assert.equal(log.docs.at(-1).status, 200);
    await page.screenshot({ path: join(OUT, 'check-now-200.png'), fullPage: true });
  } finally {
    await page.close();
  }
});
