/**
 * The SOC page in a real headless browser (Debian's chromium, driven by playwright-core): it loads without
 * the token (it holds no data) under a strict CSP, asks for the token, streams stored and live alerts over
 * the websocket, shows updates and details, filters by severity — and renders span-controlled strings as
 * text, never as HTML (an identity carrying markup and script runs nothing).
 */
import fs from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { raise, startApiDaemon, TEST_TOKEN, waitFor, type ApiDaemon } from './helpers.js';

/** Debian's chromium (`apt-get install chromium`, done by .ci/run). */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const HOSTILE = 'spiffe://acme.example/<img src=x onerror="window.pwned=1">/<script>window.pwned=2</script>';

let d: ApiDaemon;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  d = await startApiDaemon({ updateIntervalMs: 50 });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  page = await browser.newPage();
  page.on('dialog', (dlg) => {
    dialogs.push(dlg.message());
    void dlg.dismiss();
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await d?.close();
});

const rows = () => page.locator('#alerts tr:not([hidden])');

it('loads without the token under a strict CSP, and refuses a wrong token', async () => {
  const res = await page.goto(`${d.apiUrl}/`);
  expect(page.url()).toBe(`${d.apiUrl}/soc`);
  expect(res!.headers()['content-security-policy']).toContain("script-src 'self'");
  expect(res!.headers()['x-content-type-options']).toBe('nosniff');
  await page.locator('#login').waitFor({ state: 'visible' });
  await page.fill('#token', 'wrong-token-0123456789abc');
  await page.click('#login button[type=submit]');
  await expect.poll(() => page.textContent('#login-error')).toBe('That token was refused.');
});

it('streams stored and live alerts, rendering span-controlled text as text', async () => {
  raise(d.daemon, { identity: HOSTILE, severity: 'high', subject: 'tool:evil' });
  raise(d.daemon, { identity: 'spiffe://acme.example/agent/b', severity: 'medium' });
  await page.fill('#token', TEST_TOKEN);
  await page.click('#login button[type=submit]');
  await expect.poll(() => rows().count()).toBe(2);
  await expect.poll(() => page.textContent('#status')).toBe('live');
  expect(page.url()).not.toContain(TEST_TOKEN);
  // The identity is shown verbatim and nothing in it ran.
  expect(await page.locator('#alerts tr').last().locator('td').nth(4).textContent()).toBe(HOSTILE);
  expect(await page.evaluate(() => ({ pwned: (window as unknown as { pwned?: number }).pwned, imgs: document.querySelectorAll('img').length, scripts: document.querySelectorAll('script').length }))).toEqual({ pwned: undefined, imgs: 0, scripts: 1 });
  expect(dialogs).toEqual([]);

  // A live alert comes in on top; a repeat folded into the first updates its count.
  raise(d.daemon, { identity: 'spiffe://acme.example/agent/c', severity: 'critical' });
  await expect.poll(() => rows().count()).toBe(3);
  expect(await rows().first().locator('td').nth(4).textContent()).toBe('spiffe://acme.example/agent/c');
  raise(d.daemon, { identity: HOSTILE, severity: 'high', subject: 'tool:evil' });
  await expect.poll(() => page.locator('#alerts tr').last().locator('.count').textContent()).toBe('2');
});

it('shows an alert in detail, and filters by severity', async () => {
  await page.locator('#alerts tr').last().click();
  await expect.poll(() => page.textContent('#detail-title')).toMatch(/^test finding \d+$/);
  expect(await page.textContent('#detail-explanation')).toBe('seen a tool this identity never used');
  // The score within its severity's band: high, surprise 0.5 (test/api/helpers.ts).
  expect(await page.textContent('#detail-meta')).toMatch(/^scope_drift · high \(score 0\.625\) · /);
  expect(JSON.parse((await page.textContent('#detail-evidence'))!)).toMatchObject({ subject: 'tool:evil' });
  await page.selectOption('#min-severity', 'high');
  await expect.poll(() => rows().count()).toBe(2); // the medium one is hidden
  await page.selectOption('#min-severity', 'low');
  await expect.poll(() => rows().count()).toBe(3);
});

it("shows the operators' mutes in force above the alerts, as text; none, no panel", async () => {
  expect(await page.isHidden('#mutes')).toBe(true);
  // A mute needs an identity the engine knows.
  const at = Date.now();
  d.daemon.engine.process([
    { time: at, endTime: at + 5, identity: HOSTILE, peerGroup: 'g', kind: 'tool', target: 'crm.search', access: 'read', host: null, zone: null, sensitive: false,
      failed: false, retry: false, traceId: 'f'.repeat(32), spanId: 'f'.repeat(16), parentSpanId: '', credential: null, scopes: [], agent: null },
  ]);
  const mute = (body: object) =>
    fetch(`${d.apiUrl}/v1/identities/${encodeURIComponent(HOSTILE)}/mute`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  expect((await mute({ detector: 'retry_storm', for: '2h', reason: 'INC-7 <b>CRM outage</b>' })).status).toBe(201);
  expect((await mute({ detector: 'scope_drift', subject: 'tool:vault.read', maxSeverity: 'critical', for: '1h', reason: 'SEC-2' })).status).toBe(201);
  await page.reload(); // read at sign-in, then every 30 s
  await page.locator('#mutes').waitFor({ state: 'visible' });
  expect(await page.textContent('#mutes-title')).toBe('2 mutes in force: these findings raise no alert');
  const lines = (await page.locator('#mutes-list li').allTextContents()).map((l) => l.replace(/until \S+ \S+Z/, 'until T').replace(/:\d+\)$/, ':PORT)'));
  expect(lines).toEqual([
    `${HOSTILE} · scope_drift on tool:vault.read · up to critical · until T · swallowed 0 · "SEC-2" (set from 127.0.0.1:PORT)`, // the newest first
    `${HOSTILE} · retry_storm on any subject · up to high · until T · swallowed 0 · "INC-7 <b>CRM outage</b>" (set from 127.0.0.1:PORT)`,
  ]);
  expect(await page.evaluate(() => ({ pwned: (window as unknown as { pwned?: number }).pwned, bold: document.querySelectorAll('b, img').length }))).toEqual({ pwned: undefined, bold: 0 });
});

it('after a reload, reconnects with the token kept for the tab and shows the stored alerts; signing out forgets it', async () => {
  await page.reload();
  await expect.poll(() => page.textContent('#status')).toBe('live');
  expect(await page.isHidden('#login')).toBe(true);
  await expect.poll(() => rows().count()).toBe(3);
  await waitFor(async () => (await page.evaluate(() => sessionStorage.getItem('vigil.token'))) === TEST_TOKEN, 'the token in sessionStorage');
  await page.click('#sign-out');
  expect(await page.evaluate(() => sessionStorage.getItem('vigil.token'))).toBeNull();
  await page.locator('#login').waitFor({ state: 'visible' });
});

// Review41 L6: the daemon restarted with another token; the page retried the old one for ever, showing
// "reconnecting" and an empty table.
it('asks for a new token when the daemon it was streaming from no longer takes its token', async () => {
  const first = await startApiDaemon();
  const port = new URL(first.apiUrl).port;
  const tab = await browser.newPage();
  let second: ApiDaemon | undefined;
  try {
    await tab.goto(`${first.apiUrl}/soc`);
    await tab.fill('#token', TEST_TOKEN);
    await tab.click('#login button[type=submit]');
    await expect.poll(() => tab.textContent('#status')).toBe('live');
    await first.close();
    second = await startApiDaemon({}, { api: { endpoint: `127.0.0.1:${port}`, token: 'rotated-token-0123456789abcdef' } });
    await tab.locator('#login').waitFor({ state: 'visible', timeout: 20_000 });
    expect(await tab.textContent('#login-error')).toBe('That token is refused now (was it changed?): sign in again.');
    expect(await tab.evaluate(() => sessionStorage.getItem('vigil.token'))).toBeNull();
  } finally {
    await tab.close();
    await second?.close();
  }
}, 40_000);
