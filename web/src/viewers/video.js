// HLS playback: native where the browser has it (Safari), else hls.js over
// Media Source Extensions. The worker is off: the CSP allows no blob: scripts.
import Hls from 'hls.js';
import { url } from '../api.js';
import { duration, h } from '../dom.js';

export function playHLS(video, src) {
  if (video.canPlayType('application/vnd.apple.mpegurl') && !Hls.isSupported()) {
    video.src = src;
    video.dataset.player = 'native';
    return () => { video.pause(); video.removeAttribute('src'); video.load(); };
  }
  if (!Hls.isSupported()) {
    video.src = src;
    return null;
  }
  const hls = new Hls({ enableWorker: false, xhrSetup: (xhr) => { xhr.withCredentials = true; } });
  hls.on(Hls.Events.ERROR, (_e, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
    else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
    else hls.destroy();
  });
  hls.loadSource(src);
  hls.attachMedia(video);
  video.dataset.player = 'hls.js';
  return () => hls.destroy();
}

function parseTime(s) {
  const p = s.trim().split(':').map(Number);
  return p.reduce((acc, x) => acc * 60 + x, 0);
}

// parseStoryboard reads a WebVTT thumbnails track: cues whose text is
// "sprite.jpg#xywh=x,y,w,h".
export function parseStoryboard(vtt, vttURL) {
  const cues = [];
  for (const block of vtt.replace(/\r/g, '').split(/\n\n+/)) {
    const lines = block.split('\n').filter(Boolean);
    const i = lines.findIndex((l) => l.includes('-->'));
    if (i < 0 || !lines[i + 1]) continue;
    const [from, to] = lines[i].split('-->').map((x) => parseTime(x.split(' ').filter(Boolean)[0] || x));
    const m = lines[i + 1].trim().match(/^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/);
    if (!m) continue;
    const img = new URL(m[1], new URL(vttURL, document.baseURI)).href;
    cues.push({ from, to, img: url(img), x: +m[2], y: +m[3], w: +m[4], h: +m[5] });
  }
  return cues;
}

function sprite(c, scale) {
  const el = h('span', { class: 'sb-img', 'aria-hidden': 'true' });
  // Set through the CSSOM (not a style attribute), which the CSP allows.
  Object.assign(el.style, {
    width: `${c.w * scale}px`, height: `${c.h * scale}px`, backgroundImage: `url("${c.img}")`,
    backgroundPosition: `-${c.x * scale}px -${c.y * scale}px`,
    backgroundSize: `${c.sheetW * scale}px ${c.sheetH * scale}px`,
  });
  el.dataset.scale = String(scale);
  return el;
}

// storyboard adds the scrubbing aids under a video: a preview that follows
// the pointer over the timeline, and a strip of thumbnails, one per cue
// sampled to at most 20, each a button that seeks there.
export async function storyboard(box, video, vttURL) {
  const res = await fetch(url(vttURL), { credentials: 'same-origin' });
  if (!res.ok) throw new Error(`storyboard: HTTP ${res.status}`);
  const cues = parseStoryboard(await res.text(), vttURL);
  if (!cues.length) return;
  const sheetW = Math.max(...cues.map((c) => c.x + c.w));
  const sheetH = Math.max(...cues.map((c) => c.y + c.h));
  for (const c of cues) Object.assign(c, { sheetW, sheetH });
  const step = Math.max(1, Math.ceil(cues.length / 20));
  const shown = cues.filter((_, i) => i % step === 0);
  const strip = h('ol', { class: 'storyboard', id: 'storyboard', 'aria-label': 'Scenes' });
  for (const c of shown) {
    const b = h('button', { type: 'button', class: 'sb-thumb', 'aria-label': `Play from ${duration(c.from)}`, dataset: { t: c.from } },
      sprite(c, 0.5), h('span', { class: 'sb-time' }, duration(c.from)));
    b.addEventListener('click', () => {
      video.currentTime = c.from + 0.01;
      video.play().catch(() => { /* autoplay rules: the position is set anyway */ });
    });
    strip.append(h('li', null, b));
  }
  // The pointer preview over the lower part of the video (its timeline).
  const preview = h('div', { class: 'sb-preview', hidden: true, id: 'sb-preview', 'aria-hidden': 'true' });
  box.append(preview);
  const previewAt = (ev) => {
    const r = video.getBoundingClientRect();
    const frac = (ev.clientX - r.left) / r.width;
    if (ev.clientY < r.bottom - 48 || frac < 0 || frac > 1 || !video.duration) { preview.hidden = true; return; }
    const t = frac * video.duration;
    const c = cues.find((x) => t >= x.from && t < x.to) || cues[cues.length - 1];
    preview.replaceChildren(sprite(c, 1), h('span', { class: 'sb-time' }, duration(t)));
    preview.style.left = `${Math.max(0, Math.min(r.width - c.w, ev.clientX - r.left - c.w / 2))}px`;
    preview.hidden = false;
  };
  video.addEventListener('pointermove', previewAt);
  video.addEventListener('pointerleave', () => { preview.hidden = true; });
  // The strip marks the scene playing.
  let last = null;
  video.addEventListener('timeupdate', () => {
    let cur = null;
    for (const b of strip.querySelectorAll('button')) if (Number(b.dataset.t) <= video.currentTime + 0.05) cur = b;
    if (cur === last) return;
    if (last) last.removeAttribute('aria-current');
    if (cur) cur.setAttribute('aria-current', 'true');
    last = cur;
  });
  box.after(strip);
}
