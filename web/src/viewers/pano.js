// 360° panoramas with Pannellum 2.5.7 (WebGL): equirectangular images are
// fetched through IIIF at a size every GPU takes (at most 4096 px wide), so
// an 80-megapixel panorama never reaches the browser whole. Pannellum's own
// stylesheet loads with it (a separate file, like Uppy's).
import 'pannellum/build/pannellum.js';
import { url } from '../api.js';
import { h } from '../dom.js';

function loadCSS() {
  const href = document.documentElement.dataset.panoCss;
  if (!href || document.querySelector(`link[href="${href}"]`)) return Promise.resolve();
  return new Promise((resolve) => {
    const l = h('link', { rel: 'stylesheet', href });
    l.addEventListener('load', resolve, { once: true });
    l.addEventListener('error', resolve, { once: true });
    document.head.append(l);
  });
}

// isPanorama says whether an image is an equirectangular panorama: XMP
// GPano:ProjectionType when the file has it, else a 2:1 aspect ratio.
export function isPanorama(a, md) {
  const xmp = (md && md.xmp) || {};
  for (const [k, v] of Object.entries(xmp)) {
    if (/(^|:)ProjectionType$/i.test(k)) {
      const p = String((v && (v.raw ?? v.display)) ?? v).toLowerCase();
      return p === 'equirectangular';
    }
  }
  if (!a.width || !a.height || a.width < 1000) return false;
  return Math.abs(a.width / a.height - 2) < 0.01;
}

// panoSource is the image Pannellum gets: IIIF scaled to 4096 px wide at
// most, else the access copy or the original.
export function panoSource(a, derivs) {
  if (a.links && a.links.iiif) {
    const base = url(a.links.iiif).replace(/\/info\.json$/, '');
    return `${base}/full/${Math.min(4096, a.width || 4096)},/0/default.jpg`;
  }
  const acc = derivs.find((d) => d.name === 'access' || d.name === 'thumb-1024-jpg');
  return url(acc ? acc.url : a.links.original);
}

export async function panorama(el, a, derivs) {
  await loadCSS();
  const box = h('div', { class: 'pano', id: 'pano', tabindex: '0', role: 'application',
    'aria-label': `360° panorama: ${a.filename}. Drag or use the arrow keys to look around, + and - to zoom.` });
  el.append(box);
  el.dataset.viewer = 'pannellum';
  const viewer = window.pannellum.viewer(box, {
    type: 'equirectangular',
    panorama: panoSource(a, derivs),
    autoLoad: true,
    showFullscreenCtrl: true,
    compass: false,
    crossOrigin: 'use-credentials',
    hfov: 100,
  });
  viewer.on('load', () => { el.dataset.loaded = 'true'; });
  viewer.on('error', (msg) => { el.dataset.error = String(msg); });
  return () => viewer.destroy();
}
