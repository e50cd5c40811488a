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

// waveform draws the audio's waveform image with the part played shaded
// and a playhead at the current position. It is a slider: a click seeks
// there, and from the keyboard ←/→ move 5 s, PageUp/PageDown a tenth,
// Home/End to the ends.
function waveform(au, src, name) {
  const played = h('div', { class: 'wave-played' });
  const head = h('div', { class: 'playhead', id: 'playhead' });
  const box = h('div', {
    class: 'wave', id: 'wave', role: 'slider', tabindex: '0', 'aria-label': `Position in ${name}`,
    'aria-valuemin': '0', 'aria-valuemax': '0', 'aria-valuenow': '0',
  }, h('img', { class: 'waveform', src, alt: `Waveform of ${name}`, draggable: 'false' }), played, head);
  const dur = () => (Number.isFinite(au.duration) ? au.duration : 0);
  const fmt = (t) => `${Math.floor(t / 60)}:${String(Math.floor(t % 60)).padStart(2, '0')}`;
  let raf = 0;
  const draw = () => {
    const d = dur();
    const p = d ? Math.min(1, au.currentTime / d) : 0;
    head.style.left = `${(p * 100).toFixed(3)}%`;
    played.style.width = `${(p * 100).toFixed(3)}%`;
    box.dataset.position = p.toFixed(4);
    box.setAttribute('aria-valuemax', d.toFixed(1));
    box.setAttribute('aria-valuenow', au.currentTime.toFixed(1));
    box.setAttribute('aria-valuetext', `${fmt(au.currentTime)} of ${fmt(d)}`);
  };
  const tick = () => { draw(); raf = au.paused ? 0 : requestAnimationFrame(tick); };
  for (const ev of ['timeupdate', 'seeked', 'loadedmetadata', 'durationchange', 'pause']) au.addEventListener(ev, draw);
  au.addEventListener('play', () => { if (!raf) raf = requestAnimationFrame(tick); });
  const seek = (t) => {
    const d = dur();
    if (!d) return;
    au.currentTime = Math.max(0, Math.min(d, t));
    draw();
  };
  box.addEventListener('click', (ev) => {
    const r = box.getBoundingClientRect();
    seek(((ev.clientX - r.left) / r.width) * dur());
  });
  box.addEventListener('keydown', (ev) => {
    const d = dur();
    const step = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -d / 10, PageUp: d / 10 }[ev.key];
    if (step != null) seek(au.currentTime + step);
    else if (ev.key === 'Home') seek(0);
    else if (ev.key === 'End') seek(d);
    else return;
    ev.preventDefault();
  });
  draw();
  return box;
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
async function panoOrFlat(el, a, derivs, md) {
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
      cleanup = await panorama(stage, a, derivs, md);
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
        if (isPanorama(a, md)) return panoOrFlat(el, a, derivs, md);
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
      el.append(h('div', { class: 'audio' }, wave ? waveform(au, url(wave.url), a.filename) : icon('audio'), au));
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
