// A pipeline: its figures, Spark's four timelines with histograms (input rate, scheduling delay,
// processing time, total delay), the commit phases stacked, visibility latency, lag per
// partition, active and completed batches (paged), and the exactly-once audit.
import * as api from './api.js';
import { histogram, palette, timeline } from './charts.js';
import {
  ago, badge, clock, count, esc, ms, rate, seconds, setHtml, si, stats, table,
} from './format.js';

const TIMELINE_BATCHES = 300;
const PAGE_SIZE = 20;
const AUDIT_EVERY = 5;  // polls: the audit reads the sink's progress rows, so less often

// Spark's four: [key, title, field of a timeline entry, format, axis format].
const FOUR = [
  ['input_rate', 'Input rate', 'input_rate', rate, (v) => `${si(v)}/s`],
  ['scheduling_delay', 'Scheduling delay', 'scheduling_delay_ms', ms, ms],
  ['processing_time', 'Processing time', 'processing_ms', ms, ms],
  ['total_delay', 'Total delay', 'total_delay_ms', ms, ms],
];
// Commit phases, top band first (charts.js stacks them so), as [field, label].
const PHASES = [
  ['commit_record_us', 'commit record'], ['state_commit_us', 'state commit'],
  ['sink_commit_us', 'sink commit'], ['compute_us', 'compute'],
  ['intent_us', 'intent'], ['planning_us', 'planning'],
];

const link = (name, rest = '') => `/pipeline/${encodeURIComponent(name)}${rest}`;

function batchColumns(name) {
  return [
    { title: 'Batch', cell: (b) => `<a class="batch-link" href="${link(name, `/batch/${b.batch_id}`)}">#${b.batch_id}</a>${b.replayed ? ' <span class="muted" title="re-run at recovery">replayed</span>' : ''}${b.reconstructed ? ' <span class="muted" title="its history record was lost in a crash: rebuilt from the intent, without timings">reconstructed</span>' : ''}` },
    { title: 'Batch time', cell: (b) => clock(b.batch_time_ms) },
    { title: 'Outcome', cell: (b) => `${badge(b.outcome)}${b.error ? ` <span class="error">${esc(b.error)}</span>` : ''}` },
    { title: 'Records in', cls: 'num', cell: (b) => count(b.records_in) },
    { title: 'Rows out', cls: 'num', cell: (b) => count(b.rows_out) },
    { title: 'Dead letters', cls: 'num', cell: (b) => count(b.dead_letters) },
    { title: 'Retries', cls: 'num', cell: (b) => count(b.retries) },
    { title: 'Scheduling delay', cls: 'num', cell: (b) => ms(b.scheduling_delay_ms) },
    { title: 'Processing', cls: 'num', cell: (b) => ms(b.processing_ms) },
    { title: 'Total delay', cls: 'num', cell: (b) => ms(b.total_delay_ms) },
    { title: 'Visibility p99', cls: 'num', cell: (b) => ms(b.visibility_p99_ms) },
  ];
}

// The audit (docs/api.md, /audit): verify's verdict on the sink's progress rows against the
// committed offsets, the history's own contiguity check, and the counts in and out.
function renderAudit(a) {
  const h = a.history ?? {};
  const items = (list, cls = '') => (list ?? []).filter(Boolean)
    .map((v) => `<li class="${cls}">${esc(typeof v === 'string' ? v : JSON.stringify(v))}</li>`).join('');
  const ranges = (rs) => (rs ?? []).map((r) => `${r.partition}: [${count(r.from)}, ${count(r.until)})`).join(', ');
  return `<p class="audit-verdict">${a.ok ? badge('ok') : badge('failed')} ${a.ok
    ? 'the sink’s progress rows cover exactly the committed offsets: no gap, no overlap'
    : 'the audit found a violation'}${a.running ? ' <span class="muted">(taken while the pipeline runs)</span>' : ''}</p>` +
    (a.violations?.length ? `<ul>${items(a.violations, 'error')}</ul>` : '') +
    (a.status_error ? `<p class="error">${esc(a.status_error)}</p>` : '') +
    (a.summary?.length ? `<ul class="muted">${items(a.summary)}</ul>` : '') +
    `<p>${badge(h.contiguous === false ? 'failed' : 'ok')} history: ${count(h.batches_checked)} committed batches, ` +
    `${h.contiguous === false ? `<span class="error">not contiguous: ${esc(h.first_gap)}</span>`
      : 'each reads every partition from where the previous one ended'}</p>` +
    stats([['Records in', count(h.records_in)], ['Rows out', count(h.rows_out)],
      ['Dead letters', count(h.dead_letters)], ['Progress rows', count(a.progress_rows)],
      ['Unfinished batch', esc(a.unfinished ?? '–')]]) +
    '<div class="two"><div><h3>Committed offsets</h3>' + table([
      { title: 'Partition', cell: (c) => String(c.partition) },
      { title: 'Committed', cls: 'num', cell: (c) => count(c.committed) },
      { title: 'End', cls: 'num', cell: (c) => count(c.end) },
      { title: 'Lag', cls: 'num', cell: (c) => count(c.lag) },
    ], a.committed, { empty: 'Nothing committed yet.' }) + '</div><div><h3>Sink progress rows</h3>' + table([
      { title: 'Task', cell: (t) => String(t.task) },
      { title: 'Last batch', cls: 'num', cell: (t) => `#${t.last_batch}` },
      { title: 'Epoch', cls: 'num', cell: (t) => count(t.epoch) },
      { title: 'Ranges', cell: (t) => esc(ranges(t.ranges)) },
    ], a.sink_progress, { empty: 'No progress row.' }) + '</div></div>';
}

export default {
  crumbs: (name) => [['Pipelines', '/'], [name]],
  mount(root, name) {
    root.innerHTML = `
      <div class="title-row"><h1>${esc(name)}</h1><span id="status"></span>
        <nav class="tabs"><a href="${link(name, '/dead-letters')}">Dead letters</a>
        <a href="${link(name, '/config')}">Config</a><a href="${link(name, '/state')}">State</a></nav></div>
      <p id="last-error" class="error"></p>
      <section id="figures"></section>
      <h2>Batches over time <span class="muted small">last ${TIMELINE_BATCHES} batches</span></h2>
      <div class="four">${FOUR.map(([key, title]) => `
        <div class="metric"><h3>${title} <span class="muted small" id="${key}-summary"></span></h3>
          <div class="chart-pair"><div class="chart" id="chart-${key}"></div>
          <div class="chart hist" id="hist-${key}"></div></div></div>`).join('')}
      </div>
      <div class="two">
        <div><h3>Commit phases <span class="muted small">per batch, stacked</span></h3><div class="chart" id="chart-phases"></div></div>
        <div><h3>Visibility latency <span class="muted small">record timestamp → batch committed</span></h3><div class="chart" id="chart-visibility"></div></div>
      </div>
      <h2>Lag per partition</h2><section id="partitions"></section>
      <h2>Active batches</h2><section id="active"></section>
      <h2>Completed batches</h2><section id="batches"></section>
      <div class="pager"><button id="newer" type="button">← Newer</button>
        <span id="page-label" class="muted"></span><button id="older" type="button">Older →</button></div>
      <h2>Audit <span class="muted small">what <code>onceflow verify</code> checks, every ${AUDIT_EVERY * 1.5} s</span>
        <span class="muted small" id="audit-time"></span></h2>
      <section id="audit"><p class="muted">Checking…</p></section>`;
    const $ = (id) => root.querySelector(`#${id}`);

    const charts = [];
    const four = FOUR.map(([key, title, field, format, axisFormat], i) => {
      const line = timeline(key, $(`chart-${key}`), { series: [{ label: title, color: palette[i] }], format, axisFormat });
      const hist = histogram(`${key}_histogram`, $(`hist-${key}`), { label: title, format, axisFormat, color: palette[i] });
      charts.push(line, hist);
      return { key, field, format, line, hist };
    });
    const phases = timeline('phases', $('chart-phases'), {
      series: PHASES.map(([, label], i) => ({ label, color: palette[(PHASES.length - 1 - i) % palette.length] })),
      format: ms, stacked: true,
    });
    const visibility = timeline('visibility', $('chart-visibility'), {
      series: [{ label: 'p50', color: palette[2] }, { label: 'p99', color: palette[3] }], format: ms,
    });
    charts.push(phases, visibility);

    // Paging: a stack of `before` cursors; the first page (null) follows the newest batches.
    const cursors = [null];
    let nextBefore = null;
    let polls = 0;
    const refreshBatches = async () => {
      const page = await api.batches(name, PAGE_SIZE, cursors[cursors.length - 1]);
      nextBefore = page.next_before ?? null;
      setHtml($('batches'), table(batchColumns(name), page.batches, {
        empty: 'No batch has run yet.', rowAttrs: (b) => `data-batch="${b.batch_id}"`,
      }));
      $('newer').disabled = cursors.length === 1;
      $('older').disabled = nextBefore === null;
      $('page-label').textContent = cursors.length === 1 ? 'newest' : `page ${cursors.length}`;
    };
    $('older').addEventListener('click', () => {
      if (nextBefore === null) return;
      cursors.push(nextBefore);
      refreshBatches().catch(() => {});
    });
    $('newer').addEventListener('click', () => {
      if (cursors.length > 1) cursors.pop();
      refreshBatches().catch(() => {});
    });

    return {
      async refresh() {
        const auditDue = polls % AUDIT_EVERY === 0;
        polls += 1;
        const [detail, tl] = await Promise.all([api.pipeline(name), api.timeline(name, TIMELINE_BATCHES)]);
        setHtml($('status'), badge(detail.status ?? 'unknown'));
        const lastError = detail.last_error || '';
        setHtml($('last-error'), lastError ? `Last error: ${esc(lastError)}` : '');
        const totals = detail.totals ?? {};
        setHtml($('figures'), stats([
          ['Batches', count(totals.batches)],
          ['Records in', count(totals.records_in)],
          ['Rows out', count(totals.rows_out)],
          ['Dead letters', `<a href="${link(name, '/dead-letters')}">${count(totals.dead_letters)}</a>`],
          ['Late records', count(totals.late_records)],
          ['Input rate', rate(detail.input_rate)],
          ['Process rate', rate(detail.process_rate)],
          ['Lag', `${count((detail.partitions ?? []).reduce((sum, p) => sum + Math.max(0, p.lag_records ?? 0), 0))} records`],
          ['Last batch', detail.last_batch ? `#${detail.last_batch.batch_id}, ${ago(detail.last_batch.end_time_ms)}` : '–'],
          ['Epoch', count(detail.checkpoint?.epoch)],
        ]) + (detail.history_warning ? `<p class="warning">${esc(detail.history_warning)}</p>` : '') +
          (detail.checkpoint_error ? `<p class="error">${esc(detail.checkpoint_error)}</p>` : ''));

        const entries = tl.batches ?? [];
        const xs = entries.map((b) => b.end_time_ms || b.batch_time_ms);
        for (const m of four) {
          const values = entries.map((b) => b[m.field] ?? null);
          m.line.update(xs, [values]);
          m.hist.update(values);
          const known = values.filter((v) => v != null && v >= 0);
          const avg = known.length ? known.reduce((a, b) => a + b, 0) / known.length : null;
          $(`${m.key}-summary`).textContent = avg === null ? '' : `avg ${m.format(avg)}`;
        }
        phases.update(xs, PHASES.map(([field]) => entries.map((b) => (b.phases?.[field] ?? 0) / 1000)));
        visibility.update(xs, [entries.map((b) => (b.visibility_p50_ms >= 0 ? b.visibility_p50_ms : null)),
          entries.map((b) => (b.visibility_p99_ms >= 0 ? b.visibility_p99_ms : null))]);

        setHtml($('partitions'), table([
          { title: 'Partition', cell: (p) => String(p.partition) },
          { title: 'Last range', cls: 'num', cell: (p) => `[${count(p.from)}, ${count(p.until)})` },
          { title: 'End offset', cls: 'num', cell: (p) => count(p.end_offset) },
          { title: 'Lag', cls: 'num', cell: (p) => `${count(p.lag_records)} records` },
          { title: 'Lag (time)', cls: 'num', cell: (p) => seconds(p.lag_seconds) },
          { title: 'Time to drain', cls: 'num', cell: (p) => (p.lag_records === 0 ? 'drained' : seconds(p.drain_eta_seconds)) },
        ], detail.partitions, { empty: 'No partition read yet.' }));

        // A batch whose intent is durable and whose commit is not: running now, or re-run at the
        // next start.
        const unfinished = detail.checkpoint?.unfinished_batch ?? null;
        const running = detail.status === 'running';
        setHtml($('active'), unfinished !== null
          ? `<p id="active-batch">Batch #${unfinished} ${running
            ? 'is running: its offset ranges are durable (intent), its commit is not yet'
            : 'has a durable intent and no commit: the next start runs it again with the same ranges'}.</p>`
          : `<p class="muted">None: ${running ? 'the pipeline waits for records' : 'the pipeline is not running'}` +
            `${detail.last_batch ? `; the last batch ended ${ago(detail.last_batch.end_time_ms)}` : ''}.</p>`);

        await refreshBatches();
        if (auditDue) {
          try {
            setHtml($('audit'), renderAudit(await api.audit(name)));
            $('audit-time').textContent = `(taken at ${clock(Date.now())})`;
          } catch (e) {
            setHtml($('audit'), `<p class="error">${esc(e.message)}</p>`);
          }
        }
      },
      destroy() {
        for (const c of charts) c.destroy();
      },
    };
  },
};
