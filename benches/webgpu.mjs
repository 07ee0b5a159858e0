// The Compute page's benchmark in headless Chromium, on the CPU backend (wasm, one worker) and on
// WebGPU (SwiftShader's adapter here: the CPU emulating a GPU, so it says little about a real GPU):
// every kernel at the "bench" shapes, the covariance and k-NN of the bundled layer-3 decoder, and
// each scale end to end on each backend (the galaxy of that decoder, the lobes of its co-occurrence
// bundle, the smallest crystal set). A benchmark, not a test: it prints
// the table of docs/BENCHMARKS.md.
//
//   bash benches/webgpu.sh          (builds dist/, then runs this)
import { ROOT, serve, baseUrl, launch } from '../tests/e2e/harness.mjs';

const DATASET = process.argv[2] || 'minilm-l6-topk4096-layer3';
const server = await serve();
const browser = await launch({ webgpu: true });
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 1100 } });
  await page.goto(baseUrl(server));
  await page.getByTestId(`dataset-${DATASET}`).click();
  await page.getByTestId('summary').waitFor({ timeout: 600_000 });
  await page.getByTestId('tab-compute').click();
  const t0 = Date.now();
  await page.getByTestId('kernels-bench').click();
  await page.getByTestId('kernels-verdict').waitFor({ timeout: 1_800_000 });
  const adapter = (await page.getByTestId('kernels-adapter').textContent()).trim();
  const rows = await page.locator('[data-testid=kernels-table] tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText.trim())));
  const scales = await page.locator('[data-testid=scales-table] tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.innerText.trim())));
  console.log(`${adapter}; headless Chromium, one worker; ${((Date.now() - t0) / 1000).toFixed(0)} s in all`);
  console.log('| kernel | shape | input | CPU (wasm) ms | CPU rate | WebGPU ms | WebGPU rate | unit | max error | agrees |');
  console.log('|---|---|---|---:|---:|---:|---:|---|---:|---|');
  for (const r of rows) console.log(`| ${[r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[10]].join(' | ')} |`);
  console.log('\n| scale | backend | ms | result |\n|---|---|---:|---:|');
  for (const s of scales) console.log(`| ${s.join(' | ')} |`);
} finally {
  await browser.close();
  server.close();
}
