// The table of dead letters, shared by the batch page and the dead-letters page.
import { count, esc, table } from './format.js';

const RAW_SHOWN = 400;  // characters of a raw record shown; the rest on hover

export function deadLetterTable(name, letters, { withBatch = true } = {}) {
  const raw = (r) => {
    const text = String(r ?? '');
    const shown = text.length > RAW_SHOWN ? `${text.slice(0, RAW_SHOWN)}…` : text;
    return `<code class="raw" title="${esc(text.slice(0, 4000))}">${esc(shown)}</code>`;
  };
  return table([
    ...(withBatch ? [{ title: 'Batch', cell: (d) => `<a href="/pipeline/${encodeURIComponent(name)}/batch/${d.batch_id}">#${d.batch_id}</a>` }] : []),
    { title: 'Partition', cls: 'num', cell: (d) => String(d.partition) },
    { title: 'Offset', cls: 'num', cell: (d) => count(d.offset) },
    { title: 'Error', cls: 'error dead-letter-error', cell: (d) => esc(d.error) },
    { title: 'Raw record', cell: (d) => raw(d.raw) },
  ], letters, { empty: 'No dead letters.', rowAttrs: (d) => `data-dead-letter="${d.partition}:${d.offset}"` });
}
