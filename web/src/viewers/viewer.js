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

// mount renders the viewer into el and returns a cleanup function.
export async function mount(el, a, derivs) {
  const links = a.links || {};
  switch (a.kind) {
    case 'image':
    case 'raw': {
      if (links.iiif) {
        const { deepZoom } = await import('./image.js');
        try {
          return await deepZoom(el, links.iiif, a.filename);
        } catch (e) {
          console.warn('deep zoom unavailable:', e);
        }
      }
      const access = deriv(derivs, 'access', 'thumb-1024', 'thumb-1024-jpg');
      let src = access && url(access.url);
      if (!src && BROWSER_IMAGES.has(a.content_type)) src = url(links.original);
      if (!src && links.thumbnail) src = url(links.thumbnail);
      if (!src) { el.append(fallback(a, 'No preview of this image yet.')); return null; }
      el.append(h('figure', { class: 'still' }, h('img', { src, alt: a.filename, class: 'still-img', decoding: 'async' })));
      return null;
    }
    case 'video': {
      const poster = deriv(derivs, 'poster');
      const v = h('video', {
        controls: true, preload: 'metadata', playsinline: true, class: 'player',
        poster: poster ? url(poster.url) : null, 'aria-label': `Video: ${a.filename}`,
      });
      el.append(v);
      if (links.hls) {
        const { playHLS } = await import('./video.js');
        return playHLS(v, url(links.hls));
      }
      const mp4 = deriv(derivs, 'mp4', 'progressive');
      v.src = mp4 ? url(mp4.url) : url(links.original);
      return () => { v.pause(); v.removeAttribute('src'); v.load(); };
    }
    case 'audio': {
      const access = deriv(derivs, 'aac', 'audio', 'access');
      const wave = deriv(derivs, 'waveform', 'waveform-png');
      const au = h('audio', { controls: true, preload: 'metadata', class: 'player-audio', src: access ? url(access.url) : url(links.original), 'aria-label': `Audio: ${a.filename}` });
      el.append(h('div', { class: 'audio' },
        wave && wave.content_type.startsWith('image/') ? h('img', { class: 'waveform', src: url(wave.url), alt: 'Waveform' }) : icon('audio'),
        au));
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
      el.append(fallback(a, 'stor has no viewer for this kind of file.'));
      return null;
  }
}
