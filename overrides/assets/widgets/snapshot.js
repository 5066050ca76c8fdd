// Booting the tab's Python from a memory snapshot: a copy of the interpreter's memory taken after numpy
// and widgets_py were imported and every widget ran once, made in this browser after a normal boot
// (snapshot_maker.js) and kept in Cache Storage. Restoring it skips Python's start-up, numpy's import and
// the widgets' first runs. It relies on Pyodide's private `_makeSnapshot`/`_loadSnapshot` options
// (Pyodide is pinned; the tests compare snapshot and normal boots). The memory holds numpy's extension
// modules, but not the files nor the loaded libraries: before the interpreter starts, both when making
// and when restoring, the files are written and numpy's libraries loaded in one fixed order, so each
// lands where the snapshot's memory expects it.

const FORMAT = 1; // bump when what a snapshot holds or how it is restored changes
export const SNAPSHOT_CACHE = "course-python-snapshot"; // not the service worker's "course-offline-*"
const SITE_PACKAGES = "/lib/python3.12/site-packages";
// the numpy wheel itself, on numpy's __path__: submodules first imported after a restore come from it
const WHEEL_PATH = "/lib/numpy.whl";
const NUMPY_LIBS = [
  "numpy/_core/_multiarray_umath", "numpy/_core/_multiarray_tests", "numpy/linalg/_umath_linalg",
  "numpy/random/_common", "numpy/random/bit_generator", "numpy/random/_bounded_integers",
  "numpy/random/_mt19937", "numpy/random/mtrand", "numpy/random/_philox", "numpy/random/_pcg64",
  "numpy/random/_sfc64", "numpy/random/_generator",
].map((name) => `${name}.cpython-312-wasm32-emscripten.so`);
const LENGTH = "x-snapshot-bytes";
const DIGEST = "x-snapshot-sha256";
const KEY = "x-snapshot-key";

// Cache Storage and SubtleCrypto need a secure context (https or localhost).
export function snapshotsSupported() {
  return typeof caches !== "undefined" && !!globalThis.crypto?.subtle && typeof DecompressionStream === "function";
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// What a snapshot depends on: the Pyodide build (pyodide.mjs carries the build id of its wasm), the numpy
// wheel (its sha256 in pyodide-lock.json), the widgets archive (content-hashed name) and the folder it
// is unpacked in, the browser (snapshots are engine-specific) and this file's format and library order.
// A snapshot records the key it was made for and is restored only under the same key.
export async function snapshotKey(pyodideUrl, archiveUrl, courseDir) {
  const [loader, lockBytes] = await Promise.all([fetchBytes(pyodideUrl + "pyodide.mjs"),
    fetchBytes(pyodideUrl + "pyodide-lock.json")]);
  const lock = JSON.parse(new TextDecoder().decode(lockBytes));
  const numpy = lock.packages.numpy;
  const parts = {
    format: FORMAT, pyodide: lock.info.version, pyodideBuild: await sha256(loader), wheel: numpy.sha256,
    archive: archiveUrl, courseDir, userAgent: navigator.userAgent, libs: NUMPY_LIBS,
  };
  const id = (await sha256(new TextEncoder().encode(JSON.stringify(parts)))).slice(0, 32);
  return { id, url: snapshotUrl(archiveUrl), wheelUrl: pyodideUrl + numpy.file_name, archiveUrl, courseDir };
}

// One entry per site, at a synthetic address beside the archive (never requested from the network), so a
// visit finds it without computing the key first: the restore starts at once and the key is checked
// before the memory is used. A new snapshot replaces the old one.
export function snapshotUrl(archiveUrl) {
  return new URL("python-snapshot", archiveUrl).href;
}

export async function findSnapshot(url) {
  return (await caches.open(SNAPSHOT_CACHE)).match(url);
}

export async function deleteSnapshot(url) {
  return (await caches.open(SNAPSHOT_CACHE)).delete(url);
}

// A snapshot that could not be made for a key (e.g. storage full) is not tried again on every visit.
export async function makingFailedBefore(key) {
  const marker = await (await caches.open(SNAPSHOT_CACHE)).match(key.url + ".failed");
  return Boolean(marker) && marker.headers.get(KEY) === key.id;
}

export async function recordMakingFailed(key, error) {
  await (await caches.open(SNAPSHOT_CACHE)).put(key.url + ".failed", new Response(error, { headers: { [KEY]: key.id } }));
}

export async function storeSnapshot(key, bytes) {
  const headers = { "content-type": "application/octet-stream", [LENGTH]: String(bytes.length),
    [DIGEST]: await sha256(bytes), [KEY]: key.id };
  await (await caches.open(SNAPSHOT_CACHE)).put(key.url, new Response(bytes, { headers }));
}

// ---- the files written before the interpreter starts ----------------------------------------------

async function inflateRaw(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// [name, bytes] of a zip's files (stored or deflated) that `wanted(name)` accepts.
async function unzip(zip, wanted) {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = zip.length - 22;
  while (end >= 0 && view.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error("not a zip file");
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const names = new TextDecoder();
  const files = [];
  for (let i = 0; i < count; i++) {
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const local = view.getUint32(at + 42, true);
    const name = names.decode(zip.subarray(at + 46, at + 46 + nameLength));
    at += 46 + nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    if (name.endsWith("/") || !wanted(name)) continue;
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const data = zip.subarray(start, start + size);
    files.push((method === 0 ? Promise.resolve(data.slice()) : inflateRaw(data)).then((bytes) => [name, bytes]));
  }
  return Promise.all(files);
}

// [path, bytes] to write: when making, all of numpy (it is imported from files); when restoring, numpy's
// libraries only (the rest comes from the wheel on __path__); both times the widgets archive and the wheel.
async function runtimeFiles(key, making) {
  const [wheel, archive] = await Promise.all([fetchBytes(key.wheelUrl), fetchBytes(key.archiveUrl)]);
  const libs = new Set(NUMPY_LIBS);
  const [numpy, widgets] = await Promise.all([
    unzip(wheel, (name) => (making ? !name.includes(".dist-info/") : libs.has(name))),
    unzip(archive, () => true),
  ]);
  return [
    ...numpy.map(([name, bytes]) => [`${SITE_PACKAGES}/${name}`, bytes]),
    ...widgets.map(([name, bytes]) => [`${key.courseDir}/${name}`, bytes]),
    [WHEEL_PATH, wheel],
  ];
}

// Pyodide creates its Emscripten module with globalThis._createPyodideModule (defined by pyodide.asm.js);
// the next module created gets `hook` as its last pre-run step (Emscripten runs preRun from the end).
let nextPreRun = null;
let createModule;
function beforeNextStart(hook) {
  if (!Object.getOwnPropertyDescriptor(globalThis, "_createPyodideModule")?.get) {
    createModule = globalThis._createPyodideModule;
    Object.defineProperty(globalThis, "_createPyodideModule", {
      configurable: true,
      set: (value) => { createModule = value; },
      // undefined until pyodide.asm.js has run, so that loadPyodide still loads it
      get: () => createModule && ((settings) => {
        const hook = nextPreRun;
        nextPreRun = null;
        if (hook) settings.preRun = [hook, ...settings.preRun];
        return createModule(settings);
      }),
    });
  }
  nextPreRun = hook;
}

// The pre-run step: write the files, load numpy's libraries in their fixed order. `before` must settle
// first (the snapshot's bytes arriving). On failure `onFailure` runs and the module carries on, so that
// Pyodide's own checks end the boot with an error instead of leaving it waiting.
function prepareModule(files, before, onFailure, marks) {
  // reported through onFailure when the pre-run step runs, not as unhandled rejections before it
  files.catch(() => {});
  Promise.resolve(before).catch(() => {});
  return (Module) => {
    Module.addRunDependency("course-snapshot");
    marks.prerun_at = performance.now();
    (async () => {
      try {
        const [written] = await Promise.all([files, before]);
        marks.files_at = performance.now();
        for (const [path, bytes] of written) {
          Module.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
          Module.FS.writeFile(path, bytes, { canOwn: true });
        }
        for (const name of NUMPY_LIBS) {
          const path = `${SITE_PACKAGES}/${name}`;
          await Module.loadDynamicLibrary(path, { loadAsync: true, nodelete: true, allowUndefined: true,
            global: false, fs: Module.FS }, {});
          const base = path.slice(path.lastIndexOf("/") + 1);
          Module.LDSO.loadedLibsByName[base] ||= Module.LDSO.loadedLibsByName[path];
        }
        marks.libs_at = performance.now();
      } catch (err) {
        onFailure(err);
      } finally {
        Module.removeRunDependency("course-snapshot");
      }
    })();
  };
}

// Read a cached snapshot into memory sized from its header; resolves once every byte is in and matches
// the digest recorded when it was stored.
function readSnapshot(response, marks) {
  const length = Number(response.headers.get(LENGTH));
  const expected = response.headers.get(DIGEST);
  if (!Number.isSafeInteger(length) || length <= 0 || !expected) throw new Error("snapshot entry without its length or digest");
  const memory = new Uint8Array(length);
  const complete = (async () => {
    const reader = response.body.getReader();
    let offset = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (offset + value.length > length) throw new Error("snapshot longer than recorded");
      memory.set(value, offset);
      offset += value.length;
    }
    if (offset !== length) throw new Error(`snapshot cut short (${offset} of ${length} bytes)`);
    marks.read_at = performance.now();
    if ((await sha256(memory)) !== expected) throw new Error("snapshot does not match its digest");
    marks.verified_at = performance.now();
  })();
  return { memory, complete };
}

// Pyodide from a cached snapshot (a Response from findSnapshot) if it was made for `keyPromise`'s key
// (checked while Pyodide loads); throws on any problem, after which the caller deletes the entry and boots
// normally. `marks` gets the times (performance.now()) of its steps.
export async function restoreSnapshot(loadPyodide, options, keyPromise, response, marks = {}) {
  const { memory, complete } = readSnapshot(response, marks);
  const sameKey = keyPromise.then((key) => {
    if (!key) throw new Error("the snapshot's key could not be computed");
    if (response.headers.get(KEY) !== key.id) throw new Error("the snapshot was made for other files");
    return key;
  });
  let failure = null;
  // a failed step zeroes the memory: Pyodide then refuses it (bad magic number) and loadPyodide rejects
  beforeNextStart(prepareModule(sameKey.then((key) => runtimeFiles(key, false)), Promise.all([complete, sameKey]),
    (err) => { failure = err; memory.fill(0); }, marks));
  let pyodide;
  try {
    pyodide = await loadPyodide({ ...options, _loadSnapshot: memory });
  } catch (err) {
    throw failure || err;
  }
  delete pyodide._api.config._loadSnapshot; // else the snapshot's bytes stay reachable
  return pyodide;
}

// A new snapshot: Python started with the files and libraries as a restore will have them, numpy and
// widgets_py imported, every widget (of every page: one snapshot serves the site) run once with its defaults.
export async function makeSnapshot(loadPyodide, options, key) {
  let failure = null;
  beforeNextStart(prepareModule(runtimeFiles(key, true), null, (err) => { failure = err; }, {}));
  const pyodide = await loadPyodide({ ...options, _makeSnapshot: true });
  if (failure) throw failure;
  pyodide.runPython([
    "import sys",
    `sys.path.insert(0, ${JSON.stringify(key.courseDir)})`,
    "import numpy",
    `numpy.__path__.append(${JSON.stringify(WHEEL_PATH + "/numpy")})`,
    "import widgets_py.api as api",
    "from widgets_py import registry",
    "for t in registry.names(): api.run_json(t, '{}')",
    "del t",
  ].join("\n"));
  return pyodide.makeMemorySnapshot();
}
