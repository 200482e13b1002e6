// Sign-in page: exchanges an admin token for a session cookie (POST /api/v1/session).
// The token is not kept by the page. Single-threaded (the browser's main thread).

import { h, clear } from '../dom.js';
import { t } from '../i18n.js';
import { signIn } from '../api.js';
import { signedIn, go } from '../app.js';

export async function render(root) {
  const err = h('p.error', { role: 'alert', hidden: true });
  const input = h('input#token', { type: 'password', name: 'token', required: true, autocomplete: 'current-password',
    spellcheck: 'false', 'aria-describedby': 'token-help' });
  const btn = h('button', { type: 'submit' }, t('signin.submit'));
  const form = h('form.signin', { 'aria-labelledby': 'signin-title' },
    h('h1#signin-title', t('signin.title')),
    h('p', t('signin.intro')),
    h('label', { for: 'token' }, t('signin.token')),
    input,
    h('p#token-help.help', t('signin.help')),
    err, btn);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    btn.disabled = true;
    err.hidden = true;
    try {
      const s = await signIn(input.value.trim());
      input.value = '';
      signedIn(s);
      go('#/overview');
    } catch (ex) {
      err.textContent = ex.status === 401 || ex.status === 403 ? t('signin.bad') : `${t('error.load')}: ${ex.message}`;
      err.hidden = false;
      btn.disabled = false;
      input.focus();
    }
  });
  clear(root).append(h('div.signin-wrap', form));
  root.dataset.title = t('signin.title');
  queueMicrotask(() => input.focus());
}
