// The whole galaxy page in the browser, timed, against the numpy/scipy/scikit-learn pipeline on the
// same files in the same run. A benchmark, not a test: it checks nothing but prints the figures of
// docs/BENCHMARKS.md.
//
//   bash benches/browser.sh          (builds dist/ and the CLI, then runs this)
//
// For the largest bundled point set and the largest bundled SAE layer (by file size; the last
// layer on a tie), in a fresh headless Chromium page each: click the dataset and time until the
// galaxy summary is shown (spectrum, power law, log-volume, isotropic reference, clustering
// entropy of the data and of the reference: the page's defaults), sampling the progress line
// meanwhile; then "Show in 3D" (PCA of the cloud and of its isotropic reference). Then the layer
// sweep of the layer's group ("Run all N layers", with the entropy), against the native CLI's
// `analyze galaxy-layers` on the same manifest. The reference for one dataset is
// benches/galaxy_reference.py (spectrum, fit, isotropic spectrum) plus
// benches/entropy_reference.py --isotropic (the paper's entropy of the data and of a Gaussian
// cloud of the same shape), i.e. the same work as the page.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, baseUrl, launch } from '../tests/e2e/harness.mjs';

const DATA = join(ROOT, 'public/data');
const CLI = process.env.SAE_GEOMETRY_CLI || join(ROOT, 'target/release/sae-geometry');
const manifest = JSON.parse(readFileSync(join(DATA, 'manifest.json'), 'utf8'));
const points = manifest.datasets.filter((e) => e.kind === 'points');
const bytes = (e) => statSync(join(DATA, e.file)).size;
const largest = (list) => list.reduce((a, b) => (bytes(b) >= bytes(a) ? b : a));
const targets = [largest(points)];
const layers = points.filter((e) => e.layer !== undefined && e.layer !== null);
if (layers.length) targets.push(largest(layers));

const seconds = (ms) => (ms / 1000).toFixed(2);

function python(args) {
  return JSON.parse(execFileSync('python3', args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20 }).trim().split('\n').pop());
}

/// Clicks `entry` in a fresh page and times the galaxy page on it.
async function galaxyPage(browser, base, entry) {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  await page.goto(base);
  const button = page.getByTestId(`dataset-${entry.id}`);
  await button.waitFor({ timeout: 60_000 });
  const t0 = Date.now();
  await button.click();
  const summary = page.locator(`[data-testid=summary][data-input="${entry.file}"]`);
  const stages = new Set();
  let samples = 0;
  while (!(await summary.count())) {
    const status = await page.getByTestId('status').textContent({ timeout: 1000 }).catch(() => null);
    if (status && /%/.test(status)) { samples += 1; stages.add(status.replace(/[\d.]+%/, '').replace('…', '').trim()); }
    const error = await page.getByTestId('error').count();
    if (error) throw new Error(`${entry.id}: ${await page.getByTestId('error').textContent()}`);
    await page.waitForTimeout(200);
  }
  const galaxyMs = Date.now() - t0;
  const shown = (await page.getByTestId('backend').textContent()).trim();
  const clustering = Number(await page.getByTestId('clustering').getAttribute('data-value'));
  const t1 = Date.now();
  await page.getByTestId('cloud-run').click();
  await page.locator(`[data-testid=clouds][data-input="${entry.file}"]`).waitFor({ timeout: 600_000 });
  const cloudMs = Date.now() - t1;
  return { page, galaxyMs, cloudMs, shown, clustering, samples, stages: [...stages] };
}

const server = await serve();
const browser = await launch();
const rows = [];
try {
  for (const entry of targets) {
    const file = join(DATA, entry.file);
    const ui = await galaxyPage(browser, baseUrl(server), entry);
    const galaxy = python(['benches/galaxy_reference.py', file]);
    const entropy = python(['benches/entropy_reference.py', file, '--tensor', entry.tensor, '--isotropic', '--json']);
    const numpy = galaxy.seconds.total * 1000 + entropy.seconds * 1000;
    rows.push({ entry, ui, numpy, galaxy, entropy });
    console.log(`${entry.file} (${galaxy.n} x ${galaxy.d}, ${(bytes(entry) / 1e6).toFixed(1)} MB):`);
    console.log(`  browser: galaxy page ${seconds(ui.galaxyMs)} s from the click (page says: ${ui.shown}); 3D view ${seconds(ui.cloudMs)} s`);
    console.log(`  progress: ${ui.samples} samples of the progress line, stages ${ui.stages.join(' / ')}`);
    console.log(`  numpy/scipy/sklearn: ${seconds(numpy)} s (spectrum + isotropic ${galaxy.seconds.total.toFixed(2)} s, entropy of data + Gaussian ${entropy.seconds.toFixed(2)} s)`);
    console.log(`  ratio numpy / browser: ${(numpy / ui.galaxyMs).toFixed(1)}x; clustering browser ${ui.clustering.toFixed(2)}, numpy ${entropy.clustering.toFixed(2)} (different RNGs)`);
    if (entry === targets[targets.length - 1] && entry.group) {
      const t0 = Date.now();
      await ui.page.getByTestId('sweep-run').click();
      await ui.page.locator(`[data-testid=sweep-table][data-group="${entry.group}"]`).waitFor({ timeout: 900_000 });
      const sweepMs = Date.now() - t0;
      const c0 = Date.now();
      execFileSync(CLI, ['analyze', 'galaxy-layers', join(DATA, 'manifest.json'), '--group', entry.group], { stdio: ['ignore', 'ignore', 'ignore'] });
      const cliMs = Date.now() - c0;
      const n = layers.filter((e) => e.group === entry.group).length;
      console.log(`layer sweep of ${entry.group} (${n} layers, entropy on): browser ${seconds(sweepMs)} s, native CLI ${seconds(cliMs)} s (${(sweepMs / cliMs).toFixed(1)}x the CLI)`);
    }
    await ui.page.close();
  }
} finally {
  await browser.close();
  server.close();
}
console.log(`(this machine: ${execFileSync('nproc').toString().trim()} cores; Chromium headless, wasm32 in one worker)`);
