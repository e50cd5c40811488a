// Audit log (admin): who did what, when and from where, newest first, with
// the filters GET /api/v1/audit takes (action, actor, target, since) and
// "Older entries" paging by next_before. Locked sign-ins are listed above
// it with an Unlock button (DELETE /api/v1/signin-locks/{name}).
import { A, items } from '../api.js';
import { clear, h, toast, turns, when } from '../dom.js';
import { registerPage } from '../routes.js';

// Actions the server records by name; admin calls without one are logged
// as "METHOD /path" and can be typed in the filter.
const ACTIONS = ['session.create', 'session.denied', 'session.locked', 'session.delete', 'session.revoke',
  'account.password', 'signin.unlock', 'asset.delete', 'asset.visibility', 'original.download'];

// detailText shows an entry's detail object as "key: value" pairs.
function detailText(d) {
  if (!d || typeof d !== 'object') return '';
  return Object.entries(d).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(' · ');
}

export async function auditPage(main, ctx) {
  main.append(h('div', { class: 'page-head' }, h('h1', null, 'Audit log')));
  if (!ctx.has('admin')) {
    main.append(h('p', null, 'Only an admin reads the audit log.'));
    return;
  }

  // Locked sign-ins.
  const locks = h('section', { id: 'locks', 'aria-labelledby': 'locks-h' });
  main.append(locks);
  async function loadLocks() {
    let ls;
    try {
      ls = items(await A.signinLocks());
    } catch (e) {
      clear(locks).append(h('p', { class: 'error', role: 'alert' }, `Could not list locked sign-ins: ${e.message}`));
      return;
    }
    clear(locks).append(h('h2', { id: 'locks-h' }, 'Locked sign-ins'));
    if (!ls.length) {
      locks.append(h('p', { class: 'muted', id: 'locks-none' }, 'No username is locked out of sign-in.'));
      return;
    }
    locks.append(h('table', { class: 'table', id: 'locks-table' },
      h('thead', null, h('tr', null, ['Username', 'Locked until', 'Lockouts', 'Last failure', ''].map((t, i) =>
        h('th', { scope: 'col' }, i === 4 ? h('span', { class: 'sr-only' }, 'Actions') : t)))),
      h('tbody', null, ls.map((l) => h('tr', { dataset: { username: l.username } },
        h('td', null, l.username), h('td', null, when(l.locked_until)), h('td', null, String(l.lockouts ?? '')),
        h('td', null, when(l.last_failure_at)),
        h('td', null, h('button', { type: 'button', class: 'small', 'aria-label': `Unlock ${l.username}`,
          onclick: async () => {
            try {
              await A.unlockSignin(l.username);
              toast(`${l.username} can sign in again`);
            } catch (e) {
              toast(`Not unlocked: ${e.message}`, 'error');
            }
            await loadLocks();
            await load();
          } }, 'Unlock')))))));
  }

  // Filters.
  const action = h('input', { id: 'a-action', list: 'a-actions', autocomplete: 'off', placeholder: 'any', size: 18 });
  const actor = h('input', { id: 'a-actor', autocomplete: 'off', placeholder: 'user:ann, token:ID, anonymous', size: 22 });
  const target = h('input', { id: 'a-target', autocomplete: 'off', placeholder: 'any', size: 14 });
  const since = h('input', { id: 'a-since', type: 'datetime-local' });
  const form = h('form', { class: 'card token-form', id: 'audit-filter', role: 'search', 'aria-label': 'Filter the audit log' },
    h('datalist', { id: 'a-actions' }, ACTIONS.map((a) => h('option', { value: a }))),
    h('div', { class: 'field' }, h('label', { for: 'a-action' }, 'Action'), action),
    h('div', { class: 'field' }, h('label', { for: 'a-actor' }, 'Actor'), actor),
    h('div', { class: 'field' }, h('label', { for: 'a-target' }, 'Target'), target),
    h('div', { class: 'field' }, h('label', { for: 'a-since' }, 'Since'), since),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Filter')),
    h('div', { class: 'field' }, h('button', { type: 'reset' }, 'Clear')));
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'audit-status' });
  const tbody = h('tbody');
  const table = h('table', { class: 'table', id: 'audit-table' },
    h('caption', { class: 'sr-only' }, 'Audit log entries, newest first'),
    h('thead', null, h('tr', null, ['When', 'Actor', 'Action', 'Target', 'IP', 'Detail'].map((t) => h('th', { scope: 'col' }, t)))),
    tbody);
  const older = h('button', { type: 'button', id: 'audit-older', hidden: true }, 'Older entries');
  main.append(form, status, table, older);

  let next = null;
  let shown = 0;
  const turn = turns();
  function query(before) {
    const q = { action: action.value.trim(), actor: actor.value.trim(), target: target.value.trim(), limit: 100, before };
    if (since.value) {
      const d = new Date(since.value);
      if (!isNaN(d)) q.since = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    return q;
  }
  async function load(more) {
    const newest = turn();
    let page;
    try {
      page = await A.audit(query(more ? next : undefined));
    } catch (e) {
      if (!newest()) return;
      status.textContent = '';
      status.append(h('span', { class: 'error', role: 'alert' }, `Could not read the audit log: ${e.message}`));
      return;
    }
    if (!newest()) return;
    if (!more) {
      clear(tbody);
      shown = 0;
    }
    const es = items(page);
    tbody.append(...es.map((e) => h('tr', { dataset: { id: e.id, action: e.action, target: e.target || '' } },
      h('td', null, h('time', { datetime: e.at }, when(e.at))), h('td', null, e.actor), h('td', null, h('code', null, e.action)),
      h('td', null, e.target || ''), h('td', null, e.ip || ''), h('td', { class: 'muted' }, detailText(e.detail)))));
    shown += es.length;
    next = page && page.next_before ? page.next_before : null;
    older.hidden = !next;
    status.textContent = shown ? `${shown} entr${shown === 1 ? 'y' : 'ies'}${next ? ', older ones below' : ''}` : 'No entries match.';
  }
  form.addEventListener('submit', (ev) => { ev.preventDefault(); load(false); });
  form.addEventListener('reset', () => setTimeout(() => load(false), 0));
  older.addEventListener('click', () => load(true));
  await Promise.all([loadLocks(), load(false)]);
}

registerPage('/audit', auditPage, 'Audit log', 'audit');
