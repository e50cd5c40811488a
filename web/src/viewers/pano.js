// 360° panoramas with Pannellum 2.5.7 (WebGL): equirectangular images are
// fetched through IIIF at a size every GPU takes (at most 4096 px wide), so
// an 80-megapixel panorama never reaches the browser whole; cube strips
// reach it as six IIIF regions, one per face. Pannellum's own
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

// panoKind says which 360° panorama an image is, or null:
// 'equirectangular' (XMP GPano:ProjectionType, else a 2:1 aspect ratio) or
// 'cubemap', six square faces in one strip (ProjectionType "cubemap"/"cube",
// else a 6:1 or 1:6 aspect ratio), read in Pannellum's face order: front,
// right, back, left, up, down. A cube needs the IIIF service (its faces are
// IIIF regions of the strip), so without one it is shown flat.
export function panoKind(a, md) {
  const xmp = (md && md.xmp) || {};
  let declared = '';
  for (const [k, v] of Object.entries(xmp)) {
    if (/(^|:)ProjectionType$/i.test(k)) {
      declared = String((v && (v.raw ?? v.display)) ?? v).toLowerCase();
    }
  }
  const w = a.width || 0, hh = a.height || 0;
  const strip = w > 0 && hh > 0 && (Math.abs(w / hh - 6) < 0.01 || Math.abs(hh / w - 6) < 0.01);
  const iiif = !!(a.links && a.links.iiif);
  if (declared === 'equirectangular') return 'equirectangular';
  if (declared === 'cubemap' || declared === 'cube') return strip && iiif ? 'cubemap' : null;
  if (declared) return null;
  if (!w || !hh || Math.max(w, hh) < 1000) return null;
  if (Math.abs(w / hh - 2) < 0.01) return 'equirectangular';
  if (strip && iiif) return 'cubemap';
  return null;
}

// isPanorama says whether an image opens in the 360° viewer.
export function isPanorama(a, md) {
  return panoKind(a, md) !== null;
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

// cubeFaces are the six faces of a cube strip as IIIF regions, each at
// most 2048 px square (what every GPU takes as a cube face).
export function cubeFaces(a) {
  const base = url(a.links.iiif).replace(/\/info\.json$/, '');
  const across = a.width > a.height;
  const s = across ? a.height : a.width;
  const size = Math.min(s, 2048);
  return [0, 1, 2, 3, 4, 5].map((i) => {
    const region = across ? `${i * s},0,${s},${s}` : `0,${i * s},${s},${s}`;
    return `${base}/${region}/${size},${size}/0/default.jpg`;
  });
}

export async function panorama(el, a, derivs, md) {
  await loadCSS();
  const box = h('div', { class: 'pano', id: 'pano', tabindex: '0', role: 'application',
    'aria-label': `360° panorama: ${a.filename}. Drag or use the arrow keys to look around, + and - to zoom.` });
  el.append(box);
  el.dataset.viewer = 'pannellum';
  const kind = panoKind(a, md) || 'equirectangular';
  el.dataset.projection = kind;
  const source = kind === 'cubemap'
    ? { type: 'cubemap', cubeMap: cubeFaces(a) }
    : { type: 'equirectangular', panorama: panoSource(a, derivs) };
  const viewer = window.pannellum.viewer(box, {
    ...source,
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
