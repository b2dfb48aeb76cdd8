import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { tempDir } from './fixtures.ts';

/** Debian's Chromium (`apt-get install chromium`); Playwright's own download is not used. */
export const CHROMIUM = process.env.IPOID_TEST_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of each page, kept as test artifacts (gitignored). */
export const SCREENSHOTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'ui');

/**
 * Why the browser tests cannot run here, or undefined when they can. In CI they must run:
 * .ci/run installs Chromium, and a missing one fails the suite rather than skipping it.
 */
export function browserSkipReason(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  if (process.env.CI) throw new Error(`CI runs the browser tests: ${CHROMIUM} is missing (apt-get install chromium)`);
  return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set IPOID_TEST_CHROMIUM)`;
}

// As root in a container Chromium needs --no-sandbox; the network flags keep it from calling
// home, which this machine's closed network refuses.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const launchBrowser = (): Promise<Browser> => chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });

/** The console built as `npm run build` builds it, into a directory of its own. */
export async function buildConsole(): Promise<string> {
  const outDir = tempDir();
  await build({ configFile: join(import.meta.dirname, '..', '..', 'ui', 'vite.config.ts'), logLevel: 'silent', build: { outDir } });
  return outDir;
}

/** A page that fails the test on any script error or console error (a CSP refusal included). */
export async function watchedPage(browser: Browser, viewport = { width: 1280, height: 900 }): Promise<Page & { assertClean(): void }> {
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    // Failed requests are logged by the browser as errors; the tests expect some (401, 503).
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return Object.assign(page, {
    assertClean: () => assert.deepEqual(problems, [], 'no script or console errors'),
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/**
 * Waits until `read` gives `expected` (20 s at most), then asserts it: a page shows an answer
 * some time after the click that asked for it, and may show the previous one meanwhile.
 */
export async function settlesTo<T>(read: () => Promise<T>, expected: T, message?: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  let shown = await read();
  while (!isDeepStrictEqual(shown, expected) && Date.now() < deadline) {
    await delay(100);
    shown = await read();
  }
  assert.deepEqual(shown, expected, message);
}
