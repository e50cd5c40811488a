import { A, url } from '../api.js';
import { badge, bytes, clear, debounce, h, icon } from '../dom.js';

const KINDS = ['image', 'raw', 'video', 'audio', 'document', 'other'];
const STATES = ['uploading', 'stored', 'processing', 'ready', 'failed', 'deleted'];
const BUSY = new Set(['uploading', 'stored', 'processing']);
const PAGE = 50;

// thumb shows links.thumbnail, or the kind's icon when there is none or it
// fails to load.
export function thumb(a) {
  const box = h('div', { class: 'thumb' });
  const fallback = () => { clear(box).append(icon(a.kind, a.kind)); box.classList.add('no-thumb'); };
  const t = a.links && a.links.thumbnail;
  if (t) {
    const img = h('img', { src: url(t), alt: '', loading: 'lazy', decoding: 'async' });
    img.addEventListener('error', fallback, { once: true });
    box.append(img);
  } else {
    fallback();
  }
  return box;
}

function card(a) {
  const st = badge(a.state);
  const li = h('li', { dataset: { id: a.id } },
    h('a', { class: 'tile', href: `#/assets/${encodeURIComponent(a.id)}` },
      thumb(a),
      h('span', { class: 'tile-name', title: a.filename }, a.filename),
      h('span', { class: 'tile-meta' }, st, h('span', { class: 'muted' }, `${a.format || a.kind} · ${bytes(a.size)}`))));
  li.stateEl = st;
  return li;
}

// The asset grid: filters and search kept in the URL, newest first, 50 per
// request, the next page fetched as the end of the list scrolls into view.
export async function gridPage(main, ctx) {
  const q = ctx.query;
  const f = { q: q.get('q') || '', kind: q.get('kind') || '', state: q.get('state') || '', project: q.get('project') || '' };

  const search = h('input', { id: 'f-q', type: 'search', name: 'q', value: f.q, placeholder: 'Search filenames', autocomplete: 'off' });
  const kind = h('select', { id: 'f-kind', name: 'kind' }, h('option', { value: '' }, 'Any kind'),
    KINDS.map((k) => h('option', { value: k, selected: f.kind === k }, k)));
  const state = h('select', { id: 'f-state', name: 'state' }, h('option', { value: '' }, 'Any state'),
    STATES.map((s) => h('option', { value: s, selected: f.state === s }, s)));
  const project = h('input', { id: 'f-project', name: 'project', value: f.project, placeholder: 'Any project', autocomplete: 'off' });
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter assets' },
    h('div', { class: 'field grow' }, h('label', { for: 'f-q' }, 'Search'), search),
    h('div', { class: 'field' }, h('label', { for: 'f-kind' }, 'Kind'), kind),
    h('div', { class: 'field' }, h('label', { for: 'f-state' }, 'State'), state),
    h('div', { class: 'field' }, h('label', { for: 'f-project' }, 'Project'), project),
    h('div', { class: 'field sort' }, h('span', { class: 'label' }, 'Sort'), h('span', { class: 'static' }, 'Newest first')));
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'grid-status' }, 'Loading…');
  const list = h('ul', { class: 'grid', id: 'grid', 'aria-label': 'Assets' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const sentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
  main.append(h('div', { class: 'page-head' }, h('h1', null, 'Assets'),
    ctx.has('write') ? h('a', { class: 'button primary', href: '#/upload' }, 'Upload') : null),
  form, status, list, more, sentinel);

  let cursor = null;
  let loading = false;
  let gen = 0;
  let count = 0;
  let ctrl = null;

  async function load(reset) {
    if (loading && !reset) return;
    const my = ++gen;
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    loading = true;
    if (reset) { cursor = null; count = 0; }
    try {
      const r = await A.assets({ ...f, limit: PAGE, cursor: reset ? null : cursor }, ctrl.signal);
      if (my !== gen) return;
      if (reset) clear(list);
      const frag = document.createDocumentFragment();
      for (const a of r.items) frag.append(card(a));
      list.append(frag);
      count += r.items.length;
      cursor = r.next_cursor;
      more.hidden = !cursor;
      const filtered = f.q || f.kind || f.state || f.project;
      status.textContent = count === 0
        ? (filtered ? 'No assets match these filters.' : 'No assets yet. Upload some!')
        : `${count}${cursor ? '+' : ''} asset${count === 1 ? '' : 's'}${filtered ? (count === 1 && !cursor ? ' matches' : ' match') : ''}`;
    } catch (e) {
      if (e.name === 'AbortError') return;
      status.textContent = `Could not list assets: ${e.message}`;
    } finally {
      if (my === gen) loading = false;
    }
  }

  const apply = () => {
    f.q = search.value.trim(); f.kind = kind.value; f.state = state.value; f.project = project.value.trim();
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v) p.set(k, v);
    const s = p.toString();
    history.replaceState(null, '', '#/' + (s ? '?' + s : ''));
    load(true);
  };
  const later = debounce(apply, 250);
  search.addEventListener('input', later);
  project.addEventListener('input', later);
  kind.addEventListener('change', apply);
  state.addEventListener('change', apply);
  form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
  more.addEventListener('click', () => load(false));

  const io = new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting) && cursor && !loading) load(false);
  }, { rootMargin: '600px' });
  io.observe(sentinel);
  ctx.onCleanup(() => { io.disconnect(); if (ctrl) ctrl.abort(); });

  // Assets still being processed update in place.
  const timer = setInterval(async () => {
    const busy = [...list.children].filter((li) => BUSY.has(li.stateEl.textContent)).slice(0, 12);
    for (const li of busy) {
      try {
        const a = await A.asset(li.dataset.id);
        if (a.state !== li.stateEl.textContent) li.replaceWith(card(a));
      } catch { /* next round */ }
    }
  }, 3000);
  ctx.onCleanup(() => clearInterval(timer));

  await load(true);
}
