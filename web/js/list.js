// A server-side list: filters, search, sorting and cursor pagination all travel as query
// parameters to the API (the browser never holds more than one page), mirrored in the
// page's hash so that links and the back button work. Also the "export CSV" link with the
// same filters. Single-threaded (the browser's main thread).

import { api, url } from './api.js';
import { h, clear } from './dom.js';
import { t, num } from './i18n.js';

const PAGE_SIZE = 50;

// cfg: {resource, section, columns: [{key, label, sort?, render?(row)}], filters:
//  [{param, label, options: [[value, label]]}], searchLabel, defaultSort, rowLink(row)}
export async function renderList(root, route, cfg) {
  const p = route.params;
  const state = {
    q: p.get('search') || '',
    sort: p.get('sort') || cfg.defaultSort || '',
    cursor: p.get('cursor') || '',
    prev: (p.get('prev') || '').split(',').filter(Boolean),
    filters: Object.fromEntries(cfg.filters.map((f) => [f.param, p.get(f.param) || ''])),
  };
  const query = { ...state.filters, search: state.q, sort: cfg.sortable ? state.sort : '', cursor: state.cursor, limit: PAGE_SIZE };
  const [data, count] = await Promise.all([
    api(cfg.resource, { params: { ...query, ...(cfg.fixed || {}) } }),
    cfg.countPath ? api(cfg.countPath, { params: { ...state.filters, search: state.q } }) : null,
  ]);
  if (count) data.total = count.total;
  const items = data.items || [];

  const hashFor = (changes) => {
    const next = { ...state.filters, search: state.q, sort: state.sort, ...changes };
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) q.set(k, v);
    const s = q.toString();
    return `#/${cfg.section}${s ? '?' + s : ''}`;
  };

  const form = h('form.filters', { role: 'search', 'aria-label': t('list.filters') });
  const search = cfg.searchLabel === undefined ? null : h('input', { type: 'search', name: 'search', value: state.q, placeholder: cfg.searchLabel,
    'aria-label': cfg.searchLabel, autocomplete: 'off' });
  if (search) form.append(h('label.search', h('span.vh', cfg.searchLabel), search));
  const selects = {};
  for (const f of cfg.filters) {
    const sel = h('select', { name: f.param, 'aria-label': f.label },
      h('option', { value: '' }, `${f.label}: ${t('list.any')}`),
      f.options.map(([v, l]) => h('option', { value: v, selected: state.filters[f.param] === v }, l)));
    selects[f.param] = sel;
    sel.addEventListener('change', () => form.requestSubmit());
    form.append(h('label', h('span.vh', f.label), sel));
  }
  form.append(h('button', { type: 'submit' }, t('list.apply')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const changes = { search: search ? search.value.trim() : '', cursor: '', prev: '' };
    for (const [k, sel] of Object.entries(selects)) changes[k] = sel.value;
    location.hash = hashFor(changes);
  });

  const csv = url(`export/${cfg.resource}`, { ...state.filters, ...(cfg.fixed || {}), search: state.q, sort: cfg.sortable ? state.sort : '' });
  const tools = h('div.list-tools',
    h('span.count', { 'data-testid': 'list-count' },
      data.total !== undefined ? t('list.total', { n: data.total }) : t('list.shown', { n: items.length })),
    h('a.btn', { href: csv, download: `${cfg.resource}.csv`, 'data-testid': 'export-csv' }, t('list.csv')));

  const table = h('table.list', { 'aria-label': cfg.title });
  const headRow = h('tr');
  for (const c of cfg.columns) {
    if (!c.sort || !cfg.sortable) { headRow.append(h('th', { scope: 'col' }, c.label)); continue; }
    const cur = state.sort === c.sort ? 'ascending' : state.sort === `-${c.sort}` ? 'descending' : 'none';
    const next = cur === 'ascending' ? `-${c.sort}` : c.sort;
    headRow.append(h('th', { scope: 'col', 'aria-sort': cur },
      h('a.sort', { href: hashFor({ sort: next, cursor: '', prev: '' }) }, c.label,
        h('span', { 'aria-hidden': 'true' }, cur === 'ascending' ? ' ▲' : cur === 'descending' ? ' ▼' : ''))));
  }
  table.append(h('thead', headRow));
  const body = h('tbody');
  for (const row of items) {
    const tr = h('tr');
    cfg.columns.forEach((c, i) => {
      let v = c.render ? c.render(row) : row[c.key];
      if (i === 0 && cfg.rowLink) v = h('a', { href: cfg.rowLink(row) }, v ?? row.id);
      tr.append(h('td', { 'data-label': c.label }, v ?? '—'));
    });
    body.append(tr);
  }
  if (!items.length) body.append(h('tr', h('td.empty', { colspan: cfg.columns.length }, t('list.empty'))));
  table.append(body);

  const pager = h('nav.pager', { 'aria-label': t('list.pages') });
  if (state.cursor) {
    const prev = state.prev.slice();
    const back = prev.pop() || '';
    pager.append(h('a.btn', { href: hashFor({ cursor: back === '-' ? '' : back, prev: prev.join(',') }), rel: 'prev' }, t('list.prev')));
  }
  if (data.next_cursor) {
    pager.append(h('a.btn', { href: hashFor({ cursor: data.next_cursor, prev: [...state.prev, state.cursor || '-'].join(',') }), rel: 'next' },
      t('list.next')));
  }

  clear(root).append(h('h1', cfg.title), form, tools, h('div.table-wrap', table), pager);
  root.dataset.title = cfg.title;
  return data;
}

export function yesNo(b) { return b ? t('common.yes') : t('common.no'); }
export { num };
