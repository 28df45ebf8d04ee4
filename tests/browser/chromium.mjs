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
