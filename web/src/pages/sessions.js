// My sessions: the signed-in user's sessions (where, which browser, last
// seen), revoke one, or sign out everywhere (every other session revoked,
// then this one signed out).
import { A, items } from '../api.js';
import { clear, h, toast, turns, when } from '../dom.js';
import { registerPage } from '../routes.js';

// browser names the browser and system of a User-Agent, roughly.
function browser(ua) {
  if (!ua) return 'Unknown browser';
  const b = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chromium/Chrome'
    : /Safari\//.test(ua) ? 'Safari' : /curl\//.test(ua) ? 'curl' : ua.split(/[ /]/)[0];
  const os = /Windows/.test(ua) ? 'Windows' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS'
    : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${b} on ${os}` : b;
}

export async function sessionsPage(main, ctx) {
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'sessions-status' });
  const body = h('div', { id: 'sessions' });
  const everywhere = h('button', { type: 'button', class: 'danger', id: 'signout-everywhere' }, 'Sign out everywhere');
  main.append(h('div', { class: 'page-head' }, h('h1', null, 'My sessions'), everywhere), status, body);

  if (!ctx.me || !ctx.me.user_id) {
    everywhere.hidden = true;
    status.textContent = 'You signed in with an API token, which has no sessions. Sign out to forget it in this browser; an admin revokes tokens on the Admin page.';
    return;
  }

  let list = [];
  const turn = turns();
  async function load(focusSel) {
    const newest = turn();
    let got;
    try {
      got = items(await A.sessions());
    } catch (e) {
      if (!newest()) return;
      status.textContent = '';
      status.append(h('span', { class: 'error', role: 'alert' }, `Could not list your sessions: ${e.message}`));
      return;
    }
    if (!newest()) return;
    list = got;
    const active = list.filter((s) => s.active);
    status.textContent = `${active.length} active session${active.length === 1 ? '' : 's'}` +
      (list.length > active.length ? `, ${list.length - active.length} ended` : '') + '.';
    list.sort((x, y) => (y.current - x.current) || (y.active - x.active) || y.last_seen_at.localeCompare(x.last_seen_at));
    const table = h('table', { class: 'table', id: 'sessions-table' },
      h('caption', { class: 'sr-only' }, 'Your sessions'),
      h('thead', null, h('tr', null, ['Browser', 'IP address', 'Signed in', 'Last seen', 'Expires', 'State', ''].map((t, i) =>
        h('th', { scope: 'col' }, i === 6 ? h('span', { class: 'sr-only' }, 'Actions') : t)))),
      h('tbody', null, list.map((s) => {
        const state = s.current ? 'this browser' : s.active ? 'active' : s.revoked_at ? 'revoked' : 'expired';
        return h('tr', { dataset: { id: s.id, state } },
          h('td', { title: s.user_agent }, browser(s.user_agent)),
          h('td', null, s.ip || ''),
          h('td', null, when(s.created_at)),
          h('td', null, when(s.last_seen_at)),
          h('td', null, when(s.expires_at)),
          h('td', null, h('span', { class: `badge state-${s.active ? 'active' : 'revoked'}` }, state)),
          h('td', null, s.active && !s.current
            ? h('button', { type: 'button', class: 'small danger', id: `revoke-${s.id}`, 'aria-label': `Revoke the session of ${browser(s.user_agent)} from ${s.ip || 'an unknown address'}, last seen ${when(s.last_seen_at)}`, onclick: () => revoke(s) }, 'Revoke')
            : ''));
      })));
    clear(body).append(table);
    if (focusSel) (body.querySelector(focusSel) || everywhere).focus();
  }

  async function revoke(s) {
    try {
      await A.revokeSession(s.id);
      toast('Session revoked');
      await load('button[id^=revoke-]');
    } catch (e) {
      toast(`Not revoked: ${e.message}`, 'error');
    }
  }

  everywhere.addEventListener('click', async () => {
    if (!confirm('Sign out of every browser and device, this one included?')) return;
    everywhere.disabled = true;
    try {
      const others = items(await A.sessions()).filter((s) => s.active && !s.current);
      for (const s of others) await A.revokeSession(s.id);
      await A.signOut();
    } catch (e) {
      everywhere.disabled = false;
      toast(`Not all sessions ended: ${e.message}`, 'error');
      await load();
      return;
    }
    document.dispatchEvent(new CustomEvent('stor:signedout'));
  });

  await load();

  // Change my password: the current one, the new one twice. The server
  // ends the other sessions; this one stays.
  const cur = h('input', { id: 'pw-current', type: 'password', required: true, autocomplete: 'current-password' });
  const next = h('input', { id: 'pw-new', type: 'password', required: true, minlength: 12, autocomplete: 'new-password', 'aria-describedby': 'pw-help' });
  const again = h('input', { id: 'pw-again', type: 'password', required: true, minlength: 12, autocomplete: 'new-password' });
  const pwNote = h('p', { id: 'pw-note', role: 'status', 'aria-live': 'polite' });
  const pwForm = h('form', { class: 'card token-form pw-form', id: 'pw-form', 'aria-labelledby': 'pw-title' },
    h('h2', { id: 'pw-title' }, 'Change my password'),
    h('div', { class: 'field' }, h('label', { for: 'pw-current' }, 'Current password'), cur),
    h('div', { class: 'field' }, h('label', { for: 'pw-new' }, 'New password'), next),
    h('div', { class: 'field' }, h('label', { for: 'pw-again' }, 'New password again'), again),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary', id: 'pw-submit' }, 'Change password')),
    h('p', { id: 'pw-help', class: 'muted' }, '12 characters or more. Your other sessions end; this one stays.'),
    pwNote);
  pwForm.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    pwNote.textContent = '';
    if (next.value !== again.value) {
      pwNote.append(h('span', { class: 'error' }, 'The two new passwords differ.'));
      again.focus();
      return;
    }
    try {
      await A.changePassword(cur.value, next.value);
      cur.value = next.value = again.value = '';
      pwNote.textContent = 'Password changed. Your other sessions were signed out.';
      await load();
    } catch (e) {
      pwNote.append(h('span', { class: 'error' }, e.status === 401 ? 'The current password is wrong.' : e.status === 429 || e.status === 423 ? `${e.message}${e.retryAfter ? ` Try again in ${e.retryAfter} s.` : ''}` : `Not changed: ${e.message}`));
      (e.status === 401 ? cur : next).focus();
    }
  });
  main.append(pwForm);
}

registerPage('/sessions', sessionsPage, 'My sessions', 'sessions');
