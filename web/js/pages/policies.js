// Policies and campaigns: every applied document with its kind, version and rules (the
// policy file itself folded below); campaigns link to their page. Single-threaded.

import { h, clear } from '../dom.js';
import { t, dateTime, date } from '../i18n.js';
import { api } from '../api.js';
import { severityBadge } from '../common.js';
import { table } from './person.js';

export async function render(root) {
  const [pols, camps] = await Promise.all([api('policies'), api('campaigns')]);
  const campaigns = new Map((camps.items || []).map((c) => [c.id, c]));
  const docs = pols.items || [];
  const sources = await Promise.all(docs.map((p) => api(`policies/${encodeURIComponent(p.id)}`)));
  const sections = docs.map((p, i) => {
    const c = campaigns.get(p.id);
    const title = c?.title || p.id;
    return h('section.card.wide', { 'aria-labelledby': `pol-${p.id}` },
      h('h2', { id: `pol-${p.id}` }, c ? h('a', { href: `#/campaigns/${encodeURIComponent(p.id)}` }, title) : title),
      h('p.muted', [t(p.kind === 'campaign' ? 'policy.kind_campaign' : 'policy.kind_policy'), `${t('policy.version')} ${p.version}`,
        `${t('policy.applied')} ${dateTime(p.applied_at)}`, c?.deadline ? `${t('overview.deadline')} ${date(c.deadline)}` : null]
        .filter(Boolean).join(' · ')),
      c ? table([t('policy.rule'), t('finding.severity'), t('policy.remedy')],
        c.rules.map((r) => [h('span', h('strong', r.id), r.title ? ` — ${r.title}` : ''), severityBadge(r.severity), r.remedy || '—']),
        `rules-${p.id}`) : null,
      h('details', h('summary', `${t('policy.source')} (${p.source_name || p.id})`), h('pre.source', sources[i].source || '')));
  });
  clear(root).append(h('h1', t('policies.title')), docs.length ? h('div.grid', sections) : h('p', t('list.empty')));
  root.dataset.title = t('policies.title');
}
