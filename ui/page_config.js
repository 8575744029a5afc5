// The configuration the pipeline runs with, as `onceflow run` saved it (secrets masked).
import * as api from './api.js';
import { esc, setHtml } from './format.js';

export default {
  crumbs: (name) => [['Pipelines', '/'], [name, `/pipeline/${encodeURIComponent(name)}`], ['Config']],
  mount(root, name) {
    root.innerHTML = '<h1>Config</h1><p class="muted">As the last run saved it; passwords, secrets and tokens are masked.</p><section id="config"></section>';
    const section = root.querySelector('#config');
    return {
      async refresh() {
        const detail = await api.pipeline(name);
        setHtml(section, detail.config_toml
          ? `<pre class="config">${esc(detail.config_toml)}</pre>`
          : '<p class="muted">No saved config: the pipeline has not been run by this version.</p>');
      },
      destroy() {},
    };
  },
};
