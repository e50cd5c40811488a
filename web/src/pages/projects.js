// Projects (admin): a project's access (public, public originals, download
// rate: PUT /api/v1/projects/{name}) and its schema of custom fields (name,
// type, choices for an enum: PUT /api/v1/projects/{name}/fields), which
// the asset page's description form then offers. The project is picked
// from those the catalog has (the project facet) or typed; it is kept in
// the URL (#/projects?name=museum).
import { A, items } from '../api.js';
import { clear, h, toast, when } from '../dom.js';
import { registerPage } from '../routes.js';

const TYPES = ['string', 'number', 'date', 'boolean', 'enum'];

export async function projectsPage(main, ctx) {
  main.append(h('div', { class: 'page-head' }, h('h1', null, 'Projects')));
  if (!ctx.has('admin')) {
    main.append(h('p', null, 'Only an admin manages projects.'));
    return;
  }
  const name = h('input', { id: 'p-name', list: 'p-names', required: true, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', size: 18, value: ctx.query.get('name') || '' });
  const names = h('datalist', { id: 'p-names' });
  const pick = h('form', { class: 'card token-form', id: 'project-pick', 'aria-label': 'Choose a project' }, names,
    h('div', { class: 'field' }, h('label', { for: 'p-name' }, 'Project'), name),
    h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Open')));
  const body = h('div', { id: 'project' });
  main.append(pick, body);
  pick.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = name.value.trim();
    if (n) ctx.navigate(`/projects?name=${encodeURIComponent(n)}`);
  });
  A.assets({ facets: 'project', limit: 1 }).then((r) => {
    clear(names).append(...Object.keys((r.facets && r.facets.project) || {}).sort().map((p) => h('option', { value: p })));
  }).catch(() => { /* typing a name still works */ });

  const project = ctx.query.get('name');
  if (!project) {
    body.append(h('p', { class: 'muted' }, 'Pick a project to set who may see its media and which custom fields its assets have.'));
    return;
  }
  let pr, fields;
  try {
    [pr, fields] = await Promise.all([A.project(project), A.fields(project)]);
  } catch (e) {
    body.append(h('p', { class: 'error', role: 'alert' }, `Could not read ${project}: ${e.message}`));
    return;
  }

  // Access.
  const pub = h('input', { type: 'checkbox', id: 'p-public', checked: !!pr.public });
  const pubOrig = h('input', { type: 'checkbox', id: 'p-public-originals', checked: !!pr.public_originals });
  const rate = h('input', { type: 'number', id: 'p-rate', min: 0, step: 1, value: String(pr.download_rate || 0), size: 12 });
  const access = h('form', { class: 'card', id: 'project-access', 'aria-labelledby': 'h-access' },
    h('h2', { id: 'h-access' }, `Access to ${project}`),
    h('p', null, h('label', { class: 'check' }, pub, ' Public: anyone may see its media (IIIF, derivatives, video) without signing in')),
    h('p', null, h('label', { class: 'check' }, pubOrig, ' Public originals too (archives usually keep masters back)')),
    h('div', { class: 'token-form' },
      h('div', { class: 'field' }, h('label', { for: 'p-rate' }, 'Download rate per download, bytes/s (0: the server\'s)'), rate),
      h('div', { class: 'field' }, h('button', { type: 'submit', class: 'primary' }, 'Save access'))),
    h('p', { class: 'muted', id: 'p-updated' }, pr.updated_at ? `Last changed ${when(pr.updated_at)}` : 'Private, server defaults (never changed)'));
  access.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const n = Number(rate.value);
    if (!Number.isInteger(n) || n < 0) {
      toast('The download rate is a whole number of bytes per second, 0 or more', 'error');
      rate.focus();
      return;
    }
    try {
      const saved = await A.putProject(project, { public: pub.checked, public_originals: pubOrig.checked, download_rate: n });
      document.getElementById('p-updated').textContent = `Last changed ${when(saved.updated_at)}`;
      toast(`Saved access to ${project}`);
    } catch (e) {
      toast(`Not saved: ${e.message}`, 'error');
    }
  });

  // Custom fields.
  const rows = h('tbody', { id: 'fields-rows' });
  function row(f) {
    const fname = h('input', { class: 'f-name', required: true, autocomplete: 'off', spellcheck: 'false', value: f.name || '', 'aria-label': 'Field name', size: 16 });
    const ftype = h('select', { class: 'f-type', 'aria-label': 'Field type' }, TYPES.map((t) => h('option', { value: t, selected: t === (f.type || 'string') }, t)));
    const choices = h('input', { class: 'f-choices', autocomplete: 'off', value: (f.choices || []).join(', '), 'aria-label': 'Choices, comma-separated', size: 24 });
    const sync = () => {
      choices.disabled = ftype.value !== 'enum';
      choices.placeholder = choices.disabled ? '' : 'good, fair, poor';
    };
    ftype.addEventListener('change', sync);
    sync();
    const tr = h('tr', null, h('td', null, fname), h('td', null, ftype), h('td', null, choices),
      h('td', null, h('button', { type: 'button', class: 'small danger', 'aria-label': 'Remove this field', onclick: () => { tr.remove(); add.focus(); } }, 'Remove')));
    tr.read = () => {
      const out = { name: fname.value.trim(), type: ftype.value };
      if (ftype.value === 'enum') out.choices = choices.value.split(',').map((c) => c.trim()).filter(Boolean);
      return out;
    };
    return tr;
  }
  rows.append(...items(fields.fields || fields).map(row));
  const add = h('button', { type: 'button', id: 'field-add' }, 'Add a field');
  add.addEventListener('click', () => {
    const tr = row({});
    rows.append(tr);
    tr.querySelector('.f-name').focus();
  });
  const schema = h('form', { class: 'card', id: 'project-fields', 'aria-labelledby': 'h-fields' },
    h('h2', { id: 'h-fields' }, 'Custom fields'),
    h('p', { class: 'muted' }, 'Editors fill these in on each asset\'s description. Removing a field keeps the values already stored (shown, no longer editable).'),
    h('table', { class: 'table', id: 'fields-table' },
      h('thead', null, h('tr', null, ['Name', 'Type', 'Choices (enum)', ''].map((t, i) => h('th', { scope: 'col' }, i === 3 ? h('span', { class: 'sr-only' }, 'Actions') : t)))),
      rows),
    h('p', null, add, ' ', h('button', { type: 'submit', class: 'primary' }, 'Save fields')));
  schema.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const list = [...rows.children].map((tr) => tr.read());
    try {
      const saved = await A.putFields(project, list);
      toast(`Saved ${items(saved.fields || saved).length} field(s) of ${project}`);
    } catch (e) {
      toast(`Not saved: ${e.message}`, 'error');
    }
  });
  body.append(access, schema);
}

registerPage('/projects', projectsPage, 'Projects', 'projects');
