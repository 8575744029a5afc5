// The first page: every pipeline of the data directory with its status, last batch, rates, lag
// and last error.
import * as api from './api.js';
import { ago, badge, count, esc, ms, rate, setHtml, table } from './format.js';

export default {
  crumbs: () => [['Pipelines']],
  mount(root) {
    root.innerHTML = '<h1>Pipelines</h1><section id="pipelines"></section>';
    const section = root.querySelector('#pipelines');
    return {
      async refresh() {
        const { pipelines } = await api.pipelines();
        setHtml(section, table([
          { title: 'Pipeline', cell: (p) => `<a href="/pipeline/${encodeURIComponent(p.name)}">${esc(p.name)}</a>` },
          { title: 'Status', cell: (p) => badge(p.status) },
          { title: 'Last batch', cell: (p) => (p.last_batch
            ? `<a href="/pipeline/${encodeURIComponent(p.name)}/batch/${p.last_batch.batch_id}">#${p.last_batch.batch_id}</a> ` +
              `${badge(p.last_batch.outcome)} <span class="muted">${ago(p.last_batch.end_time_ms)}, ` +
              `${count(p.last_batch.records_in)} records, ${ms(p.last_batch.total_delay_ms)} total delay</span>`
            : '<span class="muted">no batch yet</span>') },
          { title: 'Input rate', cls: 'num', cell: (p) => rate(p.input_rate) },
          { title: 'Process rate', cls: 'num', cell: (p) => rate(p.process_rate) },
          { title: 'Lag', cls: 'num', cell: (p) => `${count(p.lag_records)} records` },
          { title: 'Last error', cls: 'error', cell: (p) => esc(p.last_error ?? '') +
            (p.history_warning ? `<div class="warning">${esc(p.history_warning)}</div>` : '') },
        ], pipelines, {
          empty: 'No pipeline in this data directory yet: `onceflow run PIPELINE.toml` starts one.',
          rowAttrs: (p) => `data-pipeline="${esc(p.name)}"`,
        }));
      },
      destroy() {},
    };
  },
};
