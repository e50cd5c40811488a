// Documents (PDF, Office, multipage TIFF): a strip of page thumbnails from
// GET /api/v1/assets/{id}/pages, the chosen page shown in deep zoom over
// its own IIIF image ({id}~pN), or as its page image when there is no
// IIIF. Arrow keys, Home and End move through the pages. Returns false
// when no page is rendered yet.
import { A, items, url } from '../api.js';
import { clear, h } from '../dom.js';

export async function pageStrip(el, a) {
  let pages;
  try {
    pages = items(await A.pages(a.id)).filter((p) => p.image || p.iiif);
  } catch {
    return false;
  }
  if (pages.length === 0) return false;

  const stage = h('div', { class: 'page-stage', id: 'page-stage' });
  const label = h('p', { class: 'page-label', id: 'page-label', 'aria-live': 'polite' });
  const strip = h('ol', { class: 'page-strip', 'aria-label': 'Pages', id: 'page-strip' });
  let cleanup = null;
  let current = 0;
  let seq = 0;
  const buttons = [];
  const show = async (i, focus) => {
    const my = ++seq;
    current = i;
    const p = pages[i];
    buttons.forEach((b, j) => {
      if (j === i) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
      b.tabIndex = j === i ? 0 : -1;
    });
    if (focus) { buttons[i].focus(); buttons[i].scrollIntoView({ block: 'nearest', inline: 'nearest' }); }
    label.textContent = `Page ${p.page} of ${pages.length}`;
    if (cleanup) { try { cleanup(); } catch { /* gone */ } cleanup = null; }
    clear(stage);
    stage.dataset.page = String(p.page);
    if (p.iiif) {
      try {
        const { deepZoom } = await import('./image.js');
        if (my !== seq) return;
        const c = await deepZoom(stage, p.iiif, `page ${p.page} of ${a.filename}`);
        if (my !== seq) { c(); return; }
        cleanup = c;
        return;
      } catch (e) {
        if (my !== seq) return;
        console.warn('page deep zoom unavailable:', e);
        clear(stage);
      }
    }
    stage.append(h('img', { class: 'page-img', src: url(p.image), alt: `Page ${p.page} of ${a.filename}` }));
  };
  pages.forEach((p, i) => {
    const b = h('button', { type: 'button', class: 'page-thumb', 'aria-label': `Page ${p.page}`, tabindex: -1 },
      h('img', { src: url(p.thumbnail || p.image), alt: '', loading: 'lazy', width: 64 }), h('span', null, String(p.page)));
    b.addEventListener('click', () => show(i, false));
    buttons.push(b);
    strip.append(h('li', null, b));
  });
  strip.addEventListener('keydown', (ev) => {
    const next = { ArrowRight: current + 1, ArrowDown: current + 1, ArrowLeft: current - 1, ArrowUp: current - 1, Home: 0, End: pages.length - 1 }[ev.key];
    if (next == null) return;
    ev.preventDefault();
    show(Math.max(0, Math.min(pages.length - 1, next)), true);
  });
  el.append(h('div', { class: 'document' }, stage, label, strip));
  el.dataset.viewer = 'pages';
  await show(0, false);
  return () => { seq++; if (cleanup) cleanup(); };
}
