// Policies and campaigns: every applied document with its kind, version and rules; links to
// each campaign's page (schedule, exemptions, actions due now). Single-threaded.

import { h, clear } from '../dom.js';
import { t, dateTime, date } from '../i18n.js';
import { api } from '../api.js';
import { severityBadge } from '../common.js';
import { table } from './person.js';

export async function render(root) {
  const [pols, camps] = await Promise.all([
    api('policies'),
    api('campaigns').catch(() => ({ items: [] })),
  ]);
  const campaigns = new Map((camps.items || []).map((c) => [c.id, c]));
  const docs = pols.items || [];
  const sections = docs.map((p) => {
    const c = campaigns.get(p.id);
    const isCampaign = p.kind === 'campaign' || !!c;
    const rules = p.rules || c?.rules || [];
    return h('section.card', { 'aria-labelledby': `pol-${p.id}` },
      h('h2', { id: `pol-${p.id}` }, isCampaign ? h('a', { href: `#/campaigns/${encodeURIComponent(p.id)}` }, p.title || p.id) : (p.title || p.id)),
      h('p.muted', [t(isCampaign ? 'policy.kind_campaign' : 'policy.kind_policy'), `${t('policy.version')} ${p.version ?? '—'}`,
        p.applied_at ? `${t('policy.applied')} ${dateTime(p.applied_at)}` : null,
        (c?.deadline || p.deadline) ? `${t('overview.deadline')} ${date(c?.deadline || p.deadline)}` : null].filter(Boolean).join(' · ')),
      rules.length ? table([t('policy.rule'), t('finding.severity'), t('policy.require')],
        rules.map((r) => [h('span', h('strong', r.id), r.title ? ` — ${r.title}` : ''), severityBadge(r.severity), h('code', r.require || '—')]),
        `rules-${p.id}`) : null);
  });
  clear(root).append(h('h1', t('policies.title')), docs.length ? h('div.grid', sections) : h('p', t('list.empty')));
  root.dataset.title = t('policies.title');
}
