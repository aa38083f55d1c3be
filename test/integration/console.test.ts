// Issue 12, point 3: the console in a real browser (Debian's chromium, installed by the program when
// missing, driven by playwright-core) against the real stack. Snapshots of all seven stations go in
// through the API, Kafka and the persister (the online optimizer decides on them as they arrive); the
// page must load without a console error, show every station's score, show a change made through the
// API live (within 2 s, the bound), roll a change back from its button, and show another
// tenant's token none of the first tenant's calls. Screenshots of the main views are saved on the way
// (CONSOLE_SCREENSHOTS=docs refreshes the README's).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { Page } from 'playwright-core';
import type { SnapshotInput } from '../../domain/snapshot.ts';
import { readTestEnv } from '../../lib/settings.ts';
import { startApp } from '../../runtime/app.ts';
import { launchBrowser } from '../helpers/browser.ts';
import { snapshotInput } from '../helpers/fixtures.ts';
import { cleanupTopics, defer, testSettings, token, uniqueId, waitFor } from '../helpers/runtime.ts';

const STATIONS = [1, 2, 3, 4, 9, 10, 11];
/** The bound for a change to appear live on the page. */
const LIVE_WITHIN_MS = 2000;

/** A snapshot with the impairment typical of each station, varying a little with the segment. */
function stationSnapshot(tenant: string, call: string, index: number, station: number): SnapshotInput {
  const s = snapshotInput({ tenant, call, index, station });
  const a = s.metrics.audio;
  const wobble = ((index * 7 + station * 3) % 5) - 2;
  const network = station === 2 || station === 10;
  if (!network) s.metrics.network = null;
  switch (station) {
    case 1:
      Object.assign(a, { snr_db: 18 + wobble, hum_ratio: 0.06, noise_floor_dbfs: -48 });
      break;
    case 2:
      Object.assign(s.metrics.network!, {
        jitter_ms: 45 + wobble,
        packet_loss_ratio: 0.04,
        mos: 3.5,
        r_factor: 70,
      });
      break;
    case 3:
      Object.assign(a, { snr_db: 11 + wobble, noise_floor_dbfs: -40 });
      break;
    case 4:
      Object.assign(a, { rms_dbfs: -40, loudness_lufs: -41 + wobble, active_speech_level_dbov: -39 });
      s.metrics.stt_confidence = 0.72;
      break;
    case 9:
      Object.assign(a, { peak_dbfs: -0.2, clipping_ratio: 0.004, loudness_lufs: -14 + wobble });
      s.metrics.tts_latency_ms = 180;
      break;
    case 10:
      Object.assign(s.metrics.network!, {
        jitter_ms: 25 + wobble,
        packet_loss_ratio: 0.02,
        mos: 3.9,
        r_factor: 80,
      });
      s.channel = 'B';
      break;
    case 11:
      Object.assign(a, { snr_db: 16 + wobble });
      s.metrics.emotion_confidence = 0.64;
      break;
  }
  if (station === 9) s.channel = 'B';
  return s;
}

async function seed(t: TestContext) {
  const cfg = testSettings('console', { PORT: '0', HOST: '127.0.0.1' });
  cleanupTopics(t, cfg);
  const app = await startApp(cfg, ['api', 'persister', 'relay', 'online'], { listen: true });
  defer(t, () => app.stop());
  const a = uniqueId('ca');
  const b = uniqueId('cb');
  const callsA = [uniqueId('callA'), uniqueId('callA')];
  // A call the online optimizer changes nothing at station 3 on (no snapshot there), so the test's
  // own change at that key meets no cool-down.
  const quiet = uniqueId('callQ');
  const callB = uniqueId('callB');
  const opA = token(cfg, 'operator', a);
  const publish = async (tenant: string, call: string, index: number, station: number) => {
    const res = await app.api!.inject({
      method: 'POST',
      url: '/v1/stations/snapshot',
      headers: { authorization: token(cfg, 'station', tenant) },
      payload: stationSnapshot(tenant, call, index, station) as unknown as Record<string, unknown>,
    });
    assert.equal(res.statusCode, 202, res.body);
  };
  for (let index = 0; index < 4; index++)
    for (const call of callsA) for (const station of STATIONS) await publish(a, call, index, station);
  for (const station of [1, 2]) await publish(a, quiet, 0, station);
  for (const station of [2, 3]) await publish(b, callB, 0, station);
  const expected = callsA.length * 4 * STATIONS.length + 4;
  await waitFor(
    'every snapshot persisted',
    async () => {
      const { rows } = await app.rt.pool.query(
        'SELECT count(*)::int AS n FROM station_snapshots WHERE tenant_id = ANY($1::text[])',
        [[a, b]],
      );
      return rows[0].n >= expected || undefined;
    },
    60_000,
  );

  // An A/B experiment for the experiment list (no experiments role runs: it stays running, no verdict).
  const exp = await app.api!.inject({
    method: 'POST',
    url: '/v1/experiments',
    headers: { authorization: opA },
    payload: {
      station_id: 4,
      scope: { level: 'tenant', tenant_id: a },
      treatment: { input_gain_db: 4 },
      reason: 'a louder feed to STT (console test)',
    },
  });
  assert.equal(exp.statusCode, 201, exp.body);
  return { cfg, app, a, b, callsA, quiet, callB, opA };
}

type Ctx = Awaited<ReturnType<typeof seed>>;

async function stationsShown(x: Ctx, page: Page, shots: string) {
  const { callsA } = x;
  // All seven stations with scores from the run.
  for (const id of STATIONS)
    await page.waitForSelector(`.station[data-station="${id}"] .score:not([data-score=""])`, {
      timeout: 20_000,
    });
  const scores = await page.$$eval('.station', (els) =>
    els.map((e) => [Number(e.getAttribute('data-station')), e.querySelector('.score')?.textContent ?? '']),
  );
  assert.deepEqual(
    scores.map(([id]) => id).sort((x, y) => Number(x) - Number(y)),
    STATIONS,
  );
  for (const [id, text] of scores) {
    const v = Number(text);
    assert.ok(v > 0 && v <= 100, `station ${id} shows score "${text}"`);
  }
  await page.waitForSelector(`#calls tbody tr:has-text("${callsA[0]}")`);
  await page.waitForSelector('#live.on');
  const exp = page.locator('#experiments tbody tr:has-text("input_gain_db=4")');
  await exp.waitFor();
  assert.match((await exp.textContent()) ?? '', /4 Deepgram.*running.*no verdict yet/);
  await page.screenshot({ path: join(shots, 'console-pipeline.png'), fullPage: true });
}

async function liveChangeAndRollback(x: Ctx, page: Page, shots: string) {
  const { app, a, quiet, opA } = x;
  // A change through the API appears on the page live.
  const update = await app.api!.inject({
    method: 'POST',
    url: '/v1/config/update',
    headers: { authorization: opA },
    payload: {
      station_id: 3,
      scope: { level: 'call', tenant_id: a, call_id: quiet },
      parameters: { noise_suppression_db: 18 },
      reason: 'more suppression on a noisy line (console test)',
    },
  });
  assert.equal(update.statusCode, 200, update.body);
  const changeId = update.json().change_id as string;
  await page.waitForSelector(`#changes [data-change="${changeId}"]`, { timeout: LIVE_WITHIN_MS });

  // Its rollback button asks for a reason and rolls it back through the safe path.
  await page.click(`#changes [data-change="${changeId}"] .rollback-btn`);
  await page.waitForSelector('#rollback-dialog[open]');
  await page.fill('#rollback-reason', 'suppression eats the speech (console test)');
  await page.screenshot({ path: join(shots, 'console-rollback.png') });
  await page.click('#rollback-confirm');
  await page.waitForSelector(`#changes [data-change="${changeId}"] .status.rolled_back`, { timeout: 10_000 });
  const rollback = await waitFor('the rollback in the audit log', async () => {
    const res = await app.api!.inject({
      method: 'GET',
      url: `/v1/changes?call_id=${quiet}&station_id=3`,
      headers: { authorization: opA },
    });
    return res.json().items.find((c: { rollback_of: string | null }) => c.rollback_of === changeId) as
      | { change_id: string; reason: string; status: string }
      | undefined;
  });
  assert.equal(rollback.status, 'applied');
  assert.equal(rollback.reason, 'suppression eats the speech (console test)');
  await page.waitForSelector(`#changes [data-change="${rollback.change_id}"] .status.rollback`, {
    timeout: 10_000,
  });

  return changeId;
}

async function timelineAndSummary(x: Ctx, page: Page, shots: string, changeId: string) {
  const { callsA, quiet } = x;
  // A call's timeline, its changes listed under it; a station's summary.
  await page.click(`#calls tbody tr:has-text("${quiet}")`);
  await page.waitForSelector(`#call-changes [data-change="${changeId}"] .status.rolled_back`);
  await page.click(`#calls tbody tr:has-text("${callsA[0]}")`);
  await page.waitForSelector('#timeline canvas');
  await page.waitForSelector(`#call-title:has-text("${callsA[0]}")`);
  await page.screenshot({ path: join(shots, 'console-call.png'), fullPage: true });
  await page.click('.station[data-station="2"]');
  await page.waitForSelector('#histogram .bin');
  const summaryText = await page.textContent('#dist-note');
  assert.match(summaryText ?? '', /\d+ snapshots/);
  await page.locator('#station-section').screenshot({ path: join(shots, 'console-station.png') });
}

async function otherTenant(x: Ctx, pageB: Page) {
  const { callsA, callB } = x;
  // Another tenant's token: its own call, none of the first tenant's calls or changes.
  await pageB.waitForSelector(`#calls tbody tr:has-text("${callB}")`, { timeout: 20_000 });
  await pageB.waitForSelector('#live.on');
  const textB = (await pageB.textContent('body')) ?? '';
  for (const c of callsA) assert.ok(!textB.includes(c), `tenant B's page shows A's call ${c}`);
  assert.ok(!textB.includes('console test'), "tenant B's page shows A's change");
  assert.ok(!textB.includes('input_gain_db=4'), "tenant B's page shows A's experiment");
  assert.equal(await pageB.locator('.rollback-btn').count(), 0, 'a viewer gets no rollback button');
}

test('console: stations, live changes, rollback and tenancy in headless Chromium', async (t) => {
  const x = await seed(t);
  const shots = readTestEnv().consoleScreenshots ?? mkdtempSync(join(tmpdir(), 'voiceloop-console-'));
  mkdirSync(shots, { recursive: true });
  const browser = await launchBrowser();
  defer(t, () => browser.close());
  const errors: string[] = [];
  const open = async (auth: string): Promise<Page> => {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    const page = await ctx.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
    await page.goto(`${x.app.url}/console/#token=${auth.replace(/^Bearer /, '')}`);
    return page;
  };

  const page = await open(x.opA);
  await stationsShown(x, page, shots);
  const changeId = await liveChangeAndRollback(x, page, shots);
  await timelineAndSummary(x, page, shots, changeId);
  await otherTenant(x, await open(token(x.cfg, 'viewer', x.b)));
  assert.deepEqual(errors, [], 'no console errors');
  console.log(`screenshots in ${shots}`);
});
