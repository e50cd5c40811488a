// Picks the viewer for an asset's kind and what exists for it; each viewer
// degrades to the next best thing (IIIF deep zoom → access copy → original
// the browser can show → thumbnail → the kind's icon).
import { url } from '../api.js';
import { h, icon } from '../dom.js';

const BROWSER_IMAGES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'image/svg+xml']);

function deriv(derivs, ...names) {
  for (const n of names) {
    const d = derivs.find((x) => x.name === n);
    if (d) return d;
  }
  return null;
}

function fallback(a, msg) {
  return h('div', { class: 'viewer-empty' }, icon(a.kind), h('p', null, msg),
    h('a', { class: 'button', href: url(a.links.original) + '?download=1' }, 'Download the original'));
}

async function flatImage(el, a, derivs) {
  const links = a.links || {};
  if (links.iiif) {
    const { deepZoom } = await import('./image.js');
    try {
      return await deepZoom(el, links.iiif, a.filename);
    } catch (e) {
      console.warn('deep zoom unavailable:', e);
    }
  }
  const access = deriv(derivs, 'access', 'thumb-1024-jpg', 'thumb-1024');
  let src = access && url(access.url);
  if (!src && BROWSER_IMAGES.has(a.content_type)) src = url(links.original);
  if (!src && links.thumbnail) src = url(links.thumbnail);
  if (!src) { el.append(fallback(a, 'No preview of this image yet.')); return null; }
  el.append(h('figure', { class: 'still' }, h('img', { src, alt: a.filename, class: 'still-img', decoding: 'async' })));
  el.dataset.viewer = 'img';
  return null;
}

// A panorama opens in the 360° viewer, with a switch to the flat image
// (and back): a 2:1 image is not always a panorama.
async function panoOrFlat(el, a, derivs) {
  const stage = h('div', { class: 'viewer-stage' });
  const toggle = h('button', { type: 'button', class: 'view-toggle', id: 'view-toggle', 'aria-pressed': 'true' }, '360° view');
  el.append(stage, toggle);
  el.classList.add('with-toggle');
  let cleanup = null;
  let pano = true;
  const show = async () => {
    if (cleanup) { try { cleanup(); } catch { /* gone */ } cleanup = null; }
    stage.replaceChildren();
    delete stage.dataset.viewer;
    toggle.setAttribute('aria-pressed', String(pano));
    toggle.textContent = pano ? '360° view: on' : '360° view: off';
    if (pano) {
      const { panorama } = await import('./pano.js');
      cleanup = await panorama(stage, a, derivs);
    } else {
      cleanup = await flatImage(stage, a, derivs);
    }
    el.dataset.viewer = stage.dataset.viewer || '';
  };
  toggle.addEventListener('click', () => { pano = !pano; show(); });
  await show();
  return () => { if (cleanup) cleanup(); };
}

// mount renders the viewer into el and returns a cleanup function.
export async function mount(el, a, derivs, md) {
  const links = a.links || {};
  switch (a.kind) {
    case 'image':
    case 'raw': {
      if (a.state === 'ready' || links.iiif) {
        const { isPanorama } = await import('./pano.js');
        if (isPanorama(a, md)) return panoOrFlat(el, a, derivs);
      }
      return flatImage(el, a, derivs);
    }
    case 'video': {
      const poster = deriv(derivs, 'poster');
      const box = h('div', { class: 'video-box' });
      const v = h('video', {
        controls: true, preload: 'metadata', playsinline: true, class: 'player',
        poster: poster ? url(poster.url) : null, 'aria-label': `Video: ${a.filename}`,
      });
      box.append(v);
      el.append(box);
      el.dataset.viewer = 'video';
      // The master playlist appears with the first segments (the ladder is
      // playable while it transcodes); until then, say so.
      let hlsOK = false;
      if (links.hls) {
        try { hlsOK = (await fetch(url(links.hls), { credentials: 'same-origin' })).ok; } catch { hlsOK = false; }
      }
      let stop;
      if (hlsOK) {
        const { playHLS } = await import('./video.js');
        stop = playHLS(v, url(links.hls));
      } else {
        const mp4 = deriv(derivs, 'mp4');
        if (mp4) v.src = url(mp4.url);
        else if (a.state !== 'ready') box.append(h('p', { class: 'viewer-note', role: 'status' }, 'The video is being prepared; it plays as soon as the first segments are ready.'));
        else v.src = url(links.original);
        stop = () => { v.pause(); v.removeAttribute('src'); v.load(); };
      }
      if (deriv(derivs, 'storyboard.vtt')) {
        const { storyboard } = await import('./video.js');
        storyboard(box, v, url(deriv(derivs, 'storyboard.vtt').url)).catch((e) => console.warn(e));
      }
      return () => { if (stop) stop(); };
    }
    case 'audio': {
      const access = deriv(derivs, 'audio-access');
      const wave = deriv(derivs, 'waveform.png');
      const au = h('audio', { controls: true, preload: 'metadata', class: 'player-audio', src: access ? url(access.url) : url(links.original), 'aria-label': `Audio: ${a.filename}` });
      el.append(h('div', { class: 'audio' },
        wave ? h('img', { class: 'waveform', src: url(wave.url), alt: `Waveform of ${a.filename}` }) : icon('audio'),
        au));
      el.dataset.viewer = 'audio';
      return () => au.pause();
    }
    case 'document': {
      const { pageStrip } = await import('./document.js');
      const done = await pageStrip(el, a, derivs);
      if (done !== false) return done;
      el.append(fallback(a, a.page_count ? `${a.page_count} page${a.page_count === 1 ? '' : 's'}; no page images yet.` : 'No page images of this document yet.'));
      return null;
    }
    default:
      if (links.pages) {
        const { pageStrip } = await import('./document.js');
        const done = await pageStrip(el, a, derivs);
        if (done !== false) return done;
      }
      el.append(fallback(a, 'stor has no viewer for this kind of file.'));
      return null;
  }
}
