// End-to-end test of stor's web UI in Debian's headless Chromium, driven by
// playwright-core (never a downloaded browser). Run by
// internal/webui/e2e_test.go, which starts the server and passes:
//   STOR_URL    base URL of a running `stor serve`
//   STOR_TOKEN  an admin token (the test's own API calls; the browser signs
//               in with a username and password through the form)
//   STOR_JPEG   a JPEG (its name has the word "harbour"; EXIF date 2019-05-04)
//   STOR_MP4    an MP4 (H.264/AAC, a few seconds)
//   STOR_PDF    a two-page PDF whose first page has the word "quokkaphile"
//   STOR_PANO   a 2:1 equirectangular JPEG with XMP GPano:ProjectionType
//   STOR_CUBE   a 6:1 strip of six square cube faces (a cubic panorama)
//   STOR_WAV    a short tone
//   STOR_SMALL  a small JPEG, ingested 50 times (with distinct bytes) for the speed check
//   STOR_SHOTS  directory for one screenshot per page
// Everything goes through the real server and its real pipeline (libvips,
// ffmpeg, poppler, exiftool): nothing is mocked.
// Prints one line per step; exits non-zero with the reason on failure.
import { chromium } from 'playwright-core';
import { mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const base = process.env.STOR_URL.replace(/\/$/, '');
const token = process.env.STOR_TOKEN;
const jpeg = process.env.STOR_JPEG;
const mp4 = process.env.STOR_MP4;
const pdf = process.env.STOR_PDF;
const pano = process.env.STOR_PANO;
const cube = process.env.STOR_CUBE;
const wav = process.env.STOR_WAV;
const small = process.env.STOR_SMALL;
const shots = process.env.STOR_SHOTS;
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
// Each problem is printed when it happens too, to see which step caused it.
const problem = (p) => { problems.push(p); log('PROBLEM', p); };
let allow400 = false; // while the test sends a request the API must refuse
page.on('pageerror', (e) => problem(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  const t = m.text();
  // 401 before sign-in and 404 for optional routes that have not landed
  // yet (metadata, text) are expected, and so are the 429 and 423 the test
  // makes up for the sign-in form's messages.
  if (/Failed to load resource: the server responded with a status of (401|404|429|423)/.test(t)) return;
  if (allow400 && /Failed to load resource: the server responded with a status of 400/.test(t)) return;
  problem(`console error: ${t} (at ${m.location().url || page.url()})`);
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
  // Every image of ours says what it shows, or alt="" when decorative.
  const noAlt = await page.evaluate(() => [...document.querySelectorAll('img:not([alt])')]
    .filter((el) => !el.closest('.uppy-Root, .openseadragon-container, .pnlm-container'))
    .map((el) => el.outerHTML.slice(0, 120)));
  assert(noAlt.length === 0, `${name}: images without alt: ${noAlt.join(' | ')}`);
}

async function shot(name) {
  await checkLabels(name);
  await page.waitForTimeout(150);
  const file = path.join(shots, `${name}.png`);
  await page.screenshot({ path: file });
  log('screenshot', file);
}

// waitTiles waits for a IIIF tile answered 200 whose URL contains part.
async function waitTiles(part, what) {
  const deadline = Date.now() + 30000;
  const ok = () => tileResponses.some(([u, st]) => st === 200 && u.includes(part));
  while (!ok() && Date.now() < deadline) await page.waitForTimeout(100);
  assert(ok(), `${what}: OpenSeadragon fetched IIIF tiles of ${part} (saw ${JSON.stringify(tileResponses.slice(-5))})`);
  assert(tileResponses.every(([u]) => u.startsWith(base)), 'tiles come from this origin');
}

async function gridIDs() {
  return page.$$eval('#grid li', (lis) => lis.map((li) => li.dataset.id));
}

// waitGrid waits until the grid shows exactly want (in this order when
// ordered), after the status line settled.
async function waitGrid(want, ordered, what) {
  try {
    await page.waitForFunction(([w, o]) => {
      const st = document.querySelector('#grid-status').textContent;
      if (st.startsWith('Loading')) return false;
      const got = [...document.querySelectorAll('#grid li')].map((li) => li.dataset.id);
      if (got.length !== w.length) return false;
      return o ? got.every((id, i) => id === w[i]) : w.every((id) => got.includes(id));
    }, [want, ordered], { timeout: 15000 });
  } catch {
    throw new Error(`${what}: grid shows ${JSON.stringify(await gridIDs())}, want ${JSON.stringify(want)}${ordered ? ' in order' : ''}`);
  }
}

async function upload(file, name) {
  const fd = new FormData();
  fd.append('file', new Blob([await readFile(file)]), name || path.basename(file));
  return apiJSON('/api/v1/assets', { method: 'POST', body: fd });
}

async function waitReady(id, what, ms = 240000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const a = await apiJSON(`/api/v1/assets/${id}`);
    if (a.state === 'ready') return a;
    if (a.state === 'failed') throw new Error(`${what} failed: ${a.error}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${ms} ms (state ${a.state})`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function openAsset(id) {
  await page.goto(`${base}/#/assets/${id}`);
  await page.waitForSelector('#viewer');
  await page.waitForSelector('#tasks-table tbody tr');
}
// A user to sign in as, and a second session of theirs from another
// client (for the sessions page).
const USER = 'e2e-admin', PASS = 'correct horse battery e2e';
async function outsideSession(ua) {
  const r = await fetch(base + '/api/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': ua },
    body: JSON.stringify({ username: USER, password: PASS }) });
  assert(r.ok, `sign-in from outside the browser: HTTP ${r.status}`);
  const cookie = r.headers.get('set-cookie').split(';')[0];
  return { cookie, id: (await r.json()).session_id };
}
async function sessionStatus(cookie) {
  return (await fetch(base + '/api/v1/session', { headers: { Cookie: cookie } })).status;
}
async function signInForm(password) {
  await page.waitForSelector('#username');
  await page.fill('#username', USER);
  await page.fill('#password', password);
  await page.click('#signin-submit');
}

let failed = false;
try {
  await apiJSON('/api/v1/users', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: USER, password: PASS, role: 'admin' }) });
  const curlSession = await outsideSession('curl/8.5.0 (stor e2e)');

  // --- Sign in with a username and password: a wrong password is refused
  // with a clear message; the right one lands on the grid. The token
  // sign-in is still there, folded away.
  const resp = await page.goto(base + '/');
  const csp = resp.headers()['content-security-policy'] || '';
  assert(csp.includes("default-src 'self'"), `CSP header on / (got ${JSON.stringify(csp)})`);
  await page.waitForSelector('#username');
  assert(page.url().endsWith('#/signin'), `redirected to sign-in, at ${page.url()}`);
  assert(await page.evaluate(() => document.activeElement.id) === 'username', 'the username field has focus');
  assert(await page.evaluate(() => {
    const f = [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')].filter((e) => e.tabIndex >= 0);
    return f[0].id === 'skip-link' && !document.querySelector('[tabindex]:not([tabindex="0"]):not([tabindex="-1"])');
  }), 'the skip link is the first stop of the keyboard, and no tabindex reorders the page');
  await page.focus('#skip-link');
  const box = await page.locator('#skip-link').boundingBox();
  assert(box && box.x >= 0, 'the skip link shows when focused');
  await page.keyboard.press('Enter');
  assert(await page.evaluate(() => document.activeElement.id) === 'main', 'the skip link moves focus to the content');
  // The keyboard goes username → password → Sign in → the token option.
  await page.focus('#username');
  const tabOrder = [];
  for (let i = 0; i < 3; i++) { await page.keyboard.press('Tab'); tabOrder.push(await page.evaluate(() => document.activeElement.id || document.activeElement.tagName)); }
  assert(JSON.stringify(tabOrder) === '["password","signin-submit","SUMMARY"]', `focus order of the sign-in page: ${tabOrder}`);
  await page.click('#signin-alt summary');
  await page.waitForFunction(() => document.activeElement.id === 'token');
  await page.fill('#token', 'stor_not_a_real_token');
  await page.click('#token-submit');
  await page.waitForFunction(() => document.querySelector('#token-error').textContent.includes('unknown, expired or revoked'));
  await page.click('#signin-alt summary');
  await signInForm('not the password at all');
  await page.waitForFunction(() => document.querySelector('#signin-error').textContent === 'Wrong username or password.');
  assert(await page.evaluate(() => document.activeElement.id) === 'password', 'focus returns to the password');
  // A rate limit and a locked account show the server's own message and how
  // long to wait (answers made up by the test: the server's limits are
  // checked by the API's tests, and hitting them here would lock the run out).
  for (const [st, code, msg, ra, want] of [
    [429, 'rate_limited', 'too many sign-in attempts', '42', 'too many sign-in attempts. Try again in 42 s.'],
    [423, 'locked', 'this account is locked after repeated failed sign-ins', '600', 'this account is locked after repeated failed sign-ins. Try again in 10 min.']]) {
    await page.route('**/api/v1/session', (route) => route.request().method() === 'POST'
      ? route.fulfill({ status: st, headers: { 'Retry-After': ra }, contentType: 'application/json', body: JSON.stringify({ error: { code, message: msg } }) })
      : route.continue());
    await page.fill('#password', PASS);
    await page.click('#signin-submit');
    await page.waitForFunction((w) => document.querySelector('#signin-error').textContent === w, want);
    await page.unroute('**/api/v1/session');
  }
  log('sign-in: wrong password, rate limit and lockout each say so');
  await page.fill('#password', PASS);
  await shot('signin');
  await page.click('#signin-submit');
  await page.waitForSelector('#grid', { state: 'attached' });
  const me = await page.evaluate(async () => (await fetch('api/v1/session')).json());
  assert(me.username === USER && me.session_id, `signed in as the user, with a session: ${JSON.stringify(me)}`);
  assert(await page.textContent('#who-name') === USER, 'the header names the user');
  await page.waitForSelector('#nav a[href="#/admin"]:not([hidden])');
  log('signed in through the form (username and password)');

  // --- My sessions: this browser and the curl one; revoke the curl one.
  await page.click('#my-sessions');
  await page.waitForSelector('#sessions-table tbody tr');
  let rows = await page.$$eval('#sessions-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.id, tr.dataset.state]));
  assert(rows.some(([id, st]) => id === me.session_id && st === 'this browser') && rows.some(([id, st]) => id === curlSession.id && st === 'active'),
    `the sessions page lists this browser and the curl session: ${JSON.stringify(rows)}`);
  assert(await page.$(`#revoke-${me.session_id}`) === null, 'no revoke button for this browser (sign out does that)');
  await shot('sessions');
  await page.click(`#revoke-${curlSession.id}`);
  await page.waitForSelector(`#sessions-table tr[data-id="${curlSession.id}"][data-state="revoked"]`);
  assert(await sessionStatus(curlSession.cookie) === 401, 'the revoked session no longer works');
  log('sessions page: listed both, revoked the other one');

  // --- Upload a JPEG, an MP4 and a PDF through Uppy (tus), in one batch.
  await page.click('#nav a[href="#/upload"]');
  await page.waitForSelector('.uppy-Dashboard');
  const mode = await page.textContent('#upload-mode');
  log('upload mode:', mode);
  assert(/tus/.test(mode), `uploads go over tus (${mode})`);
  await page.locator('input.uppy-Dashboard-input[type=file]:not([webkitdirectory])').first().setInputFiles([jpeg, mp4, pdf]);
  await page.waitForSelector('.uppy-StatusBar-actionBtn--upload');
  await shot('upload-selected');
  await page.click('.uppy-StatusBar-actionBtn--upload');
  await page.waitForFunction(() => document.querySelectorAll('#uploaded li[data-asset]:not([data-asset=""])').length === 3, null, { timeout: 60000 });
  const ids = Object.fromEntries(await page.$$eval('#uploaded li', (lis) => lis.map((li) => [li.dataset.file, li.dataset.asset])));
  const jpegId = ids[path.basename(jpeg)], mp4Id = ids[path.basename(mp4)], pdfId = ids[path.basename(pdf)];
  assert(jpegId && mp4Id && pdfId, `each upload names its asset: ${JSON.stringify(ids)}`);
  log('uploaded', JSON.stringify(ids));

  // Meanwhile, through the API: a panorama, a tone, and two assets for
  // the sort check (the older one matches "wharfinger" in its title, the
  // newer only in its rights).
  const panoA = await upload(pano);
  const cubeA = await upload(cube);
  const wavA = await upload(wav);
  const older = await upload(small, 'sort-older.jpg');
  const newer = await upload(small, 'sort-newer.jpg');
  await apiJSON(`/api/v1/assets/${older.id}`, { method: 'PATCH', body: JSON.stringify({ title: 'Wharfinger' }), headers: { 'Content-Type': 'application/json' } });
  await apiJSON(`/api/v1/assets/${newer.id}`, { method: 'PATCH', body: JSON.stringify({ rights: 'Property of the old wharfinger office archive' }), headers: { 'Content-Type': 'application/json' } });

  // The live states: each row turns ready without a reload.
  await page.waitForFunction(() => {
    const lis = [...document.querySelectorAll('#uploaded li')];
    return lis.length === 3 && lis.every((li) => ['ready', 'failed'].includes(li.dataset.state));
  }, null, { timeout: 240000 });
  const states = await page.$$eval('#uploaded li', (lis) => lis.map((li) => `${li.dataset.file}: ${li.dataset.state} ${li.querySelector('.err').textContent}`));
  assert(states.every((x) => / ready /.test(x + ' ')), `all three ready: ${states.join('; ')}`);
  log('all three ready');
  await shot('upload');

  // --- The JPEG: deep zoom, grouped metadata, editing, tags, history.
  await openAsset(jpegId);
  await page.waitForSelector('#viewer[data-viewer=openseadragon] canvas');
  await waitTiles(`/iiif/3/${jpegId}/`, 'the JPEG');
  await page.waitForSelector('#metadata-body details[data-group=exif]');
  assert(!(await page.textContent('#metadata-body')).includes('"display"'), 'metadata shows values, not JSON');
  await page.click('#edit-open');
  await page.fill('#e-title', 'Quayside at dusk');
  await page.fill('#e-keywords', 'dusk, quay');
  await page.click('#edit-save');
  await page.waitForFunction(() => document.querySelector('#asset-title').textContent.startsWith('Quayside at dusk'));
  let j = await apiJSON(`/api/v1/assets/${jpegId}`);
  assert(j.title === 'Quayside at dusk' && JSON.stringify(j.keywords) === '["dusk","quay"]', `the edit is saved: ${j.title} ${JSON.stringify(j.keywords)}`);
  assert(await page.evaluate(() => document.activeElement.id) === 'edit-open', 'focus returns to the Edit button');
  await page.fill('#tag-add', 'lighthouse-e2e, coast');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#tags-list li[data-tag="coast"]');
  await page.click('button[aria-label="Remove tag coast"]');
  await page.waitForSelector('#tags-list li[data-tag="coast"]', { state: 'detached' });
  j = await apiJSON(`/api/v1/assets/${jpegId}`);
  assert(JSON.stringify(j.tags) === '["lighthouse-e2e"]', `tags saved: ${JSON.stringify(j.tags)}`);
  await page.click('#events summary');
  await page.waitForFunction(() => [...document.querySelectorAll('#events-body .ev-type')].some((e) => e.textContent === 'edited'));
  await page.waitForFunction(() => [...document.querySelectorAll('#events-body .ev-type')].some((e) => e.textContent === 'tagged'));
  log('edited the title and keywords, tagged; history shows both');
  assert(await page.isVisible('#reprocess'), 'the reprocess button is shown');
  assert(await page.isVisible('#manifest-link'), 'the IIIF manifest link is shown');
  const manifestOf = (sel) => page.evaluate(async (s) => {
    const r = await fetch(document.querySelector(s).href);
    return [r.status, r.ok ? (await r.json()).type : await r.text(), new URL(document.querySelector(s).href).searchParams.get('manifest')];
  }, sel);
  let man = await manifestOf('#manifest-link');
  assert(man[0] === 200 && man[1] === 'Manifest' && man[2].startsWith(base), `the manifest link opens a IIIF manifest and names itself for drag and drop: ${JSON.stringify(man)}`);
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('asset');

  // --- Collections: create one and a child; add the three uploads.
  await page.click('#nav a[href="#/collections"]');
  await page.waitForSelector('#coll-status');
  await page.fill('#c-name', 'Harbour views');
  await page.click('#coll-create button[type=submit]');
  await page.waitForSelector('#collections a.coll-name');
  const parentId = await page.$eval('#collections li[data-id]', (li) => li.dataset.id);
  await page.fill('#c-name', 'Winter');
  await page.selectOption('#c-parent', parentId);
  await page.click('#coll-create button[type=submit]');
  await page.waitForSelector(`#collections li[data-id="${parentId}"] ul li[data-id]`);
  const childId = await page.$eval(`#collections li[data-id="${parentId}"] ul li[data-id]`, (li) => li.dataset.id);
  log('created a collection and a child inside it');
  await shot('collections');
  for (const id of [jpegId, pdfId, mp4Id]) {
    await openAsset(id);
    await page.click('#collections summary');
    await page.waitForSelector(`#coll-pick option[value="${parentId}"]`, { state: 'attached' });
    await page.selectOption('#coll-pick', parentId);
    await page.click('#coll-add');
    await page.waitForFunction(() => document.querySelector('#coll-note').textContent.startsWith('Added to'));
  }
  const members = async () => (await apiJSON(`/api/v1/collections/${parentId}/members`)).items.map((a) => a.id);
  assert(JSON.stringify(await members()) === JSON.stringify([jpegId, pdfId, mp4Id]), 'added in order');
  // Reorder with the keyboard: focus stays on the moved asset's button.
  await page.goto(`${base}/#/collections/${parentId}`);
  await page.waitForSelector('#members li[data-id]');
  await page.focus(`#down-${jpegId}`);
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => document.querySelector('#members li:nth-child(2)')?.dataset.id === id, jpegId);
  assert(await page.evaluate(() => document.activeElement.id) === `down-${jpegId}`, 'focus follows the moved asset');
  await page.keyboard.press('Enter');
  await page.waitForFunction((id) => document.querySelector('#members li:nth-child(3)')?.dataset.id === id, jpegId);
  const order = await members();
  assert(JSON.stringify(order) === JSON.stringify([pdfId, mp4Id, jpegId]), `the new order is saved: ${JSON.stringify(order)}`);
  log('reordered the members with the keyboard');
  // And by drag and drop: the JPEG dropped on the top half of the first.
  await page.dragAndDrop(`#members li[data-id="${jpegId}"] .drag-handle`, `#members li[data-id="${pdfId}"]`, { targetPosition: { x: 40, y: 4 } });
  await page.waitForFunction((id) => document.querySelector('#members li:nth-child(1)')?.dataset.id === id, jpegId);
  await page.waitForFunction(() => document.querySelector('#members-status').textContent.startsWith('Moved'));
  const order2 = await members();
  assert(JSON.stringify(order2) === JSON.stringify([jpegId, pdfId, mp4Id]), `the dragged order is saved: ${JSON.stringify(order2)}`);
  log('reordered the members by drag and drop');
  man = await manifestOf('#coll-manifest');
  assert(man[0] === 200 && man[1] === 'Manifest', `the collection's manifest link opens: ${JSON.stringify(man)}`);
  await shot('collection');

  // --- The MP4: hls.js plays (currentTime advances), poster, storyboard.
  await openAsset(mp4Id);
  await page.waitForSelector('#viewer video[data-player="hls.js"]');
  assert(await page.textContent('#asset-title') === path.basename(mp4), `the title is the filename: ${await page.textContent('#asset-title')}`);
  assert(await page.$eval('#viewer video', (v) => !!v.poster), 'the video has its poster');
  await page.evaluate(() => { const v = document.querySelector('#viewer video'); v.muted = true; return v.play(); });
  await page.waitForFunction(() => document.querySelector('#viewer video').currentTime > 1, null, { timeout: 30000 });
  log('hls.js plays, currentTime', await page.$eval('#viewer video', (v) => v.currentTime.toFixed(2)));
  await page.evaluate(() => document.querySelector('#viewer video').pause());
  await page.waitForSelector('#storyboard button');
  const sb = await page.$$eval('#storyboard button', (bs) => bs.map((b) => Number(b.dataset.t)));
  assert(sb.length >= 4, `storyboard thumbnails (${sb.length})`);
  // The thumbnails are crops of the sprite sheet: it must load as an image.
  const spriteW = await page.evaluate(() => new Promise((resolve) => {
    const bg = getComputedStyle(document.querySelector('#storyboard .sb-img')).backgroundImage;
    const img = new Image();
    img.onload = () => resolve(img.naturalWidth);
    img.onerror = () => resolve(0);
    img.src = bg.replace(/^url\("?|"?\)$/g, '');
  }));
  assert(spriteW >= 800, `the storyboard sprite loads (${spriteW} px wide)`);
  const lastT = sb[sb.length - 1];
  await page.click('#storyboard li:last-child button');
  await page.waitForFunction((t) => Math.abs(document.querySelector('#viewer video').currentTime - t) < 1, lastT, { timeout: 10000 });
  await page.evaluate(() => document.querySelector('#viewer video').pause());
  log(`storyboard: ${sb.length} thumbnails; clicking the last seeks to ${lastT.toFixed(1)} s`);
  // Hovering the timeline shows the preview frame.
  const vb = await page.locator('#viewer video').boundingBox();
  await page.mouse.move(vb.x + vb.width / 2, vb.y + vb.height - 20);
  await page.waitForSelector('#sb-preview:not([hidden])');
  await page.mouse.move(vb.x + vb.width / 2, vb.y + 20);
  await shot('viewer-video');

  // --- The PDF: page strip, each page in deep zoom, keyboard, its text.
  await openAsset(pdfId);
  await page.waitForSelector('#viewer[data-viewer=pages] #page-strip button');
  await waitTiles(`/iiif/3/${pdfId}~p1/`, 'PDF page 1');
  assert((await page.textContent('#page-label')) === 'Page 1 of 2', 'page 1 of 2');
  await page.focus('#page-strip button[aria-current]');
  await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => document.querySelector('#page-label').textContent === 'Page 2 of 2');
  await waitTiles(`/iiif/3/${pdfId}~p2/`, 'PDF page 2');
  assert(await page.evaluate(() => document.activeElement.getAttribute('aria-label')) === 'Page 2', 'focus moves with the page');
  await page.click('#text summary');
  await page.waitForFunction(() => /quokkaphile/i.test(document.querySelector('#text-body').textContent));
  log('document: both pages in deep zoom, text shown');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot('viewer-document');

  // --- The panorama: Pannellum, and the switch to the flat image.
  await waitReady(panoA.id, 'the panorama');
  await openAsset(panoA.id);
  await page.waitForSelector('#viewer[data-viewer=pannellum]');
  await page.waitForFunction(() => { const s = document.querySelector('#viewer .viewer-stage'); return s && (s.dataset.loaded || s.dataset.error); }, null, { timeout: 30000 });
  const panoErr = await page.$eval('#viewer .viewer-stage', (s) => s.dataset.error || '');
  assert(!panoErr, `Pannellum loaded the panorama (${panoErr})`);
  assert(await page.$('#viewer .pnlm-render-container canvas'), 'Pannellum draws on a canvas');
  await page.focus('#pano');
  await page.keyboard.down('ArrowLeft'); await page.waitForTimeout(300); await page.keyboard.up('ArrowLeft');
  log('360° viewer loaded the panorama');
  await shot('viewer-pano');
  await page.click('#view-toggle');
  await page.waitForSelector('#viewer[data-viewer=openseadragon]');
  assert(await page.getAttribute('#view-toggle', 'aria-pressed') === 'false', 'the toggle says flat');
  await page.click('#view-toggle');
  await page.waitForSelector('#viewer[data-viewer=pannellum]');

  // --- A cubic panorama: Pannellum's cubemap, its six faces fetched as
  // IIIF regions of the strip.
  await waitReady(cubeA.id, 'the cube panorama');
  await openAsset(cubeA.id);
  await page.waitForSelector('#viewer[data-viewer=pannellum]');
  await page.waitForFunction(() => { const s = document.querySelector('#viewer .viewer-stage'); return s && (s.dataset.loaded || s.dataset.error); }, null, { timeout: 30000 });
  const cubeErr = await page.$eval('#viewer .viewer-stage', (s) => s.dataset.error || '');
  assert(!cubeErr, `Pannellum loaded the cube (${cubeErr})`);
  assert(await page.$eval('#viewer .viewer-stage', (s) => s.dataset.projection) === 'cubemap', 'the strip opens as a cubemap');
  assert(await page.$('#viewer .pnlm-render-container canvas'), 'Pannellum draws the cube on a canvas');
  const faces = new Set(requests.filter((u) => u.includes(`/iiif/3/${cubeA.id}/`) && /\/\d+,0,512,512\/512,512\/0\/default\.jpg/.test(u))
    .map((u) => u.split('/iiif/3/')[1].split('/')[1]));
  assert(faces.size === 6, `six face regions requested (saw ${[...faces].join(' ')})`);
  log('360° viewer loaded the cube from six IIIF regions');
  await shot('viewer-cube');

  // --- Audio: the waveform and a player that knows the duration.
  await waitReady(wavA.id, 'the tone');
  await openAsset(wavA.id);
  await page.waitForFunction(() => { const i = document.querySelector('#viewer img.waveform'); return i && i.complete && i.naturalWidth > 0; });
  await page.waitForFunction(() => { const au = document.querySelector('#viewer audio'); return au && au.duration > 1; });
  // The playhead: a click on the waveform at 3/4 seeks there, and the
  // playhead and the slider follow; Home goes back to the start.
  const wb = await page.locator('#wave').boundingBox();
  await page.mouse.click(wb.x + wb.width * 0.75, wb.y + wb.height / 2);
  await page.waitForFunction(() => { const au = document.querySelector('#viewer audio'); return Math.abs(au.currentTime / au.duration - 0.75) < 0.03; });
  const head = await page.evaluate(() => {
    const w = document.querySelector('#wave').getBoundingClientRect(), p = document.querySelector('#playhead').getBoundingClientRect();
    return [(p.left + p.width / 2 - w.left) / w.width, document.querySelector('#wave').getAttribute('aria-valuetext')];
  });
  assert(Math.abs(head[0] - 0.75) < 0.03, `the playhead is at 3/4 of the waveform (${head[0].toFixed(3)})`);
  log(`audio: click at 3/4 of the waveform seeks; playhead at ${head[0].toFixed(3)}, slider says "${head[1]}"`);
  await shot('viewer-audio');
  await page.focus('#wave');
  await page.keyboard.press('Home');
  await page.waitForFunction(() => document.querySelector('#viewer audio').currentTime < 0.05 && document.querySelector('#wave').dataset.position === '0.0000');
  await page.evaluate(() => { const au = document.querySelector('#viewer audio'); au.muted = true; return au.play(); });
  await page.waitForFunction(() => Number(document.querySelector('#wave').dataset.position) > 0.1, null, { timeout: 15000 });
  await page.evaluate(() => document.querySelector('#viewer audio').pause());
  log('audio: the playhead moves while playing; Home seeks to the start');

  // --- The grid: find by a word of the PDF's text; filters; sort.
  await page.click('#nav a[href="#/"]');
  await page.waitForSelector(`#grid li[data-id="${jpegId}"]`);
  await page.waitForFunction((id) => {
    const img = document.querySelector(`#grid li[data-id="${id}"] .thumb img`);
    return img && img.complete && img.naturalWidth > 0;
  }, jpegId);
  await shot('grid');
  await page.fill('#f-q', 'zanzibarquux');
  await page.waitForFunction(() => document.querySelector('#grid-status').textContent.includes('No assets match'));
  await page.fill('#f-q', 'quokkaphile');
  await waitGrid([pdfId], true, 'search by a word of the PDF text');
  assert(page.url().includes('q=quokkaphile'), 'the search is kept in the URL');
  log('search finds the PDF by a word of its text');
  await shot('search');
  await page.setViewportSize({ width: 390, height: 844 });
  await shot('search-narrow');
  await page.setViewportSize({ width: 1280, height: 860 });
  // Sort: best match puts the title hit first; newest first the newer one.
  await page.fill('#f-q', 'wharfinger');
  await waitGrid([older.id, newer.id], true, 'best match');
  assert(await page.inputValue('#f-sort') === '', 'words switch the sort to best match');
  await page.selectOption('#f-sort', 'newest');
  await waitGrid([newer.id, older.id], true, 'newest first');
  assert(page.url().includes('sort=newest'), 'the sort is kept in the URL');
  log('sort: best match and newest first differ as they should');
  await page.click('#f-clear');
  // Tag, collection, capture date, kind.
  await page.fill('#f-tag', 'lighthouse-e2e');
  await waitGrid([jpegId], true, 'tag filter');
  await page.waitForSelector('#f-tag-list option[value="lighthouse-e2e"]', { state: 'attached' });
  await page.fill('#f-tag', '');
  await page.selectOption('#f-collection', parentId);
  await waitGrid([jpegId, pdfId, mp4Id], false, 'collection filter');
  await page.selectOption('#f-collection', '');
  await page.fill('#f-after', '2019-01-01');
  await page.fill('#f-before', '2020-01-01');
  await page.dispatchEvent('#f-before', 'change');
  await waitGrid([jpegId], true, 'capture date filter');
  assert(page.url().includes('captured_after=2019-01-01') && page.url().includes('captured_before=2020-01-01'), 'dates kept in the URL');
  await page.click('#f-clear');
  // Bulk: the three uploads (the collection filter) selected from the
  // keyboard (Space on the first, Shift+Space on the last: the range),
  // tagged at once; the tag removed from one; all added to the child
  // collection with "select all on this page".
  await page.selectOption('#f-collection', parentId);
  await waitGrid([jpegId, pdfId, mp4Id], false, 'collection filter for bulk');
  const tiles = await gridIDs();
  await page.focus(`#sel-${tiles[0]}`);
  await page.keyboard.press('Space');
  await page.focus(`#sel-${tiles[2]}`);
  await page.keyboard.down('Shift');
  await page.keyboard.press('Space');
  await page.keyboard.up('Shift');
  await page.waitForFunction(() => document.querySelector('#bulk-count').textContent === '3 selected');
  assert(await page.$eval('#select-all', (b) => b.checked && !b.indeterminate), 'all on the page are selected');
  await page.fill('#bulk-tags', 'bulk-e2e, batch-two');
  await page.click('#bulk-tag-add');
  await page.waitForFunction(() => document.querySelector('#bulk-note').textContent.startsWith('Added'));
  for (const id of [jpegId, pdfId, mp4Id]) {
    const tg = (await apiJSON(`/api/v1/assets/${id}`)).tags;
    assert(tg.includes('bulk-e2e') && tg.includes('batch-two'), `bulk tags on ${id}: ${JSON.stringify(tg)}`);
  }
  await shot('grid-bulk');
  await page.click('#bulk-clear');
  assert(await page.textContent('#bulk-count') === 'None selected', 'the selection is cleared');
  await page.click(`#sel-${pdfId}`);
  await page.fill('#bulk-tags', 'batch-two');
  await page.click('#bulk-tag-remove');
  await page.waitForFunction(() => document.querySelector('#bulk-note').textContent.startsWith('Removed'));
  assert(!(await apiJSON(`/api/v1/assets/${pdfId}`)).tags.includes('batch-two'), 'the tag is removed from the PDF');
  assert((await apiJSON(`/api/v1/assets/${jpegId}`)).tags.includes('batch-two'), 'and kept on the JPEG');
  await page.click('#select-all');
  await page.waitForFunction(() => document.querySelector('#bulk-count').textContent === '3 selected');
  await page.selectOption('#bulk-coll', childId);
  await page.click('#bulk-coll-add');
  await page.waitForFunction(() => document.querySelector('#bulk-note').textContent.startsWith('Added 3'));
  const childMembers = (await apiJSON(`/api/v1/collections/${childId}/members`)).items.map((a) => a.id).sort();
  assert(JSON.stringify(childMembers) === JSON.stringify([jpegId, pdfId, mp4Id].sort()), `bulk add to a collection: ${JSON.stringify(childMembers)}`);
  log('bulk: keyboard range selection, tags added to three and removed from one, all three added to a collection');
  await page.click('#f-clear');
  await page.selectOption('#f-kind', 'video');
  await waitGrid([mp4Id], true, 'kind filter');
  // A reload keeps the filters.
  await page.reload();
  await waitGrid([mp4Id], true, 'kind filter after a reload');
  assert(await page.inputValue('#f-kind') === 'video', 'the kind filter survives a reload');
  log('filters: tag, collection, capture date, kind; kept over a reload');

  // --- Empty and error states.
  await page.goto(`${base}/#/assets/00000000-0000-0000-0000-000000000000`);
  await page.waitForSelector('h1:text("Asset not found")');
  await page.goto(`${base}/#/collections/00000000-0000-0000-0000-000000000000`);
  await page.waitForSelector('h1:text("Collection not found")');
  await page.goto(`${base}/#/no/such/page`);
  await page.waitForSelector('h1:text("Not found")');
  log('not-found states');

  // --- Speed: 50 more assets, then the grid's first page from a cold load.
  const body = await readFile(small);
  const speedIDs = await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const fd = new FormData();
    // Distinct bytes after the JPEG's end, so none is a duplicate.
    fd.append('file', new Blob([body, Buffer.from(`\nstor-e2e-${i}\n`)], { type: 'image/jpeg' }), `speed-${String(i).padStart(2, '0')}.jpg`);
    return (await apiJSON('/api/v1/assets', { method: 'POST', body: fd })).id;
  }));
  await Promise.all(speedIDs.map((id, i) => waitReady(id, `speed asset ${i}`)));
  // Navigation start to the 50th thumbnail loaded, as the page itself
  // measures it (the grid marks 'stor:first-page-thumbs' with the
  // Performance API when the last image of its first page fired load).
  // Cold: the browser's HTTP cache emptied before each load; warm: as a
  // returning user sees it. Best of three each: the machine is shared.
  const cdp = await context.newCDPSession(page);
  const measure = async (cold) => {
    if (cold) await cdp.send('Network.clearBrowserCache');
    await page.goto('about:blank');
    const listBefore = requests.filter((u) => u.includes('/api/v1/assets?')).length;
    await page.goto(base + '/#/');
    const m = await (await page.waitForFunction(() => {
      const e = performance.getEntriesByName('stor:first-page-thumbs')[0];
      return e && { ms: e.startTime, ...e.detail };
    })).jsonValue();
    const lists = requests.filter((u) => u.includes('/api/v1/assets?')).length - listBefore;
    assert(lists === 1, `one list request for the first page (saw ${lists}: ${requests.filter((u) => u.includes('/api/v1/assets?')).slice(-lists).join(' ')})`);
    assert(m.count === 50 && m.failed === 0, `the first page has 50 thumbnails, all loaded: ${JSON.stringify(m)}`);
    return Math.round(m.ms);
  };
  const cold = [], warm = [];
  for (let round = 0; round < 3; round++) { cold.push(await measure(true)); warm.push(await measure(false)); }
  const ms = Math.min(...cold);
  log(`SPEED first 50 thumbnails (navigation start -> 50th thumbnail load, Performance API): cold cache ${cold.join(', ')} ms (best ${ms} ms); warm cache ${warm.join(', ')} ms (best ${Math.min(...warm)} ms)`);
  assert(ms < 5000, `the first 50 thumbnails load within 5 s on loopback, cold (best of 3: ${ms} ms; the goal is 1 s, the bound is loose for busy CI machines)`);
  // Infinite scroll: scrolling to the end fetches the next page.
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.waitForFunction(() => document.querySelectorAll('#grid li').length >= 51);
  log('infinite scroll loaded the next page');
  await page.evaluate(() => window.scrollTo(0, 0));

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

  // --- Users (admin): create one, change the role, disable.
  await page.click('#nav a[href="#/users"]');
  await page.waitForSelector(`#users-table tr[data-username="${USER}"]`);
  await page.fill('#u-name', 'e2e-viewer');
  await page.fill('#u-pass', 'viewer passphrase e2e');
  await page.fill('#u-project', 'e2e-project');
  await page.click('#user-create button[type=submit]');
  await page.waitForSelector('#users-table tr[data-username="e2e-viewer"][data-state="active"]');
  const vid = await page.$eval('#users-table tr[data-username="e2e-viewer"]', (tr) => tr.dataset.id);
  await page.selectOption(`#role-${vid}`, 'editor');
  await page.waitForFunction((id) => document.activeElement.id === `role-${id}` && document.querySelector(`#role-${id}`).value === 'editor', vid);
  await page.click(`#toggle-${vid}`);
  await page.waitForSelector('#users-table tr[data-username="e2e-viewer"][data-state="disabled"]');
  const vu = await apiJSON(`/api/v1/users/${vid}`);
  assert(vu.role === 'editor' && vu.project === 'e2e-project' && vu.disabled_at, `the user is saved: ${JSON.stringify(vu)}`);
  await shot('users');
  log('users: created one, made it an editor, disabled it');

  // --- Projects (admin): access and the custom-field schema of a project.
  await page.click('#nav a[href="#/projects"]');
  await page.waitForSelector('#project-pick');
  await page.fill('#p-name', 'e2e-museum');
  await page.click('#project-pick button[type=submit]');
  await page.waitForSelector('#project-access');
  assert(page.url().endsWith('#/projects?name=e2e-museum'), `the project is in the URL: ${page.url()}`);
  await page.check('#p-public');
  await page.fill('#p-rate', '2000000');
  await page.click('#project-access button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#p-updated').textContent.startsWith('Last changed'));
  const pj = await apiJSON('/api/v1/projects/e2e-museum');
  assert(pj.public === true && pj.public_originals === false && pj.download_rate === 2000000, `the project's access is saved: ${JSON.stringify(pj)}`);
  await page.click('#field-add');
  assert(await page.evaluate(() => document.activeElement.classList.contains('f-name')), 'a new field row takes the focus');
  await page.keyboard.type('condition');
  await page.selectOption('#fields-rows tr:last-child .f-type', 'enum');
  allow400 = true;
  await page.click('#project-fields button[type=submit]');
  await page.waitForSelector('.toast-error');
  assert((await page.textContent('.toast-error')).includes('an enum needs choices'), 'the API\'s reason for a bad schema is shown');
  await page.fill('#fields-rows tr:last-child .f-choices', 'good, fair , poor');
  await page.click('#field-add');
  await page.keyboard.type('year');
  await page.selectOption('#fields-rows tr:last-child .f-type', 'number');
  await page.click('#project-fields button[type=submit]');
  await page.waitForFunction(() => [...document.querySelectorAll('.toast')].some((t) => t.textContent.startsWith('Saved 2 field')));
  allow400 = false;
  const fj = await apiJSON('/api/v1/projects/e2e-museum/fields');
  assert(JSON.stringify(fj.fields) === '[{"name":"condition","type":"enum","choices":["good","fair","poor"]},{"name":"year","type":"number"}]',
    `the schema is saved: ${JSON.stringify(fj.fields)}`);
  await page.reload();
  await page.waitForSelector('#fields-rows tr:nth-child(2) .f-name');
  assert(await page.inputValue('#fields-rows tr:nth-child(2) .f-name') === 'year' && await page.isChecked('#p-public'), 'a reload shows the saved project');
  await shot('projects');
  log('projects: access and custom fields saved, a bad schema refused with the reason');

  // --- Audit log (admin): a username locked out by failed sign-ins shows
  // up with an Unlock button; the refusals are in the log and filter.
  // (STOR_SIGNIN_LOCKOUT_ATTEMPTS=4 on this server; e2e-admin's own two
  // wrong passwords stay under it.)
  for (let i = 0; i < 4; i++) {
    const r = await fetch(base + '/api/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'e2e-locked', password: 'not the password at all' }) });
    assert(r.status === 401 || r.status === 429, `failed sign-in ${i}: ${r.status}`);
  }
  await page.click('#nav a[href="#/audit"]');
  await page.waitForSelector('#locks-table tr[data-username="e2e-locked"]');
  await page.waitForSelector('#audit-table tr[data-action="session.denied"][data-target="e2e-locked"]');
  await page.fill('#a-action', 'session.denied');
  await page.fill('#a-target', 'e2e-locked');
  await page.click('#audit-filter button[type=submit]');
  await page.waitForFunction(() => {
    const trs = [...document.querySelectorAll('#audit-table tbody tr')];
    return trs.length >= 2 && trs.every((tr) => tr.dataset.action === 'session.denied' && tr.dataset.target === 'e2e-locked');
  });
  await shot('audit');
  await page.click('#locks-table tr[data-username="e2e-locked"] button');
  await page.waitForSelector('#locks-none');
  assert((await apiJSON('/api/v1/signin-locks')).items.length === 0, 'the lock is gone on the server');
  await page.fill('#a-action', 'signin.unlock');
  await page.fill('#a-target', '');
  await page.click('#audit-filter button[type=submit]');
  await page.waitForSelector('#audit-table tr[data-action="signin.unlock"][data-target="e2e-locked"]');
  log('audit: a locked username listed and unlocked; the log filters by action and target');

  // --- Sign out.
  await page.click('#signout');
  await page.waitForSelector('#username');
  const after = await page.evaluate(async () => (await fetch('api/v1/session')).status);
  assert(after === 401, `signed out: the session is gone (status ${after})`);
  log('signed out');

  // --- Change the password on My sessions: the other sessions end, this
  // one stays. Then sign out everywhere: a new session elsewhere, then the
  // button ends it and this one.
  const before = await outsideSession('Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
  await signInForm(PASS);
  await page.waitForSelector('#grid', { state: 'attached' });
  await page.click('#my-sessions');
  await page.waitForSelector('#pw-form');
  const PASS2 = 'a brand new passphrase e2e';
  await page.fill('#pw-current', 'not my password at all');
  await page.fill('#pw-new', PASS2);
  await page.fill('#pw-again', PASS2);
  await page.click('#pw-submit');
  await page.waitForFunction(() => document.querySelector('#pw-note').textContent === 'The current password is wrong.');
  assert(page.url().endsWith('#/sessions'), 'a wrong current password does not sign out');
  await page.fill('#pw-current', PASS);
  await page.fill('#pw-new', PASS2);
  await page.fill('#pw-again', PASS2);
  await page.click('#pw-submit');
  await page.waitForFunction(() => document.querySelector('#pw-note').textContent.startsWith('Password changed'));
  assert(await sessionStatus(before.cookie) === 401, 'changing the password ended the other session');
  assert(await page.evaluate(async () => (await fetch('api/v1/session')).status) === 200, 'and kept this one');
  log('changed the password: the other session ended, this one stays');
  const PASS_OLD = PASS;
  const elsewhere = await (async () => {
    const r = await fetch(base + '/api/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json', 'User-Agent': 'Mozilla/5.0 (Macintosh; Mac OS X 14_0) Safari/605.1.15' },
      body: JSON.stringify({ username: USER, password: PASS2 }) });
    assert(r.ok, `sign-in with the new password: HTTP ${r.status}`);
    return { cookie: r.headers.get('set-cookie').split(';')[0], id: (await r.json()).session_id };
  })();
  assert((await fetch(base + '/api/v1/session', { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: USER, password: PASS_OLD }) })).status === 401, 'the old password no longer works');
  await page.reload();
  await page.waitForSelector(`#sessions-table tr[data-id="${elsewhere.id}"][data-state="active"]`);
  page.once('dialog', (d) => d.accept());
  await page.click('#signout-everywhere');
  await page.waitForSelector('#username');
  assert(await sessionStatus(elsewhere.cookie) === 401, 'the other session is ended');
  assert(await page.evaluate(async () => (await fetch('api/v1/session')).status) === 401, 'and this one');
  log('signed out everywhere');

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
