// stor web UI: a hash-routed single-page app. The grid, sign-in and admin
// pages are in this bundle; the upload page (Uppy) and the viewers
// (OpenSeadragon, hls.js) load on demand, so the first page stays small.
import { A, onUnauthenticated } from './api.js';
import { clear, h } from './dom.js';
import { signInPage } from './pages/signin.js';
import { gridPage, prefetchGrid } from './pages/grid.js';
import { assetPage } from './pages/asset.js';
import { adminPage } from './pages/admin.js';
import { collectionPage, collectionsPage } from './pages/collections.js';
import { extraRoutes } from './routes.js';
import './pages/sessions.js';
import './pages/users.js';
import './pages/audit.js';
import './pages/projects.js';

const state = { me: null, cleanup: null };

// Pages added through registerPage (routes.js) are routed too.

const main = document.getElementById('main');

function has(scope) {
  const s = (state.me && state.me.scopes) || [];
  return s.includes(scope) || s.includes('admin');
}

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [p, qs] = raw.split('?');
  return { path: p, query: new URLSearchParams(qs || '') };
}

function setChrome() {
  const signedIn = !!state.me;
  document.getElementById('nav').hidden = !signedIn;
  document.getElementById('who').hidden = !signedIn;
  if (signedIn) {
    document.getElementById('who-name').textContent = state.me.username || state.me.name || 'signed in';
    for (const a of document.querySelectorAll('#nav [data-scope]')) a.hidden = !has(a.dataset.scope);
  }
}

function markNav(name) {
  for (const a of document.querySelectorAll('#nav a, #who a')) {
    if (a.dataset.nav === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

let renderSeq = 0;
async function render() {
  const seq = ++renderSeq;
  if (state.cleanup) {
    try { state.cleanup(); } catch (e) { console.error(e); }
    state.cleanup = null;
  }
  const { path, query } = parseHash();
  const ctx = { me: state.me, has, query, navigate, onCleanup: (fn) => { (ctx.cleanups ||= []).push(fn); } };
  state.cleanup = () => (ctx.cleanups || []).forEach((fn) => fn());
  clear(main);
  setChrome();
  if (!state.me && path !== '/signin') {
    navigate('/signin', true);
    return;
  }
  let page, title, nav;
  let m;
  if (path === '/signin') {
    if (state.me) { navigate('/', true); return; }
    [page, title, nav] = [signInPage, 'Sign in', ''];
  } else if (path === '/' || path === '') {
    [page, title, nav] = [gridPage, 'Assets', 'grid'];
  } else if (path === '/upload') {
    const mod = await import('./pages/upload.js');
    if (seq !== renderSeq) return;
    [page, title, nav] = [mod.uploadPage, 'Upload', 'upload'];
  } else if ((m = path.match(/^\/assets\/([^/]+)$/))) {
    ctx.id = decodeURIComponent(m[1]);
    [page, title, nav] = [assetPage, 'Asset', 'grid'];
  } else if (path === '/collections') {
    [page, title, nav] = [collectionsPage, 'Collections', 'collections'];
  } else if ((m = path.match(/^\/collections\/([^/]+)$/))) {
    ctx.id = decodeURIComponent(m[1]);
    [page, title, nav] = [collectionPage, 'Collection', 'collections'];
  } else if (path === '/admin') {
    [page, title, nav] = [adminPage, 'Admin', 'admin'];
  } else if (extraRoutes.has(path)) {
    // Pages registered by registerPage (the seam for users and roles).
    const r = extraRoutes.get(path);
    [page, title, nav] = [r.page, r.title, r.nav || ''];
  } else {
    main.append(h('h1', null, 'Not found'), h('p', null, h('a', { href: '#/' }, 'Back to the assets')));
    document.title = 'Not found · stor';
    return;
  }
  markNav(nav);
  document.title = `${title} · stor`;
  try {
    await page(main, ctx);
    if (seq > 1 && seq === renderSeq && !main.contains(document.activeElement)) main.focus({ preventScroll: true });
  } catch (e) {
    if (seq !== renderSeq) return;
    console.error(e);
    main.append(h('p', { class: 'error', role: 'alert' }, `Could not load this page: ${e.message}`));
  }
}

function navigate(path, replace) {
  const target = '#' + path;
  if (replace) {
    history.replaceState(null, '', target);
    render();
  } else if (location.hash !== target) {
    location.hash = target;
  } else {
    render();
  }
}

async function boot() {
  // On the grid, its first page is asked for beside the session.
  const { path, query } = parseHash();
  if (path === '/' || path === '') prefetchGrid(query);
  try {
    state.me = await A.session();
  } catch {
    state.me = null;
  }
  window.addEventListener('hashchange', render);
  onUnauthenticated(() => {
    if (!state.me) return;
    state.me = null;
    navigate('/signin', true);
  });
  document.getElementById('signout').addEventListener('click', async () => {
    try { await A.signOut(); } catch { /* signed out either way */ }
    state.me = null;
    navigate('/signin', true);
  });
  document.getElementById('skip-link').addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });
  document.addEventListener('stor:signedout', () => {
    state.me = null;
    navigate('/signin', true);
  });
  document.addEventListener('stor:signedin', (ev) => {
    state.me = ev.detail;
    navigate('/', true);
  });
  render();
}

boot();
