import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Locator } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { runGenerate } from '../../src/generator/index.ts';
import { importFeed } from '../../src/import/importer.ts';
import type { Store } from '../../src/store/types.ts';
import { browserSkipReason, buildConsole, launchBrowser, screenshot, settlesTo, watchedPage } from '../helpers/browser.ts';
import { BAD_LINES, gzipToTemp, quietLogger, tempDir } from '../helpers/fixtures.ts';
import { request, serve } from '../helpers/http.ts';
import { freshStore, STORE_TARGETS } from '../helpers/stores.ts';

const TOKEN = 'console-test-token';
const PHONE = { width: 390, height: 844 };

/** Two days of a generated feed, imported one after the other (a history, and runs to chart). */
async function twoDays(store: Store): Promise<void> {
  const dir = tempDir();
  const [day1, day2] = [join(dir, 'day1.json.gz'), join(dir, 'day2.json.gz')];
  await runGenerate({ count: 2000, seed: 7, out: day1 });
  await runGenerate({ from: day1, seed: 8, churn: 0.3, out: day2 });
  await importFeed(store, day1, { feed: 'anonymous', feedDate: '2026-11-27', logger: quietLogger });
  await importFeed(store, day2, { feed: 'anonymous', feedDate: '2026-11-28', logger: quietLogger });
}

/** Per canvas, per colour: its pixels of that colour (opaque, within a small distance), as uPlot drew them. */
function colourPixels(canvases: Locator, colours: string[][]): Promise<number[][]> {
  return canvases.evaluateAll(
    (elements, wanted) =>
      elements.map((element, chart) => {
        const canvas = element as HTMLCanvasElement;
        const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
        return wanted[chart]!.map((hex) => {
          const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
          let count = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i + 3]! > 200 && Math.abs(data[i]! - r!) + Math.abs(data[i + 1]! - g!) + Math.abs(data[i + 2]! - b!) < 40) count++;
          }
          return count;
        });
      }),
    colours,
  );
}

const skip = browserSkipReason();

describe('web console in Chromium', { skip }, () => {
  let browser: Browser;
  let store: Store;
  let closeStore: () => Promise<void>;
  let app: FastifyInstance;
  let base: string;
  /** Addresses of the data, read through the API as any client would. */
  let known: string[];
  /** A stored IPv6 address, and a stored IPv6 network. */
  let ipv6: string;
  let network: string;

  before(async () => {
    const consoleDir = await buildConsole();
    ({ store, close: closeStore } = await freshStore(STORE_TARGETS[0]!));
    await twoDays(store);
    ({ app, base } = await serve(store, [], { consoleDir }));
    known = (await request(`${base}/feed/v1/ips?limit=20`)).json.ips
      .map((r: { ip: string }) => r.ip)
      .filter((ip: string) => !ip.includes('/'));
    const v6 = (await request(`${base}/feed/v1/ips?prefix=${encodeURIComponent('2000::/3')}&limit=100`)).json.ips.map(
      (r: { ip: string }) => r.ip,
    );
    ipv6 = v6.find((ip: string) => !ip.includes('/'));
    network = v6.find((ip: string) => ip.includes('/'));
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await closeStore?.();
  });

  test('a batch with known, unknown and invalid entries: a table of each, and its CSV', async () => {
    const page = await watchedPage(browser);
    await page.goto(`${base}/ui/`);
    const [one, two] = known;
    const long = `1.2.3.4${'0'.repeat(120)}`;
    const inNetwork = network.split('/')[0]!;
    await page.getByLabel(/One address/).fill(
      // Any spelling: upper case, brackets, a defanged address, a URL, a port, a sentence's full stop.
      `${one}, 8.8.8.8\n999.1.1.1 nope; hxxp://${two}/path\n[${one}] ${long}\n${ipv6.toUpperCase()} ${inNetwork}\n` +
        `${one!.replaceAll('.', '[.]')} ${two}:443 8.8.8.8.`,
    );
    await page.getByRole('button', { name: 'Look up' }).click();
    const results = page.locator('table.results tbody tr');
    await results.first().waitFor();
    assert.deepEqual(await results.evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.ip)), [
      one,
      '8.8.8.8',
      two,
      ipv6,
      inNetwork,
    ]);
    // An address inside a stored network: known, by that network.
    assert.equal((await page.locator(`tr[data-ip="${inNetwork}"] td`).allInnerTexts()).at(-1), network);

    // The tunnel types come from the stored Spur objects (POST /v2/context), the rest from the lookup.
    const contexts = (await request(`${base}/v2/context`, { method: 'POST', body: { ips: [one, ipv6] } })).json;
    for (const ip of [one!, ipv6]) {
      const types = [...new Set(contexts[ip].tunnels?.map((t: { type?: string }) => t.type).filter(Boolean) ?? [])];
      assert.equal((await page.locator(`tr[data-ip="${ip}"] td`).allInnerTexts())[2], types.join(' | '), `tunnel types of ${ip}`);
    }
    const v6 = (await request(`${base}/feed/v1/ip/${ipv6}`)).json[ipv6];
    assert.equal((await page.locator(`tr[data-ip="${ipv6}"] td`).allInnerTexts())[3], v6.risks.join(' | '));

    const expected = (await request(`${base}/feed/v1/ip/${one}`)).json[one!];
    const cells = await page.locator(`tr[data-ip="${one}"] td`).allInnerTexts();
    assert.equal(cells[0], 'yes');
    assert.equal(cells[3], expected.risks.join(' | '));
    assert.equal(cells[7], String(expected.client_count));
    assert.equal(cells[8], expected.location_country);
    assert.match(await page.locator('tr[data-ip="8.8.8.8"]').innerText(), /unknown/);
    const invalid = await page.locator('table.invalid tbody tr').allInnerTexts();
    // Too long to send (the API would refuse the whole batch), so listed without asking.
    assert.deepEqual(
      invalid.map((row) => row.split('\t')[0]),
      [long, '999.1.1.1', 'nope'],
    );
    assert.match(invalid[0]!, /longer than 100 characters/);
    assert.match(invalid[2]!, /not an IPv4 or IPv6 address/);
    assert.match(await page.locator('.summary').innerText(), /4 known, 1 unknown, 3 invalid/);
    await screenshot(page, 'lookup');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8')
      .trim()
      .split('\r\n');
    assert.equal(csv.length, 6);
    assert.match(csv[0]!, /^address,known,operator,tunnel type,risks/);
    assert.ok(csv[2]!.startsWith('8.8.8.8,no,'));
    page.assertClean();
    await page.close();
  });

  test("an address's detail: its fields, the stored Spur object and its history", async () => {
    const page = await watchedPage(browser);
    const ip = known[0]!;
    await page.goto(`${base}/ui/`);
    await page.getByLabel(/One address/).fill(ip);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('link', { name: ip, exact: true }).click();
    await page.getByRole('heading', { name: ip, exact: true, level: 1 }).waitFor();
    await page.locator('pre.json').waitFor();
    const spur = JSON.parse(await page.locator('pre.json').innerText());
    assert.deepEqual(spur, (await request(`${base}/v2/context/${ip}`)).json);
    const history = (await request(`${base}/feed/v1/ip/${ip}/history`)).json;
    const lanes = history.records.reduce((n: number, r: any) => n + r.versions.length + r.labels.length, 0);
    assert.equal(await page.locator('.timeline .lane').count(), lanes);
    assert.match(await page.locator('.timeline').innerText(), new RegExp(`${history.window.from} to ${history.window.to}`));
    await screenshot(page, 'address');

    // Back to the lookup: its entries and table are as they were.
    await page.goBack();
    await page.locator(`tr[data-ip="${ip}"]`).waitFor();
    assert.equal(await page.getByLabel(/One address/).inputValue(), ip);

    // An address in no feed, in no day of the history.
    await page.goto(`${base}/ui/#/ip/8.8.8.8`);
    await page.getByText('Not in the data now.').waitFor();
    assert.match(await page.locator('main').innerText(), /Not in the data on any day of the history kept \(the last 90 days\)/);
    // An address bar that is not one: a message, not a blank page.
    await page.goto(`${base}/ui/#/ip/%`);
    assert.match(await page.getByRole('alert').innerText(), /is not an address of this console/);
    // ".." would be resolved by the browser to another API route.
    await page.goto(`${base}/ui/#/ip/..`);
    assert.match(await page.getByRole('alert').innerText(), /"\/ip\/\.\." is not an address of this console/);
    page.assertClean();
    await page.close();
  });

  test("a label's addresses: filtered by a prefix, and the next page", async () => {
    const page = await watchedPage(browser);
    await page.goto(`${base}/ui/#/labels`);
    const counts = (await request(`${base}/feed/v1/labels`)).json;
    const busiest = counts.risk[0];
    assert.ok(busiest.count > 50, 'a label with more than a page of records');
    await page.locator('table.label-kind').first().waitFor();
    await screenshot(page, 'labels');

    // What each label gained and lost since the first day.
    await page.getByLabel('Change since the end of').fill('2026-11-27');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.getByRole('columnheader', { name: 'since 2026-11-27' }).first().waitFor();
    const since = (await request(`${base}/feed/v1/labels?since=2026-11-27`)).json.risk[0];
    const shown = await page.locator('table.label-kind', { hasText: 'risk' }).locator('tbody tr').first().locator('td').allInnerTexts();
    const change = since.added || since.removed ? `+${since.added} −${since.removed}`.replace(/\+0 |−0$/, '').trim() : 'no change';
    assert.deepEqual(shown, [since.value, since.count.toLocaleString('en'), since.then.toLocaleString('en'), change]);
    await page.goto(`${base}/ui/#/labels`);
    await page.locator('table.label-kind').first().waitFor();
    await page.locator('table.label-kind', { hasText: 'risk' }).getByRole('link', { name: busiest.value, exact: true }).click();
    const shownIps = () => page.locator('table.results tbody th').allInnerTexts();
    const apiIps = async (query: string) => (await request(`${base}/feed/v1/ips?${query}`)).json.ips.map((r: { ip: string }) => r.ip);
    const apiPage = (await request(`${base}/feed/v1/ips?risk=${busiest.value}&limit=50`)).json;
    await settlesTo(shownIps, await apiIps(`risk=${busiest.value}&limit=50`));
    // A new page moves the focus to its heading and names the tab.
    assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
    assert.equal(await page.title(), `risk=${busiest.value} · IPoid`);
    const firstPage = await shownIps();
    assert.equal(firstPage.length, 50);

    await page.getByRole('link', { name: 'Next page' }).click();
    await page.getByRole('link', { name: 'First page' }).waitFor();
    await settlesTo(shownIps, await apiIps(`risk=${busiest.value}&limit=50&cursor=${apiPage.next}`));

    const prefix = `${firstPage[0]!.split('.').slice(0, 2).join('.')}.0.0/16`;
    await page.getByLabel('Inside the prefix').fill(prefix);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/prefix=/);
    const inside = await apiIps(`risk=${busiest.value}&prefix=${prefix}&limit=50`);
    assert.ok(inside.length > 0);
    await settlesTo(shownIps, inside);
    await screenshot(page, 'label-list');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const exported = readFileSync(await download.path(), 'utf8');
    assert.equal(exported, (await request(`${base}/feed/v1/ips?risk=${busiest.value}&prefix=${prefix}&format=csv`)).text);
    assert.equal(download.suggestedFilename(), `ipoid-risk-${busiest.value}-in-${prefix.replace('/', '_')}.csv`);

    // A kind filtered on twice keeps both values (records carrying both), through a filter and back.
    const [a, b] = [counts.risk[0].value, counts.risk[1].value];
    const ipv4 = '0.0.0.0/0';
    const both = await apiIps(`risk=${a}&risk=${b}&prefix=${ipv4}&limit=50`);
    assert.notDeepEqual(both, await apiIps(`risk=${b}&prefix=${ipv4}&limit=50`), 'the test can tell one value from two');
    await page.goto(`${base}/ui/#/list?risk=${a}&risk=${b}`);
    await page.getByRole('heading', { name: `risk=${a}, risk=${b}` }).waitFor();
    await settlesTo(shownIps, await apiIps(`risk=${a}&risk=${b}&limit=50`));
    await page.getByLabel('Inside the prefix').fill(ipv4);
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/prefix=/);
    await settlesTo(shownIps, both);
    await page.goBack();
    await settlesTo(shownIps, await apiIps(`risk=${a}&risk=${b}&limit=50`));
    assert.equal(await page.getByLabel('Inside the prefix').inputValue(), '', 'Back shows the page as it was, its filter too');
    page.assertClean();
    await page.close();
  });

  test('the imports page after two imports: freshness, the runs and their charts drawn', async () => {
    // Two more runs: one with skipped lines (kept, with their sample), one that fails.
    await importFeed(store, BAD_LINES, { feed: 'anonymous-residential', feedDate: '2026-11-28', logger: quietLogger, maxSkippedRatio: 1 });
    const cut = gzipToTemp('{"ip":"192.0.2.1","risks":["TUNNEL"]}\n{"ip":"192.0.2.2","ri');
    await assert.rejects(importFeed(store, cut, { feed: 'anonymous', feedDate: '2026-11-29', logger: quietLogger }));
    const page = await watchedPage(browser);
    await page.goto(`${base}/ui/#/imports`);
    await page.locator('table.runs tbody tr').first().waitFor();
    const runs = (await request(`${base}/feed/v1/imports?kind=full`)).json.runs;
    assert.equal(runs.length, 4);
    const rows = page.locator('table.runs tbody tr');
    assert.equal(await rows.count(), 4);
    assert.match(await rows.nth(0).innerText(), /failed[\s\S]*truncated/);
    await rows.nth(1).getByText('8', { exact: true }).click();
    assert.match(await rows.nth(1).locator('.skipped').innerText(), /line 2: invalid JSON/);
    assert.match(await rows.nth(2).innerText(), new RegExp(`2026-11-28.*${runs[2].inserted.toLocaleString('en')}`, 's'));
    assert.match(await page.locator('article.feed[data-feed="anonymous"]').innerText(), /2,000 records/);
    // uPlot draws on canvases: each series' line is there, in its colour (the records of both
    // feeds; what the runs inserted, updated and deleted).
    const charts = page.locator('.chart canvas');
    // Records per feed; then each feed's changes (the residential feed's one run inserted
    // records and changed none: its updated and deleted points lie under its deleted point).
    assert.equal(await charts.count(), 3);
    const seriesColours = [['#2563eb', '#d97706'], ['#059669', '#2563eb', '#dc2626'], ['#059669']];
    const pixels = await colourPixels(charts, seriesColours);
    assert.ok(
      pixels.flat().every((n) => n > 5),
      `pixels of each series' colour: ${JSON.stringify(pixels)}`,
    );
    // The axes take the page's colours: readable in the dark scheme too.
    const axisPixels = async (muted: string) => (await colourPixels(charts.first(), [[muted]]))[0]![0]!;
    assert.ok((await axisPixels('#59636e')) > 20, 'axis labels in the light scheme');
    await page.emulateMedia({ colorScheme: 'dark' });
    await settlesTo(async () => (await axisPixels('#9198a1')) > 20, true, 'axis labels in the dark scheme');
    await screenshot(page, 'imports-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    await screenshot(page, 'imports');
    page.assertClean();
    await page.close();
  });

  test('on a phone the pages fit the screen', async () => {
    const page = await watchedPage(browser, PHONE);
    for (const [name, hash] of [
      ['phone-lookup', ''],
      ['phone-imports', '#/imports'],
      ['phone-labels', '#/labels'],
    ] as const) {
      await page.goto(`${base}/ui/${hash}`);
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name}: the page is ${overflow} px wider than the screen`);
      await screenshot(page, name);
    }
    page.assertClean();
    await page.close();
  });

  test('a lookup still running when its page is left shows its answer on coming back', async () => {
    const page = await watchedPage(browser);
    await page.goto(`${base}/ui/`);
    // The lookup's answer is held back until the page has been left and come back to.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/feed/v1/ips', async (route) => {
      if (route.request().method() === 'POST') await held;
      await route.continue();
    });
    const ip = known[2]!;
    await page.getByLabel(/One address/).fill(ip);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByRole('button', { name: 'Looking up…' }).waitFor();
    await page.getByRole('link', { name: 'Labels' }).click();
    await page.locator('table.label-kind').first().waitFor();
    await page.goBack();
    await page.getByRole('button', { name: 'Looking up…' }).waitFor();
    release();
    await page.locator(`tr[data-ip="${ip}"].known`).waitFor();
    assert.equal(await page.getByLabel(/One address/).inputValue(), ip);
    assert.equal(await page.getByRole('status').first().innerText(), '1 known, 0 unknown');
    page.assertClean();
    await page.close();
  });

  test('keyboard only: Ctrl+Enter looks up, and Tab reaches the results', async () => {
    const page = await watchedPage(browser);
    await page.goto(`${base}/ui/`);
    await page.getByLabel(/One address/).focus();
    await page.keyboard.type(known[1]!);
    await page.keyboard.press('Control+Enter');
    await page.locator('table.results tbody tr').first().waitFor();
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => document.activeElement?.textContent ?? ''));
    }
    assert.ok(reached.includes(known[1]!), `Tab reached: ${reached.join(' | ')}`);
    page.assertClean();
    await page.close();
  });

  test('a failure is a clear message: 503 from the API, and no answer at all', async () => {
    const page = await watchedPage(browser);
    await page.route('**/feed/v1/labels', (route) =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: '{"error":"Service Unavailable","message":"the database did not answer","statusCode":503}',
      }),
    );
    await page.goto(`${base}/ui/#/labels`);
    assert.match(await page.getByRole('alert').innerText(), /IPoid is unavailable for now: the database did not answer/);
    await page.unroute('**/feed/v1/labels');
    await page.route('**/feed/v1/imports*', (route) => route.abort('connectionrefused'));
    await page.goto(`${base}/ui/#/imports`);
    const message = await page.getByRole('alert').innerText();
    assert.match(message, /IPoid did not answer/);
    assert.doesNotMatch(message, /TypeError|at \S+:\d+/);
    await screenshot(page, 'network-error');
    page.assertClean();
    await page.close();
  });
});

describe('web console with bearer tokens', { skip }, () => {
  let browser: Browser;
  let closeStore: () => Promise<void>;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    const consoleDir = await buildConsole();
    // This IPoid keeps no history.
    const fresh = await freshStore(STORE_TARGETS[0]!, { historyDays: 0 });
    closeStore = fresh.close;
    await twoDays(fresh.store);
    ({ app, base } = await serve(fresh.store, [TOKEN], { consoleDir, readyMaxAgeSeconds: 3600 }));
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await closeStore?.();
  });

  test('the console loads without a token, asks for one on 401, says when it is refused, and keeps it for the tab', async () => {
    assert.equal((await request(`${base}/ui/`)).status, 200, 'the page itself holds no data');
    const page = await watchedPage(browser);
    await page.goto(`${base}/ui/#/labels`);
    await page.getByRole('heading', { name: 'This IPoid needs a token' }).waitFor();
    await screenshot(page, 'token-prompt');
    await page.getByLabel('API token').fill('wrong');
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.getByText(/refused the token \(401\)/).waitFor();
    // Pasted with an invisible character, which no HTTP header can carry: refused before any request.
    await page.getByLabel('API token').fill(`${TOKEN}\u200b`);
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.getByText(/no HTTP header can carry it/).waitFor();
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.locator('table.label-kind').first().waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('ipoid.token')), TOKEN);
    await page.goto(`${base}/ui/#/imports`);
    await page.locator('table.runs tbody tr').first().waitFor();
    // The feed's day is days ago, its limit an hour: red.
    assert.match(await page.locator('article.feed.stale[data-feed="anonymous"]').innerText(), /stale.*\(stale after 1\.0 h\)/);
    await screenshot(page, 'imports-stale');
    page.assertClean();
    await page.close();
  });

  test('a lookup that met the token prompt runs again once a token is given; Forget token forgets it', async () => {
    const page = await watchedPage(browser);
    await page.goto(`${base}/ui/`);
    const ip = (await request(`${base}/feed/v1/ips?limit=1`, { headers: { authorization: `Bearer ${TOKEN}` } })).json.ips[0].ip;
    await page.getByLabel(/One address/).fill(`${ip} 8.8.8.8`);
    await page.getByRole('button', { name: 'Look up' }).click();
    await page.getByLabel('API token').fill(TOKEN);
    await page.getByRole('button', { name: 'Use this token' }).click();
    await page.locator(`tr[data-ip="${ip}"].known`).waitFor();
    assert.equal(await page.getByLabel(/One address/).inputValue(), `${ip} 8.8.8.8`);

    await page.getByRole('link', { name: ip, exact: true }).click();
    await page.locator('pre.json').waitFor();
    assert.match(await page.locator('main').innerText(), /IPoid keeps no history \(IPOID_HISTORY_DAYS is 0\)/);

    await page.getByRole('button', { name: 'Forget token' }).click();
    await page.getByRole('heading', { name: 'This IPoid needs a token' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('ipoid.token')), null);
    page.assertClean();
    await page.close();
  });
});
