// One campaign: scope and level, rules, the policy file with its schedule, exemptions with
// expiry, actions due now, and links to its HTML report and findings. Single-threaded.

import { h, clear } from '../dom.js';
import { t, date, dateTime, num } from '../i18n.js';
import { api } from '../api.js';
import { severityBadge, personLink, deviceLink } from '../common.js';
import { table } from './person.js';
import { reportHtmlUrl } from '../reports.js';

const DUE_ROWS = 200;

export async function render(root, route) {
  const id = route.id;
  const enc = encodeURIComponent(id);
  const [camps, doc, ex, actions] = await Promise.all([
    api('campaigns'),
    api(`policies/${enc}`),
    api('exemptions', { params: { policy_id: id } }),
    // Only the rows the page shows, and their total; no per-person timelines.
    api(`campaigns/${enc}/actions`, { params: { limit: DUE_ROWS, people: 'false' } }),
  ]);
  const c = (camps.items || []).find((x) => x.id === id) || { id, rules: [], scope: [] };
  const now = Date.now();
  const exemptions = ex.items || [];
  const due = actions.due || [];
  const dueTotal = actions.due_total ?? due.length;
  clear(root).append(
    h('nav.crumbs', { 'aria-label': t('common.breadcrumbs') }, h('a', { href: '#/policies' }, t('policies.title')), ' › ', c.title || id),
    h('h1', c.title || id),
    h('p', h('a.btn', { href: reportHtmlUrl(id), target: '_blank', rel: 'noopener', 'data-testid': 'campaign-report' }, t('overview.report_html')), ' ',
      h('a.btn', { href: `#/findings?policy_id=${enc}&status=fail` }, t('campaign.failing'))),
    h('dl.facts',
      h('dt', t('campaign.start')), h('dd', dateTime(c.start)),
      h('dt', t('overview.deadline')), h('dd', dateTime(c.deadline)),
      h('dt', t('campaign.grace')), h('dd', c.grace || '—'),
      h('dt', t('campaign.scope')), h('dd', (c.scope || []).map((s) => `${s.path} (${t(`level.${s.level}`)})`).join(', ') || t('campaign.everyone')),
      h('dt', t('policy.version')), h('dd', `${doc.version} · ${t('policy.applied')} ${dateTime(doc.applied_at)} · ${doc.applied_by || ''}`)),
    h('h2', t('campaign.rules')),
    table([t('policy.rule'), t('finding.severity'), t('policy.remedy')],
      (c.rules || []).map((r) => [h('span', h('strong', r.id), r.title ? ` — ${r.title}` : ''), severityBadge(r.severity), r.remedy || '—']),
      'campaign-rules'),
    h('h2', t('campaign.due_now'), ' ', h('span.muted', { 'data-testid': 'due-total' }, `(${num(dueTotal)})`)),
    table([t('finding.person'), t('campaign.when'), t('campaign.point'), t('campaign.notify'), t('campaign.action')],
      due.map((a) => [personLink(a.person_id), dateTime(a.at), a.point, (a.notify || []).join(', ') || '—',
        a.block ? t('campaign.block') : '—']), 'campaign-actions'),
    h('h2', t('campaign.exemptions'), ' ', h('span.muted', `(${num(exemptions.length)})`)),
    table([t('exemption.subject'), t('policy.rule'), t('exemption.reason'), t('exemption.approver'), t('exemption.expires')],
      exemptions.map((e) => {
        const expired = new Date(e.expires_at).getTime() <= now;
        return [e.person_id ? personLink(e.person_id) : deviceLink(e.device_id), e.rule_id || t('exemption.all_rules'), e.reason,
          e.approver, h(expired ? 'span.muted' : 'span', `${date(e.expires_at)}${expired ? ` (${t('exemption.expired')})` : ''}`)];
      }), 'campaign-exemptions'),
    h('h2', t('campaign.schedule'), ' · ', t('policy.source')),
    h('pre.source', { 'aria-label': t('policy.source'), tabindex: '0' }, doc.source || ''),
  );
  root.dataset.title = c.title || id;
}
