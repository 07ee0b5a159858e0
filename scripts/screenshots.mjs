// Refreshes docs/screenshots/: every page of the app on its bundled data, as the README shows them.
// Run by scripts/screenshots.sh (which builds dist/ first); drives headless Chromium with Playwright
// against dist/ served from a sub-path, like the end-to-end tests.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, serve, baseUrl, launch, waitForCurrent } from '../tests/e2e/harness.mjs';

const OUT = join(ROOT, 'docs/screenshots');
const LAYER = 'minilm-l6-topk4096-layer3';
const MINUTES = 60_000;
mkdirSync(OUT, { recursive: true });

const server = await serve();
const base = baseUrl(server);
const browser = await launch();
const shot = async (locator, name) => {
  await locator.scrollIntoViewIfNeeded();
  await locator.screenshot({ path: join(OUT, name) });
  console.log(`docs/screenshots/${name}`);
};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  // Galaxy: the spectrum of one SAE's decoder with the clustering entropy (the paper's settings).
  await page.goto(`${base}?dataset=${LAYER}`);
  await waitForCurrent(page, `${LAYER}.safetensors`, 10 * MINUTES);
  await page.screenshot({ path: join(OUT, 'galaxy.png') });
  console.log('docs/screenshots/galaxy.png');
  // The spectrum zoomed in about a point of the line, with its tooltip: sweep the pointer down
  // the plot until it meets the line, zoom there with the wheel, hover it again.
  {
    const plot = page.getByTestId('spectrum-canvas');
    await plot.scrollIntoViewIfNeeded();
    await plot.focus();
    const box = await plot.boundingBox();
    const [left, top, right, bottom] = (await plot.getAttribute('data-frame')).split(',').map(Number);
    const x = box.x + left + 0.55 * (right - left);
    let y = box.y + top;
    for (; y < box.y + bottom; y += 2) {
      await page.mouse.move(x, y);
      if (await page.getByTestId('spectrum-canvas-tip').count()) break;
    }
    await page.mouse.wheel(0, -600);
    await page.waitForTimeout(300);
    for (let dy = -30; dy <= 30; dy += 2) {
      await page.mouse.move(x, y + dy);
      if (await page.getByTestId('spectrum-canvas-tip').count()) break;
    }
    await shot(page.locator('.chart').filter({ has: plot }), 'spectrum-zoom.png');
    await page.keyboard.press('0');
    await page.mouse.move(0, 0);
  }
  await page.getByTestId('cloud-run').click();
  await page.getByTestId('clouds').waitFor({ timeout: 5 * MINUTES });
  await shot(page.getByTestId('cloud-section'), 'cloud-3d.png');
  await page.getByTestId('sweep-run').click();
  await page.getByTestId('sweep-table').waitFor({ timeout: 20 * MINUTES });
  await shot(page.getByTestId('layer-sweep'), 'layer-sweep.png');

  // Lobes: k = 3 with Phi, then the five affinities across k.
  await page.getByTestId('tab-lobes').click();
  await page.selectOption('[data-testid=lobes-input]', LAYER);
  await page.getByTestId('lobes-k').fill('3');
  await page.getByTestId('lobes-run').click();
  await page.getByTestId('lobes-summary').waitFor({ timeout: 10 * MINUTES });
  await page.waitForTimeout(500);
  await shot(page.locator('section.page.lobes'), 'lobes.png');
  await page.getByTestId('lobes-compare').click();
  await page.getByTestId('compare-table').waitFor({ timeout: 20 * MINUTES });
  await page.waitForTimeout(500);
  await shot(page.getByTestId('compare-canvas'), 'lobes-compare.png');

  // Crystals: MiniLM layer 0, the paper's 12 tasks.
  await page.getByTestId('tab-crystals').click();
  await page.selectOption('[data-testid=crystals-input]', 'crystals-minilm-l6-layer0');
  await page.getByTestId('crystals-run').click();
  await page.getByTestId('crystals-summary').waitFor({ timeout: 10 * MINUTES });
  await page.waitForTimeout(500);
  await shot(page.locator('section.page.crystals'), 'crystals.png');
  // The crystal view of country-capital before and after distractor removal.
  await page.getByTestId('crystal-view').waitFor({ timeout: 2 * MINUTES });
  await shot(page.locator('figure.crystal-view'), 'crystal-view-before.png');
  await page.getByTestId('projection-after').check();
  await page.waitForTimeout(300);
  await shot(page.locator('figure.crystal-view'), 'crystal-view-after.png');

  // Compute: the kernel checks on the CPU (no WebGPU adapter here).
  await page.getByTestId('tab-compute').click();
  await page.getByTestId('kernels-check').click();
  await page.getByTestId('kernels-table').waitFor({ timeout: 10 * MINUTES });
  await shot(page.locator('section.page.compute'), 'compute.png');
  await page.close();

  // An embedded plot, and the page at a phone's width.
  const embed = await browser.newPage({ viewport: { width: 720, height: 560 } });
  await embed.goto(`${base}?dataset=${LAYER}&entropy=off&embed=1`);
  await waitForCurrent(embed, `${LAYER}.safetensors`, 5 * MINUTES);
  await embed.screenshot({ path: join(OUT, 'embed.png') });
  console.log('docs/screenshots/embed.png');
  await embed.close();
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  await phone.goto(`${base}?dataset=${LAYER}&entropy=off`);
  await waitForCurrent(phone, `${LAYER}.safetensors`, 5 * MINUTES);
  await phone.getByTestId('spectrum-canvas').evaluate((el) => el.scrollIntoView({ block: 'start' }));
  await phone.screenshot({ path: join(OUT, 'phone.png') });
  console.log('docs/screenshots/phone.png');
  await phone.close();
} finally {
  await browser.close();
  server.close();
}
