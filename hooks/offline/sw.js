// The course's service worker (the build prepends `const BUILD = {version, files, runtime, runtime_bytes,
// unchecked}`,
// see hooks/offline/service_worker.py). One cache per build version holds every file of that build,
// each checked against the hash the build recorded, so a cache never mixes two deployments.
// - install: the core files (pages, styles, scripts, charts) are saved; files unchanged since the
//   previous version are copied from its cache instead of downloaded. The first install takes over at
//   once; a new version waits until the reader accepts the reload the page offers.
// - message "save-runtime": the Python runtime and live-chart code are saved too (the page asks after
//   its widgets are live, and never under data saver).
// - fetch: files of this build come from the cache; everything else, and anything not saved yet, from
//   the network. Offline, an unknown page gets the saved 404 page.
const PREFIX = "course-offline-";
const CACHE = PREFIX + BUILD.version;
const ROOT = new URL("./", self.location.href);
const HASH = "x-course-hash";
const RUNTIME = new Set(BUILD.runtime);
const UNCHECKED = new Set(BUILD.unchecked);
const CORE = Object.keys(BUILD.files).filter((key) => !RUNTIME.has(key));
const state = { core: { done: 0, total: CORE.length }, runtime: { done: 0, total: RUNTIME.size }, error: null };
let savingRuntime = null;

const urlOf = (key) => new URL(key, ROOT).href;

async function digest(buffer) {
  const bytes = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return [...bytes.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function olderCaches() {
  return (await caches.keys()).filter((name) => name.startsWith(PREFIX) && name !== CACHE);
}

// One file into this version's cache: already there, copied from an older version, or downloaded
// (revalidated, so never an older deployment's copy from the HTTP cache) and checked against its hash.
async function save(cache, key, older, download) {
  const hash = BUILD.files[key];
  const url = urlOf(key);
  const have = await cache.match(url);
  if (have && have.headers.get(HASH) === hash) return true;
  for (const name of older) {
    const previous = await (await caches.open(name)).match(url);
    if (previous && previous.headers.get(HASH) === hash) {
      await cache.put(url, previous);
      return true;
    }
  }
  if (!download) return false;
  const response = await fetch(url, { cache: "no-cache" });
  if (!response.ok) throw new Error(`${key || "index.html"}: HTTP ${response.status}`);
  const body = await response.arrayBuffer();
  if (!UNCHECKED.has(key) && (await digest(body)) !== hash) throw new Error(`${key || "index.html"} is not the file of this version`);
  const headers = { [HASH]: hash, "content-type": response.headers.get("content-type") || "application/octet-stream" };
  const modified = response.headers.get("last-modified");
  if (modified) headers["last-modified"] = modified;
  // the host's Content Security Policy header stays with the saved copy: offline, the Python worker
  // (which a page's <meta> policy cannot reach) runs under the same policy as online
  const policy = response.headers.get("content-security-policy");
  if (policy) headers["content-security-policy"] = policy;
  await cache.put(url, new Response(body, { status: 200, headers }));
  return true;
}

async function saveAll(keys, progress, download) {
  const cache = await caches.open(CACHE);
  const older = await olderCaches();
  const queue = [...keys];
  progress.done = 0;
  const workers = Array.from({ length: 4 }, async () => {
    while (queue.length) {
      const key = queue.shift();
      if (await save(cache, key, older, download)) progress.done += 1;
      if (progress.done % 10 === 0 || !queue.length) broadcast();
    }
  });
  await Promise.all(workers);
}

function status() {
  return { type: "offline-status", version: BUILD.version, runtimeBytes: BUILD.runtime_bytes, ...state };
}

async function broadcast() {
  for (const client of await self.clients.matchAll({ includeUncontrolled: true })) client.postMessage(status());
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    try {
      await saveAll(CORE, state.core, true);
      // the runtime of an earlier version comes along when unchanged (no download here)
      await saveAll([...RUNTIME], state.runtime, false);
    } catch (err) {
      state.error = String(err && err.message || err);
      await broadcast();
      throw err; // this version is not installed; the browser tries again on a later visit
    }
    if (!self.registration.active) await self.skipWaiting(); // first visit: nothing to be mixed with
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await olderCaches()) await caches.delete(name);
    await self.clients.claim();
    await broadcast();
  })());
});

self.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.type === "status") {
    event.waitUntil((async () => {
      const cache = await caches.open(CACHE);
      const present = await Promise.all([...RUNTIME].map((key) => cache.match(urlOf(key)).then(Boolean)));
      state.runtime.done = Math.max(state.runtime.done, present.filter(Boolean).length);
      event.source.postMessage(status());
    })());
  } else if (msg.type === "save-runtime") {
    savingRuntime ||= saveAll([...RUNTIME], state.runtime, true)
      .catch((err) => { state.error = String(err && err.message || err); })
      .finally(() => { savingRuntime = null; return broadcast(); });
    event.waitUntil(savingRuntime);
  } else if (msg.type === "activate-update") {
    self.skipWaiting();
  }
});

// The cache key of a request, or null when it is not a file of this build.
function keyOf(request) {
  const url = new URL(request.url);
  if (url.origin !== ROOT.origin || !url.pathname.startsWith(ROOT.pathname)) return null;
  let key = decodeURIComponent(url.pathname.slice(ROOT.pathname.length));
  if (key === "index.html" || key.endsWith("/index.html")) key = key.slice(0, -"index.html".length);
  return key in BUILD.files ? key : null;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const key = keyOf(request);
  if (key === null && request.mode !== "navigate") return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    if (key !== null) {
      const saved = await cache.match(urlOf(key));
      if (saved) return saved;
    }
    try {
      return await fetch(request);
    } catch (err) {
      const missing = request.mode === "navigate" && (await cache.match(urlOf("404.html")));
      if (missing) return new Response(missing.body, { status: 404, headers: missing.headers });
      throw err;
    }
  })());
});
