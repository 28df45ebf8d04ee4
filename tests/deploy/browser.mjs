// browser.mjs: what a visitor and a site admin see of Formwork through
// nginx over https, in headless Chromium (Debian's, driven by
// playwright-core; the certificate is self-signed, hence
// ignoreHTTPSErrors). The visitor sends a forged X-Forwarded-For on every
// request. Run by suite_deploy.py, which asserts on what this prints: one
// JSON object of observations on the last line of stdout. A step that
// cannot be done (a missing element, a timeout) ends it with an error.
//
// Environment: DEPLOY_BASE (https://127.0.0.1:PORT), DEPLOY_USER and
// DEPLOY_PW (a desk user), DEPLOY_MARKER (a word unique to this run, put
// in the visitor's name), DEPLOY_FORGED (the forged address),
// DEPLOY_SHOTS (screenshot directory).

import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v)
    throw new Error(`${name} is not set (run through suite_deploy.py)`);
  return v;
};
const BASE = env('DEPLOY_BASE');
const MARKER = env('DEPLOY_MARKER');
const SHOTS = env('DEPLOY_SHOTS');

// The HTTP version the page itself came over ("h2" for HTTP/2).
const protocol = (page) => page.evaluate(() =>
  performance.getEntriesByType('navigation')[0].nextHopProtocol);

// Clicks and waits for the page a POST -> 303 leads to; returns the POST's
// answer (status and headers) and the final answer.
async function submit(page, button, target) {
  const [final] = await Promise.all([
    page.waitForNavigation({ url: target }),
    page.click(button),
  ]);
  const post = final.request().redirectedFrom();
  const first = post ? await post.response() : null;
  return {
    method: post ? post.method() : null,
    status: first ? first.status() : null,
    location: first ? await first.headerValue('location') : null,
    setCookie: first ? await first.headerValue('set-cookie') : null,
    final: final.status(),
  };
}

const out = {};
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync'],
});
try {
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 900 },
    extraHTTPHeaders: { 'X-Forwarded-For': env('DEPLOY_FORGED') },
  });
  const page = await ctx.newPage();

  // The visitor: form -> POST -> 303 -> result page.
  const form = await page.goto(`${BASE}/f/contact`);
  out.formStatus = form.status();
  out.formProtocol = await protocol(page);
  await page.fill('#f-name', `Ada ${MARKER}`);
  await page.fill('#f-email', 'ada@example.com');
  await page.selectOption('#f-topic', 'support');
  await page.fill('#f-message', `Sent over https through nginx, ${MARKER}.`);
  out.submit = await submit(page, 'button[type=submit]', /\/s\//);
  out.resultPath = new URL(page.url()).pathname;
  out.resultProtocol = await protocol(page);
  out.resultText = await page.textContent('main');
  await page.screenshot({ path: join(SHOTS, 'result-https.png'), fullPage: true });

  // The site admin: the desk sends them to sign in and back.
  await page.goto(`${BASE}/admin?q=${MARKER}`);
  out.loginPath = new URL(page.url()).pathname;
  await page.fill('#username', env('DEPLOY_USER'));
  await page.fill('#password', env('DEPLOY_PW'));
  out.signIn = await submit(page, 'button[type=submit]', /\/admin\?q=/);
  out.deskProtocol = await protocol(page);
  out.cookies = (await ctx.cookies()).filter((c) => c.name === 'fw_session')
    .map(({ name, secure, httpOnly, sameSite, path }) =>
      ({ name, secure, httpOnly, sameSite, path }));
  out.deskRows = await page.locator('tbody tr').count();

  // The submission's page on the desk: the address it came from.
  await Promise.all([page.waitForURL(/\/admin\/s\//),
    page.locator('tbody tr').first().locator('a').click()]);
  out.detailPath = new URL(page.url()).pathname;
  out.fromAddress = (await page.locator('dt:text-is("From address") + dd')
    .textContent()).trim();
  out.detailText = await page.textContent('main');
  out.shot = join(SHOTS, 'desk-https.png');
  await page.screenshot({ path: out.shot, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
