// sae-geometry's service worker: after the first visit, the app and every file it fetched from its
// own origin (the bundled data included) work without a network. Files on other sites (?data=URL)
// are left to the network.
//
// Pages, scripts and wasm: the network first (a new build is picked up at once), the cache when the
// network fails. Range requests (the worker reads safetensors files in ranges): answered from the
// cached whole file when there is one, else the whole file is fetched, cached and cut.
const CACHE = 'sae-geometry-v1';
// Files larger than this are not kept (the Cache Storage quota; the paper-size benchmark files).
const MAX_CACHED_BYTES = 256 * 1024 * 1024;

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET' || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(respond(request));
});

// The cache key: the address without its query (a link's ?dataset=... is the same page).
const keyOf = (request) => { const url = new URL(request.url); url.search = ''; url.hash = ''; return url.href; };

async function keep(cache, key, response) {
  const length = Number(response.headers.get('content-length') || 0);
  if (response.status !== 200 || length > MAX_CACHED_BYTES) return;
  try { await cache.put(key, response.clone()); } catch (e) { /* over quota: still answer */ }
}

async function respond(request) {
  const cache = await caches.open(CACHE);
  const key = keyOf(request);
  const range = request.headers.get('range');
  if (range) {
    let whole = await cache.match(key);
    if (!whole) {
      whole = await fetch(key);
      if (whole.status !== 200) return whole;
      await keep(cache, key, whole);
    }
    return cut(whole, range);
  }
  try {
    const response = await fetch(request);
    await keep(cache, key, response);
    return response;
  } catch (offline) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw offline;
  }
}

// A 206 answer with bytes START-END (or START-) of `whole`, as a server would give it.
async function cut(whole, range) {
  const blob = await whole.blob();
  const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim());
  if (!m || Number(m[1]) >= blob.size) {
    return new Response(null, { status: 416, headers: { 'content-range': `bytes */${blob.size}` } });
  }
  const start = Number(m[1]);
  const end = Math.min(m[2] ? Number(m[2]) : blob.size - 1, blob.size - 1);
  return new Response(blob.slice(start, end + 1), {
    status: 206,
    headers: {
      'content-type': whole.headers.get('content-type') || 'application/octet-stream',
      'content-length': String(end - start + 1),
      'content-range': `bytes ${start}-${end}/${blob.size}`,
    },
  });
}
