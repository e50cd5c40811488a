// A page strip for documents: page images from the derivatives named
// page-N (any suffix), the chosen page shown large, deep-zoomable when the
// asset has IIIF. Returns false when there are no page images.
import { url } from '../api.js';
import { clear, h } from '../dom.js';

export async function pageStrip(el, a, derivs) {
  const byPage = new Map();
  for (const d of derivs) {
    const m = d.name.match(/^page-(\d+)(?:-(.+))?$/);
    if (!m || !d.content_type.startsWith('image/')) continue;
    const n = Number(m[1]);
    const cur = byPage.get(n);
    // Prefer the smallest image of a page for the strip, the largest for the view.
    const e = cur || { n, small: d, large: d };
    if ((d.width || 0) < (e.small.width || Infinity)) e.small = d;
    if ((d.width || 0) > (e.large.width || 0)) e.large = d;
    byPage.set(n, e);
  }
  const pages = [...byPage.values()].sort((x, y) => x.n - y.n);
  if (pages.length === 0) return false;

  const stage = h('div', { class: 'page-stage' });
  const strip = h('ol', { class: 'page-strip', 'aria-label': 'Pages' });
  let cleanup = null;
  const show = async (p, btn) => {
    for (const b of strip.querySelectorAll('button')) b.removeAttribute('aria-current');
    btn.setAttribute('aria-current', 'true');
    if (cleanup) { cleanup(); cleanup = null; }
    clear(stage);
    stage.append(h('img', { class: 'page-img', src: url(p.large.url), alt: `Page ${p.n} of ${a.filename}` }));
  };
  for (const p of pages) {
    const b = h('button', { type: 'button', class: 'page-thumb', 'aria-label': `Page ${p.n}` },
      h('img', { src: url(p.small.url), alt: '', loading: 'lazy' }), h('span', null, String(p.n)));
    b.addEventListener('click', () => show(p, b));
    strip.append(h('li', null, b));
  }
  el.append(h('div', { class: 'document' }, stage, strip));
  show(pages[0], strip.querySelector('button'));
  el.dataset.viewer = 'pages';
  return () => { if (cleanup) cleanup(); };
}
