// Collections: a tree of every collection (create, rename, move under
// another, delete), and one collection's page with its members in order
// (drag and drop, or move up/down from the keyboard; remove), its IIIF manifest, and a link to the grid
// filtered by it.
import { A, items, url } from '../api.js';
import { append, badge, clear, h, toast } from '../dom.js';
import { thumb } from './grid.js';

function tree(cs) {
  const kids = new Map();
  for (const c of cs) {
    const p = c.parent_id || '';
    if (!kids.has(p)) kids.set(p, []);
    kids.get(p).push(c);
  }
  for (const l of kids.values()) l.sort((x, y) => x.name.localeCompare(y.name));
  return kids;
}

export async function collectionsPage(main, ctx) {
  const canWrite = ctx.has('write');
  const list = h('div', { id: 'collections' });
  const status = h('p', { class: 'muted', role: 'status', id: 'coll-status' });
  main.append(h('div', { class: 'page-head' }, h('h1', null, 'Collections')));

  let all = [];
  const name = h('input', { id: 'c-name', required: true, maxlength: 200, autocomplete: 'off' });
  const parent = h('select', { id: 'c-parent' });
  if (canWrite) {
    const form = h('form', { class: 'card token-form', id: 'coll-create', 'aria-label': 'Create a collection' },
      h('div', { class: 'field' }, h('label', { for: 'c-name' }, 'Name'), name),
      h('div', { class: 'field' }, h('label', { for: 'c-parent' }, 'Inside'), parent),
      h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Create collection')));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      try {
        const c = await A.createCollection({ name: name.value.trim(), parent_id: parent.value || undefined });
        toast(`Created ${c.name}`);
        name.value = '';
        await load();
        name.focus();
      } catch (e) {
        toast(`Not created: ${e.message}`, 'error');
      }
    });
    main.append(form);
  }
  main.append(status, list);

  function row(c, kids) {
    const li = h('li', { dataset: { id: c.id } },
      h('div', { class: 'coll-row' },
        h('a', { href: `#/collections/${encodeURIComponent(c.id)}`, class: 'coll-name' }, c.name),
        h('span', { class: 'muted' }, ` ${c.member_count} asset${c.member_count === 1 ? '' : 's'}`),
        canWrite ? h('button', { type: 'button', class: 'small', onclick: () => rename(c) }, `Rename ${c.name}`) : null,
        canWrite ? h('button', { type: 'button', class: 'small danger', onclick: () => remove(c) }, `Delete ${c.name}`) : null));
    const sub = kids.get(c.id);
    if (sub) li.append(h('ul', { class: 'coll-tree' }, sub.map((x) => row(x, kids))));
    return li;
  }

  async function load() {
    try {
      all = items(await A.collections({ all: 1 }));
    } catch (e) {
      status.textContent = '';
      status.append(h('span', { class: 'error', role: 'alert' }, `Could not list collections: ${e.message}`));
      return;
    }
    const kids = tree(all);
    const keep = parent.value;
    append(clear(parent), [h('option', { value: '' }, 'Top level'),
      all.slice().sort((x, y) => x.name.localeCompare(y.name)).map((c) => h('option', { value: c.id, selected: c.id === keep }, c.name))]);
    status.textContent = all.length ? `${all.length} collection${all.length === 1 ? '' : 's'}` : 'No collections yet.' + (canWrite ? ' Create the first one above.' : '');
    clear(list).append((kids.get('') || []).length ? h('ul', { class: 'coll-tree', 'aria-label': 'Collections' }, (kids.get('') || []).map((c) => row(c, kids))) : '');
  }

  async function rename(c) {
    const n = prompt(`New name for "${c.name}"`, c.name);
    if (!n || n.trim() === c.name) return;
    try { await A.updateCollection(c.id, { name: n.trim() }); toast('Renamed'); load(); } catch (e) { toast(e.message, 'error'); }
  }
  async function remove(c) {
    if (!confirm(`Delete the collection "${c.name}"? Its assets stay; its sub-collections move to the top.`)) return;
    try { await A.deleteCollection(c.id); toast(`Deleted ${c.name}`); load(); } catch (e) { toast(e.message, 'error'); }
  }
  await load();
}

export async function collectionPage(main, ctx) {
  const canWrite = ctx.has('write');
  let c;
  try {
    c = await A.collection(ctx.id);
  } catch (e) {
    main.append(h('h1', null, 'Collection not found'), h('p', null, e.status === 404 ? 'There is no such collection, or you may not see it.' : e.message),
      h('p', null, h('a', { href: '#/collections' }, 'All collections')));
    return;
  }
  document.title = `${c.name} · stor`;
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'members-status' });
  const list = h('ol', { class: 'members', id: 'members', 'aria-label': `Assets in ${c.name}` });
  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/collections' }, '← Collections')),
    h('div', { class: 'page-head' }, h('h1', { id: 'coll-title' }, c.name)),
    h('div', { class: 'actions' },
      h('a', { class: 'button', href: `#/?collection=${encodeURIComponent(c.id)}` }, 'Search in this collection'),
      h('a', { class: 'button', href: `${url(c.links.manifest)}?manifest=${encodeURIComponent(c.links.manifest)}`, id: 'coll-manifest', title: 'IIIF manifest of the members: drag this link into Mirador' }, 'IIIF manifest')),
    status, list);

  let members = [];
  async function save(ids, focusId, what) {
    try {
      await A.setMembers(c.id, ids);
      members = ids.map((id) => members.find((m) => m.id === id));
      render(focusId);
      status.textContent = what;
    } catch (e) {
      toast(`Not saved: ${e.message}`, 'error');
    }
  }
  function move(i, d, dir) {
    const ids = members.map((m) => m.id);
    const j = i + d;
    if (j < 0 || j >= ids.length) return;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    save(ids, `${dir}-${members[i].id}`, `Moved ${members[i].filename} to position ${j + 1}.`);
  }
  function render(focusId) {
    clear(list);
    status.textContent = members.length ? `${members.length} asset${members.length === 1 ? '' : 's'}, in order.` : 'This collection is empty. Add assets from their pages.';
    members.forEach((m, i) => {
      const name = m.title || m.filename;
      list.append(h('li', { dataset: { id: m.id }, draggable: canWrite ? 'true' : null },
        canWrite ? h('span', { class: 'drag-handle', 'aria-hidden': 'true', title: 'Drag to reorder' }, '⠿') : null,
        h('a', { href: `#/assets/${encodeURIComponent(m.id)}`, class: 'member-link', draggable: 'false' }, thumb(m), h('span', { class: 'member-name' }, name)),
        badge(m.state),
        canWrite ? h('span', { class: 'member-actions' },
          h('button', { type: 'button', id: `up-${m.id}`, class: 'small', disabled: i === 0, 'aria-label': `Move ${name} up`, onclick: () => move(i, -1, 'up') }, '↑'),
          h('button', { type: 'button', id: `down-${m.id}`, class: 'small', disabled: i === members.length - 1, 'aria-label': `Move ${name} down`, onclick: () => move(i, 1, 'down') }, '↓'),
          h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${name} from the collection`,
            onclick: () => save(members.filter((x) => x.id !== m.id).map((x) => x.id), null, `Removed ${name}.`) }, 'Remove')) : null));
    });
    if (focusId) {
      const el = document.getElementById(focusId);
      if (el && !el.disabled) el.focus();
      else list.querySelector(`li[data-id] button:not([disabled])`)?.focus();
    }
  }
  // Drag and drop: drag a member over another; it lands before or after
  // it (by the pointer's half) and the new order is saved. The ↑/↓ buttons
  // do the same from the keyboard.
  if (canWrite) {
    let dragId = null;
    const unmark = () => list.querySelectorAll('.drop-before, .drop-after, .dragging').forEach((el) => el.classList.remove('drop-before', 'drop-after', 'dragging'));
    const spot = (ev) => {
      const li = ev.target.closest && ev.target.closest('#members > li');
      if (!li || !dragId) return null;
      const r = li.getBoundingClientRect();
      return { li, after: ev.clientY > r.top + r.height / 2 };
    };
    list.addEventListener('dragstart', (ev) => {
      const li = ev.target.closest && ev.target.closest('#members > li');
      if (!li) return;
      dragId = li.dataset.id;
      ev.dataTransfer.effectAllowed = 'move';
      ev.dataTransfer.setData('text/plain', dragId);
      li.classList.add('dragging');
    });
    list.addEventListener('dragover', (ev) => {
      const sp = spot(ev);
      if (!sp) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = 'move';
      list.querySelectorAll('.drop-before, .drop-after').forEach((el) => el.classList.remove('drop-before', 'drop-after'));
      if (sp.li.dataset.id !== dragId) sp.li.classList.add(sp.after ? 'drop-after' : 'drop-before');
    });
    list.addEventListener('drop', (ev) => {
      const sp = spot(ev);
      const id = dragId;
      dragId = null;
      unmark();
      if (!sp || sp.li.dataset.id === id) return;
      ev.preventDefault();
      const ids = members.map((m) => m.id).filter((x) => x !== id);
      const at = ids.indexOf(sp.li.dataset.id) + (sp.after ? 1 : 0);
      ids.splice(at, 0, id);
      const m = members.find((x) => x.id === id);
      save(ids, null, `Moved ${m.title || m.filename} to position ${at + 1}.`);
    });
    list.addEventListener('dragend', () => { dragId = null; unmark(); });
  }

  try {
    members = items(await A.members(c.id));
  } catch (e) {
    status.textContent = '';
    status.append(h('span', { class: 'error', role: 'alert' }, `Could not list the members: ${e.message}`));
    return;
  }
  render();
}
