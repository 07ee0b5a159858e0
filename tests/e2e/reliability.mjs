// End-to-end test of reliability (issue 10) against the built app (dist/), in Debian's headless
// Chromium driven by Playwright. Run by scripts/test.sh after run.mjs and share.mjs.
//
// Checks:
// 1. The lobe edge cases (tests/fixtures/edge_lobes, made by make_edge_lobes.py) in the page: the
//    decoder through the data panel, the histogram or bundle through the lobes page's own-file
//    input; every label, AMI and balanced accuracy equal scikit-learn's (expected.json), or the
//    error has scikit-learn's kind and names the problem; never a NaN shown as a number.
// 2. The crystal edge cases of the same set through the crystals page's file input: pairs, raw
//    silhouette and LDA silhouettes equal scikit-learn's, or the named error.
// 3. A crashed worker: the worker throws while a job runs; the page says so ("worker-crashed"),
//    starts a fresh worker, and Try again gives the CLI's numbers.
// 4. Cancel frees memory: a large job (a 30,000 × 1,024 f32 .npy) raises the renderer's resident
//    memory; after Cancel it falls back near where it was, and the app runs the next job.
// 5. A lobes input over the tab's memory budget (64 MiB) is refused, naming what fits, and so is a
//    crystal search among more features than fit (the number it names then runs); the 3D view of a
//    file whose rows do not fit shows the galaxy's disclosed sample, with each point's own feature.
// 6. A WebGPU device lost mid-job (SwiftShader): the CPU redoes the job and says why; the next job
//    opens a new device.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serve, baseUrl, launch, cli, checker, relClose, waitForCurrent } from './harness.mjs';

const { check, finish } = checker('reliability');
const EDGE = join(ROOT, 'tests/fixtures/edge_lobes');
const expected = JSON.parse(readFileSync(join(EDGE, 'expected.json'), 'utf8'));
const close = (a, b) => Number.isFinite(a) && Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(b), 1);
const sameList = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/// Clicks `click`, then waits until the element shown for the previous job (any of `selectors`)
/// has left the page, and then for the new result or error: the answer is this job's, not a
/// stale one's.
async function freshOutcome(page, selectors, click, timeout = 120_000) {
  const all = selectors.join(', ');
  const old = await page.locator(all).first().elementHandle({ timeout: 1000 }).catch(() => null);
  await click();
  if (old) await page.waitForFunction((el) => !el.isConnected, old, { timeout });
  const outcome = page.locator(selectors.slice(0, 2).join(', ')).first();
  await outcome.waitFor({ timeout });
  return outcome;
}

/// The error's kind and that its text names every word of `names`; no NaN shown.
async function checkError(outcome, name, want) {
  const kind = await outcome.getAttribute('data-kind');
  const text = kind === null ? '' : (await outcome.textContent()).trim();
  const named = (want.names || []).every((w) => text.toLowerCase().includes(w.toLowerCase()));
  check(kind === want.kind && named, `${name}: "${want.kind}" named (${want.why})`, kind === null ? 'a result where scikit-learn has none' : text.slice(0, 140));
}

/// Chromium's renderer processes of `browserPid`'s tree: their resident memory now, bytes.
function rendererRss(browserPid) {
  const parent = (pid) => Number((/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8')) || [])[1]);
  let total = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      let up = Number(pid);
      for (let i = 0; i < 4 && up > 1 && up !== browserPid; i++) up = parent(up);
      if (up !== browserPid) continue;
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
    } catch { /* gone */ }
  }
  return total;
}

/// The pid of the Chromium browser process that Playwright started (the newest with our marker).
function browserPid(marker) {
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { const c = readFileSync(`/proc/${p}/cmdline`, 'utf8'); return c.includes(marker) && !c.includes('--type='); } catch { return false; }
  }).map(Number);
  return Math.max(...pids);
}

/// A float32 .npy of `n` × `d` seeded pseudo-random values.
function npy(path, n, d, seed) {
  const header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${n}, ${d}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  const head = Buffer.from(`\x93NUMPY\x01\x00`, 'latin1');
  const len = Buffer.alloc(2);
  len.writeUInt16LE(header.length + pad + 1);
  const values = new Float32Array(n * d);
  let s = seed >>> 0;
  for (let i = 0; i < values.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    values[i] = s / 2 ** 32 - 0.5;
  }
  writeFileSync(path, Buffer.concat([head, len, Buffer.from(header + ' '.repeat(pad) + '\n', 'latin1'), Buffer.from(values.buffer)]));
}

const server = await serve();
const base = baseUrl(server);
const marker = `--sae-geometry-e2e-${process.pid}`;
const browser = await launch({ extraArgs: [marker] });
const pageErrors = [];
const tmp = mkdtempSync(join(tmpdir(), 'reliability-e2e-'));
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 }, serviceWorkers: 'block' });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(base);
  await page.getByTestId('tab-lobes').waitFor();

  // 1. Lobes.
  await page.getByTestId('tab-lobes').click();
  await page.selectOption('[data-testid=lobes-input]', 'own');
  await page.fill('[data-testid=lobes-trials]', '0');
  const lobeCases = Object.entries(expected.lobes);
  for (const [name, want] of lobeCases) {
    await page.getByTestId('file-input').setInputFiles(join(EDGE, want.decoder));
    await page.locator('.local-file code', { hasText: want.decoder }).waitFor({ timeout: 10_000 });
    await page.getByTestId('lobes-cooccurrence-file').setInputFiles(join(EDGE, want.cooccurrence));
    await page.selectOption('[data-testid=lobes-affinity]', want.affinity);
    await page.fill('[data-testid=lobes-k]', String(want.k));
    const outcome = await freshOutcome(page, ['[data-testid=lobes-summary]', '[data-testid=lobes-error]', '[data-testid=lobes-input-error]', '[data-testid=lobes-status]'],
      () => page.getByTestId('lobes-run').click());
    if (want.kind) { await checkError(outcome, name, want); continue; }
    const got = await outcome.getAttribute('data-labels');
    if (got === null) { check(false, `${name}: scikit-learn's lobes (${want.why})`, (await outcome.textContent()).trim().slice(0, 140)); continue; }
    const labels = got.split(',').map(Number);
    const geometry = (await outcome.getAttribute('data-labels-geometry')).split(',').map(Number);
    const ami = Number(await page.getByTestId('lobes-ami').getAttribute('data-value'));
    const bacc = Number(await page.getByTestId('lobes-bacc').getAttribute('data-value'));
    const shown = (await page.locator('.lobes .result').first().textContent());
    check(sameList(labels, want.labels_cooccurrence) && sameList(geometry, want.labels_geometry) && close(ami, want.ami)
      && close(bacc, want.balanced_accuracy) && !/\bNaN\b/.test(shown),
      `${name}: scikit-learn's labels, AMI and balanced accuracy (${want.why})`, `AMI ${ami} vs ${want.ami}, bacc ${bacc} vs ${want.balanced_accuracy}`);
  }

  // 2. Crystals.
  await page.getByTestId('tab-crystals').click();
  await page.selectOption('[data-testid=crystals-sample]', 'all');
  for (const [name, want] of Object.entries(expected.crystals)) {
    const files = [want.vectors, want.vocab, ...want.tasks].map((f) => join(EDGE, f));
    await page.setInputFiles('[data-testid=crystals-files]', files);
    await page.locator(`[data-testid=crystals-input] option[value=local]:has-text("${want.vectors}")`).waitFor({ state: 'attached', timeout: 30_000 })
      .catch(() => {});
    const outcome = await freshOutcome(page, ['[data-testid=crystals-summary]', '[data-testid=crystals-error]', '[data-testid=crystals-input-error]', '[data-testid=crystals-files-error]', '[data-testid=crystals-status]'],
      () => page.getByTestId('crystals-run').click());
    if (want.kind) { await checkError(outcome, name, want); continue; }
    const pairs = await outcome.getAttribute('data-pairs');
    if (pairs === null) { check(false, `${name}: scikit-learn's silhouettes (${want.why})`, (await outcome.textContent()).trim().slice(0, 140)); continue; }
    const raw = Number(await outcome.getAttribute('data-silhouette-raw'));
    const cells = page.locator('[data-testid=silhouette-table] td[data-components]');
    const lda = {};
    for (let i = 0; i < await cells.count(); i++) lda[await cells.nth(i).getAttribute('data-components')] = Number(await cells.nth(i).getAttribute('data-value'));
    const ldaOk = sameList(Object.keys(lda), Object.keys(want.silhouette_lda)) && Object.entries(want.silhouette_lda).every(([m, v]) => close(lda[m], v));
    check(Number(pairs) === want.pairs && close(raw, want.silhouette_raw) && ldaOk,
      `${name}: scikit-learn's pairs and silhouettes (${want.why})`, `${pairs} pairs, raw ${raw} vs ${want.silhouette_raw}, LDA ${JSON.stringify(lda)} vs ${JSON.stringify(want.silhouette_lda)}`);
  }

  // 3. A worker that crashes mid-job. The trap throws in the worker's message handling as the
  //    next job arrives; the job itself goes on, so the page must notice the error event.
  await page.getByTestId('tab-galaxy').click();
  const bundled = 'minilm-l6-token-embeddings';
  const bundledFile = join(ROOT, `public/data/${bundled}.safetensors`);
  await page.getByTestId('entropy-toggle').uncheck();
  const workerBefore = page.workers().at(-1);
  await workerBefore.evaluate(() => self.addEventListener('message', function trap() {
    self.removeEventListener('message', trap);
    throw new Error('simulated crash (the reliability test)');
  }));
  await page.getByTestId(`dataset-${bundled}`).click();
  const crashed = page.locator('[data-testid=error][data-kind="worker-crashed"]');
  const said = await crashed.waitFor({ timeout: 60_000 }).then(() => true, () => false);
  check(said && /fresh one has started/.test(await crashed.textContent()), 'a worker crash is named and a fresh worker started',
    said ? (await crashed.textContent()).trim().slice(0, 140) : 'no worker-crashed message');
  check(page.workers().at(-1) !== workerBefore, 'the crashed worker was replaced', `${page.workers().length} worker(s)`);
  await page.getByTestId('error-retry').click(); // "Try again" under the crash's message
  const after = await waitForCurrent(page, `${bundled}.safetensors`, 300_000);
  const ref = cli(['analyze', 'galaxy', bundledFile, '--no-entropy']);
  check(relClose(after.slope, ref.power_law.slope, 1e-9) && relClose(after.logVolume, ref.log_volume, 1e-9),
    'after the crash, Try again gives the CLI\'s numbers', `${after.slope} vs ${ref.power_law.slope}`);

  // 4. Cancel frees memory.
  const pid = browserPid(marker);
  const big = join(tmp, 'big-cancel.npy');
  npy(big, 30_000, 1024, 3);
  const settle = async () => { await page.waitForTimeout(1500); return rendererRss(pid); };
  const baseline = await settle();
  await page.getByTestId('file-input').setInputFiles(big);
  await page.locator('.local-file code', { hasText: 'big-cancel.npy' }).waitFor({ timeout: 10_000 });
  await page.getByTestId('run').click();
  let peak = baseline;
  for (let i = 0; i < 240 && peak < baseline + 200 * 2 ** 20; i++) {
    await page.waitForTimeout(250);
    peak = Math.max(peak, rendererRss(pid));
  }
  const stillRunning = await page.getByTestId('progress').count();
  await page.getByTestId('cancel').click();
  await page.getByText('Cancelled').waitFor({ timeout: 10_000 });
  let left = await settle();
  for (let i = 0; i < 10 && left - baseline > 0.25 * (peak - baseline); i++) left = await settle();
  const mb = (b) => `${(b / 2 ** 20).toFixed(0)} MB`;
  check(stillRunning > 0 && peak - baseline > 150 * 2 ** 20, 'the large job raised the renderer\'s memory while it ran', `${mb(baseline)} → ${mb(peak)}`);
  check(left - baseline < 0.25 * (peak - baseline), 'Cancel gave the memory back', `baseline ${mb(baseline)}, peak ${mb(peak)}, after cancel ${mb(left)}`);
  await page.getByTestId(`dataset-${bundled}`).click();
  const again = await waitForCurrent(page, `${bundled}.safetensors`, 300_000);
  check(relClose(again.slope, ref.power_law.slope, 1e-9), 'after Cancel the app runs the next job', `${again.slope}`);

  // 4b. The 3D view of a file over 64 MB reads it streamed (every row): its PC variances are the
  //     top eigenvalues of the CLI's covariance of the same file.
  {
    const mid = join(tmp, 'streamed-cloud.npy');
    npy(mid, 20_000, 1024, 5); // 82 MB: streamed
    await page.getByTestId('file-input').setInputFiles(mid);
    await page.locator('.local-file code', { hasText: 'streamed-cloud.npy' }).waitFor({ timeout: 10_000 });
    await waitForCurrent(page, 'streamed-cloud.npy', 600_000);
    await page.getByTestId('cloud-run').click();
    const clouds = page.locator('[data-testid=clouds][data-input="streamed-cloud.npy"], [data-testid=cloud-error]').first();
    await clouds.waitFor({ timeout: 600_000 });
    const explained = JSON.parse((await clouds.getAttribute('data-explained')) || 'null');
    const top3 = cli(['analyze', 'galaxy', mid, '--no-entropy']).eigenvalues.slice(0, 3);
    check(explained && explained.every((v, i) => relClose(v, top3[i], 1e-8)),
      'the 3D view of an 82 MB file (streamed): PC1..3 variances equal the CLI\'s top eigenvalues', explained ? `${explained} vs ${top3}` : (await clouds.textContent()).trim().slice(0, 160));
  }

  // 5. A lobes input over the tab's memory budget is refused from its header, before its N x N
  //    matrices are allocated, with the number of features that would fit (a 64 MiB budget).
  {
    const small = await browser.newPage({ viewport: { width: 1440, height: 1100 }, serviceWorkers: 'block' });
    small.on('pageerror', (e) => pageErrors.push(String(e)));
    await small.goto(`${base}?budget=64&page=lobes`);
    const manifest = JSON.parse(readFileSync(join(ROOT, 'public/data/manifest.json'), 'utf8'));
    const pair = manifest.datasets.find((e) => e.kind === 'cooccurrence');
    const sae = manifest.datasets.find((e) => e.id === pair.metadata.sae);
    const n = sae.n;
    await small.selectOption('[data-testid=lobes-input]', sae.id);
    await small.fill('[data-testid=lobes-k]', '3');
    await small.fill('[data-testid=lobes-trials]', '0');
    await small.getByTestId('lobes-run').click();
    const refused = small.locator('[data-testid=lobes-error][data-kind="too-large"]');
    const shown = await refused.waitFor({ timeout: 120_000 }).then(() => true, () => false);
    const text = shown ? (await refused.textContent()).trim() : await small.locator('[data-testid=lobes-summary], [data-testid=lobes-error]').first().textContent().catch(() => 'nothing');
    // The most features whose lobes fit 64 MiB: 32 MiB + 12 N^2 + 64 N (analysis/budget.rs).
    let fits = Math.floor(Math.sqrt((64 - 32) * 2 ** 20 / 12));
    while (32 * 2 ** 20 + 12 * fits * fits + 64 * fits > 64 * 2 ** 20) fits -= 1;
    check(shown && text.includes(`${n} features`) && text.includes(`at most ${fits} features fit`),
      `lobes of ${n} features over a 64 MiB budget are refused, naming what fits`, text.slice(0, 200));
    // The 3D view of rows over the budget shows the galaxy analysis's sample, disclosed: its PC
    //  variances are the top eigenvalues of the CLI's `--sample` on the same rows, and hovering a
    //  point names its own feature (a row of the sample, not its place in it).
    await small.getByTestId('tab-galaxy').click();
    await small.getByTestId('file-input').setInputFiles(big);
    const galaxyNote = small.locator('[data-testid=sample-note]');
    await galaxyNote.waitFor({ timeout: 600_000 });
    await small.getByTestId('cloud-run').click();
    const cloudNote = small.locator('[data-testid=cloud-sample-note]');
    const sampled = await cloudNote.waitFor({ timeout: 600_000 }).then(() => true, () => false);
    const rows = sampled ? Number(await cloudNote.getAttribute('data-rows')) : 0;
    const explained = JSON.parse((await small.locator('[data-testid=clouds]').getAttribute('data-explained').catch(() => 'null')) || 'null');
    const sampledTop3 = rows ? cli(['analyze', 'galaxy', big, '--no-entropy', '--sample', String(rows)]).eigenvalues.slice(0, 3) : [];
    check(sampled && rows === 2048 && Number(await cloudNote.getAttribute('data-of')) === 30000 && /uniform random sample of 2048 of the 30000/.test(await cloudNote.textContent())
      && explained && explained.every((v, i) => relClose(v, sampledTop3[i], 1e-8)),
      'the 3D view of 30,000 rows over a 64 MiB budget shows a disclosed sample of 2,048, PC variances the CLI\'s --sample 2048 eigenvalues',
      sampled ? `${rows} rows; ${explained} vs ${sampledTop3}` : (await small.locator('[data-testid=cloud-error]').textContent().catch(() => 'nothing shown')).trim().slice(0, 200));
    // Hover points: each is named by its own feature (a row of the 30,000), not by its place in the
    // sample (0..2047): the sample's rows spread over all 30,000, so some names are above 2047.
    const cloudCanvas = small.getByTestId('cloud-data');
    await cloudCanvas.scrollIntoViewIfNeeded();
    const box = await cloudCanvas.boundingBox();
    const names = new Set();
    for (let i = 0; i < 120 && names.size < 8; i++) {
      // A spiral out from the centre, where the points are.
      const [r, a] = [0.02 + 0.3 * i / 120, i * 2.4];
      await small.mouse.move(box.x + box.width * (0.5 + r * Math.cos(a)), box.y + box.height * (0.5 + r * Math.sin(a)));
      const m = /^feature (\d+):/.exec((await small.getByTestId('cloud-hover').first().textContent()).trim());
      if (m) names.add(Number(m[1]));
    }
    const named = [...names];
    check(named.length >= 3 && named.every((f) => f < 30000) && named.some((f) => f >= 2048),
      'hovering the sampled 3D view names each point\'s own feature', named.join(', '));
    // The crystal search's pairs grow as N^2: 4,096 features (8.4 million pairs) over the budget
    // are refused before the pairs are allocated, naming the N that fits; that N then runs.
    await small.getByTestId('tab-crystals').click();
    const searched = manifest.datasets.find((e) => e.kind === 'points' && e.metadata && e.metadata.kind === 'sae');
    await small.fill('[data-testid=search-count]', '4096');
    await small.fill('[data-testid=search-k]', '20');
    await small.getByTestId('search-run').click();
    const searchRefused = small.locator('[data-testid=search-error][data-kind="too-large"]');
    const refusedSearch = await searchRefused.waitFor({ timeout: 120_000 }).then(() => true, () => false);
    const searchText = refusedSearch ? (await searchRefused.textContent()).trim() : 'not refused';
    // 32 MiB + 4 n d + 33 m^2 bytes (analysis/budget.rs), the decoder 4096 x 384.
    let searchFits = Math.floor(Math.sqrt((64 * 2 ** 20 - 32 * 2 ** 20 - 4 * searched.n * searched.d) / 33));
    while (32 * 2 ** 20 + 4 * searched.n * searched.d + 33 * searchFits * searchFits > 64 * 2 ** 20) searchFits -= 1;
    check(refusedSearch && searchText.includes('among 4096 features') && searchText.includes(`at most ${searchFits} features fit`),
      `a crystal search among 4,096 features over a 64 MiB budget is refused, naming the ${searchFits} that fit`, searchText.slice(0, 220));
    await small.fill('[data-testid=search-count]', String(searchFits));
    const fitted = await freshOutcome(small, ['[data-testid=search-summary]', '[data-testid=search-error]'], () => small.getByTestId('search-run').click(), 300_000);
    const fittedText = (await fitted.textContent()).trim();
    check(fittedText.startsWith(`${searchFits} features`), `the ${searchFits} features that fit run`, fittedText.slice(0, 160));
    await small.close();
  }
  check(pageErrors.length === 0, 'no uncaught errors in the page', pageErrors.join('; ').slice(0, 200));
} finally {
  await browser.close();
}

// 6. A lost WebGPU device (SwiftShader's adapter): the worker's first device is destroyed after
//    its first submit, mid-job. The job is redone on the CPU, the backend line says why, and the
//    numbers are the CLI's; the next job opens a new device and runs on WebGPU again.
const gpuBrowser = await launch({ webgpu: true });
try {
  const page = await gpuBrowser.newPage({ viewport: { width: 1440, height: 1100 }, serviceWorkers: 'block' });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(base);
  await page.getByTestId('entropy-toggle').uncheck();
  await page.selectOption('[data-testid=backend-select]', 'webgpu');
  for (let i = 0; i < 100 && page.workers().length === 0; i++) await page.waitForTimeout(100);
  await page.workers().at(-1).evaluate(() => {
    const requestDevice = GPUAdapter.prototype.requestDevice;
    let devices = 0;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const device = await requestDevice.apply(this, args);
      if (++devices === 1) {
        const submit = device.queue.submit.bind(device.queue);
        let submits = 0;
        device.queue.submit = (buffers) => { submit(buffers); if (++submits === 1) device.destroy(); };
      }
      return device;
    };
  });
  const lostOn = 'minilm-l6-topk4096-layer2';
  await page.getByTestId(`dataset-${lostOn}`).click();
  const onCpu = await waitForCurrent(page, `${lostOn}.safetensors`, 300_000);
  const used = (await page.getByTestId('backend').textContent()).trim();
  const lostRef = cli(['analyze', 'galaxy', join(ROOT, 'public/data', `${lostOn}.safetensors`), '--no-entropy']);
  check(used.startsWith('CPU (wasm)') && /instead/.test(used), 'a GPU device lost mid-job: the job is redone on the CPU, saying why', used.slice(0, 200));
  check(relClose(onCpu.slope, lostRef.power_law.slope, 1e-9) && relClose(onCpu.logVolume, lostRef.log_volume, 1e-9),
    'after the device loss the numbers are the CLI\'s', `${onCpu.slope} vs ${lostRef.power_law.slope}`);
  const nextOn = 'minilm-l6-topk4096-layer3';
  await page.getByTestId(`dataset-${nextOn}`).click();
  const onGpu = await waitForCurrent(page, `${nextOn}.safetensors`, 300_000);
  const usedNext = (await page.getByTestId('backend').textContent()).trim();
  const nextRef = cli(['analyze', 'galaxy', join(ROOT, 'public/data', `${nextOn}.safetensors`), '--no-entropy']);
  check(/^WebGPU \(/.test(usedNext) && relClose(onGpu.slope, nextRef.power_law.slope, 1e-4),
    'the next job opens a new device and runs on WebGPU (the CLI\'s slope within 1e-4)', `${usedNext.slice(0, 80)}; ${onGpu.slope} vs ${nextRef.power_law.slope}`);
  check(pageErrors.length === 0, 'no uncaught errors in the WebGPU page', pageErrors.join('; ').slice(0, 200));
} finally {
  await gpuBrowser.close();
  server.close();
  rmSync(tmp, { recursive: true, force: true });
}
finish();
