// SVG charts of the dashboard, drawn by our own small code: a burn-down line chart with a
// projection line and a deadline marker, a stacked-area chart of the platform mix over
// time, and horizontal bars. Pure functions of their data; they return an <svg> element.
// Single-threaded (the browser's main thread).

import { s, h } from './dom.js';
import { num, dateShort, date } from './i18n.js';

const W = 640, H = 260, M = { l: 48, r: 16, t: 14, b: 28 };

const PALETTE = ['#2563eb', '#16a34a', '#dc2626', '#d97706', '#7c3aed', '#0891b2',
                 '#db2777', '#65a30d', '#475569', '#ea580c', '#0d9488', '#a16207'];
export function colour(i) { return PALETTE[i % PALETTE.length]; }

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function axes(g, x0, x1, yMax, xTicks, fmtX) {
  const iw = W - M.l - M.r, ih = H - M.t - M.b;
  for (let i = 0; i <= 4; i++) {
    const y = M.t + ih - (ih * i) / 4;
    g.append(s('line', { x1: M.l, x2: M.l + iw, y1: y, y2: y, class: 'grid' }));
    g.append(s('text', { x: M.l - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, num((yMax * i) / 4)));
  }
  for (const tx of xTicks) {
    const x = M.l + ((tx - x0) / (x1 - x0 || 1)) * iw;
    g.append(s('text', { x, y: H - 8, class: 'tick', 'text-anchor': 'middle' }, fmtX(tx)));
  }
}

function ticks(x0, x1, n) {
  const out = [];
  for (let i = 0; i <= n; i++) out.push(x0 + ((x1 - x0) * i) / n);
  return out;
}

// points: [{date, value}] (actual, one per day); projection: [{date, value}] (2+ points)
// or null; deadline: date string or null. labels: {title, actual, projection, deadline}.
export function burndown({ points, projection, deadline, labels }) {
  const t = (d) => new Date(d).getTime();
  const xs = points.map((p) => t(p.date));
  if (projection) xs.push(...projection.map((p) => t(p.date)));
  if (deadline) xs.push(t(deadline));
  const x0 = Math.min(...xs), x1 = Math.max(...xs);
  const yMax = niceMax(Math.max(1, ...points.map((p) => p.value), ...(projection || []).map((p) => p.value)));
  const iw = W - M.l - M.r, ih = H - M.t - M.b;
  const X = (d) => M.l + ((t(d) - x0) / (x1 - x0 || 1)) * iw;
  const Y = (v) => M.t + ih - (Math.max(0, v) / yMax) * ih;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart burndown', role: 'img', 'aria-label': labels.title });
  svg.append(s('title', {}, labels.title));
  const g = s('g');
  svg.append(g);
  axes(g, x0, x1, yMax, ticks(x0, x1, 4), (v) => dateShort(v));
  if (deadline) {
    const x = X(deadline);
    g.append(s('line', { x1: x, x2: x, y1: M.t, y2: M.t + ih, class: 'deadline' }));
    g.append(s('text', { x: x - 4, y: M.t + 10, class: 'deadline-label', 'text-anchor': 'end' },
      `${labels.deadline} ${date(deadline)}`));
  }
  if (projection && projection.length > 1) {
    g.append(s('polyline', { class: 'projection', points: projection.map((p) => `${X(p.date)},${Y(p.value)}`).join(' ') }));
  }
  if (points.length) {
    g.append(s('polyline', { class: 'actual', points: points.map((p) => `${X(p.date)},${Y(p.value)}`).join(' ') }));
    for (const p of points) {
      const c = s('circle', { class: 'bd-point', cx: X(p.date), cy: Y(p.value), r: 2.5 });
      c.append(s('title', {}, `${date(p.date)}: ${num(p.value)}`));
      g.append(c);
    }
  }
  return figure(svg, [
    [labels.actual, 'actual'],
    projection ? [labels.projection, 'projection'] : null,
    deadline ? [labels.deadline, 'deadline'] : null,
  ]);
}

// series: [{date, counts: {family: n}}] over time; families: ordered list of keys.
// Draws shares (each day sums to 100 %) as stacked areas.
export function stackedShare({ series, families, title }) {
  const iw = W - M.l - M.r, ih = H - M.t - M.b;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart mix', role: 'img', 'aria-label': title });
  svg.append(s('title', {}, title));
  const g = s('g');
  svg.append(g);
  const t = (d) => new Date(d).getTime();
  const x0 = t(series[0].date), x1 = t(series[series.length - 1].date);
  const X = (d) => M.l + ((t(d) - x0) / (x1 - x0 || 1)) * iw;
  for (let i = 0; i <= 4; i++) {
    const y = M.t + ih - (ih * i) / 4;
    g.append(s('line', { x1: M.l, x2: M.l + iw, y1: y, y2: y, class: 'grid' }));
    g.append(s('text', { x: M.l - 6, y: y + 4, class: 'tick', 'text-anchor': 'end' }, `${i * 25}%`));
  }
  for (const tx of ticks(x0, x1, Math.min(4, series.length - 1 || 1))) {
    g.append(s('text', { x: X(tx), y: H - 8, class: 'tick', 'text-anchor': 'middle' }, dateShort(tx)));
  }
  const base = series.map(() => 0);
  const totals = series.map((p) => Object.values(p.counts).reduce((a, b) => a + b, 0) || 1);
  families.forEach((f, fi) => {
    const lo = base.slice();
    series.forEach((p, i) => { base[i] += (p.counts[f] || 0) / totals[i]; });
    const top = series.map((p, i) => `${X(p.date)},${M.t + ih - base[i] * ih}`);
    const bottom = series.map((p, i) => `${X(p.date)},${M.t + ih - lo[i] * ih}`).reverse();
    const poly = s('polygon', { points: [...top, ...bottom].join(' '), fill: colour(fi), class: 'area' });
    poly.append(s('title', {}, f));
    g.append(poly);
  });
  return figure(svg, families.map((f, i) => [f, null, colour(i)]));
}

// rows: [{label, value}]; horizontal bars scaled to the largest value.
export function bars({ rows, title, fmt = num }) {
  const max = Math.max(1, ...rows.map((r) => r.value));
  const list = h('ul.bars', { 'aria-label': title });
  rows.forEach((r, i) => {
    list.append(h('li',
      h('span.bar-label', r.label),
      h('span.bar-track', h('span.bar', { style: `width:${(100 * r.value) / max}%;background:${colour(i)}` })),
      h('span.bar-value', fmt(r.value))));
  });
  return list;
}

function figure(svg, legend) {
  const lg = h('ul.legend');
  for (const item of legend) {
    if (!item) continue;
    const [label, cls, col] = item;
    lg.append(h('li', h(`span.swatch${cls ? '.' + cls : ''}`, col ? { style: `background:${col}` } : {}), label));
  }
  return h('figure.chart-wrap', svg, lg);
}
