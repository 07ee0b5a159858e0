// What the end-to-end test and the browser benchmark share: a static server for the built app
// (dist/) under a sub-path, as a project page would serve it, and headless Debian Chromium.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { statSync, createReadStream } from 'node:fs';
import { extname, join, normalize, resolve } from 'node:path';

export const ROOT = resolve(new URL('../..', import.meta.url).pathname);
export const DIST = join(ROOT, 'dist');
export const SUB_PATH = '/sae-geometry/';

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css', '.json': 'application/json' };

/// Serves dist/ under SUB_PATH on a free local port; resolves to the server once it listens.
export function serve() {
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    if (!url.pathname.startsWith(SUB_PATH)) { res.writeHead(404).end('not under the sub-path'); return; }
    let rel = decodeURIComponent(url.pathname.slice(SUB_PATH.length)) || 'index.html';
    const path = normalize(join(DIST, rel));
    if (!path.startsWith(DIST)) { res.writeHead(403).end(); return; }
    let size;
    try { size = statSync(path).size; } catch { res.writeHead(404).end('not found'); return; }
    res.writeHead(200, { 'content-type': TYPES[extname(path)] || 'application/octet-stream', 'content-length': size });
    createReadStream(path).pipe(res);
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

/// The page's address on `server`.
export const baseUrl = (server) => `http://127.0.0.1:${server.address().port}${SUB_PATH}`;

/// The flags that give headless Chromium a WebGPU adapter on the CPU (SwiftShader's Vulkan).
export const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--use-angle=swiftshader'];

/// Headless Chromium (CHROMIUM overrides /usr/bin/chromium): without a GPU, or with `webgpu`,
/// with SwiftShader's WebGPU adapter; `extraArgs` go on its command line.
export function launch({ webgpu = false, extraArgs = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', ...(webgpu ? WEBGPU_FLAGS : ['--disable-gpu']), '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
  });
}

/// The CLI the end-to-end tests compare the page with (SAE_GEOMETRY_CLI overrides the path).
export const CLI = process.env.SAE_GEOMETRY_CLI || join(ROOT, 'target/debug/sae-geometry');

/// Runs the CLI with `args` and parses its JSON output.
export function cli(args) {
  return JSON.parse(execFileSync(CLI, args, { encoding: 'utf8', maxBuffer: 64 << 20 }));
}

/// Counts and prints checks; `finish()` exits non-zero when any failed.
export function checker(name) {
  let failures = 0;
  const check = (ok, what, detail = '') => {
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` (${detail})` : ''}`);
    if (!ok) failures += 1;
  };
  const finish = () => {
    if (failures) {
      console.error(`\n${failures} ${name} check(s) failed`);
      process.exit(1);
    }
    console.log(`\n${name}: all checks passed`);
  };
  return { check, finish };
}

/// |a - b| <= rtol * max(|a|, |b|).
export const relClose = (a, b, rtol) => Math.abs(a - b) <= rtol * Math.max(Math.abs(a), Math.abs(b), 1e-300);

/// Waits for the galaxy page's result and reads its numbers (from data-value attributes).
export async function waitForResult(page, timeout = 240_000) {
  await page.getByTestId('summary').waitFor({ timeout });
  const slope = page.getByTestId('slope');
  return {
    slope: Number(await slope.getAttribute('data-value')),
    shown: (await slope.textContent()).trim(),
    low: Number(await page.getByTestId('ci95').getAttribute('data-low')),
    high: Number(await page.getByTestId('ci95').getAttribute('data-high')),
    logVolume: Number(await page.getByTestId('log-volume').getAttribute('data-value')),
    clustering: await page.getByTestId('clustering').count()
      ? Number(await page.getByTestId('clustering').getAttribute('data-value')) : null,
    isotropicClustering: await page.getByTestId('isotropic-clustering').count()
      ? Number(await page.getByTestId('isotropic-clustering').getAttribute('data-value')) : null,
  };
}

// Waits until the summary shown is for `file` (a previous dataset's summary may still be up).
export async function waitForCurrent(page, file, timeout = 240_000) {
  await page.locator(`[data-testid=summary][data-input="${file}"]`).waitFor({ timeout });
  return waitForResult(page, timeout);
}
