// The keyed state of a stateful pipeline: per operator, keys, size and watermark.
import * as api from './api.js';
import { bytes, clock, count, esc, setHtml, table } from './format.js';

export default {
  crumbs: (name) => [['Pipelines', '/'], [name, `/pipeline/${encodeURIComponent(name)}`], ['State']],
  mount(root, name) {
    root.innerHTML = '<h1>State</h1><section id="state"></section>';
    const section = root.querySelector('#state');
    return {
      async refresh() {
        const { operators } = await api.state(name);
        setHtml(section, table([
          { title: 'Operator', cell: (o) => esc(o.name) },
          { title: 'Keys', cls: 'num', cell: (o) => `${count(o.keys)}${o.exact === false ? '+' : ''}` },
          { title: 'Size', cls: 'num', cell: (o) => `${bytes(o.bytes)}${o.exact === false ? ' <span class="muted">(at least: the scan stopped at 1,000,000 keys)</span>' : ''}` },
          { title: 'Watermark', cell: (o) => (o.watermark_ms > 0 ? clock(o.watermark_ms) : '–') },
        ], operators, { empty: 'This pipeline keeps no state.' }));
      },
      destroy() {},
    };
  },
};
