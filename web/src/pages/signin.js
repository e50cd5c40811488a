import { A } from '../api.js';
import { h } from '../dom.js';

// signInMessage turns a refused sign-in into words. A wrong password and an
// unknown user are the same 401 (the server does not say which); a rate
// limit (429) or a locked account (423) shows the server's own message,
// with how long to wait when it says.
export function signInMessage(e, what) {
  if (e.status === 401) return what === 'token' ? 'That token is unknown, expired or revoked.' : 'Wrong username or password.';
  if (e.status === 429 || e.status === 423) {
    const wait = e.retryAfter ? ` Try again in ${e.retryAfter < 120 ? `${e.retryAfter} s` : `${Math.ceil(e.retryAfter / 60)} min`}.` : '';
    const msg = e.message && e.message !== e.code ? e.message : (e.status === 423 ? 'This account is locked for now.' : 'Too many sign-in attempts.');
    return `${msg.replace(/\.?$/, '.')}${wait}`;
  }
  return `Sign-in failed: ${e.message}`;
}

async function signedIn(me) {
  me = await A.session().catch(() => me);
  document.dispatchEvent(new CustomEvent('stor:signedin', { detail: me }));
}

// Sign in with a username and password (the default), or by pasting an API
// token (service accounts, the bootstrap admin token). Either way the
// server keeps the session in an HttpOnly cookie: this page stores nothing.
export async function signInPage(main) {
  const err = h('p', { class: 'error', role: 'alert', id: 'signin-error' });
  const user = h('input', { id: 'username', name: 'username', required: true, autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const btn = h('button', { type: 'submit', class: 'primary', id: 'signin-submit' }, 'Sign in');
  const form = h('form', { class: 'signin-form', id: 'signin-form', 'aria-labelledby': 'signin-title' },
    h('label', { for: 'username' }, 'Username'), user,
    h('label', { for: 'password' }, 'Password'), pass,
    btn, err);

  const tokErr = h('p', { class: 'error', role: 'alert', id: 'token-error' });
  const token = h('input', {
    id: 'token', name: 'token', type: 'password', required: true, autocomplete: 'off',
    spellcheck: 'false', 'aria-describedby': 'token-help', placeholder: 'stor_…',
  });
  const tokBtn = h('button', { type: 'submit', id: 'token-submit' }, 'Sign in with the token');
  const tokForm = h('form', { class: 'signin-token', id: 'token-form', 'aria-label': 'Sign in with an API token' },
    h('label', { for: 'token' }, 'API token'), token,
    h('p', { id: 'token-help', class: 'muted' },
      'Paste a token (the admin token printed at first start, or one made with ',
      h('code', null, 'stor token create'), '). It is kept in a secure cookie.'),
    tokBtn, tokErr);
  const alt = h('details', { class: 'signin-alt', id: 'signin-alt' }, h('summary', null, 'Sign in with an API token instead'), tokForm);
  const card = h('div', { class: 'card signin' }, h('h1', { id: 'signin-title' }, 'Sign in to stor'), form, alt);

  for (const el of [user, pass]) el.addEventListener('input', () => { err.textContent = ''; });
  token.addEventListener('input', () => { tokErr.textContent = ''; });
  alt.addEventListener('toggle', () => { if (alt.open) token.focus(); });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      const me = await A.signInPassword(user.value.trim(), pass.value);
      pass.value = '';
      await signedIn(me);
    } catch (e) {
      err.textContent = signInMessage(e, 'password');
      pass.focus();
      pass.select();
    } finally {
      btn.disabled = false;
    }
  });
  tokForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    tokErr.textContent = '';
    tokBtn.disabled = true;
    try {
      const me = await A.signIn(token.value.trim());
      token.value = '';
      await signedIn(me);
    } catch (e) {
      tokErr.textContent = signInMessage(e, 'token');
      token.focus();
      token.select();
    } finally {
      tokBtn.disabled = false;
    }
  });
  main.append(card);
  user.focus();
}
