// Overview: the active campaign's burn-down with projection and deadline, compliance per
// org unit as a tree with rolled-up percentages, the platform mix now and over time,
// unmanaged devices found in logs, and the overdue people. Single-threaded.

import { h, clear } from '../dom.js';
import { t, num, pct, date } from '../i18n.js';
import { api } from '../api.js';
import { burndown, stackedShare, bars } from '../charts.js';
import { personLink } from '../common.js';
import { activeCampaign, campaignReport, reportHtmlUrl } from '../reports.js';

export async function render(root, route) {
  // The calls that do not need the campaign start at once, beside the campaigns list.
  const unmanagedP = api('dashboard/device-count', { params: { source: 'log', managed: 'false' } });
  const mixP = api('dashboard/platform-mix');
  unmanagedP.catch(() => {});
  mixP.catch(() => {});
  const campaign = await activeCampaign(route.params.get('campaign'));
  const [report, unmanaged, mix] = await Promise.all([
    campaign ? campaignReport(campaign.id) : null,
    unmanagedP,
    mixP,
  ]);

  const cards = [];
  if (report) {
    Object.assign(report, report.summary || {});
    const pr = report.projection || {};
    const onTrack = pr.completed || pr.on_track;
    cards.push(h('div.kpis',
      kpi(pct(report.people ? 1 - report.people_noncompliant / report.people : 1), t('overview.compliant_people'), 'kpi-compliance'),
      kpi(num(report.people_noncompliant), t('overview.noncompliant_people'), 'kpi-people', '#/findings?status=fail'),
      kpi(num(report.devices_noncompliant), t('overview.noncompliant_devices'), 'kpi-devices'),
      kpi(num((report.overdue || []).length), t('overview.overdue_people'), 'kpi-overdue', '#overdue'),
      unmanaged ? kpi(num(unmanaged.total), t('overview.unmanaged_in_logs'), 'kpi-unmanaged', '#/devices?source=log&managed=false') : null,
      kpi(date(report.deadline), t('overview.deadline'), 'kpi-deadline'),
    ));
    const proj = projectionLine(report);
    cards.push(h('section.card.wide', { 'aria-labelledby': 'bd-title' },
      h('h2#bd-title', t('overview.burndown', { title: report.title || report.campaign })),
      h('p', { 'data-testid': 'projection' }, onTrack ? h('strong.ok', t('overview.on_track')) : h('strong.bad', t('overview.off_track')), ' · ',
        pr.completed ? t('overview.completed') : pr.completion ? t('overview.projected', { date: date(pr.completion) }) : t('overview.no_projection'),
        // The server's method text is English; the catalogue has it in the reader's language.
        pr.method ? h('span.muted', ` · ${t('overview.method')}: ${t('overview.method_lsq', { n: pr.window_days || 14 })}`) : null),
      h('div', { 'data-testid': 'burndown' }, burndown({
        points: (report.burndown || []).map((p) => ({ date: p.date, value: p.people })),
        projection: proj,
        deadline: report.deadline,
        labels: { title: t('overview.burndown_aria'), actual: t('overview.noncompliant_people'),
          projection: t('overview.projection'), deadline: t('overview.deadline') },
      })),
      h('p', h('a', { href: reportHtmlUrl(report.campaign), target: '_blank', rel: 'noopener', 'data-testid': 'report-html' },
        t('overview.report_html')), ' · ', h('a', { href: `#/campaigns/${encodeURIComponent(report.campaign)}` }, t('overview.campaign_details')))));
    cards.push(h('section.card', { 'aria-labelledby': 'tree-title' },
      h('h2#tree-title', t('overview.by_unit')), unitTree(report.units || [])));
  } else {
    cards.push(h('p.card', t('overview.no_campaign')));
  }

  const platforms = report?.platforms || [];
  cards.push(h('section.card', { 'aria-labelledby': 'mix-title' },
    h('h2#mix-title', t('overview.platform_mix')),
    platforms.length ? bars({ rows: platforms.map((p) => ({ label: p.family, value: p.devices })), title: t('overview.platform_mix') })
      : h('p.muted', t('list.empty')),
    mix?.series?.length > 1 ? [h('h3', t('overview.mix_over_time')), stackedShare({
      series: mix.series, families: mix.families, title: t('overview.mix_over_time') })] : null));

  if (report) {
    cards.push(h('section.card.wide#overdue', { 'aria-labelledby': 'overdue-title' },
      h('h2#overdue-title', t('overview.overdue_people'), ' ', h('span.muted', `(${num((report.overdue || []).length)})`)),
      overdueTable(report.overdue || [], report.rules || [])));
  }

  clear(root).append(h('h1', t('overview.title')), h('div.grid', cards));
  root.dataset.title = t('overview.title');
}

function kpi(value, label, testid, href) {
  const body = [h('span.v', value), h('span.l', label)];
  return h('div.kpi', { 'data-testid': testid }, href ? h('a', { href }, body) : body);
}

// The projection: from the last day of the burn-down along the fitted slope, to the
// projected completion (where it reaches zero) or, when none, to the deadline.
function projectionLine(report) {
  const pr = report.projection;
  const bd = report.burndown || [];
  if (!pr || pr.completed || !pr.window_days || bd.length < 2) return null;
  const last = bd[bd.length - 1];
  const from = new Date(last.date).getTime();
  const day = 86400e3;
  const to = pr.completion ? new Date(pr.completion).getTime() : Math.max(new Date(report.deadline).getTime(), from + day);
  const value = pr.completion ? 0 : Math.max(0, last.people + pr.slope_per_day * ((to - from) / day));
  return [{ date: from, value: last.people }, { date: to, value }];
}

// Units come in tree order with depth; children are the following rows one level deeper.
function unitTree(units) {
  const rootList = h('ul.tree', { role: 'tree', 'aria-label': t('overview.by_unit'), 'data-testid': 'unit-tree' });
  const stack = [{ depth: -1, list: rootList }];
  units = units.map((u) => ({ ...u, depth: u.path.split('/').filter(Boolean).length - 1 }));
  units.forEach((u, i) => {
    while (stack.length > 1 && stack[stack.length - 1].depth >= u.depth) stack.pop();
    const hasKids = units[i + 1] && units[i + 1].depth > u.depth;
    const frac = (u.compliance_pct ?? 100) / 100;
    const node = h('span.node',
      h('span.name', h('a', { href: `#/people?org_unit=${encodeURIComponent(u.path)}` }, u.name || u.path),
        h('span.muted', ` · ${t('overview.people_short', { n: u.people })}`), u.level === 'advisory' ? h('span.muted', ` · ${t('overview.advisory')}`) : null),
      h('span.meter', { role: 'meter', 'aria-valuenow': Math.round(frac * 100), 'aria-valuemin': 0, 'aria-valuemax': 100,
        'aria-label': `${u.name}: ${pct(frac)}` }, h('span', { style: `width:${frac * 100}%` })),
      h('span.pct', pct(frac)));
    const li = h('li', { role: 'treeitem', 'aria-level': u.depth + 1 });
    if (hasKids) {
      const kids = h('ul', { role: 'group' });
      li.append(h('details', { open: u.depth < 1 }, h('summary', node), kids));
      li.setAttribute('aria-expanded', 'true');
      stack[stack.length - 1].list.append(li);
      stack.push({ depth: u.depth, list: kids });
    } else {
      li.append(node);
      stack[stack.length - 1].list.append(li);
    }
  });
  return rootList;
}

// Failing rules by their titles (the id on hover), as the report's rule table names them.
function overdueTable(rows, rules) {
  const titles = new Map(rules.map((x) => [x.id, x.title]));
  const ruleName = (id) => {
    const title = titles.get(id);
    return title && title !== id ? h('span', { title: id }, title) : id;
  };
  const shown = rows.slice(0, 50);
  return h('div.table-wrap', h('table.list', { 'data-testid': 'overdue' },
    h('thead', h('tr', [t('person.name'), t('common.org_unit'), t('person.manager'), t('person.devices'), t('finding.rule'), t('overview.days_overdue')]
      .map((x, i) => h('th', { scope: 'col', class: i === 5 ? 'num' : null }, x)))),
    h('tbody', shown.length ? shown.map((r) => h('tr',
      h('td', { 'data-label': t('person.name') }, personLink(r.person_id, r.name)),
      h('td', { 'data-label': t('common.org_unit') }, r.unit),
      h('td', { 'data-label': t('person.manager') }, r.manager || '—'),
      h('td', { 'data-label': t('person.devices') }, (r.devices || []).join(', ')),
      h('td', { 'data-label': t('finding.rule') }, (r.rules || []).map((id, i) => [i ? ', ' : null, ruleName(id)])),
      h('td.num', { 'data-label': t('overview.days_overdue') }, num(r.days_overdue)))) : h('tr', h('td.empty', { colspan: 6 }, t('list.empty'))))));
}
