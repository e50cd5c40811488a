// Users (admin): create a user (username, password, role, project), change
// a role, disable or enable one. The API refuses an admin disabling or
// demoting themselves; its message is shown.
import { A, items } from '../api.js';
import { clear, h, toast, turns, when } from '../dom.js';
import { registerPage } from '../routes.js';

const ROLES = ['viewer', 'editor', 'admin'];

export async function usersPage(main, ctx) {
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'users-status' });
  const body = h('div', { id: 'users' });
  main.append(h('div', { class: 'page-head' }, h('h1', null, 'Users')));
  if (!ctx.has('admin')) {
    main.append(h('p', null, 'Only an admin manages users.'));
    return;
  }
  const name = h('input', { id: 'u-name', required: true, maxlength: 64, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false' });
  const pass = h('input', { id: 'u-pass', type: 'password', required: true, minlength: 12, autocomplete: 'new-password' });
  const role = h('select', { id: 'u-role' }, ROLES.map((r) => h('option', { value: r, selected: r === 'viewer' }, r)));
  const project = h('input', { id: 'u-project', autocomplete: 'off', placeholder: 'every project', size: 12 });
  const form = h('form', { class: 'card token-form', id: 'user-create', 'aria-label': 'Create a user' },
    h('div', { class: 'field' }, h('label', { for: 'u-name' }, 'Username'), name),
    h('div', { class: 'field' }, h('label', { for: 'u-pass' }, 'Password (12+ characters)'), pass),
    h('div', { class: 'field' }, h('label', { for: 'u-role' }, 'Role'), role),
    h('div', { class: 'field' }, h('label', { for: 'u-project' }, 'Project'), project),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Create user')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const u = await A.createUser({ username: name.value.trim(), password: pass.value, role: role.value, project: project.value.trim() || undefined });
      toast(`Created ${u.username}`);
      name.value = ''; pass.value = ''; project.value = '';
      await load();
      name.focus();
    } catch (e) {
      toast(`Not created: ${e.message}`, 'error');
    }
  });
  main.append(form, status, body);

  async function patch(u, change, what, focusId) {
    try {
      await A.patchUser(u.id, change);
      toast(what);
      await load(focusId);
    } catch (e) {
      toast(`Not changed: ${e.message}`, 'error');
      await load(focusId);
    }
  }

  const turn = turns();
  async function load(focusId) {
    const newest = turn();
    let us;
    try {
      us = items(await A.users());
    } catch (e) {
      if (!newest()) return;
      status.textContent = '';
      status.append(h('span', { class: 'error', role: 'alert' }, `Could not list users: ${e.message}`));
      return;
    }
    if (!newest()) return;
    us.sort((x, y) => x.username.localeCompare(y.username));
    status.textContent = `${us.length} user${us.length === 1 ? '' : 's'}`;
    clear(body).append(h('table', { class: 'table', id: 'users-table' },
      h('caption', { class: 'sr-only' }, 'Users'),
      h('thead', null, h('tr', null, ['Username', 'Role', 'Project', 'Created', 'State', ''].map((t, i) =>
        h('th', { scope: 'col' }, i === 5 ? h('span', { class: 'sr-only' }, 'Actions') : t)))),
      h('tbody', null, us.map((u) => {
        const sel = h('select', { id: `role-${u.id}`, 'aria-label': `Role of ${u.username}` }, ROLES.map((r) => h('option', { value: r, selected: r === u.role }, r)));
        sel.addEventListener('change', () => patch(u, { role: sel.value }, `${u.username} is now ${sel.value}`, sel.id));
        const off = !!u.disabled_at;
        return h('tr', { dataset: { id: u.id, username: u.username, state: off ? 'disabled' : 'active' } },
          h('td', null, u.username), h('td', null, sel), h('td', null, u.project || h('span', { class: 'muted' }, 'every project')),
          h('td', null, when(u.created_at)),
          h('td', null, h('span', { class: `badge state-${off ? 'revoked' : 'active'}` }, off ? 'disabled' : 'active')),
          h('td', null, h('button', { type: 'button', class: off ? 'small' : 'small danger', id: `toggle-${u.id}`,
            'aria-label': `${off ? 'Enable' : 'Disable'} ${u.username}`,
            onclick: () => patch(u, { disabled: !off }, `${u.username} ${off ? 'enabled' : 'disabled'}`, `toggle-${u.id}`) }, off ? 'Enable' : 'Disable')));
      }))));
    if (focusId) document.getElementById(focusId)?.focus();
  }
  await load();
}

registerPage('/users', usersPage, 'Users', 'users');
