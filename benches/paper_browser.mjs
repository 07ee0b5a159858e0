// The browser runner of `sae-geometry bench paper`: one workload in the app (release build in
// dist/, headless Chromium, CPU backend, the analysis in the page's Web Worker), timed from the
// click to the result on screen. Prints one JSON line: seconds, the answers under the Python
// reference's names, the renderer process's peak resident memory (the worker and its wasm memory
// live in it), and a note.
//
//   node benches/paper_browser.mjs WORKLOAD FILE... [--null-trials=N]
//     galaxy-16k | galaxy-65k  DECODER.safetensors
//     lobes-20k | lobes-200k   DECODER.safetensors FIRINGS.safetensors
//     crystals                 VECTORS.safetensors WORDS.json
//
// The workload's files are offered to the app as its bundled data: the static server answers
// data/manifest.json with a manifest of just these files and serves them from their folder, so the
// app fetches them as it fetches its own bundles (the same path a project page's users take).
import { createServer } from 'node:http';
import { createReadStream, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join, normalize } from 'node:path';
import { DIST, SUB_PATH, launch } from '../tests/e2e/harness.mjs';

const [workload, ...rest] = process.argv.slice(2);
const files = rest.filter((a) => !a.startsWith('--'));
const trials = Number((rest.find((a) => a.startsWith('--null-trials=')) || '--null-trials=10').split('=')[1]);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json' };

function header(path) {
  const buf = readFileSync(path);
  const n = Number(buf.readBigUInt64LE(0));
  return JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
}

function entryFor(path, kind, extra = {}) {
  const h = header(path);
  const [name, info] = Object.entries(h).find(([k]) => k !== '__metadata__');
  const id = basename(path).replace(/\.safetensors$/, '');
  return { id, title: id, file: basename(path), tensor: name, kind, n: info.shape[0], d: info.shape[1] ?? 0,
    dtype: info.dtype.toLowerCase(), bytes: statSync(path).size, description: 'sae-geometry bench paper workload',
    source: 'sae-geometry bench paper', metadata: h.__metadata__ || {}, ...extra };
}

const manifest = { datasets: [] };
const served = new Map();
if (workload.startsWith('galaxy') || workload.startsWith('lobes')) {
  manifest.datasets.push(entryFor(files[0], 'points'));
  served.set(basename(files[0]), files[0]);
}
if (workload.startsWith('lobes')) {
  const sae = manifest.datasets[0].id;
  const e = entryFor(files[1], 'cooccurrence');
  e.metadata = { ...e.metadata, sae };
  manifest.datasets.push(e);
  served.set(basename(files[1]), files[1]);
}
if (workload === 'crystals') {
  manifest.datasets.push(entryFor(files[0], 'crystals'));
  served.set(basename(files[0]), files[0]);
  served.set(basename(files[1]), files[1]);
}

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (!url.pathname.startsWith(SUB_PATH)) { res.writeHead(404).end(); return; }
  const rel = decodeURIComponent(url.pathname.slice(SUB_PATH.length)) || 'index.html';
  let path;
  if (rel === 'data/manifest.json') {
    const body = JSON.stringify(manifest);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    return;
  } else if (rel.startsWith('data/')) {
    path = served.get(rel.slice(5));
  } else {
    path = normalize(join(DIST, rel));
    if (!path.startsWith(DIST)) path = undefined;
  }
  let size;
  try { size = statSync(path).size; } catch { res.writeHead(404).end('not found'); return; }
  res.writeHead(200, { 'content-type': TYPES[extname(path)] || 'application/octet-stream', 'content-length': size });
  createReadStream(path).pipe(res);
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const base = `http://127.0.0.1:${server.address().port}${SUB_PATH}`;

/// Largest peak resident memory (VmHWM) of the renderer processes of Chromium on this machine,
/// bytes (the benchmark runs one browser with one page: the app's renderer, its worker inside).
function rendererPeak() {
  let peak = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(status)[1]) * 1024);
    } catch { /* gone */ }
  }
  return peak;
}

const browser = await launch();
const out = { workload };
try {
  // No service worker: it would copy each workload file into Cache Storage while it is timed.
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 }, serviceWorkers: 'block' });
  await page.goto(base);
  const num = async (sel, attr = 'data-value') => Number(await page.locator(sel).first().getAttribute(attr));
  const waitFor = async (locator, what) => {
    for (;;) {
      if (await locator.count()) return;
      for (const sel of ['[data-testid=error]', '[data-testid=lobes-error]', '[data-testid=crystals-error]', '[data-testid=lobes-input-error]']) {
        if (await page.locator(sel).count()) throw new Error(`${what}: ${(await page.locator(sel).first().textContent()).trim()}`);
      }
      await page.waitForTimeout(250);
    }
  };
  const [first] = manifest.datasets;
  if (workload.startsWith('galaxy')) {
    const button = page.getByTestId(`dataset-${first.id}`);
    await button.waitFor({ timeout: 60_000 });
    const t0 = Date.now();
    await button.click();
    await waitFor(page.locator(`[data-testid=summary][data-input="${first.file}"] [data-testid=isotropic-clustering]`), 'galaxy');
    out.seconds = (Date.now() - t0) / 1000;
    out.slope = await num('[data-testid=slope]');
    out.log_volume = await num('[data-testid=log-volume]');
    out.clustering = await num('[data-testid=clustering]');
    out.isotropic_clustering = await num('[data-testid=isotropic-clustering]');
    out.note = (await page.getByTestId('backend').textContent()).trim();
  } else if (workload.startsWith('lobes')) {
    await page.getByTestId('tab-lobes').click();
    await page.locator(`[data-testid=lobes-input] option[value="${first.id}"]`).waitFor({ state: 'attached', timeout: 60_000 });
    await page.selectOption('[data-testid=lobes-input]', first.id);
    await page.fill('[data-testid=lobes-k]', '2');
    await page.fill('[data-testid=lobes-trials]', String(trials));
    const t0 = Date.now();
    await page.getByTestId('lobes-run').click();
    await waitFor(page.locator(`[data-testid=lobes-summary][data-input="${first.file}"][data-k="2"]`), 'lobes');
    out.seconds = (Date.now() - t0) / 1000;
    out.ami = await num('[data-testid=lobes-ami]');
    out.balanced_accuracy = await num('[data-testid=lobes-bacc]');
    out.note = (await page.getByTestId('lobes-backend').textContent()).trim();
  } else if (workload === 'crystals') {
    await page.getByTestId('tab-crystals').click();
    await page.locator(`[data-testid=crystals-input] option[value="${first.id}"]`).waitFor({ state: 'attached', timeout: 60_000 });
    await page.selectOption('[data-testid=crystals-input]', first.id);
    await page.selectOption('[data-testid=crystals-sample]', 'all');
    const t0 = Date.now();
    await page.getByTestId('crystals-run').click();
    await waitFor(page.locator(`[data-testid=crystals-summary][data-input="${first.file}"]`), 'crystals');
    out.seconds = (Date.now() - t0) / 1000;
    out.silhouette_raw = await num('[data-testid=crystals-summary]', 'data-silhouette-raw');
    out.silhouette_lda = { 11: await num('[data-testid=silhouette-table] td[data-components="11"]') };
    out.word_length_r = await num('[data-testid=word-length]', 'data-r');
    out.note = 'all pairs, exact silhouettes';
  } else {
    throw new Error(`unknown workload ${workload}`);
  }
  out.peak_bytes = rendererPeak();
} catch (e) {
  out.error = String(e.message || e);
} finally {
  await browser.close();
  server.close();
}
console.log(JSON.stringify(out));
