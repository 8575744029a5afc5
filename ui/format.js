// Formatting for the pages: numbers with their units, times, escaping, and a tiny HTML helper.

// Escapes text for HTML (element content and quoted attributes).
export function esc(value) {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  })[c]);
}

const intFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

// 1234567 -> "1,234,567"; null/undefined and the -1 of "unknown" -> "–".
export function count(n) {
  if (n === null || n === undefined || Number.isNaN(n) || n < 0) return '–';
  return intFormat.format(n);
}

// Records per second: "1,234 rec/s", "0.5 rec/s".
export function rate(r) {
  if (r === null || r === undefined || Number.isNaN(r) || r < 0) return '–';
  return `${r >= 100 ? intFormat.format(r) : oneDecimal.format(r)} rec/s`;
}

// Milliseconds: "850 µs", "12 ms", "1.25 s", "3 min 20 s", "2 h 5 min"; -1 (unknown) -> "–".
export function ms(v) {
  if (v === null || v === undefined || Number.isNaN(v) || v < 0) return '–';
  if (v === 0) return '0 ms';
  if (v < 1) return `${Math.round(v * 1000)} µs`;
  if (v < 1000) return `${v < 10 ? oneDecimal.format(v) : intFormat.format(v)} ms`;
  const s = v / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(2) : oneDecimal.format(s)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

// Compact numbers for chart axes: 950, 1.2k, 3.4M.
export function si(n) {
  if (n === null || n === undefined || Number.isNaN(n)) return '';
  const a = Math.abs(n);
  if (a >= 1e9) return `${oneDecimal.format(n / 1e9)}G`;
  if (a >= 1e6) return `${oneDecimal.format(n / 1e6)}M`;
  if (a >= 1e3) return `${oneDecimal.format(n / 1e3)}k`;
  return oneDecimal.format(n);
}

export const us = (v) => (v === null || v === undefined || v < 0 ? '–' : ms(v / 1000));
export const seconds = (v) => (v === null || v === undefined || v < 0 ? '–' : ms(v * 1000));

// Bytes: "512 B", "1.5 KiB", "20 MiB".
export function bytes(n) {
  if (n === null || n === undefined || n < 0) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : oneDecimal.format(n)} ${units[i]}`;
}

// Wall-clock milliseconds since the epoch -> "18:42:07" (today) or "2026-12-07 18:42:07".
export function clock(epochMs) {
  if (!epochMs || epochMs < 0) return '–';
  const d = new Date(epochMs);
  const pad = (x) => String(x).padStart(2, '0');
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  if (d.toDateString() === new Date().toDateString()) return time;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

// "3 s ago", "5 min ago".
export function ago(epochMs) {
  if (!epochMs || epochMs < 0) return '–';
  return `${ms(Math.max(0, Date.now() - epochMs))} ago`;
}

const badgeKinds = {
  running: 'ok', committed: 'ok', won: 'ok', ok: 'ok', true: 'ok',
  stopped: 'neutral', speculative_lost: 'neutral', superseded: 'neutral',
  failing: 'bad', failed: 'bad', fenced: 'warn', false: 'bad',
};

// A coloured word: the status of a pipeline, the outcome of a batch or a task attempt.
export function badge(word) {
  const kind = badgeKinds[String(word)] ?? 'neutral';
  return `<span class="badge ${kind}">${esc(String(word).replaceAll('_', ' '))}</span>`;
}

// Sets innerHTML only when it changed, so that a refresh leaves a page that did not change
// untouched (selection, focus and hover survive polling).
export function setHtml(el, html) {
  if (el.__html !== html) {
    el.innerHTML = html;
    el.__html = html;
  }
}

// A table: columns [{title, cell(row) -> html, cls?}], rows; an empty note when there are none.
export function table(columns, rows, { empty = 'none', rowAttrs = () => '' } = {}) {
  if (!rows || rows.length === 0) return `<p class="muted empty">${esc(empty)}</p>`;
  const head = columns.map((c) => `<th class="${(c.cls ?? '').includes('num') ? 'num' : ''}">${esc(c.title)}</th>`).join('');
  const body = rows.map((r) => `<tr ${rowAttrs(r)}>${columns
    .map((c) => `<td class="${c.cls ?? ''}">${c.cell(r)}</td>`).join('')}</tr>`).join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

// A row of labelled figures: [[label, html], ...].
export function stats(pairs) {
  return `<div class="stats">${pairs.map(([label, value]) =>
    `<div class="stat"><div class="label">${esc(label)}</div><div class="value">${value}</div></div>`)
    .join('')}</div>`;
}
