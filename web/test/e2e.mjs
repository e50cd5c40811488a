// End-to-end test of stor's web UI in Debian's headless Chromium, driven by
// playwright-core (never a downloaded browser). Run by
// internal/webui/e2e_test.go, which starts the server and passes:
//   STOR_URL    base URL of a running `stor serve`
//   STOR_TOKEN  an admin token
//   STOR_JPEG   a JPEG to upload through the UI (its name has the word "harbour")
//   STOR_SMALL  a small JPEG, ingested 50 times (with distinct bytes) for the speed check
//   STOR_SHOTS  directory for one screenshot per page
//   STOR_FIXTURES  media for the viewers of contracts not yet served by
//               this build (iiif/ static IIIF 3 tiles, hls/ an HLS ladder,
//               page-1.png, page-2.png, tone.wav)
// Prints one line per step; exits non-zero with the reason on failure.
import { chromium } from 'playwright-core';
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const base = process.env.STOR_URL.replace(/\/$/, '');
const token = process.env.STOR_TOKEN;
const jpeg = process.env.STOR_JPEG;
const small = process.env.STOR_SMALL;
const shots = process.env.STOR_SHOTS;
const fixtures = process.env.STOR_FIXTURES;
const CHROMIUM = process.env.STOR_CHROMIUM || '/usr/bin/chromium';
const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
function assert(cond, msg) { if (!cond) throw new Error(`assertion failed: ${msg}`); }

async function apiJSON(p, opts = {}) {
  const res = await fetch(base + p, { ...opts, headers: { Authorization: `Bearer ${token}`, ...(opts.headers || {}) } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${opts.method || 'GET'} ${p}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body;
}

await mkdir(shots, { recursive: true });
const profile = await mkdtemp(path.join(tmpdir(), 'stor-e2e-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  viewport: { width: 1280, height: 860 },
  acceptDownloads: false,
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(30000);

const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  const t = m.text();
  // 401 before sign-in and 404 for optional routes that have not landed
  // yet (metadata, text) are expected.
  if (/Failed to load resource: the server responded with a status of (401|404)/.test(t)) return;
  problems.push(`console error: ${t}`);
});
const requests = [];
page.on('request', (r) => requests.push(r.url()));
const tileResponses = [];
page.on('response', (r) => {
  if (/\/iiif\/3\/[^/]+\/[^/]+\/[^/]+\/\d+\/[a-z]+\.(jpg|png|webp)$/.test(r.url())) tileResponses.push([r.url(), r.status()]);
});

// Every visible control of ours has an accessible name.
async function checkLabels(name) {
  const bad = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
    .filter((el) => el.type !== 'hidden' && el.offsetParent !== null && !el.closest('.uppy-Root, .openseadragon-container'))
    .filter((el) => !(el.getAttribute('aria-label') || (el.labels && el.labels.length) || el.getAttribute('aria-labelledby') ||
      (el.tagName === 'BUTTON' && el.textContent.trim())))
    .map((el) => el.outerHTML.slice(0, 120)));
  assert(bad.length === 0, `${name}: controls without a label: ${bad.join(' | ')}`);
}

async function shot(name) {
  await checkLabels(name);
  await page.waitForTimeout(150);
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file });
  log('screenshot', file);
}

const ctypes = { '.json': 'application/json', '.jpg': 'image/jpeg', '.png': 'image/png', '.m3u8': 'application/vnd.apple.mpegurl',
  '.m4s': 'video/iso.segment', '.mp4': 'video/mp4', '.ts': 'video/mp2t', '.wav': 'audio/wav' };
async function serveFile(route, file) {
  try {
    const body = await readFile(file);
    await route.fulfill({ status: 200, body, headers: { 'Content-Type': ctypes[path.extname(file)] || 'application/octet-stream' } });
  } catch {
    await route.fulfill({ status: 404, body: 'not found' });
  }
}

function fakeAsset(real, id, fields) {
  const self = `${base}/api/v1/assets/${id}`;
  return { ...real, id, links: { self, original: `${self}/original` }, width: undefined, height: undefined, ...fields };
}

async function openFake(a, derivs) {
  await page.route(`**/api/v1/assets/${a.id}`, (r) => r.fulfill({ json: a }));
  await page.route(`**/api/v1/assets/${a.id}/derivatives`, (r) => r.fulfill({ json: derivs || [] }));
  await page.route(`**/api/v1/assets/${a.id}/tasks`, (r) => r.fulfill({ json: { items: [] } }));
  await page.route(`**/api/v1/assets/${a.id}/events`, (r) => r.fulfill({ json: { items: [] } }));
  await page.goto(`${base}/#/assets/${a.id}`);
  await page.waitForSelector('#viewer > *');
}

async function contractViewers(real) {
  // Images: OpenSeadragon over IIIF Image API 3 (static level-0 tiles made
  // by vips dzsave), with info.json naming another public host: the UI must
  // still ask this origin for tiles.
  if (!real.links.iiif) {
    const a = fakeAsset(real, 'c0ffee00-iiif', { kind: 'image', width: 2400, height: 1600, links: undefined });
    a.links = { self: `${base}/api/v1/assets/${a.id}`, original: `${base}/api/v1/assets/${a.id}/original`, iiif: `http://public.invalid/iiif/3/${a.id}/info.json`, manifest: `${base}/iiif/3/${a.id}/manifest.json` };
    const info = JSON.parse(await readFile(path.join(fixtures, 'iiif', 'info.json'), 'utf8'));
    info.id = `http://public.invalid/iiif/3/${a.id}`;
    await page.route(`**/iiif/3/${a.id}/**`, (r) => {
      const rel = new URL(r.request().url()).pathname.split(`/iiif/3/${a.id}/`)[1];
      if (rel === 'info.json') return r.fulfill({ json: info });
      return serveFile(r, path.join(fixtures, 'iiif', decodeURIComponent(rel)));
    });
    tileResponses.length = 0;
    await openFake(a);
    await page.waitForSelector('#viewer[data-viewer=openseadragon] canvas');
    const deadline = Date.now() + 20000;
    while (!tileResponses.some(([, st]) => st === 200) && Date.now() < deadline) await page.waitForTimeout(100);
    assert(tileResponses.some(([, st]) => st === 200), `OpenSeadragon fetched IIIF tiles (saw ${JSON.stringify(tileResponses.slice(0, 5))})`);
    assert(tileResponses.every(([u]) => u.startsWith(base)), 'tiles come from this origin');
    await page.click('button[aria-label="Zoom in"]');
    await page.waitForTimeout(800);
    assert(await page.isVisible('#manifest-link'), 'the IIIF manifest link is shown');
    log(`contract viewer: OpenSeadragon over IIIF 3, ${tileResponses.length} tile requests`);
    await shot('viewer-iiif');
  }

  // Video: hls.js on links.hls (an fMP4 ladder made by ffmpeg); it plays.
  {
    const a = fakeAsset(real, 'c0ffee00-video', { kind: 'video', format: 'mp4', content_type: 'video/mp4', filename: 'clip.mp4', duration_seconds: 4 });
    a.links.hls = `${base}/media/${a.id}/hls/index.m3u8`;
    await page.route(`**/media/${a.id}/hls/**`, (r) => serveFile(r, path.join(fixtures, 'hls', path.basename(new URL(r.request().url()).pathname))));
    await openFake(a);
    await page.waitForSelector('#viewer video[data-player="hls.js"]');
    await page.evaluate(() => { const v = document.querySelector('#viewer video'); v.muted = true; return v.play(); });
    await page.waitForFunction(() => document.querySelector('#viewer video').currentTime > 1, null, { timeout: 20000 });
    log('contract viewer: hls.js plays, currentTime', await page.$eval('#viewer video', (v) => v.currentTime.toFixed(2)));
    await page.evaluate(() => document.querySelector('#viewer video').pause());
    await shot('viewer-video');
  }

  // Documents: the page strip from page-N derivatives.
  {
    const a = fakeAsset(real, 'c0ffee00-doc', { kind: 'document', format: 'pdf', content_type: 'application/pdf', filename: 'report.pdf', page_count: 2 });
    const derivs = [1, 2].map((n) => ({ name: `page-${n}`, content_type: 'image/png', width: 850, height: 1100, size: 1000, url: `${base}/api/v1/assets/${a.id}/derivatives/page-${n}` }));
    await page.route(`**/api/v1/assets/${a.id}/derivatives/page-*`, (r) => serveFile(r, path.join(fixtures, path.basename(new URL(r.request().url()).pathname) + '.png')));
    await openFake(a, derivs);
    await page.waitForFunction(() => { const i = document.querySelector('#viewer .page-img'); return i && i.complete && i.naturalWidth > 0; });
    await page.click('.page-strip li:nth-child(2) button');
    await page.waitForFunction(() => { const i = document.querySelector('#viewer .page-img'); return i && i.alt.startsWith('Page 2') && i.complete && i.naturalWidth > 0; });
    log('contract viewer: document page strip, page 2 shown');
    await shot('viewer-document');
  }

  // Audio: <audio> on the original.
  {
    const a = fakeAsset(real, 'c0ffee00-audio', { kind: 'audio', format: 'wav', content_type: 'audio/wav', filename: 'tone.wav', duration_seconds: 2 });
    await page.route(`**/api/v1/assets/${a.id}/original`, (r) => serveFile(r, path.join(fixtures, 'tone.wav')));
    await openFake(a);
    await page.waitForFunction(() => { const au = document.querySelector('#viewer audio'); return au && au.duration > 1; });
    log('contract viewer: audio loaded');
  }
  await page.unrouteAll({ behavior: 'ignoreErrors' });
}

let failed = false;
try {
  // --- Sign in: a wrong token is refused, the right one lands on the grid.
  const resp = await page.goto(base + '/');
  const csp = resp.headers()['content-security-policy'] || '';
  assert(csp.includes("default-src 'self'"), `CSP header on / (got ${JSON.stringify(csp)})`);
  await page.waitForSelector('#token');
  assert(page.url().endsWith('#/signin'), `redirected to sign-in, at ${page.url()}`);
  assert(await page.evaluate(() => document.activeElement.id) === 'token', 'the token field has focus');
  assert(await page.evaluate(() => {
    const f = [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')].filter((e) => e.tabIndex >= 0);
    return f[0].id === 'skip-link' && !document.querySelector('[tabindex]:not([tabindex="0"]):not([tabindex="-1"])');
  }), 'the skip link is the first stop of the keyboard, and no tabindex reorders the page');
  await page.focus('#skip-link');
  const box = await page.locator('#skip-link').boundingBox();
  assert(box && box.x >= 0, 'the skip link shows when focused');
  await page.keyboard.press('Enter');
  assert(await page.evaluate(() => document.activeElement.id) === 'main', 'the skip link moves focus to the content');
  await page.focus('#token');
  await page.fill('#token', 'stor_not_a_real_token');
  await page.click('button[type=submit]');
  await page.waitForSelector('#signin-error:not(:empty)');
  await page.fill('#token', token);
  await shot('signin');
  await page.click('button[type=submit]');
  await page.waitForSelector('#grid', { state: 'attached' });
  await page.waitForSelector('#nav a[href="#/admin"]:not([hidden])');
  log('signed in');

  // --- Upload a JPEG through Uppy.
  await page.click('#nav a[href="#/upload"]');
  await page.waitForSelector('.uppy-Dashboard');
  const mode = await page.textContent('#upload-mode');
  log('upload mode:', mode);
  await page.locator('input.uppy-Dashboard-input[type=file]:not([webkitdirectory])').first().setInputFiles(jpeg);
  await page.waitForSelector('.uppy-StatusBar-actionBtn--upload');
  await shot('upload-selected');
  await page.click('.uppy-StatusBar-actionBtn--upload');
  const row = page.locator('#uploaded li').first();
  await row.waitFor();
  const assetId = await row.getAttribute('data-asset');
  assert(assetId, 'the upload names its asset');
  log('uploaded asset', assetId);
  await page.waitForSelector(`#uploaded li[data-asset="${assetId}"][data-state="ready"]`, { timeout: 90000 });
  log('asset is ready');
  await shot('upload');

  // --- The asset page: viewer, tasks, metadata, history.
  const asset = await apiJSON(`/api/v1/assets/${assetId}`);
  await page.click(`#uploaded li[data-asset="${assetId}"] a`);
  await page.waitForSelector('#viewer');
  await page.waitForSelector('#tasks-table tbody tr');
  const tasks = await page.$$eval('#tasks-table tbody tr', (rows) => rows.map((r) => r.dataset.task));
  assert(tasks.length >= 1, 'the tasks panel lists tasks');
  log('tasks:', tasks.join(', '));
  if (asset.links.iiif) {
    await page.waitForSelector('#viewer[data-viewer=openseadragon] canvas');
    const deadline = Date.now() + 20000;
    while (!tileResponses.some(([, s]) => s === 200) && Date.now() < deadline) await page.waitForTimeout(100);
    assert(tileResponses.some(([, s]) => s === 200), `OpenSeadragon fetched IIIF tiles (saw ${JSON.stringify(tileResponses.slice(0, 5))})`);
    log(`viewer: OpenSeadragon, ${tileResponses.length} tile requests`);
    await page.waitForTimeout(500);
  } else {
    await page.waitForFunction(() => {
      const img = document.querySelector('#viewer img');
      return img && img.complete && img.naturalWidth > 0;
    });
    const w = await page.$eval('#viewer img', (i) => i.naturalWidth);
    log(`viewer: <img> (no IIIF yet), ${w}px wide`);
  }
  await page.waitForSelector('#metadata-body > *');
  await page.click('#events summary');
  await page.waitForSelector('#events-body .events li');
  assert(await page.isVisible('#reprocess'), 'the reprocess button is shown');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('asset');

  // --- The grid shows it.
  await page.click('#nav a[href="#/"]');
  await page.waitForSelector(`#grid li[data-id="${assetId}"]`);
  await page.waitForFunction((id) => {
    const li = document.querySelector(`#grid li[data-id="${id}"]`);
    const img = li && li.querySelector('.thumb img');
    return li && (!img || (img.complete && img.naturalWidth > 0) || li.querySelector('.thumb.no-thumb'));
  }, assetId);
  log('grid shows the upload', (await page.$(`#grid li[data-id="${assetId}"] .thumb img`)) ? 'with its thumbnail' : 'with its kind icon');
  await shot('grid');

  // --- Search by a word of the filename; a word it lacks finds nothing.
  await page.fill('#f-q', 'zanzibarquux');
  await page.waitForFunction(() => document.querySelector('#grid-status').textContent.includes('No assets match'));
  await page.fill('#f-q', 'harbour');
  await page.waitForSelector(`#grid li[data-id="${assetId}"]`);
  assert(page.url().includes('q=harbour'), 'the search is kept in the URL');
  log('search finds it by "harbour"');
  await shot('search');
  // Responsive: the same page on a phone-sized screen.
  await page.setViewportSize({ width: 390, height: 844 });
  await shot('search-narrow');
  await page.setViewportSize({ width: 1280, height: 860 });

  // --- Speed: 50 more assets, then the grid's first page from a cold load.
  const body = await readFile(small);
  await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const fd = new FormData();
    // Distinct bytes after the JPEG's end, so none is a duplicate.
    fd.append('file', new Blob([body, Buffer.from(`\nstor-e2e-${i}\n`)], { type: 'image/jpeg' }), `speed-${String(i).padStart(2, '0')}.jpg`);
    await apiJSON('/api/v1/assets', { method: 'POST', body: fd });
  }));
  await page.goto(base + '/#/');
  const listBefore = requests.filter((u) => u.includes('/api/v1/assets?')).length;
  const start = Date.now();
  await page.waitForFunction(() => document.querySelectorAll('#grid li').length >= 50);
  await page.waitForFunction(() => [...document.querySelectorAll('#grid li')].every((li) => {
    const r = li.getBoundingClientRect();
    if (r.top > innerHeight) return true; // lazy: loads when scrolled to
    const img = li.querySelector('.thumb img');
    return !img || img.complete;
  }));
  const ms = Date.now() - start;
  const lists = requests.filter((u) => u.includes('/api/v1/assets?')).length - listBefore;
  log(`first 50 tiles with visible thumbnails in ${ms} ms, ${lists} list request(s)`);
  assert(lists === 1, `one list request for the first page (saw ${lists})`);
  assert(ms < 1500, `the first 50 render fast (took ${ms} ms)`);
  // Infinite scroll: scrolling to the end fetches the next page.
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.waitForFunction(() => document.querySelectorAll('#grid li').length >= 51);
  log('infinite scroll loaded the next page');
  await page.evaluate(() => window.scrollTo(0, 0));

  // --- Viewers for media contracts this build may not serve yet (IIIF,
  // HLS, document pages, audio): where the server lacks them, the browser
  // is handed the documented responses, so each viewer's code path (and the
  // CSP) is exercised in the real browser now.
  await contractViewers(asset);

  // --- Admin: pause and resume processing; tokens listed.
  await page.click('#nav a[href="#/admin"]');
  await page.waitForSelector('#processing button');
  if (await page.$('#resume')) { await page.click('#resume'); await page.waitForSelector('#pause'); }
  await page.click('#pause');
  await page.waitForFunction(() => document.querySelector('#proc-state')?.textContent === 'paused');
  assert((await apiJSON('/api/v1/processing')).paused === true, 'the server says paused');
  log('paused');
  await page.waitForSelector('#tokens-table tbody tr');
  await page.waitForSelector('#failed > *');
  await shot('admin');
  await page.click('#resume');
  await page.waitForFunction(() => document.querySelector('#proc-state')?.textContent === 'running');
  assert((await apiJSON('/api/v1/processing')).paused === false, 'the server says running');
  log('resumed');

  // --- Sign out.
  await page.click('#signout');
  await page.waitForSelector('#token');
  const after = await page.evaluate(async () => (await fetch('api/v1/session')).status);
  assert(after === 401, `signed out: the session is gone (status ${after})`);
  log('signed out');

  const csp2 = problems.filter((p) => /Content Security Policy/i.test(p));
  assert(csp2.length === 0, `no CSP violations: ${csp2.join('; ')}`);
  assert(problems.length === 0, `no page errors: ${problems.join('; ')}`);
  log('PASS');
} catch (e) {
  failed = true;
  console.log('FAIL:', e.message);
  if (problems.length) console.log('page problems:\n  ' + problems.join('\n  '));
  try { await shot('failure'); } catch { /* browser gone */ }
} finally {
  await context.close().catch(() => {});
  await rm(profile, { recursive: true, force: true }).catch(() => {});
}
process.exit(failed ? 1 : 0);
