import { A, items, url } from '../api.js';
import { append, badge, bytes, clear, debounce, h, icon } from '../dom.js';

const KINDS = ['image', 'raw', 'video', 'audio', 'document', 'other'];
const STATES = ['uploading', 'stored', 'processing', 'ready', 'failed', 'deleted'];
const BUSY = new Set(['uploading', 'stored', 'processing']);
const PAGE = 50;

// thumb shows links.thumbnail, or the kind's icon when there is none or it
// fails to load. opts.eager loads it at once (the first page of the grid:
// those are on screen, or about to be); opts.onload runs when it loaded or
// failed.
export function thumb(a, opts = {}) {
  const box = h('div', { class: 'thumb' });
  const fallback = () => { clear(box).append(icon(a.kind, a.kind)); box.classList.add('no-thumb'); };
  const t = a.links && a.links.thumbnail;
  if (t) {
    const img = h('img', { src: url(t), alt: '', loading: opts.eager ? 'eager' : 'lazy', decoding: 'async', draggable: 'false' });
    if (opts.onload) {
      img.addEventListener('load', opts.onload, { once: true });
      img.addEventListener('error', opts.onload, { once: true });
    }
    img.addEventListener('error', fallback, { once: true });
    box.append(img);
  } else {
    fallback();
  }
  return box;
}

// card is one tile of the grid; with opts.select (the user may change
// assets) a checkbox before the tile's link selects it for bulk actions.
function card(a, opts = {}) {
  const st = badge(a.state);
  const li = h('li', { dataset: { id: a.id } },
    opts.select ? h('label', { class: 'tile-select', title: `Select ${a.filename}` },
      h('input', { type: 'checkbox', id: `sel-${a.id}`, class: 'sel', checked: opts.selected && opts.selected.has(a.id), 'aria-label': `Select ${a.filename}` })) : null,
    h('a', { class: 'tile', href: `#/assets/${encodeURIComponent(a.id)}` },
      thumb(a, opts),
      h('span', { class: 'tile-name', title: a.filename }, a.filename),
      h('span', { class: 'tile-meta' }, st, h('span', { class: 'muted' }, `${a.format || a.kind} · ${bytes(a.size)}`))));
  if (opts.selected && opts.selected.has(a.id)) li.classList.add('selected');
  li.stateEl = st;
  return li;
}

// FILTERS are the listing parameters the grid keeps in the URL.
const FILTERS = ['q', 'kind', 'state', 'project', 'tag', 'collection', 'captured_after', 'captured_before', 'sort'];

// listQuery is the listing request of the grid's first page for the
// filters f.
function listQuery(f) {
  const query = { ...f, limit: PAGE };
  if (!f.q) delete query.sort;
  return query;
}

// prefetchGrid starts the first page's listing while the app still asks
// who is signed in (main.js calls it at boot on the grid's URL), so the
// two requests do not wait for each other; gridPage takes the answer.
let prefetched = null;
export function prefetchGrid(params) {
  const f = {};
  for (const k of FILTERS) f[k] = params.get(k) || '';
  const query = listQuery(f);
  const p = A.assets(query);
  p.catch(() => { /* signed out, or gridPage asks again */ });
  prefetched = { key: JSON.stringify(query), p };
}
function takePrefetched(query) {
  const pf = prefetched;
  prefetched = null;
  return pf && pf.key === JSON.stringify(query) ? pf.p.catch(() => null) : null;
}

function field(id, label, control, cls) {
  return h('div', { class: `field${cls ? ' ' + cls : ''}` }, h('label', { for: id }, label), control);
}

// The asset grid: search, filters and sort kept in the URL, 50 per request,
// the next page fetched as the end of the list scrolls into view.
export async function gridPage(main, ctx) {
  const q = ctx.query;
  const f = {};
  for (const k of FILTERS) f[k] = q.get(k) || '';

  const search = h('input', { id: 'f-q', type: 'search', name: 'q', value: f.q, placeholder: 'Words in names, metadata, tags, text', autocomplete: 'off' });
  const kind = h('select', { id: 'f-kind', name: 'kind' }, h('option', { value: '' }, 'Any kind'),
    KINDS.map((k) => h('option', { value: k, selected: f.kind === k }, k)));
  const state = h('select', { id: 'f-state', name: 'state' }, h('option', { value: '' }, 'Any state'),
    STATES.map((s) => h('option', { value: s, selected: f.state === s }, s)));
  const project = h('input', { id: 'f-project', name: 'project', value: f.project, placeholder: 'Any project', autocomplete: 'off', size: 10 });
  const tagList = h('datalist', { id: 'f-tag-list' });
  const tag = h('input', { id: 'f-tag', name: 'tag', value: f.tag, placeholder: 'Any tag', autocomplete: 'off', list: 'f-tag-list', size: 10 });
  const collection = h('select', { id: 'f-collection', name: 'collection' }, h('option', { value: '' }, 'Any collection'),
    f.collection ? h('option', { value: f.collection, selected: true }, f.collection) : null);
  const after = h('input', { id: 'f-after', type: 'date', name: 'captured_after', value: f.captured_after.slice(0, 10) });
  const before = h('input', { id: 'f-before', type: 'date', name: 'captured_before', value: f.captured_before.slice(0, 10) });
  const sort = h('select', { id: 'f-sort', name: 'sort' },
    h('option', { value: '' }, 'Best match'), h('option', { value: 'newest', selected: f.sort === 'newest' }, 'Newest first'));
  const clearBtn = h('button', { type: 'button', id: 'f-clear', class: 'link-dark' }, 'Clear filters');
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter assets' },
    field('f-q', 'Search', search, 'grow'),
    field('f-kind', 'Kind', kind), field('f-state', 'State', state), field('f-project', 'Project', project),
    field('f-tag', 'Tag', tag), tagList, field('f-collection', 'Collection', collection),
    h('fieldset', { class: 'field dates' }, h('legend', null, 'Captured'),
      h('div', { class: 'range' }, h('label', { for: 'f-after', class: 'sr-only' }, 'Captured on or after'), after,
        h('span', { 'aria-hidden': 'true' }, '–'), h('label', { for: 'f-before', class: 'sr-only' }, 'Captured before'), before)),
    field('f-sort', 'Sort', sort, 'sort'),
    h('div', { class: 'field' }, h('span', { class: 'label', 'aria-hidden': 'true' }, '\u00a0'), clearBtn));
  const status = h('p', { class: 'muted', role: 'status', 'aria-live': 'polite', id: 'grid-status' }, 'Loading…');
  const list = h('ul', { class: 'grid', id: 'grid', 'aria-label': 'Assets' });
  const more = h('button', { type: 'button', class: 'more', hidden: true }, 'Load more');
  const sentinel = h('div', { class: 'sentinel', 'aria-hidden': 'true' });
  const bulk = ctx.has('write') ? bulkBar() : null;
  main.append(h('div', { class: 'page-head' }, h('h1', null, 'Assets'),
    ctx.has('write') ? h('a', { class: 'button primary', href: '#/upload' }, 'Upload') : null),
  form, status, bulk && bulk.el, list, more, sentinel);

  // Collections for the filter, tags for the suggestions: neither blocks the grid.
  const loadCollections = () => A.collections({ all: 1 }).then((r) => {
    const cs = items(r).sort((x, y) => x.name.localeCompare(y.name));
    append(clear(collection), [h('option', { value: '' }, 'Any collection'),
      cs.map((c) => h('option', { value: c.id, selected: f.collection === c.id }, c.name))]);
    if (bulk) bulk.setCollections(cs);
  }).catch(() => { /* the filter still works by id */ });

  // Tag suggestions (the 100 most used) load when the tag field is first
  // used, so they never slow the first page.
  tag.addEventListener('focus', () => {
    A.assets({ facets: 'tag', limit: 1 }).then((r) => {
      append(clear(tagList), Object.keys((r.facets && r.facets.tag) || {}).map((t) => h('option', { value: t })));
    }).catch(() => { /* no suggestions */ });
  }, { once: true });

  // Without words there is nothing to rank: newest first is the order;
  // typing the first words switches to the best match.
  let hadQ = !!f.q;
  const syncSort = () => {
    const hasQ = !!search.value.trim();
    sort.options[0].disabled = !hasQ;
    if (!hasQ) sort.value = 'newest';
    else if (!hadQ) sort.value = '';
    hadQ = hasQ;
  };
  syncSort();

  let cursor = null;
  let loading = false;
  let gen = 0;
  let count = 0;
  let ctrl = null;
  let marked = false;

  async function load(reset) {
    if (loading && !reset) return;
    const my = ++gen;
    if (ctrl) ctrl.abort();
    ctrl = new AbortController();
    loading = true;
    if (reset) { cursor = null; count = 0; }
    try {
      const query = listQuery(f);
      if (!reset) query.cursor = cursor;
      const r = (reset && await takePrefetched(query)) || await A.assets(query, ctrl.signal);
      if (my !== gen) return;
      if (reset) { clear(list); if (bulk) bulk.reset(); }
      const frag = document.createDocumentFragment();
      // The first page's thumbnails load at once; performance marks
      // 'stor:first-page-thumbs' when the last of them loaded (the UI's
      // speed check reads it: navigation start to the 50th thumbnail).
      let onload = null;
      if (reset && !marked) {
        marked = true;
        const want = r.items.filter((a) => a.links && a.links.thumbnail).length;
        let got = 0, failed = 0;
        onload = (ev) => {
          if (ev.type === 'error') failed++;
          if (++got === want) performance.mark('stor:first-page-thumbs', { detail: { count: want, failed } });
        };
      }
      for (const a of r.items) frag.append(card(a, { eager: reset, onload, select: !!bulk, selected: bulk && bulk.selected }));
      list.append(frag);
      if (bulk) bulk.sync();
      count += r.items.length;
      cursor = r.next_cursor;
      more.hidden = !cursor;
      const filtered = FILTERS.some((k) => k !== 'sort' && f[k]);
      status.textContent = count === 0
        ? (filtered ? 'No assets match these filters.' : 'No assets yet. Upload some!')
        : `${count}${cursor ? '+' : ''} asset${count === 1 ? '' : 's'}${filtered ? (count === 1 && !cursor ? ' matches' : ' match') : ''}`;
    } catch (e) {
      if (e.name === 'AbortError') return;
      status.textContent = '';
      if (reset) clear(list);
      status.append(h('span', { class: 'error', role: 'alert' }, `Could not list assets: ${e.message}`), ' ',
        h('button', { type: 'button', onclick: () => load(true) }, 'Try again'));
    } finally {
      if (my === gen) loading = false;
    }
  }

  const apply = () => {
    syncSort();
    Object.assign(f, {
      q: search.value.trim(), kind: kind.value, state: state.value, project: project.value.trim(), tag: tag.value.trim(),
      collection: collection.value, captured_after: after.value, captured_before: before.value,
      sort: search.value.trim() ? sort.value : '',
    });
    const p = new URLSearchParams();
    for (const k of FILTERS) if (f[k]) p.set(k, f[k]);
    const s = p.toString();
    history.replaceState(null, '', '#/' + (s ? '?' + s : ''));
    load(true);
  };
  const later = debounce(apply, 250);
  search.addEventListener('input', later);
  project.addEventListener('input', later);
  tag.addEventListener('input', later);
  for (const el of [kind, state, collection, after, before, sort]) el.addEventListener('change', apply);
  clearBtn.addEventListener('click', () => {
    search.value = ''; project.value = ''; tag.value = ''; after.value = ''; before.value = '';
    kind.value = ''; state.value = ''; collection.value = '';
    apply();
    search.focus();
  });
  form.addEventListener('submit', (ev) => { ev.preventDefault(); apply(); });
  more.addEventListener('click', () => load(false));

  const io = new IntersectionObserver((entries) => {
    // An entry may be stale (computed before the first page filled the
    // list), so the sentinel's place now decides.
    if (!entries.some((e) => e.isIntersecting) || !cursor || loading) return;
    if (sentinel.getBoundingClientRect().top > innerHeight + 600) return;
    load(false);
  }, { rootMargin: '600px' });
  io.observe(sentinel);
  ctx.onCleanup(() => { io.disconnect(); if (ctrl) ctrl.abort(); });

  // Assets still being processed update in place.
  const timer = setInterval(async () => {
    const busy = [...list.children].filter((li) => BUSY.has(li.stateEl.textContent)).slice(0, 12);
    for (const li of busy) {
      try {
        const a = await A.asset(li.dataset.id);
        if (a.state !== li.stateEl.textContent) li.replaceWith(card(a, { select: !!bulk, selected: bulk && bulk.selected }));
      } catch { /* next round */ }
    }
  }, 3000);
  ctx.onCleanup(() => clearInterval(timer));

  // The collections (for the filter and the bulk bar) are asked for once
  // the first page is listed, so they never hold up its thumbnails.
  await load(true);
  loadCollections();

  // bulkBar: select tiles (a checkbox each; shift-click or shift-space
  // selects the range from the last one; "select all on this page"), then
  // add or remove tags on all of them (POST /api/v1/tags) or add them to a
  // collection (its members, then these appended).
  function bulkBar() {
    const selected = new Set();
    let anchor = null;
    let shiftHeld = false;
    let colls = [];
    const all = h('input', { type: 'checkbox', id: 'select-all' });
    const count = h('span', { id: 'bulk-count', class: 'bulk-count', 'aria-live': 'polite' }, 'None selected');
    const tags = h('input', { id: 'bulk-tags', autocomplete: 'off', placeholder: 'tag, another', size: 14, list: 'f-tag-list' });
    const addT = h('button', { type: 'button', id: 'bulk-tag-add' }, 'Add tags');
    const remT = h('button', { type: 'button', id: 'bulk-tag-remove' }, 'Remove tags');
    const coll = h('select', { id: 'bulk-coll' }, h('option', { value: '' }, 'Choose a collection'));
    const addC = h('button', { type: 'button', id: 'bulk-coll-add' }, 'Add to collection');
    const none = h('button', { type: 'button', id: 'bulk-clear', class: 'link-dark' }, 'Clear selection');
    const note = h('p', { id: 'bulk-note', class: 'bulk-note', role: 'status', 'aria-live': 'polite' });
    const el = h('div', { class: 'bulk', id: 'bulk', role: 'region', 'aria-label': 'Bulk actions on the selected assets' },
      h('label', { class: 'check bulk-all', for: 'select-all' }, all, 'Select all on this page'),
      count,
      h('span', { class: 'bulk-group' }, h('label', { for: 'bulk-tags', class: 'inline' }, 'Tags'), tags, addT, remT),
      h('span', { class: 'bulk-group' }, h('label', { for: 'bulk-coll', class: 'sr-only' }, 'Collection'), coll, addC),
      none, note);
    const boxes = () => [...list.querySelectorAll('input.sel')];
    function sync() {
      const n = selected.size;
      count.textContent = n ? `${n} selected` : 'None selected';
      const bs = boxes();
      const on = bs.filter((b) => b.checked).length;
      all.checked = bs.length > 0 && on === bs.length;
      all.indeterminate = on > 0 && on < bs.length;
      for (const b of [addT, remT, addC, none]) b.disabled = n === 0;
      el.classList.toggle('active', n > 0);
    }
    function set(box, on) {
      box.checked = on;
      const li = box.closest('li');
      li.classList.toggle('selected', on);
      if (on) selected.add(li.dataset.id); else selected.delete(li.dataset.id);
    }
    list.addEventListener('click', (ev) => {
      const box = ev.target.closest && ev.target.closest('input.sel');
      if (!box) return;
      const bs = boxes();
      const i = bs.indexOf(box);
      if ((ev.shiftKey || shiftHeld) && anchor && bs.includes(anchor)) {
        const j = bs.indexOf(anchor);
        for (let k = Math.min(i, j); k <= Math.max(i, j); k++) set(bs[k], box.checked);
      } else {
        set(box, box.checked);
      }
      anchor = box;
      sync();
    });
    const key = (ev) => { if (ev.key === 'Shift') shiftHeld = ev.type === 'keydown'; };
    document.addEventListener('keydown', key);
    document.addEventListener('keyup', key);
    window.addEventListener('blur', () => { shiftHeld = false; });
    ctx.onCleanup(() => { document.removeEventListener('keydown', key); document.removeEventListener('keyup', key); });
    list.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && selected.size) { clearSel(); note.textContent = 'Selection cleared.'; }
    });
    all.addEventListener('change', () => { for (const b of boxes()) set(b, all.checked); anchor = null; sync(); });
    function clearSel() { for (const b of boxes()) set(b, false); selected.clear(); anchor = null; sync(); }
    none.addEventListener('click', () => { clearSel(); all.focus(); });
    const words = () => tags.value.split(',').map((t) => t.trim()).filter(Boolean);
    async function tag(add) {
      const ts = words();
      if (!ts.length) { note.textContent = 'Type the tags first (commas between them).'; tags.focus(); return; }
      const ids = [...selected];
      note.textContent = 'Saving…';
      try {
        const r = await A.bulkTag(ids, add ? ts : [], add ? [] : ts);
        note.textContent = `${add ? 'Added' : 'Removed'} ${ts.join(', ')} ${add ? 'to' : 'from'} ${r.matched} asset${r.matched === 1 ? '' : 's'} (${r.changed} changed).`;
        tags.value = '';
      } catch (e) {
        note.textContent = '';
        note.append(h('span', { class: 'error' }, `Tags not changed: ${e.message}`));
      }
    }
    addT.addEventListener('click', () => tag(true));
    remT.addEventListener('click', () => tag(false));
    tags.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') { ev.preventDefault(); if (selected.size) tag(true); } });
    addC.addEventListener('click', async () => {
      const c = colls.find((x) => x.id === coll.value);
      if (!c) { note.textContent = 'Choose a collection first.'; coll.focus(); return; }
      note.textContent = 'Saving…';
      try {
        const have = items(await A.members(c.id)).map((m) => m.id);
        const add = [...selected].filter((id) => !have.includes(id));
        await A.setMembers(c.id, have.concat(add));
        note.textContent = `Added ${add.length} asset${add.length === 1 ? '' : 's'} to ${c.name}` +
          (add.length < selected.size ? ` (${selected.size - add.length} already in it).` : '.');
      } catch (e) {
        note.textContent = '';
        note.append(h('span', { class: 'error' }, `Not added: ${e.message}`));
      }
    });
    sync();
    return {
      el, selected,
      reset() { selected.clear(); anchor = null; note.textContent = ''; queueMicrotask(sync); },
      setCollections(cs) {
        colls = cs;
        const keep = coll.value;
        append(clear(coll), [h('option', { value: '' }, 'Choose a collection'), cs.map((c) => h('option', { value: c.id, selected: c.id === keep }, c.name))]);
      },
      sync,
    };
  }
}
