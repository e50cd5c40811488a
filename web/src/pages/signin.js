import { A } from '../api.js';
import { h } from '../dom.js';

// Sign in by pasting an API token; the server keeps it in an HttpOnly
// cookie, so this page never stores it.
export async function signInPage(main) {
  const input = h('input', {
    id: 'token', name: 'token', type: 'password', required: true, autocomplete: 'off',
    spellcheck: 'false', 'aria-describedby': 'token-help', placeholder: 'stor_…',
  });
  const err = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const btn = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to stor'),
    h('label', { for: 'token' }, 'API token'),
    input,
    h('p', { id: 'token-help', class: 'muted' },
      'Paste a token (the admin token printed at first start, or one made with ',
      h('code', null, 'stor token create'), '). It is kept in a secure cookie.'),
    btn, err);
  input.addEventListener('input', () => { err.textContent = ''; });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      let me = await A.signIn(input.value.trim());
      me = await A.session().catch(() => me);
      input.value = '';
      document.dispatchEvent(new CustomEvent('stor:signedin', { detail: me }));
    } catch (e) {
      err.textContent = e.status === 401 ? 'That token is unknown, expired or revoked.' : `Sign-in failed: ${e.message}`;
      input.focus();
      input.select();
    } finally {
      btn.disabled = false;
    }
  });
  main.append(form);
  input.focus();
}
