// The dead letters of a pipeline, latest first, each with its error and raw record.
import * as api from './api.js';
import { deadLetterTable } from './dead_letters.js';
import { esc, setHtml } from './format.js';

const LIMIT = 200;

export default {
  crumbs: (name) => [['Pipelines', '/'], [name, `/pipeline/${encodeURIComponent(name)}`], ['Dead letters']],
  mount(root, name) {
    root.innerHTML = `<h1>Dead letters</h1><p class="muted">The latest ${LIMIT}, newest first: records
      the pipeline could not process, kept by the sink with the error (they count as processed,
      exactly once).</p><section id="letters"></section>`;
    const section = root.querySelector('#letters');
    return {
      async refresh() {
        const { dead_letters: letters, note } = await api.deadLetters(name, LIMIT);
        // Why the list may be incomplete (a Kafka topic read back only so far) or empty.
        const said = note ? `<p class="muted dead-letters-note">${esc(note)}</p>` : '';
        setHtml(section, said + deadLetterTable(name, letters));
      },
      destroy() {},
    };
  },
};
