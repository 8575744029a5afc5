// Charts of the pipeline page, drawn by uPlot (npm, embedded in the binary): a timeline beside a
// histogram (Spark's Streaming tab), the commit phases stacked, visibility latency percentiles.
// Every chart registers itself in window.onceflowCharts[name] (its uPlot and the number of
// points drawn) and in its element's data-points, which the browser tests read.
/* global uPlot */

window.onceflowCharts = window.onceflowCharts ?? {};

// Colours chosen to read on a light and on a dark background alike.
export const palette = ['#3b82c4', '#e0803a', '#4aa564', '#c94f5d', '#8a6cc8', '#9a7b4f', '#2aa5a5'];

function cssVar(name, fallback) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

function axis(format) {
  const axisColor = cssVar('--muted', '#888');
  const gridColor = cssVar('--grid', 'rgba(128,128,128,0.15)');
  return {
    stroke: axisColor,
    grid: { stroke: gridColor, width: 1 },
    ticks: { stroke: gridColor, width: 1 },
    ...(format ? { values: (u, values) => values.map((v) => (v == null ? '' : format(v))), size: 60 } : {}),
  };
}

// One uPlot in `el`, kept at the element's width.
class Chart {
  constructor(name, el, opts, data) {
    this.name = name;
    this.el = el;
    this.height = opts.height;
    this.uplot = new uPlot({ ...opts, width: Math.max(200, el.clientWidth) }, data, el);
    this.points = 0;
    this.resize = new ResizeObserver(() => {
      const width = Math.max(200, this.el.clientWidth);
      if (width !== this.uplot.width) this.uplot.setSize({ width, height: this.height });
    });
    this.resize.observe(el);
    window.onceflowCharts[name] = this;
    this.count(data);
  }

  // Points drawn: the x values at which some series has a value.
  count(data) {
    this.points = data[0].filter((_, i) => data.slice(1).some((s) => s[i] != null)).length;
    this.el.dataset.points = String(this.points);
  }

  setData(data) {
    this.uplot.setData(data);
    this.count(data);
  }

  destroy() {
    this.resize.disconnect();
    this.uplot.destroy();
    if (window.onceflowCharts[this.name] === this) delete window.onceflowCharts[this.name];
  }
}

// A line over time: xs in epoch milliseconds, one or more series [{label, values, color}].
export function timeline(name, el, { series, format, axisFormat = format, height = 170, stacked = false }) {
  const opts = {
    height,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [axis(), axis(axisFormat)],
    legend: { live: true },
    series: [{ value: (u, v) => (v == null ? '–' : new Date(v * 1000).toLocaleTimeString()) },
      ...series.map((s, i) => ({
        label: s.label,
        stroke: s.color ?? palette[i % palette.length],
        width: 1.5,
        // Stacked bands are near opaque: each paints over the sum above it.
        fill: stacked ? `${s.color ?? palette[i % palette.length]}d0`
          : series.length === 1 ? `${s.color ?? palette[i % palette.length]}33` : undefined,
        points: { show: (u) => u.data[0].length < 40, size: 4 },
        // Stacked series hold running sums; the legend shows each series' own value.
        value: (u, v, si, i) => {
          const own = stacked && i != null ? u.__own?.[si - 1]?.[i] : v;
          return own == null ? '–' : format ? format(own) : String(own);
        },
      }))],
  };
  const chart = new Chart(name, el, opts, [[], ...series.map(() => [])]);
  return {
    chart,
    // xsMs: epoch milliseconds; columns: one array of values per series.
    update(xsMs, columns) {
      const xs = xsMs.map((x) => x / 1000);
      if (stacked) {
        // Series are given top band first: series k holds the sum of bands k..n-1, so the first
        // drawn is the total and each band below paints over the one above it.
        chart.uplot.__own = columns;
        const sums = new Array(columns.length);
        for (let k = columns.length - 1; k >= 0; k--) {
          sums[k] = columns[k].map((v, i) => (v ?? 0) + (k + 1 < columns.length ? sums[k + 1][i] : 0));
        }
        chart.setData([xs, ...sums]);
      } else {
        chart.setData([xs, ...columns]);
      }
    },
    destroy: () => chart.destroy(),
  };
}

// A histogram of `values` in about 20 equal bins: bars of counts.
export function histogram(name, el, { label, format, axisFormat = format, color = palette[0], height = 200 }) {
  const opts = {
    height,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [axis(axisFormat), axis((v) => String(Math.round(v)))],
    legend: { show: false },
    series: [{ value: (u, v) => (v == null ? '–' : `~${format ? format(v) : v}`) },
      { label: `${label}: batches`, stroke: color, fill: `${color}88`, width: 1,
        paths: uPlot.paths.bars({ size: [0.9, 60] }), points: { show: false } }],
  };
  const chart = new Chart(name, el, opts, [[], []]);
  return {
    chart,
    update(values) {
      const finite = values.filter((v) => v != null && v >= 0 && Number.isFinite(v));
      if (finite.length === 0) { chart.setData([[], []]); return; }
      const min = Math.min(...finite);
      const max = Math.max(...finite);
      const bins = Math.min(20, Math.max(1, finite.length));
      const width = max > min ? (max - min) / bins : 1;
      const counts = new Array(bins).fill(0);
      for (const v of finite) counts[Math.min(bins - 1, Math.floor((v - min) / width))]++;
      chart.setData([counts.map((_, i) => min + width * (i + 0.5)), counts]);
    },
    destroy: () => chart.destroy(),
  };
}
