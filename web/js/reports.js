// Where the dashboard gets campaign reports: the active campaign and its report
// (the policies/report API of the server), and the HTML report link. Single-threaded.

import { api, url } from './api.js';
import { getLang } from './i18n.js';

// The campaign to show: `id` when given, else the active campaign whose deadline is
// nearest in the future (or the latest one). null when there is no campaign.
export async function activeCampaign(id) {
  const r = await api('campaigns');
  const items = r.items || [];
  if (id) return items.find((c) => c.id === id) || null;
  if (!items.length) return null;
  const now = Date.now();
  const future = items.filter((c) => c.deadline && new Date(c.deadline).getTime() >= now)
    .sort((a, b) => new Date(a.deadline) - new Date(b.deadline));
  return future[0] || items[items.length - 1];
}

export function campaignReport(id) {
  return api(`reports/${encodeURIComponent(id)}`);
}

export function reportHtmlUrl(id) {
  return url(`reports/${encodeURIComponent(id)}`, { format: 'html', lang: getLang() });
}
