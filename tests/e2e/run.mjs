// End-to-end test of the built app (dist/), served from a sub-path by a small static server, driven
// by Playwright (playwright-core) in Debian's headless Chromium. Run by scripts/test.sh after
// `trunk build --release` and `cargo build --bin sae-geometry` (SAE_GEOMETRY_CLI overrides the path).
//
// Checks: the bundled dataset's galaxy analysis runs in the worker while the page stays responsive;
// the slope, interval and log-volume shown equal the CLI's on the same file; cancel works and the
// app stays usable; every malformed file gives its error kind in the page; screenshots are saved in
// tests/e2e/artifacts/.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, serve, baseUrl, launch, cli, checker, relClose, waitForResult, waitForCurrent } from './harness.mjs';

const ARTIFACTS = join(ROOT, 'tests/e2e/artifacts');
const BUNDLED_ID = 'minilm-l6-token-embeddings';
const BUNDLED_FILE = join(ROOT, `public/data/${BUNDLED_ID}.safetensors`);
const MALFORMED = join(ROOT, 'tests/fixtures/malformed');
const EDGE = join(ROOT, 'tests/fixtures/edge');

const { check, finish } = checker('end-to-end');

function compareWithCli(ui, ref, label) {
  // Same code, same f16 file; only the order of floating-point sums differs (wasm scalar vs native SIMD).
  check(relClose(ui.slope, ref.power_law.slope, 1e-9), `${label}: slope equals the CLI's`, `${ui.slope} vs ${ref.power_law.slope}`);
  check(ui.shown === ref.power_law.slope.toFixed(4), `${label}: slope shown to 4 places`, `${ui.shown} vs ${ref.power_law.slope.toFixed(4)}`);
  check(relClose(ui.low, ref.power_law.ci95[0], 1e-9) && relClose(ui.high, ref.power_law.ci95[1], 1e-9), `${label}: 95% interval equals the CLI's`);
  check(relClose(ui.logVolume, ref.log_volume, 1e-9), `${label}: log-volume equals the CLI's`, `${ui.logVolume} vs ${ref.log_volume}`);
  if (ui.clustering !== null) {
    // Same sample and resamples (seeded); only the order of sums differs (nearest-neighbour Gram).
    check(ref.entropy && relClose(ui.clustering, ref.entropy.clustering, 1e-6), `${label}: clustering entropy equals the CLI's`,
      `${ui.clustering} vs ${ref.entropy && ref.entropy.clustering}`);
    check(ref.isotropic_entropy && relClose(ui.isotropicClustering, ref.isotropic_entropy.clustering, 1e-6)
      && ui.isotropicClustering < ui.clustering,
      `${label}: the isotropic cloud's clustering entropy equals the CLI's and is below the data's`,
      `${ui.isotropicClustering} vs ${ref.isotropic_entropy && ref.isotropic_entropy.clustering}`);
  }
}

const server = await serve();
const base = baseUrl(server);
mkdirSync(ARTIFACTS, { recursive: true });
const browser = await launch();
const pageErrors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  [browser console] ${m.text()}`); });
  await page.goto(base);

  // 1. The bundled dataset, default ranks 11..150.
  await page.getByTestId(`dataset-${BUNDLED_ID}`).click();
  await page.getByTestId('progress').waitFor({ timeout: 30_000 });
  const t0 = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  const frameMs = Date.now() - t0;
  check(frameMs < 1000, 'the page paints while the worker computes', `${frameMs} ms for one frame`);
  const status = await page.getByTestId('status').textContent();
  check(/%/.test(status), 'progress is shown', status.trim());
  const ui = await waitForResult(page, 400_000);
  check(ui.clustering !== null, 'the clustering entropy is computed by default');
  compareWithCli(ui, cli(['analyze', 'galaxy', BUNDLED_FILE]), 'ranks 11..150');
  const ranOn = (await page.getByTestId('backend').textContent()).trim();
  check(ranOn.startsWith('CPU (wasm): '), 'Auto without a WebGPU adapter runs on the CPU, without a warning', ranOn);
  await page.screenshot({ path: join(ARTIFACTS, 'galaxy.png'), fullPage: true });

  // 2. Cancel a run, then run again with the paper text's top-100 ranks.
  await page.getByTestId('rank-first').fill('1');
  await page.getByTestId('rank-last').fill('100');
  await page.getByTestId('seed').fill('7');
  await page.getByTestId('entropy-toggle').uncheck(); // the next runs without it, to keep the test short
  await page.getByTestId('run').click();
  await page.getByTestId('progress').waitFor({ timeout: 30_000 });
  await page.getByTestId('cancel').click();
  await page.getByText('Cancelled').waitFor({ timeout: 10_000 });
  check(true, 'cancel stops the run');
  await page.getByTestId('run').click();
  const top100 = await waitForResult(page);
  compareWithCli(top100, cli(['analyze', 'galaxy', BUNDLED_FILE, '--ranks', '1..100', '--seed', '7']), 'ranks 1..100 after cancel');
  await page.screenshot({ path: join(ARTIFACTS, 'galaxy-top100.png'), fullPage: true });

  // 2b. Dragging across the spectrum picks the fit's ranks; the result is the CLI's for them.
  {
    const plot = page.getByTestId('spectrum-canvas');
    await plot.scrollIntoViewIfNeeded();
    const box = await plot.boundingBox();
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.35, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.75, y, { steps: 5 });
    await page.mouse.up();
    await page.getByTestId('progress').waitFor({ timeout: 30_000 }).catch(() => {});
    const dragged = await waitForResult(page);
    const a = Number(await page.getByTestId('rank-first').inputValue());
    const b = Number(await page.getByTestId('rank-last').inputValue());
    check(a > 1 && b > a + 10 && b <= 384, 'dragging across the spectrum sets the fit ranks', `${a}..${b}`);
    compareWithCli(dragged, cli(['analyze', 'galaxy', BUNDLED_FILE, '--ranks', `${a}..${b}`, '--seed', '7']), `dragged ranks ${a}..${b}`);

    // 2c. The entropy's settings: rows, PCs, resamples and k other than the paper's give the CLI's
    //     numbers for them; PCs beyond d is refused with a message.
    const settings = { samples: '3000', pcs: '50', bootstrap: '10', k: '2' };
    await page.getByTestId('entropy-toggle').check();
    for (const [name, value] of Object.entries(settings)) await page.getByTestId(`entropy-${name}`).fill(value);
    await page.getByTestId('run').click();
    await page.getByTestId('progress').waitFor({ timeout: 30_000 }).catch(() => {});
    const custom = await waitForResult(page);
    check(custom.clustering !== null, 'the entropy runs with the settings typed in');
    compareWithCli(custom, cli(['analyze', 'galaxy', BUNDLED_FILE, '--ranks', `${a}..${b}`, '--seed', '7',
      '--entropy-samples', '3000', '--entropy-pcs', '50', '--entropy-bootstrap', '10', '--entropy-k', '2']),
      'entropy with 3000 rows, 50 PCs, 10 resamples, k = 2');
    await page.getByTestId('entropy-pcs').fill('999');
    await page.getByTestId('run').click();
    const refused = page.locator('[data-testid=error][data-kind="invalid-parameter"]');
    await refused.waitFor({ timeout: 30_000 }).then(
      async () => check(/384/.test(await refused.textContent()), '999 PCs of 384 dimensions is refused, naming the limit', (await refused.textContent()).trim().slice(0, 110)),
      () => check(false, '999 PCs of 384 dimensions is refused', 'no invalid-parameter error'));
    const defaults = { samples: '5000', pcs: '100', bootstrap: '30', k: '1' };
    for (const [name, value] of Object.entries(defaults)) await page.getByTestId(`entropy-${name}`).fill(value);
    await page.getByTestId('entropy-toggle').uncheck();
  }

  // 3a. Edge cases (tests/fixtures/edge, made by make_edge.py): numpy's slope and log-volume at
  //     ranks 11..150, or the named error where numpy has no number; never a NaN shown.
  {
    await page.getByTestId('rank-first').fill('11');
    await page.getByTestId('rank-last').fill('150');
    await page.getByTestId('entropy-toggle').uncheck();
    await page.getByTestId('run').click();
    const edge = JSON.parse(readFileSync(join(EDGE, 'expected.json'), 'utf8'));
    for (const [name, want] of Object.entries(edge)) {
      await page.getByTestId('file-input').setInputFiles(join(EDGE, name));
      await page.locator('.local-file code', { hasText: name }).waitFor({ timeout: 10_000 });
      if (want.kind) {
        const error = page.locator(`[data-testid=error][data-kind="${want.kind}"]`);
        const shown = await error.waitFor({ timeout: 60_000 }).then(() => true, () => false);
        const text = shown ? (await error.textContent()).trim() : `got ${await page.locator('[data-testid=error]').getAttribute('data-kind').catch(() => 'no error')}`;
        check(shown && text.length > 30 && !/NaN(?! or infinity)/.test(text), `edge ${name}: "${want.kind}" named (${want.why})`, text.slice(0, 110));
      } else {
        const ui = await waitForCurrent(page, name, 120_000).catch(() => null);
        check(ui && relClose(ui.slope, want.slope, 1e-9) && relClose(ui.logVolume, want.log_volume, 1e-9),
          `edge ${name}: numpy's slope and log-volume (${want.why})`, ui ? `${ui.slope} vs ${want.slope}` : 'no result');
      }
    }
  }

  // 3. Malformed files: each gives its error kind in the page.
  const expected = JSON.parse(readFileSync(join(MALFORMED, 'expected.json'), 'utf8'));
  for (const [name, entry] of Object.entries(expected)) {
    const want = { kind: entry.kind_wasm32 || entry.kind };
    await page.getByTestId('file-input').setInputFiles(join(MALFORMED, name));
    await page.locator('.local-file code', { hasText: name }).waitFor({ timeout: 10_000 });
    const error = page.locator(`[data-testid=error][data-kind="${want.kind}"]`);
    try {
      await error.waitFor({ timeout: 30_000 });
      const text = (await error.textContent()).trim();
      check(text.length > 30, `${name}: "${want.kind}" error shown`, text.slice(0, 110));
    } catch {
      const got = await page.locator('[data-testid=error]').getAttribute('data-kind').catch(() => 'none');
      check(false, `${name}: "${want.kind}" error shown`, `got ${got}`);
    }
  }
  await page.screenshot({ path: join(ARTIFACTS, 'malformed.png'), fullPage: true });

  // 4. A valid file dropped on the page gives the CLI's numbers.
  const valid = join(ROOT, 'tests/golden/galaxy_powerlaw.npy');
  await page.getByTestId('rank-first').fill('11');
  await page.getByTestId('rank-last').fill('150');
  await page.getByTestId('seed').fill('0');
  await page.getByTestId('run').click(); // applies the parameters (to the last malformed file: an error)
  await page.locator('[data-testid=error]').waitFor({ timeout: 30_000 });
  const dropped = await page.evaluateHandle(({ b64, name }) => {
    const data = new DataTransfer();
    data.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
    return data;
  }, { b64: readFileSync(valid).toString('base64'), name: 'galaxy_powerlaw.npy' });
  await page.dispatchEvent('[data-testid=drop-zone]', 'drop', { dataTransfer: dropped });
  compareWithCli(await waitForResult(page), cli(['analyze', 'galaxy', valid]), 'dropped .npy file');

  // 5. Every bundled dataset: the galaxy page on each point set (every MiniLM layer) gives the
  //    CLI's numbers; every other bundle (firings, crystals) is read and summarised.
  const manifest = JSON.parse(readFileSync(join(ROOT, 'public/data/manifest.json'), 'utf8'));
  const points = manifest.datasets.filter((e) => e.kind === 'points' && e.id !== BUNDLED_ID);
  const cliByFile = {};
  for (const entry of points) {
    await page.getByTestId(`dataset-${entry.id}`).click();
    const got = await waitForCurrent(page, entry.file);
    cliByFile[entry.file] = cli(['analyze', 'galaxy', join(ROOT, 'public/data', entry.file)]);
    compareWithCli(got, cliByFile[entry.file], entry.id);
  }

  // 6. The layer sweep of the group of the last dataset: one row per layer, the CLI's numbers.
  const groups = [...new Set(points.filter((e) => e.group).map((e) => e.group))];
  for (const group of groups) {
    const layers = points.filter((e) => e.group === group).sort((a, b) => a.layer - b.layer);
    if (layers.length < 2) continue;
    await page.getByTestId(`dataset-${layers[layers.length - 1].id}`).click();
    await waitForCurrent(page, layers[layers.length - 1].file);
    await page.getByTestId('entropy-toggle').check(); // the sweep with the clustering entropy
    await page.getByTestId('run').click();
    await waitForResult(page, 400_000);
    await page.getByTestId('sweep-run').click();
    await page.getByTestId('sweep-progress').waitFor({ timeout: 30_000 });
    const table = page.locator(`[data-testid=sweep-table][data-group="${group}"]`);
    await table.waitFor({ timeout: 300_000 });
    const rows = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => ({
      layer: Number(tr.dataset.layer), slope: Number(tr.dataset.slope), logVolume: Number(tr.dataset.logVolume),
      clustering: Number(tr.dataset.clustering), isotropicClustering: Number(tr.dataset.isotropicClustering) })));
    check(rows.length === layers.length, `${group}: the sweep has one row per layer`, `${rows.length} of ${layers.length}`);
    for (const [i, entry] of layers.entries()) {
      const row = rows[i] || {};
      const ref = cliByFile[entry.file];
      check(row.layer === entry.layer && relClose(row.slope, ref.power_law.slope, 1e-9) && relClose(row.logVolume, ref.log_volume, 1e-9)
        && relClose(row.clustering, ref.entropy.clustering, 1e-6)
        && relClose(row.isotropicClustering, ref.isotropic_entropy.clustering, 1e-6),
        `${group} layer ${entry.layer}: sweep row equals the CLI's`, `slope ${row.slope} vs ${ref.power_law.slope}, entropy ${row.clustering} vs ${ref.entropy.clustering}`);
    }
    await page.getByTestId('layer-sweep').screenshot({ path: join(ARTIFACTS, `layer-sweep-${group}.png`) });
  }
  // 7. The 3D view of the last layer: PC1..3 variances equal the spectrum's top eigenvalues; hover
  //    names a feature; dragging turns both clouds.
  if (points.length) {
    const entry = points[points.length - 1];
    await page.getByTestId(`dataset-${entry.id}`).click();
    await waitForCurrent(page, entry.file);
    await page.getByTestId('cloud-run').click();
    const clouds = page.locator(`[data-testid=clouds][data-input="${entry.file}"]`);
    await clouds.waitFor({ timeout: 120_000 });
    const explained = JSON.parse(await clouds.getAttribute('data-explained'));
    const top3 = cliByFile[entry.file].eigenvalues.slice(0, 3);
    check(explained.length === 3 && explained.every((v, i) => relClose(v, top3[i], 1e-8)),
      `${entry.id}: PC1..3 variances equal the top 3 covariance eigenvalues`, `${explained} vs ${top3}`);
    await page.getByTestId('cloud-data').scrollIntoViewIfNeeded();
    const box = await page.getByTestId('cloud-data').boundingBox();
    const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
    let named = '';
    for (let r = 0; r < 40 && !/^feature \d+:/.test(named); r += 2) {
      await page.mouse.move(cx + r, cy + r / 2);
      named = (await page.getByTestId('cloud-hover').first().textContent()).trim();
    }
    check(/^feature \d+:/.test(named), 'hovering the 3D cloud names a feature', named);
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx + 120, cy + 40, { steps: 6 });
    await page.mouse.up();
    await page.getByTestId('cloud-section').screenshot({ path: join(ARTIFACTS, 'cloud-3d.png') });
  }
  await page.screenshot({ path: join(ARTIFACTS, 'galaxy-layers.png'), fullPage: true });
  const others = manifest.datasets.filter((e) => e.kind !== 'points');
  check(others.length > 0 || points.length === 0, 'the manifest lists firings and crystal bundles', `${others.length}`);
  if (others.length) await page.locator('details.other-bundles > summary').click();
  for (const entry of others) {
    await page.getByTestId(`inspect-${entry.id}`).click();
    const summary = page.locator(`[data-testid=bundle-summary][data-input="${entry.file}"]`);
    try {
      await summary.waitFor({ timeout: 60_000 });
      const kind = await summary.getAttribute('data-kind');
      check(kind === entry.kind, `${entry.id}: read and summarised as ${entry.kind}`, kind);
    } catch {
      const err = await page.locator('[data-testid=inspect-error]').textContent().catch(() => 'no summary');
      check(false, `${entry.id}: read and summarised`, err);
    }
  }

  // 8. The lobes page: one SAE with its firings, k = 3, Phi, 10 null trials: AMI, balanced accuracy,
  //    sigmas and every feature's labels equal the CLI's; hover names a feature, its lobe and its
  //    nearest features; the specialisation table has a row per category; then the comparison of
  //    the five affinities across k = 2..8 equals the CLI's at two of its cells.
  {
    await page.getByTestId('tab-lobes').click();
    const lobeEntry = manifest.datasets.find((e) => e.kind === 'cooccurrence' && e.layer === 3) || manifest.datasets.find((e) => e.kind === 'cooccurrence');
    const sae = manifest.datasets.find((e) => e.id === lobeEntry.metadata.sae);
    await page.selectOption('[data-testid=lobes-input]', sae.id);
    await page.fill('[data-testid=lobes-k]', '3');
    await page.fill('[data-testid=lobes-trials]', '10');
    await page.getByTestId('lobes-run').click();
    const summary = page.locator(`[data-testid=lobes-summary][data-input="${sae.file}"][data-k="3"]`);
    await summary.waitFor({ timeout: 300_000 });
    const ref = cli(['analyze', 'lobes', join(ROOT, 'public/data', sae.file), join(ROOT, 'public/data', lobeEntry.file), '--k', '3', '--null-trials', '10']);
    const ami = Number(await page.getByTestId('lobes-ami').getAttribute('data-value'));
    const bacc = Number(await page.getByTestId('lobes-bacc').getAttribute('data-value'));
    check(relClose(ami, ref.ami, 1e-9), `${sae.id}: lobes AMI equals the CLI's`, `${ami} vs ${ref.ami}`);
    check(relClose(bacc, ref.balanced_accuracy, 1e-12), `${sae.id}: balanced accuracy equals the CLI's`, `${bacc} vs ${ref.balanced_accuracy}`);
    const labels = (await summary.getAttribute('data-labels')).split(',').map(Number);
    const same = labels.filter((l, i) => l === ref.labels_cooccurrence[i]).length;
    check(same === ref.labels_cooccurrence.length, `${sae.id}: every co-occurrence lobe label equals the CLI's`, `${same} of ${ref.labels_cooccurrence.length}`);
    const geo = (await summary.getAttribute('data-labels-geometry')).split(',').map(Number);
    check(geo.every((l, i) => l === ref.labels_geometry[i]), `${sae.id}: every geometric lobe label equals the CLI's`);
    const sigma = Number(await page.getByTestId('null-bacc').getAttribute('data-value'));
    check(relClose(sigma, ref.null.bacc_sigma, 1e-6), `${sae.id}: classifier null sigma equals the CLI's`, `${sigma} vs ${ref.null.bacc_sigma}`);
    const rows = await page.locator('[data-testid=specialisation] tbody tr').count();
    check(rows === ref.specialisation.categories.length, 'the specialisation table has a row per category', `${rows}`);
    const box = await page.getByTestId('lobe-map').boundingBox();
    let hovered = '';
    for (let i = 0; i < 60 && !hovered.startsWith('feature'); i++) {
      await page.mouse.move(box.x + box.width * (0.35 + i / 200), box.y + box.height * (0.45 + (i % 7) / 100));
      hovered = await page.getByTestId('lobe-hover').textContent();
    }
    const m = hovered.match(/^feature (\d+): lobe (\d+); nearest features \(angular similarity\) ([\d, ]+)$/);
    check(m && Number(m[2]) === ref.labels_cooccurrence[Number(m[1])], 'hovering the lobe map names a feature, its lobe and its nearest features', hovered);
    await page.getByTestId('tsne-run').click();
    await page.locator('[data-testid=tsne-status]:has-text("t-SNE:")').waitFor({ timeout: 600_000 });
    const tsneCaption = await page.locator('figure.lobe-map figcaption').textContent();
    const kl = Number((tsneCaption.match(/KL ([\d.]+)/) || [])[1]);
    check(tsneCaption.includes('t-SNE of the') && kl > 0 && kl < 10, 'the t-SNE layout replaces the PCA layout of the lobe map', tsneCaption);
    await page.screenshot({ path: join(ARTIFACTS, 'lobes.png'), fullPage: true });
    await page.getByTestId('lobes-compare').click();
    await page.getByTestId('compare-table').waitFor({ timeout: 600_000 });
    for (const [affinity, k] of [['jaccard', 4], ['phi', 8]]) {
      const cell = page.locator(`[data-testid=compare-table] tr[data-affinity=${affinity}] td[data-k="${k}"]`);
      const r = cli(['analyze', 'lobes', join(ROOT, 'public/data', sae.file), join(ROOT, 'public/data', lobeEntry.file), '--k', String(k), '--affinity', affinity, '--null-trials', '0', '--brief']);
      const [a, b] = [Number(await cell.getAttribute('data-ami')), Number(await cell.getAttribute('data-bacc'))];
      check(relClose(a, r.ami, 1e-9) && relClose(b, r.balanced_accuracy, 1e-12), `comparison ${affinity} k=${k} equals the CLI's`, `${a}/${b} vs ${r.ami}/${r.balanced_accuracy}`);
    }
    await page.getByTestId('compare-canvas').screenshot({ path: join(ARTIFACTS, 'lobes-compare.png') });
    // The 3D view of the same decoder takes the lobes' colours; hover names the lobe.
    await page.getByTestId('tab-galaxy').click();
    await page.getByTestId(`dataset-${sae.id}`).click();
    await waitForCurrent(page, sae.file);
    await page.getByTestId('cloud-run').click();
    const clouds = page.locator(`[data-testid=clouds][data-input="${sae.file}"]`);
    await clouds.waitFor({ timeout: 120_000 });
    const caption = await clouds.locator('figcaption').first().textContent();
    check(caption.includes('coloured by co-occurrence lobe'), 'the 3D view of the same decoder is coloured by lobe', caption);
    const cbox = await page.getByTestId('cloud-data').boundingBox();
    let named = '';
    for (let i = 0; i < 60 && !/lobe \d+$/.test(named); i++) {
      await page.mouse.move(cbox.x + cbox.width * (0.4 + i / 300), cbox.y + cbox.height * (0.45 + (i % 9) / 100));
      named = (await page.getByTestId('cloud-hover').first().textContent()).trim();
    }
    const hm = named.match(/^feature (\d+): .*, lobe (\d+)$/);
    check(hm && Number(hm[2]) === ref.labels_cooccurrence[Number(hm[1])], "hovering the 3D view names the feature's lobe", named);
  }

  // 9. The crystals page: GloVe (all pairs, exact silhouettes) and MiniLM layer 0 (5,000 sampled
  //    pairs): silhouettes, every task's quad medians and the word-length fit equal the CLI's; the
  //    crystal view switches projection and names words on hover; a crystal search equals the CLI's.
  {
    await page.getByTestId('tab-crystals').click();
    const crystalRuns = [
      ['crystals-glove-6b-50d', 'all', []],
      ['crystals-minilm-l6-layer0', '5000', ['--silhouette-sample', '5000']],
    ];
    for (const [id, sample, extra] of crystalRuns) {
      const entry = manifest.datasets.find((e) => e.id === id);
      if (!entry) { check(false, `${id} is bundled`); continue; }
      await page.selectOption('[data-testid=crystals-input]', id);
      await page.selectOption('[data-testid=crystals-sample]', sample);
      await page.getByTestId('crystals-run').click();
      const summary = page.locator(`[data-testid=crystals-summary][data-input="${entry.file}"]`);
      await summary.waitFor({ timeout: 600_000 });
      const ref = cli(['analyze', 'crystals', join(ROOT, 'public/data', entry.file), ...extra]);
      const raw = Number(await summary.getAttribute('data-silhouette-raw'));
      check(relClose(raw, ref.silhouette_raw, 1e-9), `${id}: raw silhouette equals the CLI's`, `${raw} vs ${ref.silhouette_raw}`);
      let same = 0;
      const cells = page.locator('[data-testid=silhouette-table] td[data-components]');
      for (let i = 0; i < await cells.count(); i++) {
        const m = await cells.nth(i).getAttribute('data-components');
        if (relClose(Number(await cells.nth(i).getAttribute('data-value')), ref.silhouette_lda[m], 1e-9)) same += 1;
      }
      check(same === Object.keys(ref.silhouette_lda).length, `${id}: every LDA silhouette equals the CLI's`, `${same} of ${Object.keys(ref.silhouette_lda).length}`);
      let quads = 0;
      for (const [task, p] of Object.entries(ref.parallelogram)) {
        const row = page.locator(`[data-testid=parallelogram-table] tr[data-task="${task}"]`);
        const v = async (a) => Number(await row.getAttribute(a));
        if (relClose(await v('data-before-rel'), p.before.median_relative_error, 1e-9) && relClose(await v('data-after-rel'), p.after.median_relative_error, 1e-9)
          && relClose(await v('data-before-cos'), p.before.median_cosine, 1e-9) && relClose(await v('data-after-cos'), p.after.median_cosine, 1e-9)) quads += 1;
      }
      check(quads === Object.keys(ref.parallelogram).length, `${id}: every task's quad medians equal the CLI's`, `${quads} of ${Object.keys(ref.parallelogram).length}`);
      const r = Number(await page.getByTestId('word-length').getAttribute('data-r'));
      check(relClose(r, ref.word_length.r, 1e-9), `${id}: word-length r equals the CLI's`, `${r} vs ${ref.word_length.r}`);
    }
    // The user's own files: vectors (.npy), a vocabulary (.txt) and task files (.json), as the
    // committed golden subset; the page's numbers equal the CLI's on the same files.
    {
      const dir = join(ROOT, 'tests/golden/crystals');
      const set = JSON.parse(readFileSync(join(dir, 'minilm-l0-subset-words.json'), 'utf8'));
      const tmp = mkdtempSync(join(tmpdir(), 'crystals-e2e-'));
      writeFileSync(join(tmp, 'words.txt'), set.words.join('\n') + '\n');
      const taskFiles = set.tasks.slice(0, 4).map((t) => {
        const path = join(tmp, `${t.name}.json`);
        writeFileSync(path, JSON.stringify(t.pairs.map(([a, b]) => ({ input: set.words[a], output: set.words[b] }))));
        return path;
      });
      const npy = join(dir, 'minilm-l0-subset.npy');
      await page.setInputFiles('[data-testid=crystals-files]', [npy, join(tmp, 'words.txt'), ...taskFiles]);
      await page.locator('[data-testid=crystals-input] option[value=local]').waitFor({ state: 'attached', timeout: 30_000 });
      await page.selectOption('[data-testid=crystals-sample]', 'all');
      await page.getByTestId('crystals-run').click();
      const summary = page.locator('[data-testid=crystals-summary][data-input="minilm-l0-subset.npy"]');
      await summary.waitFor({ timeout: 300_000 });
      const ref = cli(['analyze', 'crystals', npy, '--vocab', join(tmp, 'words.txt'), ...taskFiles]);
      const raw = Number(await summary.getAttribute('data-silhouette-raw'));
      const wl = Number(await page.getByTestId('word-length').getAttribute('data-r'));
      check(relClose(raw, ref.silhouette_raw, 1e-9) && relClose(wl, ref.word_length.r, 1e-9) && Number(await summary.getAttribute('data-pairs')) === ref.pairs,
        'your own vectors, vocabulary and task files give the CLI\'s numbers', `${raw} vs ${ref.silhouette_raw}, r ${wl} vs ${ref.word_length.r}`);
      rmSync(tmp, { recursive: true, force: true });
      // The same vectors with the crystal set's own words JSON (all 12 tasks).
      await page.setInputFiles('[data-testid=crystals-files]', [npy, join(dir, 'minilm-l0-subset-words.json')]);
      await page.locator('[data-testid=crystals-input] option[value=local]:has-text("12 tasks")').waitFor({ state: 'attached', timeout: 30_000 });
      await page.getByTestId('crystals-run').click();
      const setSummary = page.locator('[data-testid=crystals-summary][data-input="minilm-l0-subset.npy"][data-pairs="1200"]');
      await setSummary.waitFor({ timeout: 300_000 });
      const setRef = cli(['analyze', 'crystals', npy, '--words', join(dir, 'minilm-l0-subset-words.json')]);
      const setRaw = Number(await setSummary.getAttribute('data-silhouette-raw'));
      check(relClose(setRaw, setRef.silhouette_raw, 1e-9), "your own vectors with a crystal set's words JSON give the CLI's numbers", `${setRaw} vs ${setRef.silhouette_raw}`);
    }
    await page.getByTestId('crystal-view').waitFor({ timeout: 120_000 });
    await page.locator('figure.crystal-view').screenshot({ path: join(ARTIFACTS, 'crystal-view-before.png') });
    await page.getByTestId('projection-after').check();
    await page.waitForTimeout(300);
    await page.locator('figure.crystal-view').screenshot({ path: join(ARTIFACTS, 'crystal-view-after.png') });
    const projected = await page.getByTestId('crystal-view').getAttribute('data-projection');
    check(projected === 'after', 'the crystal view switches to the projection after LDA', projected);
    const vbox = await page.getByTestId('crystal-view').boundingBox();
    let word = '';
    for (let i = 0; i < 80 && !word.includes('→'); i++) {
      await page.mouse.move(vbox.x + vbox.width * (0.3 + i / 200), vbox.y + vbox.height * (0.35 + (i % 9) / 40));
      word = await page.getByTestId('crystal-hover').textContent();
    }
    check(word.includes('country-capital:') && word.includes('→'), 'hovering the crystal view names a word and its pairs', word);
    await page.screenshot({ path: join(ARTIFACTS, 'crystals.png'), fullPage: true });
    const sae = manifest.datasets.find((e) => e.id === 'minilm-l6-topk4096-layer3');
    await page.selectOption('[data-testid=search-input]', sae.id);
    await page.fill('[data-testid=search-count]', '150');
    await page.fill('[data-testid=search-k]', '100');
    await page.getByTestId('search-run').click();
    const found = page.getByTestId('search-summary');
    await found.waitFor({ timeout: 300_000 });
    const sref = cli(['analyze', 'crystal-search', join(ROOT, 'public/data', sae.file), '--features', '0..150', '--k', '100']);
    const shown = Number(await found.getAttribute('data-clusters'));
    const first = Number(await page.getByTestId('crystal-cluster').first().getAttribute('data-median'));
    check(shown === sref.clusters.length && relClose(first, sref.clusters[0].median_relative_error, 1e-9),
      'the crystal search equals the CLI\'s', `${shown} clusters, best median ${first} vs ${sref.clusters.length}, ${sref.clusters[0]?.median_relative_error}`);
  }
  // 10. No WebGPU adapter in this browser (--disable-gpu): Auto runs on the CPU; forcing WebGPU falls
  //     back to the CPU with the reason, and the numbers are the CPU's (equal to the CLI's).
  {
    const fresh = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
    fresh.on('pageerror', (e) => pageErrors.push(String(e)));
    await fresh.goto(base);
    const SAE_ID = 'minilm-l6-topk4096-layer3';
    await fresh.selectOption('[data-testid=backend-select]', 'webgpu');
    await fresh.getByTestId(`dataset-${SAE_ID}`).click();
    const forced = await waitForCurrent(fresh, `${SAE_ID}.safetensors`);
    const used = await fresh.getByTestId('backend').textContent();
    check(/CPU \(wasm\) \(WebGPU not used: .*adapter/.test(used), 'WebGPU asked for without an adapter: the CPU runs and says why', used);
    compareWithCli(forced, cli(['analyze', 'galaxy', join(ROOT, 'public/data', `${SAE_ID}.safetensors`)]), 'forced WebGPU without an adapter');
    await fresh.getByTestId('tab-compute').click();
    await fresh.getByTestId('kernels-check').click();
    const verdict = fresh.getByTestId('kernels-verdict');
    await verdict.waitFor({ timeout: 300_000 });
    check(await verdict.getAttribute('data-passed') === 'false' && (await fresh.getByTestId('kernels-no-gpu').count()) === 1,
      'the kernel suite without a GPU says so (CPU column only)', await verdict.textContent());
    await fresh.close();
  }
  check(pageErrors.length === 0, 'no uncaught errors in the page', pageErrors.join(' | '));
} finally {
  await browser.close();
}

// 11. WebGPU (SwiftShader): every kernel against the CPU oracle on random and real inputs (several
//     tiles, shapes that are no multiple of the workgroup tile), and the galaxy scale on WebGPU
//     against the CLI's CPU numbers.
const gpuBrowser = await launch({ webgpu: true });
try {
  const page = await gpuBrowser.newPage({ viewport: { width: 1440, height: 1100 } });
  const gpuErrors = [];
  page.on('pageerror', (e) => gpuErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`  [browser console] ${m.text()}`); });
  await page.goto(base);
  const adapter = await page.evaluate(async () => {
    const a = navigator.gpu && await navigator.gpu.requestAdapter();
    return a ? (a.info ? `${a.info.vendor} ${a.info.architecture} ${a.info.description}` : 'adapter') : null;
  });
  check(adapter !== null, 'Chromium with the SwiftShader flags offers a WebGPU adapter', String(adapter));
  const SAE_ID = 'minilm-l6-topk4096-layer3';
  const saeFile = join(ROOT, 'public/data', `${SAE_ID}.safetensors`);
  await page.selectOption('[data-testid=backend-select]', 'webgpu');
  await page.getByTestId(`dataset-${SAE_ID}`).click();
  const onGpu = await waitForCurrent(page, `${SAE_ID}.safetensors`, 400_000);
  const used = await page.getByTestId('backend').textContent();
  check(/^WebGPU \(/.test(used.trim()), 'the galaxy analysis ran on WebGPU', used);
  const ref = cli(['analyze', 'galaxy', saeFile]);
  // f32 products on the GPU (sums of f64 per tile): the fit moves by ~1e-6 relative; the tolerance is 1e-4.
  check(relClose(onGpu.slope, ref.power_law.slope, 1e-4), 'WebGPU slope equals the CLI\'s within 1e-4', `${onGpu.slope} vs ${ref.power_law.slope}`);
  check(relClose(onGpu.logVolume, ref.log_volume, 1e-4), 'WebGPU log-volume equals the CLI\'s within 1e-4', `${onGpu.logVolume} vs ${ref.log_volume}`);
  if (onGpu.clustering !== null) {
    // The sample's covariance (PCA) and k-NN candidates on the GPU (f32), distances recomputed in
    // f64: the same lists, the entropy within ~1e-9 relative (1e-6 asked).
    check(relClose(onGpu.clustering, ref.entropy.clustering, 1e-6), 'the clustering entropy (k-NN on WebGPU) equals the CLI\'s', `${onGpu.clustering} vs ${ref.entropy.clustering}`);
    check(relClose(onGpu.isotropicClustering, ref.isotropic_entropy.clustering, 1e-6), 'the isotropic reference\'s entropy (k-NN on WebGPU) equals the CLI\'s');
  }
  // The lobes of layer 3 with the co-occurrence histogram counted on WebGPU (exact counts) and the
  // spectral embeddings' Lanczos products on WebGPU (f32 sums: eigenvectors within ~1e-7 of the
  // CPU's, far from any k-means boundary here): every label and the AMI equal the CLI's.
  {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'public/data/manifest.json'), 'utf8'));
    const lobeEntry = manifest.datasets.find((e) => e.kind === 'cooccurrence' && e.metadata && e.metadata.sae === SAE_ID);
    await page.getByTestId('tab-lobes').click();
    await page.selectOption('[data-testid=lobes-input]', SAE_ID);
    await page.fill('[data-testid=lobes-k]', '3');
    await page.fill('[data-testid=lobes-trials]', '10');
    await page.getByTestId('lobes-run').click();
    const summary = page.locator(`[data-testid=lobes-summary][data-input="${SAE_ID}.safetensors"][data-k="3"]`);
    await summary.waitFor({ timeout: 300_000 });
    const lobesOn = await page.getByTestId('lobes-backend').textContent();
    check(/WebGPU \(.*\) for the co-occurrence histogram and the spectral embeddings' products/.test(lobesOn), 'the lobes page counted the histogram and ran the Lanczos products on WebGPU', lobesOn);
    const lref = cli(['analyze', 'lobes', saeFile, join(ROOT, 'public/data', lobeEntry.file), '--k', '3', '--null-trials', '10']);
    const ami = Number(await page.getByTestId('lobes-ami').getAttribute('data-value'));
    check(relClose(ami, lref.ami, 1e-9), 'lobes on WebGPU: AMI equals the CLI\'s', `${ami} vs ${lref.ami}`);
    const labels = (await summary.getAttribute('data-labels')).split(',').map(Number);
    check(labels.every((l, i) => l === lref.labels_cooccurrence[i]), 'lobes on WebGPU: every label equals the CLI\'s');
  }
  // The crystals of GloVe's first four tasks (all their pairs) with the silhouettes (of the raw
  // differences and of each LDA prefix; SwiftShader takes ~20 s per silhouette of all 7,297 pairs,
  // so four tasks keep this step short) on WebGPU (f32 distances and sums): each within 1e-5 of
  // the CLI's f64 score; the LDA fit and the quads run on the CPU in both.
  {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'public/data/manifest.json'), 'utf8'));
    const entry = manifest.datasets.find((e) => e.id === 'crystals-glove-6b-50d');
    await page.getByTestId('tab-crystals').click();
    await page.selectOption('[data-testid=crystals-input]', entry.id);
    await page.selectOption('[data-testid=crystals-sample]', 'all');
    await page.locator('details.tasks summary').click();
    const boxes = page.locator('[data-testid=crystals-task]');
    const kept = [];
    for (let i = 0; i < await boxes.count(); i++) {
      if (i < 4) { await boxes.nth(i).check(); kept.push(await boxes.nth(i).getAttribute('value')); } else await boxes.nth(i).uncheck();
    }
    await page.locator('details.tasks summary').click();
    await page.getByTestId('crystals-run').click();
    const summary = page.locator(`[data-testid=crystals-summary][data-input="${entry.file}"]`);
    await summary.waitFor({ timeout: 500_000 });
    const on = await page.getByTestId('crystals-backend').textContent();
    check(/WebGPU \(.*\) for the silhouettes/.test(on), 'the crystals page ran the silhouettes on WebGPU', on);
    const ref = cli(['analyze', 'crystals', join(ROOT, 'public/data', entry.file), '--tasks', kept.join(',')]);
    check(ref.tasks.length === 4, 'the CLI ran the same four tasks', kept.join(','));
    const raw = Number(await summary.getAttribute('data-silhouette-raw'));
    check(Math.abs(raw - ref.silhouette_raw) <= 1e-5, 'WebGPU raw silhouette equals the CLI\'s within 1e-5', `${raw} vs ${ref.silhouette_raw}`);
    const cells = page.locator('[data-testid=silhouette-table] td[data-components]');
    let same = 0;
    for (let i = 0; i < await cells.count(); i++) {
      const m = await cells.nth(i).getAttribute('data-components');
      if (Math.abs(Number(await cells.nth(i).getAttribute('data-value')) - ref.silhouette_lda[m]) <= 1e-5) same += 1;
    }
    check(same === Object.keys(ref.silhouette_lda).length, 'every LDA silhouette on WebGPU equals the CLI\'s within 1e-5', `${same} of ${Object.keys(ref.silhouette_lda).length}`);
  }
  await page.getByTestId('tab-compute').click();
  await page.getByTestId('kernels-check').click();
  const verdict = page.getByTestId('kernels-verdict');
  await verdict.waitFor({ timeout: 400_000 });
  const rows = await page.locator('[data-testid=kernels-table] tbody tr').evaluateAll((trs) => trs.map((tr) => ({
    kernel: tr.dataset.kernel, passed: tr.dataset.passed, text: tr.innerText.replace(/\s+/g, ' ') })));
  const adapterShown = await page.getByTestId('kernels-adapter').textContent();
  check(/swiftshader/i.test(adapterShown), 'the kernel suite ran on the SwiftShader adapter', adapterShown);
  for (const kernel of ['gram_columns', 'gram_rows', 'matmul', 'matrix_product', 'matvec', 'nearest', 'cooccurrence', 'cooccurrence_bitsets', 'cluster_sums', 'covariance']) {
    check(rows.some((r) => r.kernel === kernel), `the kernel suite has ${kernel}`);
  }
  check(rows.filter((r) => r.text.includes('(tiled)')).length >= 4, 'the suite forces several tiles', `${rows.length} rows`);
  check(rows.some((r) => r.text.includes('real:')), 'the suite runs on the real decoder too');
  for (const r of rows) check(r.passed === 'yes', `WebGPU ${r.kernel} agrees with the CPU oracle`, r.text);
  check(await verdict.getAttribute('data-passed') === 'true', 'the verdict says every kernel agrees');
  await page.screenshot({ path: join(ARTIFACTS, 'compute.png'), fullPage: true });
  // Auto passes over a software adapter (SwiftShader emulates a GPU on the CPU, slower than the
  // CPU path): the galaxy of another layer runs on the CPU and says so plainly.
  {
    const other = 'minilm-l6-topk4096-layer2';
    await page.selectOption('[data-testid=backend-select]', 'auto');
    await page.getByTestId('tab-galaxy').click();
    await page.getByTestId(`dataset-${other}`).click();
    await waitForCurrent(page, `${other}.safetensors`, 400_000);
    const auto = (await page.getByTestId('backend').textContent()).trim();
    check(/^CPU \(wasm\)/.test(auto), 'Auto with only a software adapter runs on the CPU', auto);
  }
  check(gpuErrors.length === 0, 'no uncaught errors in the WebGPU page', gpuErrors.join(' | '));
} finally {
  await gpuBrowser.close();
  server.close();
}
finish();
