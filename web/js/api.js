// Talks to the fleetward JSON API under /api/v1 with the session cookie. Every
// state-changing request carries the session's CSRF token in X-CSRF-Token; a 401 sends the
// reader to the sign-in page. Single-threaded (the browser's main thread).

let csrf = '';
let onUnauthorized = () => {};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message || body?.message || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function setUnauthorizedHandler(fn) { onUnauthorized = fn; }
export function setCsrf(tok) { csrf = tok || ''; }

// Builds "/api/v1/devices?os_family=iOS&limit=50" from a path and a params object
// (empty values are left out).
export function url(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return `/api/v1/${path}${s ? '?' + s : ''}`;
}

export async function api(path, { method = 'GET', params, body, signal, quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(url(path, params), {
    method, headers, signal, credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  const text = await r.text();
  if (text) {
    try { data = JSON.parse(text); } catch { data = { message: text.slice(0, 200) }; }
  }
  if (r.status === 401 && !quiet401) onUnauthorized();
  if (!r.ok) throw new ApiError(r.status, data);
  return data;
}

export async function getSession() {
  const s = await api('session', { quiet401: true });
  setCsrf(s.csrf_token);
  return s;
}

export async function signIn(token) {
  const s = await api('session', { method: 'POST', body: { token }, quiet401: true });
  setCsrf(s.csrf_token);
  return s;
}

export async function signOut() {
  try { await api('session', { method: 'DELETE', quiet401: true }); } finally { setCsrf(''); }
}
