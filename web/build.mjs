// Bundles the web UI into internal/webui/dist (embedded in the Go binary).
// Output: index.html (names the hashed entry files) and static/ with
// content-hashed JS and CSS, code-split so the grid loads without Uppy,
// OpenSeadragon, hls.js or Pannellum, and a .gz copy of every text file.
import * as esbuild from 'esbuild';
import { mkdir, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, '../internal/webui/dist');
const staticDir = path.join(out, 'static');

await rm(staticDir, { recursive: true, force: true });
await rm(path.join(out, 'index.html'), { force: true });
await mkdir(staticDir, { recursive: true });

const result = await esbuild.build({
  absWorkingDir: here,
  entryPoints: { app: 'src/main.js', style: 'src/app.css', upload: 'src/upload.css', pano: 'src/pano.css' },
  bundle: true,
  format: 'esm',
  splitting: true,
  minify: true,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  outdir: staticDir,
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.svg': 'file', '.png': 'file' },
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});

// Map each entry point to its hashed output file.
const entries = {};
for (const [file, o] of Object.entries(result.metafile.outputs)) {
  if (!o.entryPoint) continue;
  const name = { 'src/main.js': 'app', 'src/app.css': 'style', 'src/upload.css': 'upload', 'src/pano.css': 'pano' }[o.entryPoint];
  if (name && !file.endsWith('.map')) entries[name] = 'static/' + path.basename(file);
}
for (const k of ['app', 'style', 'upload', 'pano']) {
  if (!entries[k]) throw new Error(`build: no output for entry ${k}`);
}

// The chunks app.js imports statically are preloaded beside it, so the
// browser fetches them at once instead of after parsing app.js.
const appOut = result.metafile.outputs[path.relative(here, path.join(out, entries.app))];
const preloads = (appOut ? appOut.imports : []).filter((i) => i.kind === 'import-statement')
  .map((i) => `<link rel="modulepreload" href="static/${path.basename(i.path)}">`);
let html = await readFile(path.join(here, 'src/index.html'), 'utf8');
html = html
  .replace(/(<link rel="modulepreload" href="%APP_JS%">)/, `$1${preloads.map((l) => '\n' + l).join('')}`)
  .replaceAll('%APP_JS%', entries.app)
  .replaceAll('%STYLE_CSS%', entries.style)
  .replaceAll('%UPLOAD_CSS%', entries.upload)
  .replaceAll('%PANO_CSS%', entries.pano);
await writeFile(path.join(out, 'index.html'), html);

// Precompressed copies for the Go handler to serve with Content-Encoding: gzip.
let total = 0, totalGz = 0;
for (const f of await readdir(staticDir)) {
  if (!/\.(js|css|svg|txt)$/.test(f)) continue;
  const buf = await readFile(path.join(staticDir, f));
  total += buf.length;
  if (buf.length < 1024) continue;
  const gz = gzipSync(buf, { level: 9 });
  totalGz += gz.length;
  await writeFile(path.join(staticDir, f + '.gz'), gz);
}
const size = (f) => result.metafile.outputs[path.relative(here, path.join(out, f))]?.bytes ?? 0;
console.log(`web: built ${entries.app} (${size(entries.app)} B), ${entries.style}, ${entries.upload}, ${entries.pano}; ` +
  `static total ${total} B, gzip ${totalGz} B`);
