// A batch: its outcome and timing, the protocol phases, the offset range of every partition,
// every task attempt (won, failed, speculative, fenced) and the batch's dead letters.
import * as api from './api.js';
import { deadLetterTable } from './dead_letters.js';
import { badge, clock, count, esc, ms, seconds, setHtml, stats, table, us } from './format.js';

const PHASES = [['planning_us', 'planning'], ['intent_us', 'intent'], ['compute_us', 'compute'],
  ['sink_commit_us', 'sink commit'], ['state_commit_us', 'state commit'], ['commit_record_us', 'commit record']];

function phaseBar(phases) {
  const total = PHASES.reduce((sum, [f]) => sum + Math.max(0, phases?.[f] ?? 0), 0);
  if (!phases || total <= 0) return '<p class="muted">No phase timings.</p>';
  const parts = PHASES.map(([f, label], i) => {
    const v = Math.max(0, phases[f] ?? 0);
    return `<span class="phase p${i}" style="flex-grow:${v}" title="${esc(label)}: ${us(v)}"></span>`;
  }).join('');
  const legend = PHASES.map(([f, label], i) =>
    `<span class="legend-item"><span class="swatch p${i}"></span>${esc(label)} ${us(phases[f])}</span>`).join('');
  return `<div class="phasebar">${parts}</div><div class="legend">${legend}</div>`;
}

export default {
  crumbs: (name, id) => [['Pipelines', '/'], [name, `/pipeline/${encodeURIComponent(name)}`], [`Batch #${id}`]],
  mount(root, name, id) {
    root.innerHTML = `<div class="title-row"><h1>Batch #${esc(id)}</h1><span id="outcome"></span></div>
      <p id="batch-error" class="error"></p>
      <section id="summary"></section>
      <h2>Commit phases</h2><section id="phases"></section>
      <h2>Ranges per partition</h2><section id="ranges"></section>
      <h2>Task attempts</h2><section id="tasks"></section>
      <h2>Dead letters of this batch</h2><section id="dead-letters"></section>
      <h2>Earlier attempts of this batch</h2><section id="earlier"></section>`;
    const $ = (s) => root.querySelector(`#${s}`);
    return {
      async refresh() {
        const b = await api.batch(name, id);
        setHtml($('outcome'), `${badge(b.outcome)}${b.replayed ? ' <span class="badge neutral">replayed at recovery</span>' : ''}` +
          `${b.reconstructed ? ' <span class="badge neutral" title="its history record was lost in a crash: rebuilt from the intent; rows out and timings unknown">reconstructed</span>' : ''}`);
        setHtml($('batch-error'), b.error ? esc(b.error) : '');
        setHtml($('summary'), stats([
          ['Epoch', count(b.epoch)],
          ['Batch time', clock(b.batch_time_ms)],
          ['Records in', count(b.records_in)],
          ['Rows out', count(b.rows_out)],
          ['Dead letters', count(b.dead_letters)],
          ['Late records', count(b.late_records)],
          ['Batch retries', count(b.retries)],
          ['Task attempts', `${count(b.task_attempts)} <span class="muted small">${count(b.task_failures)} failed, ${count(b.speculative_attempts)} speculative, ${count(b.fenced_attempts)} fenced</span>`],
          ['Scheduling delay', ms(b.scheduling_delay_ms)],
          ['Processing', ms(b.processing_ms)],
          ['Total delay', ms(b.total_delay_ms)],
          ['Visibility p50 / p99 / max', `${ms(b.visibility_p50_ms)} / ${ms(b.visibility_p99_ms)} / ${ms(b.visibility_max_ms)}`],
          ['Started → ended', `${clock(b.start_time_ms)} → ${clock(b.end_time_ms)}`],
        ]));
        setHtml($('phases'), phaseBar(b.phases));
        setHtml($('ranges'), table([
          { title: 'Partition', cell: (p) => String(p.partition) },
          { title: 'From', cls: 'num', cell: (p) => count(p.from) },
          { title: 'Until', cls: 'num', cell: (p) => count(p.until) },
          { title: 'Records', cls: 'num', cell: (p) => count(p.until - p.from) },
          { title: 'End offset at planning', cls: 'num', cell: (p) => count(p.end_offset) },
          { title: 'Lag after', cls: 'num', cell: (p) => `${count(p.lag_records)} records` },
          { title: 'Lag (time)', cls: 'num', cell: (p) => seconds(p.lag_seconds) },
        ], b.partitions, { empty: 'This batch read no partition.', rowAttrs: (p) => `data-partition="${p.partition}"` }));
        setHtml($('tasks'), table([
          { title: 'Task', cls: 'num', cell: (t) => String(t.task) },
          { title: 'Partition', cls: 'num', cell: (t) => (t.partition < 0 ? 'several' : String(t.partition)) },
          { title: 'Attempt', cls: 'num', cell: (t) => String(t.attempt) },
          { title: 'Outcome', cell: (t) => badge(t.outcome) },
          { title: 'Duration', cls: 'num', cell: (t) => us(t.duration_us) },
          { title: 'Error', cls: 'error', cell: (t) => esc(t.error ?? '') },
        ], b.tasks, { empty: 'No task attempt recorded.' }));
        setHtml($('dead-letters'), (b.dead_letter_records_error ? `<p class="error">${esc(b.dead_letter_records_error)}</p>` : '') +
          (Array.isArray(b.dead_letter_records) ? deadLetterTable(name, b.dead_letter_records, { withBatch: false }) : ''));
        setHtml($('earlier'), table([
          { title: 'Outcome', cell: (e) => badge(e.outcome) },
          { title: 'Epoch', cls: 'num', cell: (e) => count(e.epoch) },
          { title: 'Ended', cell: (e) => clock(e.end_time_ms) },
          { title: 'Processing', cls: 'num', cell: (e) => ms(e.processing_ms) },
          { title: 'Error', cls: 'error', cell: (e) => esc(e.error ?? '') },
        ], b.earlier_attempts, { empty: 'None: the first attempt is the one above.' }));
      },
      destroy() {},
    };
  },
};
