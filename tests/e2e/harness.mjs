// What the end-to-end test and the browser benchmark share: a static server for the built app
// (dist/) under a sub-path, as a project page would serve it, and headless Debian Chromium.
import { chromium } from 'playwright-core';
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
/// with SwiftShader's WebGPU adapter.
export function launch({ webgpu = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', ...(webgpu ? WEBGPU_FLAGS : ['--disable-gpu']), '--disable-dev-shm-usage',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
