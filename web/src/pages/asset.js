import { A, items, url } from '../api.js';
import { append, badge, bytes, clear, duration, h, toast, turns, when } from '../dom.js';
import { mount } from '../viewers/viewer.js';
import { collectionsPanel, describePanel, tagsPanel } from './describe.js';

const BUSY = new Set(['uploading', 'stored', 'processing']);
const TASK_BUSY = new Set(['queued', 'running', 'retrying']);

function section(id, title, open = true) {
  const body = h('div', { class: 'section-body', id: `${id}-body` });
  const d = h('details', { class: 'section', id, open },
    h('summary', null, h('h2', null, title)), body);
  d.body = body;
  return d;
}

function facts(a) {
  const rows = [
    ['Kind', a.kind], ['Format', a.format], ['Type', a.content_type], ['Size', bytes(a.size)],
    a.width ? ['Dimensions', `${a.width} × ${a.height}`] : null,
    a.duration_seconds ? ['Duration', duration(a.duration_seconds)] : null,
    a.page_count ? ['Pages', a.page_count] : null,
    ['Project', a.project], ['PRONOM', a.pronom || '—'],
    ['Added', when(a.created_at)], ['Updated', when(a.updated_at)],
    ['SHA-256', h('code', { class: 'hash' }, a.sha256)],
  ].filter(Boolean);
  return h('dl', { class: 'facts' }, rows.map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function value(v) {
  if (v == null) return '';
  // exiftool's tags carry {raw, display}: show the human rendering.
  if (typeof v === 'object' && !Array.isArray(v) && 'display' in v) return value(v.display);
  if (Array.isArray(v)) return v.map(value).join(', ');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function metadataView(md) {
  // Grouped by exiftool's family-0 group (EXIF, IPTC, XMP, ...); the
  // normalised fields and PRONOM are shown in Details.
  const skip = new Set(['normalized', 'pronom', 'warnings']);
  const order = ['exif', 'iptc', 'xmp'];
  const groups = Object.entries(md || {}).filter(([g, v]) => !skip.has(g) && v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length)
    .sort(([x], [y]) => ((order.indexOf(x) + 1 || 99) - (order.indexOf(y) + 1 || 99)) || x.localeCompare(y));
  if (!groups.length) return h('p', { class: 'muted' }, 'No metadata.');
  return groups.map(([g, fields], i) => h('details', { class: 'md-group', open: i < 2, dataset: { group: g } },
    h('summary', null, `${g.toUpperCase()} `, h('span', { class: 'muted' }, `(${Object.keys(fields).length})`)),
    h('table', { class: 'kv' }, h('tbody', null, Object.entries(fields).map(([k, v]) =>
      h('tr', null, h('th', { scope: 'row' }, k), h('td', null, value(v))))))));
}

function derivativesView(ds) {
  if (!ds.length) return h('p', { class: 'muted' }, 'No derivatives yet.');
  return h('table', { class: 'list' },
    h('thead', null, h('tr', null, ['Name', 'Type', 'Size', 'Dimensions', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, ds.map((d) => h('tr', null,
      h('td', null, d.name), h('td', null, d.content_type), h('td', null, bytes(d.size)),
      h('td', null, d.width ? `${d.width} × ${d.height}` : ''),
      h('td', null, h('a', { href: url(d.url), download: d.name, 'aria-label': `Download ${d.name}` }, 'Download'))))));
}

function progressBar(t) {
  if (t.progress == null || t.state !== 'running') return null;
  return h('progress', { max: 100, value: t.progress, 'aria-label': `${t.name} progress` }, `${t.progress}%`);
}

function tasksView(ts, canWrite, onRetry) {
  if (!ts.length) return h('p', { class: 'muted' }, 'No tasks.');
  return h('table', { class: 'list', id: 'tasks-table' },
    h('thead', null, h('tr', null, ['Task', 'State', 'Progress', 'Attempts', 'Duration', 'Last error', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, ts.map((t) => h('tr', { dataset: { task: t.name } },
      h('td', null, t.name, t.required ? '' : h('span', { class: 'muted' }, ' (optional)')),
      h('td', null, badge(t.state)),
      h('td', null, progressBar(t) || (t.progress != null ? `${t.progress}%` : '')),
      h('td', null, `${t.attempts}/${t.max_attempts}`),
      h('td', null, t.duration_ms != null ? `${(t.duration_ms / 1000).toFixed(1)} s` : ''),
      h('td', { class: 'err' }, t.last_error || ''),
      h('td', null, canWrite && t.state === 'failed'
        ? h('button', { type: 'button', onclick: (ev) => onRetry(t, ev.currentTarget) }, `Retry ${t.name}`) : null)))));
}

function eventsView(evs) {
  if (!evs.length) return h('p', { class: 'muted' }, 'No events.');
  return h('ol', { class: 'events' }, evs.map((e) => h('li', null,
    h('span', { class: 'ev-type' }, e.type), ' ',
    h('time', { datetime: e.created_at }, when(e.created_at)), ' ',
    h('span', { class: 'muted' }, e.actor),
    e.detail && typeof e.detail === 'object' && Object.keys(e.detail).length ? h('code', { class: 'ev-detail' }, JSON.stringify(e.detail)) : null)));
}

// The asset page: viewer, facts, metadata, derivatives, tasks (live while
// processing), events; retry, reprocess and the IIIF manifest link.
export async function assetPage(main, ctx) {
  const id = ctx.id;
  let a;
  try {
    a = await A.asset(id);
  } catch (e) {
    main.append(h('h1', null, 'Asset not found'), h('p', null, e.status === 404 ? 'There is no such asset, or you may not see it.' : e.message),
      h('p', null, h('a', { href: '#/' }, 'Back to the assets')));
    return;
  }
  const canWrite = ctx.has('write');
  const stateEl = h('span', { id: 'asset-state' });
  const titleEl = h('h1', { class: 'asset-title', id: 'asset-title' });
  const errEl = h('p', { class: 'error', role: 'alert', id: 'asset-error' });
  const actions = h('div', { class: 'actions' });
  const viewerEl = h('div', { class: 'viewer', id: 'viewer' });
  const factsEl = h('div');
  const sDescribe = section('describe', 'Description');
  const sTags = section('tags', 'Tags');
  const sColl = section('collections', 'Collections', false);
  const sMeta = section('metadata', 'Metadata');
  const sDerivs = section('derivatives', 'Derivatives');
  const sTasks = section('tasks', 'Tasks');
  const sEvents = section('events', 'History', false);
  const sText = section('text', 'Text', false);
  sText.hidden = true;
  const live = h('p', { class: 'sr-only', 'aria-live': 'polite', id: 'asset-live' });

  main.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/' }, '← Assets')),
    h('div', { class: 'page-head' }, titleEl, stateEl),
    errEl, actions, live,
    h('div', { class: 'asset-layout' },
      h('div', { class: 'asset-main' }, viewerEl, sTasks, sDerivs, sEvents, sText),
      h('aside', { class: 'asset-side', 'aria-label': 'Details' }, h('h2', null, 'Details'), factsEl, sDescribe, sTags, sColl, sMeta)));

  let derivs = [];
  let md = null;
  let viewerCleanup = null;
  let viewerKey = '';
  let lastTasks = '';

  function renderHead() {
    clear(stateEl).append(badge(a.state));
    append(clear(titleEl), [a.title || a.filename, a.title ? h('span', { class: 'muted filename' }, a.filename) : null]);
    document.title = `${a.title || a.filename} · stor`;
    errEl.textContent = a.error ? `Failed: ${a.error}` : '';
    clear(factsEl).append(facts(a));
    append(clear(actions), [
      h('a', { class: 'button', href: url(a.links.original) + '?download=1', download: a.filename }, 'Download original'),
      // IIIF drag and drop: the link carries ?manifest=, which Mirador and
      // Universal Viewer read from a dropped URL.
      a.links.manifest ? h('a', { class: 'button', href: `${url(a.links.manifest)}?manifest=${encodeURIComponent(a.links.manifest)}`, id: 'manifest-link', title: 'IIIF manifest: drag this link into Mirador or another IIIF viewer' }, 'IIIF manifest') : null,
      canWrite ? h('button', { type: 'button', id: 'reprocess', onclick: reprocess }, 'Reprocess') : null]);
  }

  async function renderViewer(force) {
    const key = JSON.stringify([a.links, derivs.map((d) => d.name), a.state === 'ready', !!md]);
    if (!force && key === viewerKey) return;
    viewerKey = key;
    if (viewerCleanup) { try { viewerCleanup(); } catch { /* gone */ } viewerCleanup = null; }
    clear(viewerEl);
    delete viewerEl.dataset.viewer;
    try {
      viewerCleanup = await mount(viewerEl, a, derivs, md);
    } catch (e) {
      viewerEl.append(h('p', { class: 'error' }, `The viewer failed: ${e.message}`));
    }
  }

  async function loadDerivs() {
    try { derivs = items(await A.derivatives(id)); } catch { derivs = []; }
    clear(sDerivs.body).append(derivativesView(derivs));
  }

  async function loadMeta() {
    try {
      md = await A.metadata(id);
      clear(sMeta.body).append(...[metadataView(md)].flat());
    } catch (e) {
      clear(sMeta.body).append(h('p', { class: 'muted' }, e.status === 404 ? 'No metadata (yet).' : `Metadata unavailable: ${e.message}`));
    }
  }

  async function loadText() {
    try {
      const t = await A.text(id);
      const pages = Array.isArray(t) ? t : (t && (t.pages || t.items)) || null;
      const body = pages ? pages.map((p, i) => h('section', null, h('h3', null, `Page ${p.page || i + 1}`), h('pre', { class: 'text' }, p.text || '')))
        : h('pre', { class: 'text' }, typeof t === 'string' ? t : (t && t.text) || '');
      sText.hidden = false;
      clear(sText.body).append(...[body].flat());
    } catch { sText.hidden = true; }
  }

  const eventsTurn = turns();
  async function loadEvents() {
    const newest = eventsTurn();
    let view;
    try { view = eventsView(items(await A.events(id))); } catch (e) { view = h('p', { class: 'error' }, e.message); }
    if (newest()) clear(sEvents.body).append(view);
  }

  async function loadTasks() {
    let ts;
    try { ts = items(await A.tasks(id)); } catch (e) {
      clear(sTasks.body).append(h('p', { class: 'muted' }, e.status === 404 ? 'Processing is not enabled.' : e.message));
      return [];
    }
    const sig = JSON.stringify(ts);
    if (sig !== lastTasks) {
      lastTasks = sig;
      clear(sTasks.body).append(tasksView(ts, canWrite, retry));
    }
    return ts;
  }

  async function retry(t, btn) {
    btn.disabled = true;
    try {
      await A.retryTask(t.id);
      toast(`Retrying ${t.name}`);
      kick();
    } catch (e) {
      toast(`Retry failed: ${e.message}`, 'error');
      btn.disabled = false;
    }
  }

  async function reprocess(ev) {
    const btn = ev.currentTarget;
    btn.disabled = true;
    try {
      const r = await A.reprocess(id);
      toast(`Reprocessing: ${(r.queued || []).join(', ') || 'nothing to do'}`);
      kick();
    } catch (e) {
      toast(`Reprocess failed: ${e.message}`, 'error');
    } finally {
      btn.disabled = false;
    }
  }

  const onEdited = (fresh) => {
    a = { ...a, ...fresh };
    updDescribe(a);
    updTags(a);
    renderHead();
    loadEvents();
  };
  const updDescribe = describePanel(sDescribe.body, a, { canWrite, onChange: onEdited });
  const updTags = tagsPanel(sTags.body, a, { canWrite, onChange: onEdited });
  collectionsPanel(sColl.body, a, { canWrite });

  renderHead();
  await Promise.all([loadDerivs(), loadMeta(), loadEvents(), loadTasks(), loadText()]);
  renderViewer(true);

  // Live updates while the asset or any of its tasks is busy.
  let timer = null;
  let stopped = false;
  async function poll() {
    timer = null;
    if (stopped) return;
    let busy = false;
    try {
      const prev = a.state;
      a = await A.asset(id);
      const ts = await loadTasks();
      busy = BUSY.has(a.state) || ts.some((t) => TASK_BUSY.has(t.state));
      if (a.state !== prev) {
        live.textContent = `State: ${a.state}`;
        renderHead();
        updDescribe(a);
        updTags(a);
        await Promise.all([loadDerivs(), loadMeta(), loadEvents(), loadText()]);
      } else if (busy) {
        await loadDerivs();
      }
      if (!stopped) renderViewer(false);
    } catch { busy = true; }
    if (!stopped && busy) timer = setTimeout(poll, 1500);
  }
  function kick() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(poll, 300);
  }
  kick();
  ctx.onCleanup(() => {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (viewerCleanup) viewerCleanup();
  });
}
