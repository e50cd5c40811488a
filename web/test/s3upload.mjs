// Browser test of direct uploads to S3 (web/src/s3upload.js, Uppy's
// @uppy/aws-s3 against /api/v1/uploads/s3) in Debian's headless Chromium
// with playwright-core. Run by internal/webui/s3_e2e_test.go, which starts
// MinIO (CORS allowing stor's origin) and `stor serve` on it, and passes:
//   STOR_URL    base URL of stor
//   STOR_TOKEN  an admin token
//   STOR_S3     MinIO's base URL (http://host:port)
//   STOR_BIG    a file of more than two 8 MiB parts (a JPEG)
//   STOR_BIG2   another such file (for the reload)
// It signs in, checks that the upload page chose S3, uploads the file with
// the second part's first PUT aborted (connection reset): the plugin
// retries that part by itself (or, if the file fails, Retry resumes it);
// either way no part stored before is sent again. Then it waits for the
// asset to be ready. Then a second file is cut off after two parts and the
// page reloaded: the upload resumes (same multipart upload, parts 1 and 2
// not sent again). Prints one line per step; exits non-zero on failure.
import { chromium } from 'playwright-core';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const base = process.env.STOR_URL.replace(/\/$/, '');
const token = process.env.STOR_TOKEN;
const s3 = process.env.STOR_S3.replace(/\/$/, '');
const big = process.env.STOR_BIG;
const big2 = process.env.STOR_BIG2;
const CHROMIUM = process.env.STOR_CHROMIUM || '/usr/bin/chromium';
const t0 = Date.now();
const log = (...a) => console.log(`[${((Date.now() - t0) / 1000).toFixed(1)}s]`, ...a);
function assert(cond, msg) { if (!cond) throw new Error(`assertion failed: ${msg}`); }

const profile = await mkdtemp(path.join(tmpdir(), 'stor-s3e2e-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM, headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  viewport: { width: 1280, height: 860 },
});
const page = context.pages()[0] || await context.newPage();
page.setDefaultTimeout(300000); // the test machine is shared and busy
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
const consoleLines = [];
page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
const apiCalls = [];
page.on('response', (r) => { if (r.url().includes('/uploads/s3')) apiCalls.push(`${r.request().method()} ${r.url().replace(base, '')} ${r.status()}`); });

// Every part PUT to MinIO: [partNumber, status or 'aborted', uploadId].
const puts = [];
page.on('response', (r) => {
  const u = new URL(r.url());
  if (r.request().method() === 'PUT' && u.origin === s3 && u.searchParams.get('partNumber')) {
    puts.push([Number(u.searchParams.get('partNumber')), r.status(), u.searchParams.get('uploadId')]);
  }
});
// The first PUT of part 2 is cut off, as a flaky network would.
let aborted = false;
await page.route((url) => url.origin === s3 && url.searchParams.get('partNumber') === '2', async (route) => {
  if (!aborted && route.request().method() === 'PUT') {
    aborted = true;
    puts.push([2, 'aborted']);
    await route.abort('connectionreset');
    return;
  }
  await route.continue();
});

let failed = false;
try {
  await page.goto(base + '/');
  // Sign in with the API token (the alternative to username and password).
  await page.waitForSelector('#signin-alt summary');
  await page.click('#signin-alt summary');
  await page.fill('#token', token);
  await page.click('#token-submit');
  await page.waitForSelector('#nav a[href="#/upload"]');
  await page.click('#nav a[href="#/upload"]');
  await page.waitForSelector('#upload-mode');
  const mode = await page.textContent('#upload-mode');
  log('upload mode:', mode);
  assert(/S3/.test(mode), `the upload page chose direct S3 uploads (${mode})`);

  await page.locator('input.uppy-Dashboard-input[type=file]:not([webkitdirectory])').first().setInputFiles([big]);
  await page.click('.uppy-StatusBar-actionBtn--upload');
  // The aborted part fails the file; Retry resumes it.
  const first = await page.waitForSelector('.uppy-StatusBar-actionBtn--retry, #uploaded li[data-asset]:not([data-asset=""])');
  assert(aborted, 'part 2 was aborted');
  let before = [];
  if (await first.evaluate((el) => el.matches('.uppy-StatusBar-actionBtn--retry'))) {
    before = puts.filter(([, st]) => st === 200).map(([n]) => n);
    log('failed after the aborted part; parts stored before the retry:', JSON.stringify(before));
    await page.click('.uppy-StatusBar-actionBtn--retry');
  } else {
    log('the plugin retried the aborted part by itself');
  }
  await page.waitForSelector('#uploaded li[data-asset]:not([data-asset=""])');
  const id = await page.getAttribute('#uploaded li', 'data-asset');
  log('uploaded: asset', id, 'part PUTs', JSON.stringify(puts));
  const ok = puts.filter(([, st]) => st === 200).map(([n]) => n);
  const parts = Math.max(...ok);
  assert(parts >= 3, `a multi-part upload (${parts} parts)`);
  for (let n = 1; n <= parts; n++) assert(ok.includes(n), `part ${n} stored`);
  // Resumed, not restarted: a part stored before the failure is not sent again.
  for (const n of before) assert(ok.filter((m) => m === n).length === 1, `part ${n} was sent once (resumed, not restarted)`);

  await page.waitForSelector('#uploaded li[data-state="ready"]', { timeout: 300000 });
  log('asset ready');
  const r = await fetch(`${base}/api/v1/assets/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  const a = await r.json();
  assert(r.ok && a.state === 'ready' && a.filename === path.basename(big), `the asset: ${JSON.stringify(a).slice(0, 300)}`);
  console.log(`ASSET ${id}`);

  // --- A reload in the middle of an upload. Parts 3 and up are refused
  // (the network drops) until the page is reloaded; Golden Retriever kept
  // the file's multipart upload (uploadId, key) in localStorage; the file
  // is too big for its IndexedDB copy, so the user picks it again, and the
  // plugin asks stor which parts S3 has and sends only the others.
  let hold = true;
  await page.route((url) => hold && url.origin === s3 && Number(url.searchParams.get('partNumber')) >= 3,
    (route) => route.abort('connectionreset'));
  await page.click('.uppy-StatusBar-actionBtn--done');
  const seen = puts.length;
  await page.locator('input.uppy-Dashboard-input[type=file]:not([webkitdirectory])').first().setInputFiles([big2]);
  await page.click('.uppy-StatusBar-actionBtn--upload');
  const stored = () => puts.slice(seen).filter(([, st]) => st === 200).map(([n]) => n);
  for (let i = 0; !(stored().includes(1) && stored().includes(2)); i++) {
    assert(i < 3000, `parts 1 and 2 of the second file stored before the reload (${JSON.stringify(puts.slice(seen))})`);
    await new Promise((res) => setTimeout(res, 100));
  }
  const uploads = new Set(puts.slice(seen).map(([, , u]) => u));
  assert(uploads.size === 1, `one multipart upload before the reload: ${[...uploads]}`);
  log('second file: parts', JSON.stringify(stored()), 'stored; reloading the page');
  await page.reload();
  hold = false;
  await page.waitForSelector('#upload-mode');
  // Golden Retriever shows the file as a ghost: "Re-select" opens the
  // add-files panel, where the file is picked again.
  await page.click('.uppy-Dashboard-Item-reSelect');
  await page.locator('input.uppy-Dashboard-input[type=file]:not([webkitdirectory])').first().setInputFiles([big2]);
  const go = await page.waitForSelector('.uppy-StatusBar-actionBtn--upload, .uppy-StatusBar-actionBtn--retry, #uploaded li[data-asset]:not([data-asset=""])');
  if (await go.evaluate((el) => el.matches('button'))) await go.click();
  await page.waitForSelector('#uploaded li[data-asset]:not([data-asset=""])');
  const id2 = await page.getAttribute('#uploaded li', 'data-asset');
  const after = puts.slice(seen);
  log('second file: asset', id2, 'part PUTs', JSON.stringify(after));
  const ids = new Set(after.map(([, , u]) => u));
  assert(ids.size === 1, `the same multipart upload after the reload (resumed, not restarted): ${[...ids]}`);
  const ok2 = after.filter(([, st]) => st === 200).map(([n]) => n);
  for (const n of [1, 2]) assert(ok2.filter((m) => m === n).length === 1, `part ${n} was sent once across the reload`);
  assert(apiCalls.some((c) => /^GET \/api\/v1\/uploads\/s3\/multipart\/[^/?]+\?key=/.test(c)), `the plugin listed the stored parts: ${apiCalls.join(', ')}`);
  const r2 = await fetch(`${base}/api/v1/assets/${id2}`, { headers: { Authorization: `Bearer ${token}` } });
  const a2 = await r2.json();
  assert(r2.ok && a2.filename === path.basename(big2) && a2.size === (await stat(big2)).size, `the second asset: ${JSON.stringify(a2).slice(0, 300)}`);
  console.log(`ASSET2 ${id2}`);
  assert(problems.length === 0, problems.join('; '));
} catch (e) {
  failed = true;
  console.error('FAIL:', e.message);
  console.error('part PUTs:', JSON.stringify(puts));
  console.error('stor calls:', apiCalls.join('\n  '));
  console.error('console:', consoleLines.slice(-20).join('\n  '));
  try { await page.screenshot({ path: path.join(profile, 'failure.png') }); console.error('screenshot', path.join(profile, 'failure.png')); } catch { /* none */ }
} finally {
  await context.close();
}
process.exit(failed ? 1 : 0);
