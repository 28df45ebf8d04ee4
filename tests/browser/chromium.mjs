// chromium.mjs: the browser the test files drive: Debian's Chromium
// (or $CHROMIUM), headless, through playwright-core, in a fresh profile
// of its own. Playwright refuses --user-data-dir in args, so the profile
// goes through launchPersistentContext. options are Playwright's (a
// viewport, javaScriptEnabled ...). close() ends the browser and removes
// the profile.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export async function launch(options = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'formwork-pw-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
           '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    ...options,
  });
  return {
    ctx,
    async close() {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

// Double-clicks selector (a submit button) and waits until the page has
// loaded at url (a string or RegExp, as page.waitForURL takes). The two
// clicks send two POSTs and the browser aborts the first navigation for
// the second (net::ERR_ABORTED), which makes a waitForURL started with
// the clicks throw although the page ends where it should; so this waits
// for where the page settles, not for one navigation.
export async function doubleClickAndSettle(page, selector, url,
                                           timeout = 15000) {
  const until = Date.now() + timeout;
  await page.dblclick(selector);
  for (;;) {
    try {
      await page.waitForURL(url, { timeout: Math.max(1, until - Date.now()) });
      await page.waitForLoadState('load');
      return;
    } catch (e) {
      if (!/ERR_ABORTED|frame was detached/.test(String(e)) ||
          Date.now() >= until) {
        throw e;
      }
    }
  }
}
