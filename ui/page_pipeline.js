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

function renderAudit(a) {
  const known = new Set(['ok', 'records_in', 'rows_out', 'dead_letters', 'error', 'violations', 'first_violation']);
  const rest = Object.entries(a).filter(([k]) => !known.has(k));
  const value = (v) => (typeof v === 'object' && v !== null
    ? `<code>${esc(JSON.stringify(v))}</code>` : typeof v === 'boolean' ? badge(v ? 'ok' : 'false') : esc(v));
  const problems = [a.error, a.first_violation, ...(Array.isArray(a.violations) ? a.violations : [])]
    .filter(Boolean).map((v) => `<li class="error">${esc(typeof v === 'string' ? v : JSON.stringify(v))}</li>`);
  return `<p class="audit-verdict">${a.ok ? badge('ok') : badge('failed')} ${a.ok
    ? 'committed ranges contiguous from the start and in agreement with the sink’s progress rows'
    : 'the audit found a problem'}</p>` +
    (problems.length ? `<ul>${problems.join('')}</ul>` : '') +
    stats([['Records in', count(a.records_in)], ['Rows out', count(a.rows_out)],
      ['Dead letters', count(a.dead_letters)]]) +
    (rest.length ? `<dl class="kv">${rest.map(([k, v]) => `<dt>${esc(k.replaceAll('_', ' '))}</dt><dd>${value(v)}</dd>`).join('')}</dl>` : '');
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
      <h2>Audit <span class="muted small">what <code>onceflow verify</code> checks</span></h2>
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
        const [detail, list, tl] = await Promise.all([
          api.pipeline(name), api.pipelines(), api.timeline(name, TIMELINE_BATCHES)]);
        const summary = (list.pipelines ?? []).find((p) => p.name === name) ?? {};
        setHtml($('status'), badge(detail.status ?? summary.status ?? 'unknown'));
        const lastError = summary.last_error || '';
        setHtml($('last-error'), lastError ? `Last error: ${esc(lastError)}` : '');
        const totals = detail.totals ?? {};
        setHtml($('figures'), stats([
          ['Batches', count(totals.batches)],
          ['Records in', count(totals.records_in)],
          ['Rows out', count(totals.rows_out)],
          ['Dead letters', `<a href="${link(name, '/dead-letters')}">${count(totals.dead_letters)}</a>`],
          ['Late records', count(totals.late_records)],
          ['Input rate', rate(summary.input_rate)],
          ['Process rate', rate(summary.process_rate)],
          ['Lag', `${count(summary.lag_records)} records`],
          ['Last batch', summary.last_batch ? `#${summary.last_batch.batch_id}, ${ago(summary.last_batch.end_time_ms)}` : '–'],
        ]) + (detail.history_warning ? `<p class="warning">${esc(detail.history_warning)}</p>` : ''));

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

        const active = Array.isArray(detail.active_batches) ? detail.active_batches : null;
        const last = summary.last_batch;
        setHtml($('active'), active
          ? table([{ title: 'Batch', cell: (b) => `#${b.batch_id}` }, { title: 'Started', cell: (b) => ago(b.start_time_ms) },
            { title: 'Records', cls: 'num', cell: (b) => count(b.records_in) }], active, { empty: 'None: the pipeline is idle.' })
          : (detail.status ?? summary.status) === 'running'
            ? `<p>Batch #${last ? last.batch_id + 1 : 0} is planned or running${last ? ` (the last batch ended ${ago(last.end_time_ms)})` : ''}.</p>`
            : '<p class="muted">None: the pipeline is not running.</p>');

        await refreshBatches();
        if (auditDue) {
          try {
            setHtml($('audit'), renderAudit(await api.audit(name)));
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
