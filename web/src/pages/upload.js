// Upload with Uppy's Dashboard: drag and drop files and whole folders,
// progress per file and overall, pause/resume/retry. Over tus (resumable)
// when the server has a tus endpoint at /uploads/, else one multipart POST
// per file to /api/v1/assets. A reload restores the batch (Golden
// Retriever). Each finished upload is then followed live
// until its asset is ready or failed.
import Uppy from '@uppy/core';
import Dashboard from '@uppy/dashboard';
import GoldenRetriever from '@uppy/golden-retriever';
import Tus from '@uppy/tus';
import XHRUpload from '@uppy/xhr-upload';
import { A, items } from '../api.js';
import { assetFromS3, s3Uploads, useS3 } from '../s3upload.js';
import { badge, bytes, clear, h } from '../dom.js';

const FINAL = new Set(['ready', 'failed', 'deleted']);

function loadCSS() {
  const href = document.documentElement.dataset.uploadCss;
  if (!href || document.querySelector(`link[href="${href}"]`)) return;
  document.head.append(h('link', { rel: 'stylesheet', href }));
}

// hasTus asks /uploads/ whether it speaks tus.
export async function hasTus() {
  for (const method of ['OPTIONS', 'HEAD']) {
    try {
      const r = await fetch('uploads/', { method, credentials: 'same-origin', headers: { 'X-Stor-CSRF': '1' } });
      if (r.headers.get('Tus-Resumable') || r.headers.get('Tus-Version')) return true;
    } catch { /* no endpoint */ }
  }
  return false;
}

// assetFromTus finds the asset a finished tus upload became: a header or
// JSON body the server sends with the last response, else the newest asset
// with that name and size.
async function assetFromTus(file, resp) {
  const xhr = resp && resp.body && resp.body.xhr;
  if (xhr) {
    for (const name of ['Stor-Asset-Id', 'X-Stor-Asset-Id', 'Asset-Id']) {
      const v = xhr.getResponseHeader(name);
      if (v) return v.trim();
    }
    const loc = xhr.getResponseHeader('Content-Location') || xhr.getResponseHeader('Location') || '';
    const m = loc.match(/\/api\/v1\/assets\/([^/?#]+)/);
    if (m) return decodeURIComponent(m[1]);
    try {
      const body = JSON.parse(xhr.responseText || 'null');
      if (body && (body.asset_id || (body.asset && body.asset.id) || body.id)) return body.asset_id || (body.asset && body.asset.id) || body.id;
    } catch { /* not JSON */ }
  }
  for (let i = 0; i < 10; i++) {
    const r = await A.assets({ q: file.name, limit: 20 });
    const hit = r.items.find((a) => a.filename === file.name && a.size === file.size);
    if (hit) return hit.id;
    await new Promise((res) => setTimeout(res, 500));
  }
  return null;
}

export async function uploadPage(main, ctx) {
  if (!ctx.has('write')) {
    main.append(h('h1', null, 'Upload'), h('p', null, 'Uploading needs a token with the write scope.'));
    return;
  }
  loadCSS();
  const s3 = s3Uploads(ctx.me);
  const tus = !s3 && await hasTus();
  const project = h('input', { id: 'up-project', placeholder: ctx.me.project || 'default', value: ctx.me.project || '', autocomplete: 'off', readonly: !!ctx.me.project });
  const target = h('div', { id: 'uppy', class: 'uppy-target' });
  const doneList = h('ul', { class: 'uploaded', id: 'uploaded', 'aria-live': 'polite' });
  main.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Upload'),
      h('span', { class: 'muted', id: 'upload-mode' }, s3 ? 'Direct uploads to S3 (multipart)' : tus ? 'Resumable uploads (tus)' : 'Uploads by HTTP POST')),
    h('div', { class: 'field inline' }, h('label', { for: 'up-project' }, 'Project'), project),
    target,
    h('h2', null, 'Processing'),
    h('p', { class: 'muted', id: 'uploaded-empty' }, 'Finished uploads appear here with their live state.'),
    doneList);

  const nonce = Math.random().toString(36).slice(2);
  const uppy = new Uppy({ autoProceed: false, allowMultipleUploadBatches: true, meta: { project: project.value } });
  uppy.use(Dashboard, {
    target, inline: true, width: '100%', height: 420,
    showProgressDetails: true, proudlyDisplayPoweredByUppy: false,
    fileManagerSelectionType: 'both', hideProgressDetails: false,
    note: 'Images, video, audio and documents; drop whole folders too.',
    doneButtonHandler: () => uppy.clear(),
  });
  // A reload keeps the selection and progress (files up to its size cap
  // are kept in IndexedDB; larger ones are asked for again and tus resumes
  // them where they stopped).
  uppy.use(GoldenRetriever, { serviceWorker: false });
  if (s3) {
    useS3(uppy);
  } else if (tus) {
    uppy.use(Tus, {
      endpoint: new URL('uploads/', document.baseURI).href,
      headers: { 'X-Stor-CSRF': '1' },
      chunkSize: 64 * 1024 * 1024,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      removeFingerprintOnSuccess: true,
      // Uppy's own fields; the server takes "name" as the filename.
      allowedMetaFields: ['name', 'type', 'project'],
      limit: 3,
    });
  } else {
    uppy.use(XHRUpload, {
      endpoint: 'api/v1/assets',
      fieldName: 'file', formData: true, limit: 3, timeout: 0,
      allowedMetaFields: ['project'],
      headers: (file) => ({ 'X-Stor-CSRF': '1', 'Idempotency-Key': `ui-${nonce}-${file.id}`.slice(0, 255) }),
    });
  }
  project.addEventListener('input', () => uppy.setMeta({ project: project.value.trim() }));

  const watched = new Map();
  uppy.on('upload-success', async (file, resp) => {
    let id = null;
    try {
      id = s3 ? assetFromS3(resp) : tus ? await assetFromTus(file, resp) : resp && resp.body && resp.body.id;
    } catch { /* shown below */ }
    document.getElementById('uploaded-empty')?.remove();
    const stateEl = h('span', null, id ? badge('stored') : badge('unknown'));
    const errEl = h('span', { class: 'err' });
    const progEl = h('span', { class: 'muted small' });
    const li = h('li', { dataset: { file: file.name, asset: id || '' } },
      id ? h('a', { href: `#/assets/${encodeURIComponent(id)}` }, file.name) : file.name,
      ' ', h('span', { class: 'muted' }, bytes(file.size)), ' ', stateEl, ' ', progEl, ' ', errEl);
    doneList.prepend(li);
    if (id) watched.set(id, { stateEl, errEl, progEl, li, name: file.name });
  });

  // Follow the uploaded assets until they are ready or failed.
  const timer = setInterval(async () => {
    for (const [id, w] of watched) {
      try {
        const a = await A.asset(id);
        clear(w.stateEl).append(badge(a.state));
        w.li.dataset.state = a.state;
        w.errEl.textContent = a.error || '';
        // While it is processed: how many of its tasks are done.
        if (a.state === 'processing') {
          const ts = items(await A.tasks(id));
          const done = ts.filter((t) => ['succeeded', 'skipped', 'failed'].includes(t.state)).length;
          w.progEl.replaceChildren(h('progress', { max: ts.length, value: done, 'aria-label': `${w.name} processing` }), ` ${done}/${ts.length} tasks`);
        } else {
          w.progEl.replaceChildren();
        }
        if (FINAL.has(a.state)) watched.delete(id);
      } catch { /* next round */ }
    }
  }, 1000);
  // Leaving the page stops uploads in flight (tus ones resume when the
  // same files are added again): ask first.
  const guard = (ev) => {
    if (uppy.getFiles().some((f) => f.progress.uploadStarted && !f.progress.uploadComplete)) {
      ev.preventDefault();
      ev.returnValue = '';
    }
  };
  window.addEventListener('beforeunload', guard);
  ctx.onCleanup(() => {
    clearInterval(timer);
    window.removeEventListener('beforeunload', guard);
    uppy.destroy();
  });
}
