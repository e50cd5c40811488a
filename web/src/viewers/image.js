// Deep zoom over IIIF Image API 3.0 with OpenSeadragon. info.json is
// fetched here (with the session cookie) and its id pointed at this origin,
// so tile requests stay same-origin whatever public URL the server names.
import OpenSeadragon from 'openseadragon';
import { url } from '../api.js';
import { h, icon } from '../dom.js';

export async function deepZoom(el, infoURL, label) {
  const res = await fetch(url(infoURL), { credentials: 'same-origin', headers: { Accept: 'application/ld+json, application/json' } });
  if (!res.ok) throw new Error(`info.json: HTTP ${res.status}`);
  const info = await res.json();
  const base = url(info.id || info['@id'] || infoURL.replace(/\/info\.json$/, ''));
  if (info.id) info.id = location.origin + base;
  if (info['@id']) info['@id'] = location.origin + base;

  const box = h('div', { class: 'osd', id: 'osd', tabindex: '0', role: 'application', 'aria-label': `Zoomable image: ${label}. Use + and - to zoom, arrow keys to pan, 0 to reset.` });
  const btn = (name, title, fn) => h('button', { type: 'button', title, 'aria-label': title, onclick: fn }, icon(name));
  let viewer;
  const controls = h('div', { class: 'osd-controls', role: 'toolbar', 'aria-label': 'Zoom controls' },
    btn('zoom-in', 'Zoom in', () => viewer.viewport.zoomBy(1.5).applyConstraints()),
    btn('zoom-out', 'Zoom out', () => viewer.viewport.zoomBy(1 / 1.5).applyConstraints()),
    btn('home', 'Fit to screen', () => viewer.viewport.goHome()),
    btn('fullscreen', 'Full screen', () => viewer.setFullScreen(!viewer.isFullPage())));
  el.append(h('div', { class: 'osd-wrap' }, box, controls));
  viewer = OpenSeadragon({
    element: box,
    tileSources: info,
    showNavigationControl: false,
    showNavigator: true,
    navigatorPosition: 'BOTTOM_RIGHT',
    drawer: 'canvas',
    crossOriginPolicy: false,
    loadTilesWithAjax: false,
    visibilityRatio: 0.5,
    maxZoomPixelRatio: 2,
    gestureSettingsMouse: { clickToZoom: false },
  });
  box.addEventListener('keydown', (ev) => {
    if (ev.key === '0') { viewer.viewport.goHome(); ev.preventDefault(); }
  });
  el.dataset.viewer = 'openseadragon';
  return () => viewer.destroy();
}
