// Tiny DOM helpers: h() builds elements, so no markup string ever carries
// data (nothing from the API is parsed as HTML).

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
      else if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'indeterminate') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
// 24×24 outline icons, one path each.
const ICONS = {
  image: 'M4 5h16v14H4z M4 16l5-5 4 4 3-3 4 4 M15 9.5a1.5 1.5 0 1 0 0 .01',
  raw: 'M4 5h16v14H4z M4 16l5-5 4 4 3-3 4 4 M7 8h3',
  video: 'M4 6h12v12H4z M16 10l5-3v10l-5-3',
  audio: 'M9 18V6l10-2v12 M9 18a2.5 2.5 0 1 1-5 0a2.5 2.5 0 1 1 5 0 M19 16a2.5 2.5 0 1 1-5 0a2.5 2.5 0 1 1 5 0',
  document: 'M6 3h8l4 4v14H6z M14 3v4h4 M9 12h6 M9 15h6 M9 18h4',
  other: 'M6 3h8l4 4v14H6z M14 3v4h4',
  'zoom-in': 'M12 5v14 M5 12h14',
  'zoom-out': 'M5 12h14',
  home: 'M4 9V4h5 M20 9V4h-5 M4 15v5h5 M20 15v5h-5',
  fullscreen: 'M9 4H4v5 M15 4h5v5 M9 20H4v-5 M15 20h5v-5 M4 4l6 6 M20 4l-6 6 M4 20l6-6 M20 20l-6-6',
};

export function icon(kind, label) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', ICONS[kind] || ICONS.other);
  svg.append(p);
  return svg;
}

export function bytes(n) {
  if (n == null) return '';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < u.length - 1) { v /= 1000; i++; }
  return (i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)) + ' ' + u[i];
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

export function duration(sec) {
  if (sec == null) return '';
  const s = Math.round(sec);
  const m = Math.floor(s / 60);
  const hh = Math.floor(m / 60);
  const pad = (x) => String(x).padStart(2, '0');
  return hh ? `${hh}:${pad(m % 60)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

export function badge(state) {
  return h('span', { class: `badge state-${state}` }, state);
}

// Announces a message to screen readers and shows it briefly.
export function toast(msg, kind = 'info') {
  let box = document.getElementById('toasts');
  if (!box) {
    box = h('div', { id: 'toasts', role: 'status', 'aria-live': 'polite' });
    document.body.append(box);
  }
  const t = h('div', { class: `toast toast-${kind}` }, msg);
  box.append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
}

export function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// turns guards loads that may overlap (a reload after an action while an
// earlier one is in flight): each load takes a turn when it starts, and
// its turn() says whether it is still the newest; an older answer that
// arrives late is dropped instead of overwriting a newer one.
export function turns() {
  let n = 0;
  return () => { const my = ++n; return () => my === n; };
}
