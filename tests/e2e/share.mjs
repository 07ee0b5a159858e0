// End-to-end test of loading from the web and of links (issue 9), against the built app (dist/)
// served from a sub-path, in Debian's headless Chromium driven by Playwright. Run by scripts/test.sh
// after run.mjs.
//
// A second local server, on another port (so every request is cross-origin, as from a real data
// host), serves a SAELens-style safetensors file (a 50 MB encoder before the real 3 MB decoder of
// a bundled SAE) three ways: with range requests and CORS, without ranges (the whole file, slowly,
// so that the byte progress can be seen), and without CORS; and answers 404 for anything else.
// Checks: `?data=URL` reads only the decoder from the ranged server and gives the CLI's numbers on
// the same file; the server without ranges gives the same numbers from the whole file, with byte
// progress; refusals (CORS, 404) are named in the page; the URL box loads a file; a shared link
// reproduces the data, parameters and numbers, and the address follows what is shown; a bad value in
// a link is named; embed mode shows the plot alone, sized to its frame; each export of the spectrum
// (PNG, SVG, CSV, JSON) parses and holds the numbers shown; after a visit the app and its bundled
// data reload and run with the app's server gone (the service worker, sw/sw.js).
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serve, baseUrl, launch, cli, checker, relClose, waitForCurrent } from './harness.mjs';

const { check, finish } = checker('links and remote files');
const DECODER_SOURCE = join(ROOT, 'public/data/minilm-l6-topk4096-layer0.safetensors');
const BUNDLED_ID = 'minilm-l6-topk4096-layer1';
const BUNDLED_FILE = join(ROOT, `public/data/${BUNDLED_ID}.safetensors`);

/// A safetensors file laid out as SAELens writes one: W_enc (d, N) f32 first, then W_dec (the
/// bundled SAE's decoder, as stored), b_enc, b_dec.
function saelensFile(path) {
  const src = readFileSync(DECODER_SOURCE);
  const headerLen = Number(src.readBigUInt64LE(0));
  const header = JSON.parse(src.subarray(8, 8 + headerLen).toString('utf8'));
  const [name] = Object.keys(header).filter((k) => k !== '__metadata__');
  const { dtype, shape, data_offsets: [s, e] } = header[name];
  const decoder = src.subarray(8 + headerLen + s, 8 + headerLen + e);
  const [n, d] = shape;
  const encN = 32768; // a wide encoder: 50 MB of f32, which the page must not download
  const parts = [
    ['W_enc', 'F32', [d, encN], Buffer.alloc(d * encN * 4, 1)],
    ['W_dec', dtype, shape, decoder],
    ['b_enc', 'F32', [n], Buffer.alloc(n * 4)],
    ['b_dec', 'F32', [d], Buffer.alloc(d * 4)],
  ];
  const json = { __metadata__: { format: 'pt', hook_name: 'blocks.0.hook_resid_post' } };
  let offset = 0;
  for (const [key, dt, sh, bytes] of parts) {
    json[key] = { dtype: dt, shape: sh, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
  }
  let text = JSON.stringify(json);
  while (text.length % 8) text += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  const file = Buffer.concat([len, Buffer.from(text), ...parts.map((p) => p[3])]);
  writeFileSync(path, file);
  return file;
}

/// An .npy file of f32 `values` with `shape`, as np.save writes it (format 1.0).
function npyFile(shape, values) {
  let dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  dict += ' '.repeat((64 - ((10 + dict.length + 1) % 64)) % 64) + '\n';
  const len = Buffer.alloc(2);
  len.writeUInt16LE(dict.length);
  return Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), len, Buffer.from(dict, 'latin1'),
    Buffer.from(values.buffer, values.byteOffset, values.byteLength)]);
}

/// A zip of stored members, as np.savez writes an .npz.
function storedZip(members) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, data] of members) {
    const fname = Buffer.from(name);
    const crc = zlib.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14); local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fname.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x21, 14); central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24); central.writeUInt16LE(fname.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, fname, data);
    centrals.push(central, fname);
    offset += 30 + fname.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(members.length, 8); end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/// A params.npz laid out as Gemma Scope's (np.savez, stored; the encoder first): W_dec is
/// MiniLM's 30,522 x 384 token embeddings (the bundled f16 values, as f32), W_enc its transpose,
/// b_dec zeros. 94 MB: over the size above which the worker streams a file.
function gemmaLikeNpz(path) {
  const src = readFileSync(join(ROOT, 'public/data/minilm-l6-token-embeddings.safetensors'));
  const headerLen = Number(src.readBigUInt64LE(0));
  const header = JSON.parse(src.subarray(8, 8 + headerLen).toString('utf8'));
  const { shape: [n, d], data_offsets: [s] } = header['embeddings.word_embeddings.weight'];
  const half = (h) => {
    const e = (h >> 10) & 31, f = h & 1023, sign = h >> 15 ? -1 : 1;
    return sign * (e === 0 ? f * 2 ** -24 : e === 31 ? (f ? NaN : Infinity) : (1 + f / 1024) * 2 ** (e - 15));
  };
  const dec = new Float32Array(n * d);
  for (let i = 0; i < n * d; i++) dec[i] = half(src.readUInt16LE(8 + headerLen + s + 2 * i));
  const enc = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) enc[j * n + i] = dec[i * d + j];
  const zip = storedZip([['W_enc.npy', npyFile([d, n], enc)], ['W_dec.npy', npyFile([n, d], dec)], ['b_dec.npy', npyFile([d], new Float32Array(d))]]);
  writeFileSync(path, zip);
  return zip;
}

/// The data host: /ranged/NAME (ranges + CORS), /plain/NAME (whole file, 1 MB every 10 ms, CORS),
/// /nocors/NAME (no CORS headers); NAME may be anything ending in .safetensors but "missing...".
/// Counts the bytes sent per path.
function dataHost(file, extra = {}) {
  const sent = {};
  const flakyFailed = new Set();
  const cors = { 'access-control-allow-origin': '*', 'access-control-expose-headers': 'content-range, content-length' };
  const server = createServer((req, res) => {
    const [, mode, ...rest] = req.url.split('/');
    const name = rest.join('/');
    const withCors = mode !== 'nocors';
    if (req.method === 'OPTIONS') {
      res.writeHead(204, withCors ? { ...cors, 'access-control-allow-headers': 'range', 'access-control-allow-methods': 'GET' } : {}).end();
      return;
    }
    const served = extra[name.split('/').pop()] || file;
    // A flaky server: the first request for a "flaky" file fails (503), later ones succeed.
    if (name.startsWith('flaky') && req.method === 'GET' && !flakyFailed.has(name)) {
      flakyFailed.add(name);
      res.writeHead(503, cors).end('busy');
      return;
    }
    if (!['ranged', 'plain', 'nocors'].includes(mode) || !/\.(safetensors|npz)$/.test(name) || name.startsWith('missing')) {
      res.writeHead(404, withCors ? cors : {}).end('not found');
      return;
    }
    const count = (n) => { sent[req.url] = (sent[req.url] || 0) + n; };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range || '');
    if (mode === 'ranged' && range) {
      const start = Number(range[1]);
      const end = Math.min(range[2] ? Number(range[2]) : served.length - 1, served.length - 1);
      if (start >= served.length) { res.writeHead(416, { ...cors, 'content-range': `bytes */${served.length}` }).end(); return; }
      const body = served.subarray(start, end + 1);
      res.writeHead(206, { ...cors, 'content-type': 'application/octet-stream', 'content-length': body.length,
        'content-range': `bytes ${start}-${end}/${served.length}`, 'accept-ranges': 'bytes' });
      count(body.length);
      res.end(body);
      return;
    }
    res.writeHead(200, { ...(withCors ? cors : {}), 'content-type': 'application/octet-stream', 'content-length': served.length });
    let at = 0;
    const step = () => {
      if (at >= served.length) { res.end(); return; }
      const chunk = served.subarray(at, at + (1 << 20));
      at += chunk.length;
      count(chunk.length);
      res.write(chunk);
      setTimeout(step, mode === 'plain' ? 10 : 0);
    };
    step();
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ server, sent, url: `http://127.0.0.1:${server.address().port}` })));
}

const work = mkdtempSync(join(tmpdir(), 'sae-share-'));
const filePath = join(work, 'sae.safetensors');
const file = saelensFile(filePath);
const reference = cli(['analyze', 'galaxy', filePath, '--no-entropy']);
const app = await serve();
const base = baseUrl(app);
// A 30-feature decoder (30 x 8 f32, safetensors) for the authors' 30-feature histogram
// (tests/golden/convert/authors_histogram.npz): the lobes of one's own files.
function smallDecoder(path) {
  let x = 12345;
  const values = Float32Array.from({ length: 30 * 8 }, () => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648 - 0.5; });
  let text = JSON.stringify({ W_dec: { dtype: 'F32', shape: [30, 8], data_offsets: [0, values.byteLength] } });
  while (text.length % 8) text += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  const bytes = Buffer.concat([len, Buffer.from(text), Buffer.from(values.buffer)]);
  writeFileSync(path, bytes);
  return bytes;
}
const smallPath = join(work, 'dec30.safetensors');
const HISTOGRAM = join(ROOT, 'tests/golden/convert/authors_histogram.npz');
const hosted = { 'dec30.safetensors': smallDecoder(smallPath), 'authors_histogram.npz': readFileSync(HISTOGRAM) };
const host = await dataHost(file, hosted);
const browser = await launch();
const pageErrors = [];
let appClosed = false;

function sameNumbers(ui, ref, label) {
  check(relClose(ui.slope, ref.power_law.slope, 1e-9) && relClose(ui.logVolume, ref.log_volume, 1e-9)
    && relClose(ui.low, ref.power_law.ci95[0], 1e-9) && relClose(ui.high, ref.power_law.ci95[1], 1e-9),
    `${label}: slope, interval and log-volume equal the CLI's`, `${ui.slope} vs ${ref.power_law.slope}`);
}

/// Clicks the button `testid` and returns the file it downloads: its suggested name and bytes.
async function downloaded(page, testid) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.getByTestId(testid).click()]);
  const path = join(work, `download-${testid}`);
  await download.saveAs(path);
  return { name: download.suggestedFilename(), bytes: readFileSync(path) };
}

/// Shift-drags a box from 1 px inside the top-left corner of `box` (page pixels) to 1 px inside
/// its bottom-right corner: the box selection of the lobe map and the 3D view.
async function shiftDragBox(page, box) {
  await page.keyboard.down('Shift');
  await page.mouse.move(box.x + 1, box.y + 1);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width - 1, box.y + box.height - 1, { steps: 4 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
}

/// The data rows of a downloaded CSV (after its `#` lines and its header), split at commas.
const csvRows = (file) => file.bytes.toString('utf8').split('\n').filter((l) => l && !l.startsWith('#')).slice(1).map((l) => l.split(','));

/// Each export of the spectrum: the file is produced and parses, and holds the numbers shown.
async function exports(page, ref, shown) {
  const take = (ext) => downloaded(page, `spectrum-export-${ext}`);
  const png = await take('png');
  check(png.bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) && png.bytes.length > 5000
    && png.name === `${BUNDLED_ID}-spectrum.png`, 'PNG export: a PNG of the plot', `${png.name}, ${png.bytes.length} bytes`);
  const svg = (await take('svg')).bytes.toString('utf8');
  check(/<svg[^>]*width="960"/.test(svg) && svg.includes('</svg>') && svg.includes(`slope ${shown.slope.toFixed(4)}`),
    'SVG export: an SVG of the same chart, its caption the slope shown', `${svg.length} chars`);
  const csv = (await take('csv')).bytes.toString('utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const rows = csv.slice(1).map((l) => l.split(',').map(Number));
  check(csv[0] === 'rank,eigenvalue,isotropic_eigenvalue,in_fit' && rows.length === ref.eigenvalues.length
    && rows.every((r, i) => r[0] === i + 1 && relClose(r[1], ref.eigenvalues[i], 1e-9)),
    'CSV export: every eigenvalue, equal to the CLI\'s', `${rows.length} rows`);
  const json = JSON.parse((await take('json')).bytes.toString('utf8'));
  check(json.result.power_law.slope === shown.slope && json.provenance.link.includes(`dataset=${BUNDLED_ID}`)
    && json.provenance.data.includes(BUNDLED_ID),
    'JSON export: the result shown, with its provenance and link', json.provenance.link);
}

/// Every visible text of `page` whose contrast against its background (computed from the page's
/// styles, translucent backgrounds blended) is below WCAG 2 AA: 4.5:1, or 3:1 for large text.
const contrast = (page) => page.evaluate(() => {
  const rgba = (c) => {
    const srgb = /color\(srgb ([^)]+)\)/.exec(c); // color-mix() computes to color(srgb r g b / a), 0..1
    if (srgb) {
      const p = srgb[1].split(/[\s/]+/).filter(Boolean).map(Number);
      return { r: p[0] * 255, g: p[1] * 255, b: p[2] * 255, a: p.length > 3 ? p[3] : 1 };
    }
    const m = /rgba?\(([^)]+)\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (f, b) => ({ r: f.r * f.a + b.r * (1 - f.a), g: f.g * f.a + b.g * (1 - f.a), b: f.b * f.a + b.b * (1 - f.a), a: 1 });
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) layers.push(c);
      if (c && c.a >= 1) break;
    }
    return layers.reverse().reduce((acc, c) => over(c, acc), { r: 255, g: 255, b: 255, a: 1 });
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let checked = 0;
  const failing = [];
  for (const el of document.querySelectorAll('body *')) {
    if (![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    // Decorative marks (a legend's colour swatch, aria-hidden) are not text.
    if (el.closest('canvas, svg, option, script, style, [aria-hidden=true]') || el.matches(':disabled')) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || el.getClientRects().length === 0) continue;
    const bg = background(el);
    const fg = over(rgba(style.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    checked += 1;
    if (ratio < (large ? 3 : 4.5)) failing.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}:1`);
  }
  return { checked, failing };
});

async function open(query, viewport = { width: 1280, height: 900 }) {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${base}${query}`);
  return page;
}

try {
  // 1. ?data= on a server with ranges: only the decoder is downloaded.
  {
    const url = `${host.url}/ranged/sae-ranged.safetensors`;
    const page = await open(`?data=${encodeURIComponent(url)}&entropy=off`);
    const ui = await waitForCurrent(page, 'sae-ranged.safetensors', 120_000);
    sameNumbers(ui, reference, '?data= with range requests');
    const sentBytes = host.sent['/ranged/sae-ranged.safetensors'] || 0;
    check(sentBytes > 3e6 && sentBytes < 4.5e6, 'with ranges, only the header and the 3 MB decoder are downloaded, not the 50 MB encoder',
      `${(sentBytes / 1e6).toFixed(2)} MB of ${(file.length / 1e6).toFixed(1)} MB`);
    const data = (await page.getByTestId('summary').textContent());
    check(/W_dec/.test(data), 'the summary names the tensor read', data.slice(0, 80));
    const shown = await page.getByTestId('remote-file').textContent();
    check(shown.includes(url), 'the data panel names the remote file', shown);
    await page.close();
  }

  // 2. A server without ranges: the whole file, the same numbers, progress in megabytes.
  {
    const url = `${host.url}/plain/sae-plain.safetensors`;
    const page = await open('?entropy=off');
    await page.getByTestId('remote-url').fill(url);
    await page.getByTestId('remote-load').click();
    let megabytes = '';
    const deadline = Date.now() + 30_000;
    while (!megabytes && Date.now() < deadline) {
      const text = await page.getByTestId('status').textContent().catch(() => '');
      if (/MB/.test(text || '')) megabytes = text.trim();
      else if (await page.locator('[data-testid=summary][data-input="sae-plain.safetensors"]').count()) break;
      await page.waitForTimeout(50);
    }
    check(/of \d+\.\d MB/.test(megabytes), 'the download shows its progress in megabytes', megabytes);
    const ui = await waitForCurrent(page, 'sae-plain.safetensors', 120_000);
    sameNumbers(ui, reference, 'the URL box, server without ranges');
    check((host.sent['/plain/sae-plain.safetensors'] || 0) === file.length, 'without ranges, the whole file is read');
    check(page.url().includes(`data=${encodeURIComponent(url)}`), 'the address names the remote file', page.url());
    await page.close();
  }

  // 3. Refusals are named: a host without CORS, a missing file.
  for (const [path, pattern, what] of [
    ['/nocors/sae.safetensors', /cross-origin|Access-Control-Allow-Origin/, 'a host that refuses cross-origin requests'],
    ['/ranged/missing.safetensors', /404/, 'a missing file (404)'],
  ]) {
    const page = await open(`?data=${encodeURIComponent(host.url + path)}&entropy=off`);
    const error = page.getByTestId('error');
    await error.waitFor({ timeout: 60_000 });
    const text = (await error.textContent()).trim();
    check(pattern.test(text), `${what} is named in the page`, text.slice(0, 160));
    await page.close();
  }

  // 3b. A failed download can be tried again: a server that answers 503 once, then the file.
  {
    const page = await open(`?data=${encodeURIComponent(host.url + '/ranged/flaky.safetensors')}&entropy=off`);
    const error = page.getByTestId('error');
    await error.waitFor({ timeout: 60_000 });
    const text = (await error.textContent()).trim();
    await page.getByTestId('error-retry').click();
    const ui = await waitForCurrent(page, 'flaky.safetensors', 120_000).catch(() => null);
    check(/503/.test(text) && ui !== null, 'a failed download offers "Try again", which then loads the file', text.slice(0, 120));
    if (ui) sameNumbers(ui, reference, 'tried again');
    await page.close();
  }

  // 4. A shared link reproduces the data, parameters and numbers; the address follows the view.
  {
    const query = `?dataset=${BUNDLED_ID}&page=galaxy&ranks=5-60&seed=3&entropy=off`;
    const page = await open(query);
    const ui = await waitForCurrent(page, `${BUNDLED_ID}.safetensors`, 120_000);
    const ref = cli(['analyze', 'galaxy', BUNDLED_FILE, '--ranks', '5..60', '--seed', '3', '--no-entropy']);
    sameNumbers(ui, ref, 'a link with ranks 5-60 and seed 3');
    check(await page.getByTestId('rank-first').inputValue() === '5' && await page.getByTestId('rank-last').inputValue() === '60',
      'the link fills the rank inputs');
    check(!(await page.getByTestId('entropy-toggle').isChecked()), 'the link turns the entropy off');
    await page.getByTestId('rank-last').fill('90');
    await page.getByTestId('run').click();
    const changed = await waitForCurrent(page, `${BUNDLED_ID}.safetensors`, 120_000);
    await page.waitForFunction(() => location.search.includes('ranks=5-90'), null, { timeout: 10_000 }).catch(() => {});
    check(page.url().includes('ranks=5-90'), 'the address follows a change of parameters', page.url());
    await exports(page, ref, changed);
    await page.getByTestId('copy-link').click();
    const link = await page.getByTestId('link-text').inputValue();
    check(link.startsWith(base) && link.includes(`dataset=${BUNDLED_ID}`) && link.includes('ranks=5-90'), 'Copy link gives the address of the view', link);
    await page.close();
    const again = await open(link.slice(base.length));
    const reopened = await waitForCurrent(again, `${BUNDLED_ID}.safetensors`, 120_000);
    check(reopened.slope === changed.slope && reopened.logVolume === changed.logVolume, 'opening the copied link gives the same numbers',
      `${reopened.slope} vs ${changed.slope}`);
    await again.getByTestId('tab-lobes').click();
    await again.waitForFunction(() => location.search.includes('page=lobes'), null, { timeout: 10_000 }).catch(() => {});
    check(again.url().includes('page=lobes'), 'the address names the page shown', again.url());
    await again.close();
  }

  // 4a. The charts are interactive: hovering a point of the spectrum shows its values (the CLI's);
  //     the wheel zooms about the pointer, shift-drag pans, the keyboard zooms and resets; the
  //     numbers do not change; the SVG export draws the zoomed window; the zoom is in the address
  //     and its link shows the same window.
  {
    const page = await open(`?dataset=${BUNDLED_ID}&entropy=off`);
    await waitForCurrent(page, `${BUNDLED_ID}.safetensors`, 120_000);
    const ref = cli(['analyze', 'galaxy', BUNDLED_FILE, '--no-entropy']);
    const plot = page.getByTestId('spectrum-canvas');
    await plot.scrollIntoViewIfNeeded();
    const geometry = async () => {
      const [left, top, right, bottom] = (await plot.getAttribute('data-frame')).split(',').map(Number);
      const [xlo, xhi, ylo, yhi] = (await plot.getAttribute('data-window')).split(',').map(Number);
      return { left, top, right, bottom, xlo, xhi, ylo, yhi };
    };
    // Where (page pixels) the spectrum draws rank r: log axes both ways.
    const at = async (rank) => {
      const g = await geometry();
      const box = await plot.boundingBox();
      const frac = (v, lo, hi) => (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
      return { x: box.x + g.left + frac(rank, g.xlo, g.xhi) * (g.right - g.left),
        y: box.y + g.bottom - frac(ref.eigenvalues[rank - 1], g.ylo, g.yhi) * (g.bottom - g.top) };
    };
    const fourDigits = (v) => Number(v.toPrecision(4));
    const p20 = await at(20);
    await page.mouse.move(p20.x + 2, p20.y + 1);
    const tip = page.getByTestId('spectrum-canvas-tip');
    await tip.waitFor({ timeout: 5_000 }).catch(() => {});
    const text = (await tip.textContent().catch(() => '')) || '';
    const shown = /rank 20: eigenvalue ([-0-9.e]+)/.exec(text);
    check(shown && fourDigits(Number(shown[1])) === fourDigits(ref.eigenvalues[19]),
      'hovering the spectrum at rank 20 shows its eigenvalue, the CLI\'s', text);
    const before = await geometry();
    const slopeBefore = await page.getByTestId('slope').getAttribute('data-value');
    const svgBefore = (await downloaded(page, 'spectrum-export-svg')).bytes.toString('utf8');
    await plot.focus();
    await page.mouse.move(p20.x, p20.y);
    await page.mouse.wheel(0, -400);
    await page.waitForFunction(() => document.querySelector('[data-testid=spectrum-canvas]').dataset.zoomed === 'true', null, { timeout: 5_000 }).catch(() => {});
    const zoomed = await geometry();
    const decades = (g) => Math.log10(g.xhi / g.xlo);
    check(decades(zoomed) < 0.8 * decades(before) && zoomed.xlo < 20 && zoomed.xhi > 20,
      'the wheel zooms the spectrum about the pointer', `${zoomed.xlo.toFixed(1)}..${zoomed.xhi.toFixed(1)} (was ${before.xlo}..${before.xhi.toFixed(1)})`);
    const p20z = await at(20);
    check(Math.abs(p20z.x - p20.x) < 3, 'the rank under the pointer stays under it', `${p20.x.toFixed(1)} -> ${p20z.x.toFixed(1)}`);
    const svg = (await downloaded(page, 'spectrum-export-svg')).bytes.toString('utf8');
    const caption = `slope ${ref.power_law.slope.toFixed(4)}`;
    check(svg.includes(caption) && svgBefore.includes(caption) && svg !== svgBefore,
      'the SVG export draws the zoomed window (same caption, other axes)', `${svg.length} vs ${svgBefore.length} chars`);
    await page.keyboard.down('Shift');
    await page.mouse.move(p20z.x, p20z.y);
    await page.mouse.down();
    await page.mouse.move(p20z.x - 120, p20z.y, { steps: 4 });
    await page.mouse.up();
    await page.keyboard.up('Shift');
    const panned = await geometry();
    check(panned.xlo > zoomed.xlo * 1.05 && Math.abs(decades(panned) - decades(zoomed)) < 1e-6,
      'shift-drag pans the spectrum without zooming or refitting', `${panned.xlo.toFixed(2)}..${panned.xhi.toFixed(2)}`);
    check(await page.getByTestId('rank-first').inputValue() === '11', 'panning leaves the fit ranks alone');
    // The zoom is in the address (zoom.spectrum-canvas=): its link opens the same window, exactly.
    await page.waitForFunction(() => location.search.includes('zoom.spectrum-canvas='), null, { timeout: 5_000 }).catch(() => {});
    const zoomLink = page.url();
    {
      const linked = await open(zoomLink.slice(zoomLink.indexOf('?')));
      await waitForCurrent(linked, `${BUNDLED_ID}.safetensors`, 120_000);
      const linkedPlot = linked.getByTestId('spectrum-canvas');
      await linked.waitForFunction(() => document.querySelector('[data-testid=spectrum-canvas]')?.dataset.zoomed === 'true', null, { timeout: 10_000 }).catch(() => {});
      const want = await plot.getAttribute('data-window');
      const got = await linkedPlot.getAttribute('data-window');
      check(zoomLink.includes('zoom.spectrum-canvas=') && got === want, 'the zoom is in the address: its link shows the same window',
        `${got} vs ${want}; ${zoomLink.slice(zoomLink.indexOf('zoom.'), zoomLink.indexOf('zoom.') + 90)}`);
      await linked.close();
    }
    await plot.focus();
    await page.keyboard.press('0');
    check(await plot.getAttribute('data-zoomed') === 'false' && JSON.stringify(await geometry()) === JSON.stringify(before),
      'the 0 key resets the zoom');
    await page.keyboard.press('+');
    const keyed = await geometry();
    check(decades(keyed) < decades(before) && await page.getByTestId('reset-zoom').isVisible(), 'the + key zooms in and offers "reset zoom"');
    await page.getByTestId('reset-zoom').click();
    check(await plot.getAttribute('data-zoomed') === 'false', '"reset zoom" resets');
    await page.waitForFunction(() => !location.search.includes('zoom.'), null, { timeout: 5_000 }).catch(() => {});
    check(!page.url().includes('zoom.'), 'after the reset the address names no zoom', page.url());
    const slope = await page.getByTestId('slope').getAttribute('data-value');
    check(slope === slopeBefore && relClose(Number(slope), ref.power_law.slope, 1e-9), 'zooming and panning leave the numbers as they were', slope);
    await page.close();
  }

  // 4d. The 3D view's camera is in the address: a link with one shows the view turned so; dragging
  //     the view turns it and the address follows.
  {
    const page = await open(`?dataset=${BUNDLED_ID}&entropy=off&camera=1.2,-0.4,2`);
    await waitForCurrent(page, `${BUNDLED_ID}.safetensors`, 120_000);
    await page.getByTestId('clouds').waitFor({ timeout: 120_000 }).catch(() => {});
    check(await page.getByTestId('cloud-data').isVisible(), 'a link with a camera shows the 3D view');
    await page.waitForFunction(() => location.search.includes('camera='), null, { timeout: 10_000 }).catch(() => {});
    check(page.url().includes('camera=1.200%2C-0.400%2C2.000'), 'the address keeps the link\'s camera', page.url());
    const view = page.getByTestId('cloud-data');
    await view.scrollIntoViewIfNeeded();
    const box = await view.boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 100, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await page.waitForFunction(() => /camera=2\.200%2C-0\.400%2C2\.000/.test(location.search), null, { timeout: 10_000 }).catch(() => {});
    check(/camera=2\.200%2C-0\.400%2C2\.000/.test(page.url()), 'turning the 3D view by 100 px (1 radian) moves the address\'s camera with it', page.url());
    // Shift-drag a box over the whole view: it selects the features in it (greying the rest).
    await shiftDragBox(page, box);
    const bar = page.getByTestId('selection-bar');
    await bar.waitFor({ timeout: 10_000 }).catch(() => {});
    const boxed = Number(await bar.getAttribute('data-count').catch(() => 0));
    check(boxed > 0 && boxed <= 4096 && /3D view/.test(await bar.textContent().catch(() => '')), 'a shift-drag box in the 3D view selects the features inside it', `${boxed}`);
    await page.close();
  }

  // 4e. A link to the crystals page runs the analysis it names (set, tasks, LDA components, pairs)
  //     and gives the CLI's numbers; the page's inputs show the link's choices.
  {
    const tasks = 'antonym,country-capital,english-french,present-past';
    const page = await open(`?page=crystals&crystals=crystals-glove-6b-50d&tasks=${tasks}&lda=2&shrinkage=none&pairs=5000`);
    const summary = page.locator('[data-testid=crystals-summary][data-input="crystals-glove-6b-50d.safetensors"]');
    await summary.waitFor({ timeout: 300_000 });
    const ref = cli(['analyze', 'crystals', join(ROOT, 'public/data/crystals-glove-6b-50d.safetensors'), '--tasks', tasks,
      '--max-components', '2', '--silhouette-sample', '5000']);
    const raw = Number(await summary.getAttribute('data-silhouette-raw'));
    const cells = page.locator('[data-testid=silhouette-table] td[data-components]');
    const lda = {};
    for (let i = 0; i < await cells.count(); i++) lda[await cells.nth(i).getAttribute('data-components')] = Number(await cells.nth(i).getAttribute('data-value'));
    check(relClose(raw, ref.silhouette_raw, 1e-9) && Object.keys(ref.silhouette_lda).length === Object.keys(lda).length
      && Object.entries(ref.silhouette_lda).every(([m, v]) => relClose(lda[m], v, 1e-9)),
      'a crystals link (4 tasks, 2 LDA components, 5,000 pairs) gives the CLI\'s silhouettes', `${raw} vs ${ref.silhouette_raw}`);
    check(await page.getByTestId('crystals-components').inputValue() === '2' && await page.getByTestId('crystals-sample').inputValue() === '5000',
      'the crystals link fills the page\'s inputs');
    await page.waitForFunction(() => location.search.includes('lda=2'), null, { timeout: 10_000 }).catch(() => {});
    check(page.url().includes(`tasks=${encodeURIComponent(tasks)}`) && page.url().includes('pairs=5000'), 'the address keeps the crystals run', page.url());
    await page.close();
  }

  // 4c. Neuronpedia: a Gemma Scope file's path names its SAE there, and each selected feature links
  //     to its page; a link's neuronpedia= names it for any file; without either, no links.
  {
    const gemmaPath = 'gemma-scope-2b-pt-res/layer_12/width_16k/average_l0_82/sae.safetensors';
    const page = await open(`?data=${encodeURIComponent(`${host.url}/ranged/${gemmaPath}`)}&entropy=off&features=5,9`);
    await waitForCurrent(page, 'sae.safetensors', 120_000);
    await page.getByTestId('selection-bar').waitFor({ timeout: 10_000 });
    const hrefs = await page.getByTestId('neuronpedia-link').evaluateAll((as) => as.map((a) => a.href));
    check(hrefs.length === 2 && hrefs[0] === 'https://www.neuronpedia.org/gemma-2-2b/12-gemmascope-res-16k__l0-82/5'
      && hrefs[1].endsWith('/9'), 'a Gemma Scope path gives each selected feature its Neuronpedia link', hrefs.join(' '));
    await page.close();
    const named = await open(`?dataset=${BUNDLED_ID}&entropy=off&features=4&neuronpedia=gemma-2-2b/3-gemmascope-res-16k`);
    await waitForCurrent(named, `${BUNDLED_ID}.safetensors`, 120_000);
    await named.getByTestId('selection-bar').waitFor({ timeout: 10_000 });
    const href = await named.getByTestId('neuronpedia-link').getAttribute('href');
    check(href === 'https://www.neuronpedia.org/gemma-2-2b/3-gemmascope-res-16k/4' && named.url().includes('neuronpedia=gemma-2-2b%2F3-gemmascope-res-16k'),
      'a link\'s neuronpedia= names the SAE for any file, and the address keeps it', href);
    await named.close();
    const plain = await open(`?dataset=${BUNDLED_ID}&entropy=off&features=4`);
    await waitForCurrent(plain, `${BUNDLED_ID}.safetensors`, 120_000);
    await plain.getByTestId('selection-bar').waitFor({ timeout: 10_000 });
    check(await plain.getByTestId('neuronpedia-link').count() === 0, 'a MiniLM SAE gets no Neuronpedia links');
    await plain.close();
  }

  // 4b. A link to the lobes page runs the lobes it names and gives the CLI's numbers; the address
  //     follows the page's choices.
  {
    const sae = BUNDLED_ID;
    const query = `?page=lobes&sae=${sae}&affinity=jaccard&k=3&trials=5&lobes-seed=7`;
    const page = await open(query);
    const summary = page.locator(`[data-testid=lobes-summary][data-input="${sae}.safetensors"][data-k="3"]`);
    await summary.waitFor({ timeout: 300_000 });
    const ref = cli(['analyze', 'lobes', BUNDLED_FILE, join(ROOT, `public/data/${sae}-cooccurrence.safetensors`),
      '--k', '3', '--affinity', 'jaccard', '--null-trials', '5', '--seed', '7']);
    const ami = Number(await page.getByTestId('lobes-ami').getAttribute('data-value'));
    const bacc = Number(await page.getByTestId('lobes-bacc').getAttribute('data-value'));
    check(relClose(ami, ref.ami, 1e-9) && relClose(bacc, ref.balanced_accuracy, 1e-12),
      'a lobes link (Jaccard, k = 3, 5 trials, seed 7) gives the CLI\'s AMI and balanced accuracy', `${ami} vs ${ref.ami}`);
    check(await page.getByTestId('lobes-k').inputValue() === '3' && await page.getByTestId('lobes-affinity').inputValue() === 'jaccard',
      'the lobes link fills the page\'s inputs');
    const lobesCsv = await downloaded(page, 'lobes-export-csv');
    const rows = csvRows(lobesCsv).map((r) => r.map(Number));
    check(rows.length === ref.labels_cooccurrence.length && rows.every(([f, c, g], i) => f === i && c === ref.labels_cooccurrence[i] && g === ref.labels_geometry[i]),
      'the lobes CSV export holds every feature\'s lobes, the CLI\'s', `${rows.length} rows, ${lobesCsv.name}`);
    // Selecting a lobe: the selection bar counts its features, the address lists them, the CSV
    // holds them; a shift-drag box over the lobe map selects the features inside it.
    await page.getByTestId('select-lobe-1').click();
    const lobe1 = ref.labels_cooccurrence.map((l, i) => [l, i]).filter(([l]) => l === 1).map(([, i]) => i);
    const bar = page.getByTestId('selection-bar');
    await bar.waitFor({ timeout: 10_000 });
    check(Number(await bar.getAttribute('data-count')) === lobe1.length, 'selecting lobe 1 selects its features', `${lobe1.length}`);
    await page.waitForFunction(() => location.search.includes('features='), null, { timeout: 10_000 }).catch(() => {});
    const selectedLink = page.url();
    check(selectedLink.includes('features='), 'the address lists the selected features');
    const pickedRows = csvRows(await downloaded(page, 'selection-csv')).map((r) => Number(r[0]));
    check(pickedRows.length === lobe1.length && pickedRows.every((f, i) => f === lobe1[i]), 'the selection\'s CSV lists its feature indices');
    const map = page.getByTestId('lobe-map');
    await map.evaluate((el) => el.scrollIntoView({ block: 'center' }));
    const mapBox = await map.boundingBox();
    await shiftDragBox(page, mapBox);
    await page.waitForFunction(() => /box/.test(document.querySelector('[data-testid=selection-bar]')?.textContent || ''), null, { timeout: 10_000 }).catch(() => {});
    const boxed = Number(await bar.getAttribute('data-count'));
    // The map's outermost points sit on its edge; a box from 1 px inside each corner holds nearly all.
    check(boxed >= 0.9 * ref.labels_cooccurrence.length && boxed <= ref.labels_cooccurrence.length && /box/.test(await bar.textContent()),
      'a shift-drag box over the lobe map selects the features inside it', `${boxed} of ${ref.labels_cooccurrence.length}`);
    const linked = await open(selectedLink.slice(base.length));
    const linkedBar = linked.getByTestId('selection-bar');
    await linkedBar.waitFor({ timeout: 60_000 });
    check(Number(await linkedBar.getAttribute('data-count')) === lobe1.length, 'a link with selected features selects them', await linkedBar.getAttribute('data-count'));
    await linked.close();
    // A zoomed null plot is in the address while it is shown; a run without nulls takes it out.
    const nullPlot = page.getByTestId('null-ami');
    await nullPlot.scrollIntoViewIfNeeded();
    await nullPlot.focus();
    await page.keyboard.press('+');
    await page.waitForFunction(() => location.search.includes('zoom.null-ami='), null, { timeout: 5_000 }).catch(() => {});
    const nullZoomed = page.url().includes('zoom.null-ami=');
    await page.getByTestId('lobes-trials').fill('0');
    await page.getByTestId('lobes-run').click();
    await page.waitForFunction(() => location.search.includes('trials=0'), null, { timeout: 10_000 }).catch(() => {});
    check(page.url().includes('trials=0') && page.url().includes('affinity=jaccard'), 'the address follows the lobes run', page.url());
    await page.locator('[data-testid=lobes-summary]').waitFor({ timeout: 120_000 }).catch(() => {});
    await page.waitForFunction(() => !location.search.includes('zoom.null-ami='), null, { timeout: 10_000 }).catch(() => {});
    check(nullZoomed && !page.url().includes('zoom.'), 'a zoomed chart is in the address while shown, and leaves it with the chart', page.url());
    await page.close();
  }

  // 5. A bad value in a link is named, and the rest of the link still applies.
  {
    const page = await open(`?dataset=${BUNDLED_ID}&ranks=abc&entropy=off`);
    const notice = page.locator('[data-testid=notice][data-kind=link]');
    await notice.waitFor({ timeout: 30_000 });
    check(/ranks=abc/.test(await notice.textContent()), 'a bad value in the link is named', (await notice.textContent()).trim());
    await page.close();
  }

  // 6. Embed: the plot alone, sized to its frame, with a link to the full app.
  {
    const page = await open(`?dataset=${BUNDLED_ID}&entropy=off&embed=1`, { width: 640, height: 480 });
    await waitForCurrent(page, `${BUNDLED_ID}.safetensors`, 120_000);
    check(!(await page.locator('header.top').isVisible()) && !(await page.locator('aside.data-panel').isVisible()),
      'embed mode hides the header and the data panel');
    const box = await page.getByTestId('spectrum-canvas').boundingBox();
    check(box && box.width > 560 && box.width <= 640, 'the plot fills the frame\'s width', box && `${box.width} px of 640`);
    const credit = await page.getByTestId('embed-credit').getAttribute('href');
    check(credit.includes(`dataset=${BUNDLED_ID}`) && !credit.includes('embed=1'), 'embed mode links to the full view', credit);
    await page.close();
  }
  // 6a. Embed works for the crystals page too: its run from the link, without the page's chrome.
  {
    const page = await open('?page=crystals&crystals=crystals-glove-6b-50d&tasks=antonym,country-capital,english-french&pairs=5000&embed=1', { width: 640, height: 480 });
    await page.locator('[data-testid=crystals-summary]').waitFor({ timeout: 300_000 });
    const plot = await page.getByTestId('silhouette-canvas').boundingBox();
    check(!(await page.locator('header.top').isVisible()) && !(await page.getByTestId('crystals-run').isVisible())
      && !(await page.getByTestId('search-run').isVisible()) && plot && plot.width > 560,
      'embed mode shows a crystals run alone: its silhouettes at the frame\'s width, no controls', plot && `${plot.width} px`);
    const { checked, failing } = await contrast(page);
    check(checked > 10 && failing.length === 0, `every text of a crystals result has WCAG AA contrast (${checked} checked)`, failing.slice(0, 4).join('; '));
    await page.close();
  }
  // 6a'. Embed works for the lobes page: the linked run's lobes and numbers, without the controls.
  {
    const page = await open(`?page=lobes&sae=${BUNDLED_ID}&affinity=jaccard&k=3&trials=0&lobes-seed=7&embed=1`, { width: 640, height: 480 });
    const summary = page.locator(`[data-testid=lobes-summary][data-k="3"]`);
    const shown = await summary.waitFor({ timeout: 300_000 }).then(() => true, () => false);
    const ref = cli(['analyze', 'lobes', BUNDLED_FILE, join(ROOT, `public/data/${BUNDLED_ID}-cooccurrence.safetensors`),
      '--k', '3', '--affinity', 'jaccard', '--null-trials', '0', '--seed', '7']);
    const ami = shown ? Number(await page.getByTestId('lobes-ami').getAttribute('data-value')) : NaN;
    check(shown && !(await page.locator('header.top').isVisible()) && !(await page.getByTestId('lobes-run').isVisible())
      && relClose(ami, ref.ami, 1e-9),
      'embed mode shows a lobes run alone, with the CLI\'s AMI, no controls', `${ami} vs ${ref.ami}`);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 640, 'the lobes embed fits its frame\'s width', `${width} px of 640`);
    const { checked, failing } = await contrast(page);
    check(checked > 10 && failing.length === 0, `every text of a lobes result has WCAG AA contrast (${checked} checked)`, failing.slice(0, 4).join('; '));
    await page.close();
  }
  // 6b. The file chooser takes each matrix format: a Gemma Scope params.npz (deflated and stored),
  //     SAELens-style safetensors in f16 and bf16 (decoder.weight, transposed), and the SAELens
  //     file above; each gives the CLI's numbers on the same file.
  {
    const page = await open('?entropy=off&ranks=1-4');
    const golden = join(ROOT, 'tests/golden/formats');
    for (const path of ['params_compressed.npz', 'params_stored.npz', 'sae_f16.safetensors', 'sae_bf16.safetensors'].map((f) => join(golden, f)).concat([filePath])) {
      const name = path.split('/').pop();
      await page.getByTestId('file-input').setInputFiles(path);
      const ui = await waitForCurrent(page, name, 120_000);
      sameNumbers(ui, cli(['analyze', 'galaxy', path, '--ranks', '1..4', '--no-entropy']), `a chosen ${name}`);
    }
    await page.close();
  }

  // 6c. The lobes of one's own files: a decoder chosen in the data panel with the authors'
  //     histogram .npz chosen on the lobes page give the CLI's lobes; the same two files from the
  //     web, by a link (data= and cooccurrence=), give them again.
  {
    const ref = cli(['analyze', 'lobes', smallPath, HISTOGRAM, '--k', '2', '--null-trials', '5', '--seed', '3']);
    const same = async (page, label) => {
      const summary = page.getByTestId('lobes-summary');
      await summary.waitFor({ timeout: 120_000 });
      const labels = (await summary.getAttribute('data-labels')).split(',').map(Number);
      const ami = Number(await page.getByTestId('lobes-ami').getAttribute('data-value'));
      const bacc = Number(await page.getByTestId('lobes-bacc').getAttribute('data-value'));
      check(relClose(ami, ref.ami, 1e-9) && relClose(bacc, ref.balanced_accuracy, 1e-12) && labels.every((l, i) => l === ref.labels_cooccurrence[i]),
        `${label}: the CLI's lobes, AMI and balanced accuracy`, `${ami} vs ${ref.ami}`);
    };
    const page = await open('?entropy=off&ranks=1-4');
    await page.getByTestId('file-input').setInputFiles(smallPath);
    await waitForCurrent(page, 'dec30.safetensors', 120_000);
    await page.getByTestId('tab-lobes').click();
    await page.selectOption('[data-testid=lobes-input]', 'own');
    await page.getByTestId('lobes-cooccurrence-file').setInputFiles(HISTOGRAM);
    await page.getByTestId('lobes-k').fill('2');
    await page.getByTestId('lobes-trials').fill('5');
    await page.getByTestId('lobes-seed').fill('3');
    await page.getByTestId('lobes-run').click();
    await same(page, 'a chosen decoder with a chosen histogram .npz');
    await page.close();
    const remote = (name) => encodeURIComponent(`${host.url}/ranged/${name}`);
    const linked = await open(`?data=${remote('dec30.safetensors')}&entropy=off&ranks=1-4&page=lobes&cooccurrence=${remote('authors_histogram.npz')}&k=2&trials=5&lobes-seed=3`);
    await same(linked, 'a link to a decoder and a histogram on the web');
    await linked.waitForFunction(() => location.search.includes('cooccurrence='), null, { timeout: 10_000 }).catch(() => {});
    check(linked.url().includes(`cooccurrence=${remote('authors_histogram.npz')}`), 'the address keeps the co-occurrence file\'s address', linked.url());
    await linked.close();
  }

  // 6d. Word vectors with their word pairs through the data panel's file chooser go to the crystals
  //     page, which analyses them as the CLI does.
  {
    const vectors = join(ROOT, 'public/data/crystals-glove-6b-50d.safetensors');
    const words = join(ROOT, 'public/data/crystals-glove-6b-50d-words.json');
    const page = await open('?entropy=off');
    await page.getByTestId('file-input').setInputFiles([vectors, words]);
    await page.getByTestId('crystals-run').waitFor({ timeout: 10_000 });
    await page.waitForFunction(() => location.search.includes('page=crystals'), null, { timeout: 10_000 }).catch(() => {});
    check(page.url().includes('page=crystals'), 'vectors with word pairs dropped on the data panel open the crystals page');
    await page.selectOption('[data-testid=crystals-sample]', '5000');
    await page.getByTestId('crystals-run').click();
    const summary = page.locator('[data-testid=crystals-summary][data-input="crystals-glove-6b-50d.safetensors"]');
    await summary.waitFor({ timeout: 300_000 });
    const ref = cli(['analyze', 'crystals', vectors, '--silhouette-sample', '5000']);
    const raw = Number(await summary.getAttribute('data-silhouette-raw'));
    check(relClose(raw, ref.silhouette_raw, 1e-9) && Number(await summary.getAttribute('data-pairs')) === ref.pairs,
      'the dropped word vectors and pairs give the CLI\'s pairs and silhouette', `${raw} vs ${ref.silhouette_raw}`);
    await page.close();
  }

  // 6e. Large files and the tab's memory budget. A 94 MB Gemma Scope-style params.npz is
  //     streamed (its W_dec only, in ranges): chosen as a local file it gives the CLI's numbers;
  //     from a server with `budget=64` (MiB) the page analyses a random sample of as many rows as
  //     fit, says so, and gives the CLI's numbers for `--sample` of that many; the address keeps
  //     the sample; a sample too large for the budget is refused with what would fit.
  {
    const npzPath = join(work, 'gemma_like_params.npz');
    const npz = gemmaLikeNpz(npzPath);
    hosted['gemma_like_params.npz'] = npz;
    const whole = cli(['analyze', 'galaxy', npzPath, '--no-entropy']);
    let page = await open('?entropy=off');
    await page.getByTestId('file-input').setInputFiles(npzPath);
    const ui = await waitForCurrent(page, 'gemma_like_params.npz', 180_000);
    sameNumbers(ui, whole, 'a 94 MB params.npz chosen (streamed)');
    check(await page.getByTestId('sample-note').count() === 0, 'within the budget every row is analysed (no sample)');
    await page.close();
    const url = `${host.url}/ranged/gemma_like_params.npz`;
    page = await open(`?data=${encodeURIComponent(url)}&entropy=off&budget=64`);
    const small = await waitForCurrent(page, 'gemma_like_params.npz', 180_000);
    const note = page.getByTestId('sample-note');
    const rows = Number(await note.getAttribute('data-rows'));
    check(Number(await note.getAttribute('data-of')) === 30522 && rows > 10_000 && rows < 30522
      && (await note.textContent()).includes('memory budget'),
      'over a 64 MiB budget the page analyses a disclosed random sample of the rows that fit', `${rows} of 30522`);
    sameNumbers(small, cli(['analyze', 'galaxy', npzPath, '--no-entropy', '--sample', String(rows)]), `the sample of ${rows} rows`);
    const sent = host.sent['/ranged/gemma_like_params.npz'];
    check(sent < npz.length * 0.6, 'only the decoder was downloaded, not the encoder before it', `${sent} of ${npz.length} bytes`);
    await page.waitForFunction((r) => location.search.includes(`sample=${r}`), rows, { timeout: 10_000 }).catch(() => {});
    check(page.url().includes(`sample=${rows}`) && page.url().includes('budget=64'), 'the address keeps the sample and the budget', page.url());
    await page.close();
    page = await open(`?data=${encodeURIComponent(url)}&entropy=off&budget=64&sample=30000`);
    const refused = page.locator('[data-testid=error][data-kind=too-large]');
    await refused.waitFor({ timeout: 60_000 });
    const text = await refused.textContent();
    check(text.includes(`up to ${rows} of the 30522`), 'a sample too large for the budget is refused, with what fits', text);
    await page.close();
  }

  // 6f. A phone's width (390 px): no page scrolls sideways (wide tables scroll inside themselves);
  //     every visible text has a contrast of at least 4.5:1 against its background (3:1 for large
  //     text; WCAG 2 AA), as computed from the page's styles; the keyboard reaches the page tabs,
  //     the data and the Run button, each with a visible focus ring, and Enter opens a tab.
  {
    const page = await open(`?dataset=${BUNDLED_ID}&entropy=off`, { width: 390, height: 844 });
    await waitForCurrent(page, `${BUNDLED_ID}.safetensors`, 120_000);
    for (const tab of ['galaxy', 'lobes', 'crystals', 'compute']) {
      await page.getByTestId(`tab-${tab}`).click();
      await page.waitForTimeout(200);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      check(overflow <= 1, `at 390 px the ${tab} page does not scroll sideways`, `${overflow} px too wide`);
      const { checked, failing } = await contrast(page);
      check(checked > 10 && failing.length === 0, `every text of the ${tab} page has WCAG AA contrast (${checked} checked)`, failing.slice(0, 4).join('; '));
    }
    {
      // A notice (a link's bad value) and an error (a missing file) are readable too.
      const noticed = await open(`?dataset=${BUNDLED_ID}&entropy=off&seed=x&data=${base}missing.npy`, { width: 390, height: 844 });
      await noticed.locator('[data-testid=error]').first().waitFor({ timeout: 60_000 }).catch(() => {});
      const { checked, failing } = await contrast(noticed);
      const shown = await noticed.locator('[data-testid=error]').count();
      check(shown > 0 && failing.length === 0, `an error's text has WCAG AA contrast (${checked} checked)`, failing.slice(0, 4).join('; ') || `${shown} error(s) shown`);
      await noticed.close();
    }
    // The keyboard alone: Tab from the top of the page reaches the page tabs, a dataset and Run.
    await page.getByTestId('tab-galaxy').click();
    await page.evaluate(() => document.activeElement && document.activeElement.blur());
    await page.evaluate(() => window.scrollTo(0, 0));
    const reached = new Map();
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const f = await page.evaluate(() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const s = getComputedStyle(el);
        const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1) || (s.boxShadow && s.boxShadow !== 'none');
        return { id: el.getAttribute('data-testid') || el.tagName.toLowerCase(), ring };
      });
      if (f) reached.set(f.id, f.ring);
    }
    const want = ['tab-lobes', 'tab-crystals', `dataset-${BUNDLED_ID}`, 'run'];
    const missing = want.filter((id) => !reached.has(id));
    const noRing = [...reached].filter(([, ring]) => !ring).map(([id]) => id);
    check(missing.length === 0 && noRing.length === 0, 'Tab reaches the page tabs, a dataset and Run, each with a visible focus ring',
      `missing: ${missing.join(', ') || 'none'}; without a ring: ${noRing.join(', ') || 'none'}; ${reached.size} reached`);
    await page.getByTestId('tab-lobes').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.search.includes('page=lobes'), null, { timeout: 5_000 }).catch(() => {});
    check(page.url().includes('page=lobes'), 'Enter on a focused tab opens its page', page.url());
    await page.close();
  }
  // 7. Offline: after a visit, the app and its bundled data work with the app's server gone.
  {
    const page = await open(`?dataset=${BUNDLED_ID}&entropy=off`);
    await waitForCurrent(page, `${BUNDLED_ID}.safetensors`, 120_000);
    await page.waitForFunction(() => navigator.serviceWorker && navigator.serviceWorker.controller, null, { timeout: 30_000 });
    // The first visit's files came before the service worker; the second's all pass through it.
    await page.reload();
    const online = await waitForCurrent(page, `${BUNDLED_ID}.safetensors`, 120_000);
    app.closeAllConnections();
    await new Promise((done) => app.close(done));
    appClosed = true;
    const refused = await fetch(base).then(() => false, () => true);
    check(refused, 'the app\'s server is gone');
    await page.reload();
    const offline = await waitForCurrent(page, `${BUNDLED_ID}.safetensors`, 120_000);
    check(offline.slope === online.slope && offline.logVolume === online.logVolume,
      'offline, the page reloads and analyses its bundled data from the service worker\'s cache', `${offline.slope}`);
    await page.close();
  }
  check(pageErrors.length === 0, 'no uncaught errors in the pages', pageErrors.join(' | '));
} finally {
  await browser.close();
  if (!appClosed) app.close();
  host.server.close();
  rmSync(work, { recursive: true, force: true });
}
finish();
