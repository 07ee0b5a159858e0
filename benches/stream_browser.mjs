// Streaming a large file in the app (issue 10): the galaxy page analyses a local file too large
// to hold whole (e.g. a 65,536-feature Gemma Scope `params.npz`, 1.2 GB with its encoder) by
// reading its decoder in windows of the Blob, under the tab's memory budget. Prints, for each
// budget asked (none: the tab's own), the seconds from choosing the file to the result, the
// renderer's peak resident memory, the rows analysed (all, or the disclosed sample) and the slope,
// with the CLI's slope on the same rows (`--sample` where the page sampled).
//
//   node benches/stream_browser.mjs FILE [BUDGET_MIB...]     (after trunk build --release)
import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { serve, baseUrl, launch, cli } from '../tests/e2e/harness.mjs';

const [file, ...budgets] = process.argv.slice(2);
if (!file) { console.error('usage: node benches/stream_browser.mjs FILE [BUDGET_MIB...]'); process.exit(2); }

/// Peak resident memory (VmHWM) of the renderer processes below Chromium's browser process `pid`.
function rendererPeak(pid) {
  const parent = (p) => Number((/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8')) || [])[1]);
  let peak = 0;
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (!readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      let up = Number(p);
      for (let i = 0; i < 4 && up > 1 && up !== pid; i++) up = parent(up);
      if (up === pid) peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))[1]) * 1024);
    } catch { /* gone */ }
  }
  return peak;
}

const server = await serve();
const marker = `--sae-geometry-bench-${process.pid}`;
for (const budget of budgets.length ? budgets : ['']) {
  const browser = await launch({ extraArgs: [marker] });
  const pid = Math.max(...readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try { const c = readFileSync(`/proc/${p}/cmdline`, 'utf8'); return c.includes(marker) && !c.includes('--type='); } catch { return false; }
  }).map(Number));
  try {
    const page = await browser.newPage({ serviceWorkers: 'block' });
    await page.goto(`${baseUrl(server)}?entropy=off${budget ? `&budget=${budget}` : ''}`);
    await page.getByTestId('file-input').waitFor();
    const t0 = Date.now();
    await page.getByTestId('file-input').setInputFiles(file);
    const done = page.locator(`[data-testid=summary][data-input="${basename(file)}"], [data-testid=error]`).first();
    await done.waitFor({ timeout: 1_800_000 });
    const seconds = (Date.now() - t0) / 1000;
    if (await page.getByTestId('error').count()) {
      console.log(JSON.stringify({ budget_mib: budget || 'tab', error: (await page.getByTestId('error').textContent()).trim() }));
      continue;
    }
    const slope = Number(await page.getByTestId('slope').getAttribute('data-value'));
    const note = page.getByTestId('sample-note');
    const rows = (await note.count()) ? Number(await note.getAttribute('data-rows')) : null;
    const of = (await note.count()) ? Number(await note.getAttribute('data-of')) : null;
    const ref = cli(['analyze', 'galaxy', file, '--no-entropy', ...(rows ? ['--sample', String(rows)] : [])]);
    console.log(JSON.stringify({
      budget_mib: budget || 'tab', seconds, renderer_peak_mb: Math.round(rendererPeak(pid) / 1e6),
      rows: rows ?? ref.n, of: of ?? ref.n, d: ref.d, slope, cli_slope: ref.power_law.slope,
      relative_difference: Math.abs(slope - ref.power_law.slope) / Math.abs(ref.power_law.slope),
    }));
  } finally {
    await browser.close();
  }
}
server.close();
