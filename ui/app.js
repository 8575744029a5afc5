// The single-page app: routes the address (history API, no reload) to a page, and refreshes the
// page every 1.5 s by polling the JSON API. The server answers every page address with
// index.html, so a reload or a pasted link opens the same page.
import { esc, setHtml } from './format.js';
import pipelinesPage from './page_pipelines.js';
import pipelinePage from './page_pipeline.js';
import batchPage from './page_batch.js';
import deadLettersPage from './page_dead_letters.js';
import configPage from './page_config.js';
import statePage from './page_state.js';

export const POLL_MS = 1500;

const routes = [
  [/^\/$/, pipelinesPage],
  [/^\/pipeline\/([^/]+)\/?$/, pipelinePage],
  [/^\/pipeline\/([^/]+)\/batch\/(-?\d+)\/?$/, batchPage],
  [/^\/pipeline\/([^/]+)\/dead-letters\/?$/, deadLettersPage],
  [/^\/pipeline\/([^/]+)\/config\/?$/, configPage],
  [/^\/pipeline\/([^/]+)\/state\/?$/, statePage],
];

const view = document.getElementById('view');
const crumbs = document.getElementById('crumbs');
const banner = document.getElementById('error-banner');
const live = document.getElementById('live');

let current = null;     // { page, instance, generation }
let generation = 0;     // bumps on every navigation: a late answer for an old page is dropped
let timer = null;

function notFound() {
  return {
    crumbs: [],
    mount(root) {
      root.innerHTML = `<h1>Not found</h1><p>No page at <code>${esc(location.pathname)}</code>. ` +
        '<a href="/">All pipelines</a></p>';
      return { refresh: async () => {}, destroy() {} };
    },
  };
}

function match(path) {
  for (const [pattern, page] of routes) {
    const m = pattern.exec(path);
    if (m) return { page, params: m.slice(1).map(decodeURIComponent) };
  }
  return { page: notFound(), params: [] };
}

function renderCrumbs(params, page) {
  const items = (page.crumbs ?? (() => []))(...params);
  setHtml(crumbs, items.map(([label, href]) => (href
    ? `<a href="${esc(href)}">${esc(label)}</a>` : `<span>${esc(label)}</span>`)).join(' / '));
}

async function refresh(gen) {
  if (!current || gen !== current.generation) return;
  try {
    await current.instance.refresh();
    if (gen !== current.generation) return;
    banner.hidden = true;
    live.classList.remove('stale');
    live.dataset.refreshedAt = String(Date.now());
  } catch (e) {
    if (gen !== current.generation) return;
    banner.textContent = e.message;
    banner.hidden = false;
    live.classList.add('stale');
  }
  clearTimeout(timer);
  timer = setTimeout(() => refresh(gen), POLL_MS);
}

function render() {
  clearTimeout(timer);
  if (current) current.instance.destroy();
  const { page, params } = match(location.pathname);
  generation += 1;
  view.innerHTML = '';
  view.__html = undefined;
  renderCrumbs(params, page);
  document.title = ['onceflow', ...params].join(' · ');
  current = { page, instance: page.mount(view, ...params), generation };
  refresh(generation);
}

export function navigate(href) {
  if (href === location.pathname + location.search) return;
  history.pushState(null, '', href);
  render();
  window.scrollTo(0, 0);
}

document.addEventListener('click', (event) => {
  const a = event.target.closest('a[href]');
  if (!a || a.target || event.defaultPrevented || event.button !== 0 ||
      event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || url.pathname.startsWith('/api/') ||
      url.pathname.startsWith('/assets/') || url.pathname === '/metrics') return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

render();
