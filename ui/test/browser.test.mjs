// The web UI in a real browser (Debian's chromium, headless, through playwright-core) against a
// real pipeline: `onceflow run --ui` on the embedded log into SQLite, then `onceflow ui --data`
// on the same data directory. Checks what an operator sees: batches appear and grow, a chart has
// drawn points, a batch shows its ranges, a dead letter shows its error, and the earlier batches
// are still there after the pipeline was killed (-9) and restarted. Screenshots are kept in
// ONCEFLOW_UI_TEST_OUT (the build directory's ui/browser-test/).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  HANG_GUARD_MS, Process, count, freePort, freshDir, getJson, launchBrowser, onceflow, outDir,
  pollUntil,
} from './harness.mjs';

const work = freshDir('pipeline');
const shots = freshDir('screenshots');
const data = path.join(work, 'data');
const toml = path.join(work, 'clicks.toml');
fs.writeFileSync(toml, `name = "clicks"
batch_interval_ms = 200
max_records_per_partition = 25
[source]
type = "log"
topic = "clicks"
format = "json"
[sink]
type = "sqlite"
path = "clicks.db"
init = ["CREATE TABLE IF NOT EXISTS clicks(id INTEGER, page TEXT)"]
mode = "append"
table = "clicks"
`);

const BAD_RECORD = '{"id": 77, "page": oops}';
let nextId = 0;
function produce(n, { bad = false } = {}) {
  const lines = [];
  for (let i = 0; i < n; i++, nextId++) lines.push(JSON.stringify({ id: nextId, page: `p${nextId % 7}` }));
  if (bad) lines.splice(lines.length >> 1, 0, BAD_RECORD);
  onceflow(['produce', 'clicks', '--data', data], { input: `${lines.join('\n')}\n` });
}

const processes = [];
let context;
after(async () => {
  if (context) await context.close();
  for (const p of processes) await p.stop('SIGKILL');
});

function startPipeline(port) {
  const p = new Process(['run', toml, '--data', data, '--ui', `127.0.0.1:${port}`],
    path.join(work, 'run.log'));
  processes.push(p);
  return p;
}

const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
const batchIdsShown = (page) => page.$$eval('tr[data-batch]', (rows) => rows.map((r) => Number(r.dataset.batch)));

test('a running pipeline in the browser: batches, charts, ranges, dead letters, restart', async () => {
  onceflow(['topics', 'create', 'clicks', '--partitions', '2', '--data', data]);
  produce(300, { bad: true });

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let pipeline = startPipeline(port);
  await pollUntil('the pipeline to commit its first batch', async () => {
    const { pipelines } = await getJson(base, 'pipelines');
    return pipelines.find((p) => p.name === 'clicks' && p.last_batch);
  }, { alive: pipeline });

  context = await launchBrowser(path.join(work, 'chromium-profile'));
  const page = context.pages()[0] ?? await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));

  // The list of pipelines, then a click to the pipeline.
  await page.goto(`${base}/`);
  const row = page.locator('tr[data-pipeline="clicks"]');
  await row.waitFor();
  assert.match(await row.innerText(), /running/);
  await shot(page, '01-pipelines');
  await row.getByRole('link', { name: 'clicks' }).click();
  await page.waitForURL(`${base}/pipeline/clicks`);

  // Batches appear, and grow as records arrive, without a reload.
  await page.locator('tr[data-batch]').first().waitFor();
  for (let round = 0; round < 2; round++) {
    const newestBefore = Math.max(...await batchIdsShown(page));
    produce(300);
    await page.waitForFunction((before) => [...document.querySelectorAll('tr[data-batch]')]
      .some((r) => Number(r.dataset.batch) > before), newestBefore, { timeout: HANG_GUARD_MS });
  }
  const totals = await getJson(base, 'pipelines/clicks');
  assert.equal(totals.totals.records_in, 901, `records in: ${JSON.stringify(totals.totals)}`);

  // A chart has drawn points: uPlot holds them, and the line's colour is on its canvas. (A
  // batch's input rate needs the batch before it: three batches, two points.)
  await page.waitForFunction(() => (window.onceflowCharts?.input_rate?.points ?? 0) >= 2,
    null, { timeout: HANG_GUARD_MS });
  const stroke = await page.$eval('#chart-input_rate canvas', (canvas) => {
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    // The series' stroke #3b82c4 (charts.js palette[0]), opaque.
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] > 200 && Math.abs(data[i] - 0x3b) < 30 && Math.abs(data[i + 1] - 0x82) < 30 &&
          Math.abs(data[i + 2] - 0xc4) < 30) n++;
    }
    return n;
  });
  assert.ok(stroke > 20, `the input rate line drew ${stroke} pixels`);
  await shot(page, '02-pipeline');

  // Clicking a batch that read records shows its ranges, as the API has them.
  const { batches } = await getJson(base, 'pipelines/clicks/batches?limit=20');
  const shown = new Set(await batchIdsShown(page));
  const withRecords = batches.find((b) => b.records_in > 0 && shown.has(b.batch_id));
  assert.ok(withRecords, `no batch with records among ${JSON.stringify([...shown])}`);
  await page.locator(`tr[data-batch="${withRecords.batch_id}"] a.batch-link`).click();
  await page.waitForURL(`${base}/pipeline/clicks/batch/${withRecords.batch_id}`);
  const full = await getJson(base, `pipelines/clicks/batches/${withRecords.batch_id}`);
  assert.ok(full.partitions.length > 0);
  for (const p of full.partitions) {
    const cells = page.locator(`tr[data-partition="${p.partition}"] td`);
    await cells.first().waitFor();
    assert.equal(await cells.nth(1).innerText(), count(p.from), `partition ${p.partition} from`);
    assert.equal(await cells.nth(2).innerText(), count(p.until), `partition ${p.partition} until`);
    assert.equal(await cells.nth(3).innerText(), count(p.until - p.from));
  }
  await shot(page, '03-batch');

  // The dead letter: its error on the dead-letters page and on its batch's page.
  await page.goto(`${base}/pipeline/clicks`);
  await page.getByRole('link', { name: 'Dead letters' }).first().click();
  await page.waitForURL(`${base}/pipeline/clicks/dead-letters`);
  const letter = page.locator('tr[data-dead-letter]');
  await letter.first().waitFor();
  assert.equal(await letter.count(), 1, 'one bad record, one dead letter');
  const { dead_letters: letters } = await getJson(base, 'pipelines/clicks/dead_letters?limit=10');
  assert.equal(letters.length, 1);
  assert.ok(letters[0].error.length > 0);
  assert.equal(await letter.locator('td.dead-letter-error').innerText(), letters[0].error);
  assert.match(await letter.innerText(), /oops/);
  assert.equal(await letter.getAttribute('data-dead-letter'), `${letters[0].partition}:${letters[0].offset}`);
  await shot(page, '04-dead-letters');
  await letter.getByRole('link').first().click();
  await page.waitForURL(`${base}/pipeline/clicks/batch/${letters[0].batch_id}`);
  await page.locator('#dead-letters tr[data-dead-letter] td.dead-letter-error')
    .filter({ hasText: letters[0].error }).waitFor();

  // The config the run saved, and the state page of a stateless pipeline.
  await page.goto(`${base}/pipeline/clicks`);
  await page.locator('nav.tabs').getByRole('link', { name: 'Config' }).click();
  await page.waitForURL(`${base}/pipeline/clicks/config`);
  await page.locator('pre.config').filter({ hasText: 'table = "clicks"' }).waitFor();
  await page.locator('#crumbs').getByRole('link', { name: 'clicks' }).click();
  await page.locator('nav.tabs').getByRole('link', { name: 'State' }).click();
  await page.waitForURL(`${base}/pipeline/clicks/state`);
  await page.getByText('This pipeline keeps no state.').waitFor();

  // kill -9, and the page says it lost the server; restarted, it shows the earlier batches.
  await page.goto(`${base}/pipeline/clicks`);
  await page.locator('tr[data-batch]').first().waitFor();
  const before = await getJson(base, 'pipelines/clicks/batches?limit=1000');
  const earlier = before.batches.map((b) => b.batch_id);
  await pipeline.stop('SIGKILL');
  await page.locator('#live.stale').waitFor();
  pipeline = startPipeline(port);
  await pollUntil('the restarted pipeline to answer', () => getJson(base, 'pipelines'), { alive: pipeline });
  await page.locator('#live:not(.stale)').waitFor();
  produce(200);
  await page.waitForFunction((max) => [...document.querySelectorAll('tr[data-batch]')]
    .some((r) => Number(r.dataset.batch) > max), Math.max(...earlier), { timeout: HANG_GUARD_MS });
  // The oldest batch of the first run is still listed: page back through the older batches (25
  // records a batch: more batches than a page holds).
  const oldest = Math.min(...earlier);
  assert.ok(!(await batchIdsShown(page)).includes(oldest), 'the first page holds every batch: nothing to page');
  for (;;) {
    if ((await batchIdsShown(page)).includes(oldest)) break;
    assert.ok(await page.locator('#older').isEnabled(), `batch ${oldest} not listed after the restart`);
    const label = await page.locator('#page-label').innerText();
    await page.locator('#older').click();
    await page.waitForFunction((l) => document.querySelector('#page-label').textContent !== l, label);
  }
  await shot(page, '05-after-restart');
  const again = await getJson(base, `pipelines/clicks/batches/${full.batch_id}`);
  assert.deepEqual(again.partitions.map((p) => [p.partition, p.from, p.until]),
    full.partitions.map((p) => [p.partition, p.from, p.until]), 'a batch reads the same after the restart');
  // Each batch committed once: one committed record per id (failed attempts have records too).
  const listed = await getJson(base, 'pipelines/clicks/batches?limit=1000');
  const ids = listed.batches.filter((b) => b.outcome === 'committed').map((b) => b.batch_id);
  assert.equal(new Set(ids).size, ids.length, `a batch committed twice: ${ids}`);
  const lost = before.batches.filter((b) => b.outcome === 'committed' && !ids.includes(b.batch_id));
  assert.deepEqual(lost, [], 'batches committed before the kill are in the history after it');

  // Stopped, the data directory's own server (`onceflow ui`, with a token) shows the same
  // history: not without the token, and with it given once in the address.
  await pipeline.stop('SIGTERM');
  const uiPort = await freePort();
  const uiBase = `http://127.0.0.1:${uiPort}`;
  const tokenFile = path.join(work, 'token');
  fs.writeFileSync(tokenFile, 's3cret-token\n');
  const ui = new Process(['ui', '--data', data, '--http', `127.0.0.1:${uiPort}`, '--token-file', tokenFile],
    path.join(work, 'ui.log'));
  processes.push(ui);
  await pollUntil('onceflow ui to answer', async () => (await fetch(`${uiBase}/health`)).ok, { alive: ui });
  await page.goto(`${uiBase}/`);
  await page.locator('#error-banner').filter({ hasText: 'HTTP 401' }).waitFor();
  assert.equal(await page.locator('tr[data-pipeline]').count(), 0, 'no data without the token');
  await page.goto(`${uiBase}/?token=s3cret-token`);
  await page.locator('tr[data-pipeline="clicks"]').filter({ hasText: 'stopped' }).waitFor();
  assert.equal(new URL(page.url()).search, '', 'the token is taken out of the address');
  assert.ok(await page.locator('#error-banner').isHidden());
  const last = Math.max(...ids);
  await page.locator(`tr[data-pipeline="clicks"] a[href$="/batch/${last}"]`).waitFor();
  await shot(page, '06-onceflow-ui');

  assert.deepEqual(pageErrors, [], 'no script error on any page');
  fs.writeFileSync(path.join(outDir, 'RESULT'), 'passed\n');
});
