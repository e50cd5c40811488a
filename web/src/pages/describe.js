// The asset's descriptive side: edited fields (title, description,
// creator, rights, keywords, the project's custom fields), tags and
// collection membership. Each change goes to the API at once and the
// caller refreshes the asset (and its history, where the edits show up as
// events).
import { A, items } from '../api.js';
import { clear, h, toast } from '../dom.js';

const TEXT = [['title', 'Title'], ['creator', 'Creator'], ['rights', 'Rights']];

function fieldInput(def, value, id) {
  const v = value == null ? '' : value;
  switch (def.type) {
    case 'number': return h('input', { id, type: 'number', step: 'any', value: v === '' ? '' : String(v) });
    case 'date': return h('input', { id, type: 'date', value: String(v).slice(0, 10) });
    case 'boolean': return h('input', { id, type: 'checkbox', checked: v === true });
    case 'enum': return h('select', { id }, h('option', { value: '' }, '—'),
      (def.choices || []).map((c) => h('option', { value: c, selected: c === v }, c)));
    default: return h('input', { id, value: String(v) });
  }
}

function fieldValue(def, el) {
  if (def.type === 'boolean') return el.checked;
  const s = el.value.trim();
  if (s === '') return null;
  if (def.type === 'number') return Number(s);
  return s;
}

function readView(a, schema) {
  const rows = [
    ['Title', a.title], ['Description', a.description], ['Creator', a.creator], ['Rights', a.rights],
    ['Keywords', (a.keywords || []).join(', ')], ['Captured', a.capture_date],
    a.camera ? ['Camera', [a.camera.make, a.camera.model].filter(Boolean).join(' ')] : null,
    ...Object.entries(a.fields || {}).map(([k, v]) => [(schema.find((d) => d.name === k) || {}).label || k, typeof v === 'object' ? JSON.stringify(v) : String(v)]),
  ].filter((r) => r && r[1] != null && r[1] !== '');
  if (!rows.length) return h('p', { class: 'muted' }, 'Nothing described yet.');
  return h('dl', { class: 'facts', id: 'described' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', { dataset: { field: k.toLowerCase() } }, v)]));
}

// describePanel renders into body and returns a function to re-render
// with a fresher asset.
export function describePanel(body, initial, { canWrite, onChange }) {
  let a = initial;
  let schema = [];
  let editing = false;

  A.fields(a.project || 'default').then((r) => { schema = items(r.fields || r); if (!editing) render(); }).catch(() => { /* no schema */ });

  function render() {
    const had = body.contains(document.activeElement) ? document.activeElement.id : '';
    clear(body);
    if (!editing) {
      body.append(readView(a, schema));
      if (canWrite) body.append(h('button', { type: 'button', id: 'edit-open', onclick: () => { editing = true; render(); body.querySelector('input,textarea').focus(); } }, 'Edit description'));
      if (had) document.getElementById(had)?.focus();
      return;
    }
    const inputs = {};
    const form = h('form', { class: 'edit-form', id: 'edit-form', 'aria-label': 'Edit the description' });
    for (const [k, label] of TEXT.slice(0, 1)) {
      inputs[k] = h('input', { id: `e-${k}`, value: a[k] || '' });
      form.append(h('div', { class: 'field' }, h('label', { for: `e-${k}` }, label), inputs[k]));
    }
    inputs.description = h('textarea', { id: 'e-description', rows: 4 });
    inputs.description.value = a.description || '';
    form.append(h('div', { class: 'field' }, h('label', { for: 'e-description' }, 'Description'), inputs.description));
    for (const [k, label] of TEXT.slice(1)) {
      inputs[k] = h('input', { id: `e-${k}`, value: a[k] || '' });
      form.append(h('div', { class: 'field' }, h('label', { for: `e-${k}` }, label), inputs[k]));
    }
    inputs.keywords = h('input', { id: 'e-keywords', value: (a.keywords || []).join(', '), 'aria-describedby': 'e-keywords-help' });
    form.append(h('div', { class: 'field' }, h('label', { for: 'e-keywords' }, 'Keywords'), inputs.keywords,
      h('span', { class: 'muted small', id: 'e-keywords-help' }, 'Separated by commas.')));
    const custom = {};
    for (const def of schema) {
      const id = `e-field-${def.name}`;
      custom[def.name] = fieldInput(def, (a.fields || {})[def.name], id);
      form.append(h('div', { class: def.type === 'boolean' ? 'field inline' : 'field' }, h('label', { for: id }, def.label || def.name), custom[def.name]));
    }
    const err = h('p', { class: 'error', role: 'alert', id: 'edit-error' });
    const save = h('button', { type: 'submit', class: 'primary', id: 'edit-save' }, 'Save');
    const cancel = h('button', { type: 'button', onclick: () => { editing = false; render(); body.querySelector('#edit-open')?.focus(); } }, 'Cancel');
    form.append(err, h('div', { class: 'actions' }, save, cancel));
    form.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') cancel.click(); });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const patch = {};
      for (const k of ['title', 'description', 'creator', 'rights']) {
        const v = inputs[k].value.trim();
        if (v !== (a[k] || '')) patch[k] = v === '' ? null : v;
      }
      const kw = inputs.keywords.value.split(',').map((s) => s.trim()).filter(Boolean);
      if (kw.join('\u0000') !== (a.keywords || []).join('\u0000')) patch.keywords = kw;
      const fields = {};
      for (const def of schema) {
        const v = fieldValue(def, custom[def.name]);
        const old = (a.fields || {})[def.name];
        if (JSON.stringify(v) !== JSON.stringify(old == null ? null : old)) fields[def.name] = v;
      }
      if (Object.keys(fields).length) patch.fields = fields;
      if (!Object.keys(patch).length) { editing = false; render(); return; }
      save.disabled = true;
      try {
        a = await A.edit(a.id, patch);
        editing = false;
        render();
        toast('Saved');
        body.querySelector('#edit-open')?.focus();
        onChange(a);
      } catch (e) {
        err.textContent = `Not saved: ${e.message}`;
        save.disabled = false;
      }
    });
    body.append(form);
  }
  render();
  return (fresh) => { a = fresh; if (!editing) render(); };
}

// tagsPanel: the asset's tags as a list with remove buttons, and a field
// to add more (several at once, separated by commas).
export function tagsPanel(body, initial, { canWrite, onChange }) {
  let a = initial;
  function render() {
    const had = body.contains(document.activeElement) ? document.activeElement.id : '';
    clear(body);
    const tags = a.tags || [];
    body.append(tags.length
      ? h('ul', { class: 'tags', id: 'tags-list', 'aria-label': 'Tags' }, tags.map((t) => h('li', { class: 'tag', dataset: { tag: t } },
        h('a', { href: `#/?tag=${encodeURIComponent(t)}`, title: `Assets tagged ${t}` }, t),
        canWrite ? h('button', { type: 'button', class: 'tag-remove', 'aria-label': `Remove tag ${t}`, onclick: () => change([], [t]) }, '×') : null)))
      : h('p', { class: 'muted', id: 'no-tags' }, 'No tags.'));
    if (!canWrite) return;
    const input = h('input', { id: 'tag-add', autocomplete: 'off', placeholder: 'new tag, another' });
    const form = h('form', { class: 'inline-form', 'aria-label': 'Add tags' },
      h('label', { for: 'tag-add', class: 'sr-only' }, 'Add tags'), input,
      h('button', { type: 'submit', id: 'tag-add-btn' }, 'Add tag'));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const add = input.value.split(',').map((s) => s.trim()).filter(Boolean);
      if (add.length) change(add, []);
    });
    body.append(form);
    if (had) (document.getElementById(had) || input).focus();
  }
  async function change(add, remove) {
    try {
      a = await A.tag(a.id, add, remove);
      render();
      document.getElementById('tag-add')?.focus();
      toast(add.length ? `Tagged ${add.join(', ')}` : `Removed ${remove.join(', ')}`);
      onChange(a);
    } catch (e) {
      toast(`Tags not changed: ${e.message}`, 'error');
    }
  }
  render();
  return (fresh) => { a = fresh; render(); };
}

// collectionsPanel: add the asset to a collection (at the end of it).
export function collectionsPanel(body, a, { canWrite }) {
  if (!canWrite) { body.append(h('p', null, h('a', { href: '#/collections' }, 'Browse collections'))); return; }
  const select = h('select', { id: 'coll-pick' }, h('option', { value: '' }, 'Choose a collection…'));
  const btn = h('button', { type: 'submit', id: 'coll-add' }, 'Add to collection');
  const form = h('form', { class: 'inline-form', 'aria-label': 'Add to a collection' },
    h('label', { for: 'coll-pick', class: 'sr-only' }, 'Collection'), select, btn);
  const note = h('p', { class: 'muted small', id: 'coll-note', 'aria-live': 'polite' });
  body.append(form, note, h('p', null, h('a', { href: '#/collections' }, 'Manage collections')));
  A.collections({ all: 1 }).then((r) => {
    const cs = items(r).sort((x, y) => x.name.localeCompare(y.name));
    select.append(...cs.map((c) => h('option', { value: c.id }, c.name)));
    if (!cs.length) note.textContent = 'No collections yet.';
  }).catch((e) => { note.textContent = e.message; });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = select.value;
    if (!id) { select.focus(); return; }
    btn.disabled = true;
    try {
      const ids = items(await A.members(id)).map((m) => m.id);
      const name = select.selectedOptions[0].textContent;
      if (ids.includes(a.id)) {
        note.textContent = `Already in ${name}.`;
      } else {
        await A.setMembers(id, [...ids, a.id]);
        clear(note).append(`Added to `, h('a', { href: `#/collections/${encodeURIComponent(id)}` }, name), '.');
        toast(`Added to ${name}`);
      }
    } catch (e) {
      toast(`Not added: ${e.message}`, 'error');
    } finally {
      btn.disabled = false;
    }
  });
}
