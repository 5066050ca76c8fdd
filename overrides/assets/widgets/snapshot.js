// Booting the tab's Python from a memory snapshot: a copy of the interpreter's memory taken after numpy
// and widgets_py were imported and every widget ran once, made in this browser after a normal boot
// (snapshot_maker.js) and kept in Cache Storage. Restoring it skips Python's start-up, numpy's import and
// the widgets' first runs. It relies on Pyodide's private `_makeSnapshot`/`_loadSnapshot` options
// (Pyodide is pinned; the tests compare snapshot and normal boots). The memory holds numpy's extension
// modules, but not the files nor the loaded libraries: before the interpreter starts, both when making
// and when restoring, the files are written and numpy's libraries loaded in one fixed order, so each
// lands where the snapshot's memory expects it. The entry holds those files beside the memory (numpy's
// libraries unpacked, the widgets' sources, the wheel), so a restore reads one entry, inflates nothing
// and downloads nothing but the two small files its key is computed from.

const FORMAT = 2; // bump when what a snapshot holds or how it is restored changes
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
const CHECKSUM = "x-snapshot-checksum";
const KEY = "x-snapshot-key";
// The body starts with the files to write before a restore ([path, bytes] as JSON in this header), then the
// memory; the files have their own checksum.
const FILES = "x-snapshot-files";
const FILES_CHECKSUM = "x-snapshot-files-checksum";
// Nearly a third of the memory is long runs of zero pages (the heap's unused top, freed arenas): they are left out
// of the stored body (page:count,… in this header) and need no reading back, as new memory is zeroed.
const ZERO_RUNS = "x-snapshot-zero-runs";
const PAGE = 4096;
const MIN_ZERO_RUN = 16; // pages; shorter runs are stored as they are, which keeps the header short

// Cache Storage and SubtleCrypto need a secure context (https or localhost).
export function snapshotsSupported() {
  return typeof caches !== "undefined" && !!globalThis.crypto?.subtle && typeof DecompressionStream === "function";
}

async function fetchBytes(url, integrity = undefined) {
  const response = await fetch(url, { integrity });
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// Where a boot's files come from: the numpy wheel named by Pyodide's lock file (with the sha256 the browser
// checks it against, as Pyodide's own package loader does) and the widgets archive, unpacked in courseDir.
// `archiveUrl` may be a promise (the page names the archive once the worker runs): the lock file is read meanwhile.
export async function runtimeSources(pyodideUrl, archiveUrl, courseDir) {
  const lock = JSON.parse(new TextDecoder().decode(await fetchBytes(pyodideUrl + "pyodide-lock.json")));
  const numpy = lock.packages.numpy;
  const wheelIntegrity = "sha256-" + btoa(String.fromCharCode(...numpy.sha256.match(/../g).map((hex) => parseInt(hex, 16))));
  return { pyodide: lock.info.version, wheelSha256: numpy.sha256, wheelUrl: pyodideUrl + numpy.file_name, wheelIntegrity,
    archiveUrl: await archiveUrl, courseDir };
}

// What a snapshot depends on: the Pyodide build (pyodide.mjs carries the build id of its wasm), the numpy
// wheel (its sha256 in pyodide-lock.json), the widgets archive (content-hashed name) and the folder it
// is unpacked in, the browser (snapshots are engine-specific) and this file's format and library order.
// A snapshot records the key it was made for and is restored only under the same key. `archiveUrl` may be
// a promise: the runtime's part (two downloads, a hash) is computed meanwhile, as the page names the archive
// only once the worker is running.
export async function snapshotKey(pyodideUrl, archiveUrl, courseDir) {
  const [pyodideBuild, sources] = await Promise.all([fetchBytes(pyodideUrl + "pyodide.mjs").then(sha256),
    runtimeSources(pyodideUrl, archiveUrl, courseDir)]);
  archiveUrl = sources.archiveUrl;
  const parts = {
    format: FORMAT, pyodide: sources.pyodide, pyodideBuild, wheel: sources.wheelSha256,
    archive: archiveUrl, courseDir, userAgent: navigator.userAgent, libs: NUMPY_LIBS,
  };
  const id = (await sha256(new TextEncoder().encode(JSON.stringify(parts)))).slice(0, 32);
  return { ...sources, id, url: snapshotUrl(archiveUrl) };
}

// One entry per site, at a synthetic address in the archives' folder (never requested from the network), so
// a visit finds it without computing the key, or knowing the archive's name, first: the restore starts at
// once and the key is checked before the memory is used. A new snapshot replaces the old one.
// `folderOrArchiveUrl`: that folder ("…/widgets/") or any archive in it.
export function snapshotUrl(folderOrArchiveUrl) {
  return new URL("python-snapshot", folderOrArchiveUrl).href;
}

// One round trip to the browser's storage, which creates no cache on a first visit. -> Response or null
export async function findSnapshot(url) {
  return (await caches.match(url, { cacheName: SNAPSHOT_CACHE })) || null;
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

// `made`: what makeSnapshot returns.
export async function storeSnapshot(key, { memory, files }) {
  if (memory.byteOffset % 4) memory = memory.slice(); // read as 32-bit words
  const fileBytes = new Uint8Array(await new Blob(files.map(([, bytes]) => bytes)).arrayBuffer());
  const runs = zeroRuns(memory);
  const body = new Blob([fileBytes, ...storedRanges(memory.length, runs).map(([start, end]) => memory.subarray(start, end))]);
  const headers = { "content-type": "application/octet-stream", [LENGTH]: String(memory.length),
    [CHECKSUM]: checksum(memory), [ZERO_RUNS]: runs.map(([page, count]) => `${page}:${count}`).join(","),
    [FILES]: JSON.stringify(files.map(([path, bytes]) => [path, bytes.length])), [FILES_CHECKSUM]: checksum(fileBytes),
    [KEY]: key.id };
  await (await caches.open(SNAPSHOT_CACHE)).put(key.url, new Response(body, { headers }));
}

// (also used by the test that stores a damaged entry whose checksum matches)
export function checksum(bytes) {
  const sum = new Checksum();
  sum.update(bytes, bytes.length);
  return sum.digest(bytes);
}

// [first page, page count] of each run of at least MIN_ZERO_RUN zero pages.
function zeroRuns(bytes) {
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
  const pages = Math.floor(bytes.length / PAGE);
  const wordsPerPage = PAGE / 4;
  const runs = [];
  let start = -1;
  for (let page = 0; page <= pages; page++) {
    let zero = page < pages;
    for (let i = page * wordsPerPage, end = i + wordsPerPage; zero && i < end; i++) zero = words[i] === 0;
    if (zero && start < 0) start = page;
    if (!zero && start >= 0) {
      if (page - start >= MIN_ZERO_RUN) runs.push([start, page - start]);
      start = -1;
    }
  }
  return runs;
}

// The [start, end) byte ranges of a memory of `length` bytes outside its zero runs: what is stored.
function storedRanges(length, runs) {
  const ranges = [];
  let at = 0;
  for (const [page, count] of runs) {
    const start = page * PAGE;
    const end = start + count * PAGE;
    if (!(Number.isSafeInteger(start) && count > 0 && start >= at && end <= length)) throw new Error("snapshot entry with bad zero runs");
    if (start > at) ranges.push([at, start]);
    at = end;
  }
  if (at < length) ranges.push([at, length]);
  return ranges;
}

function parseZeroRuns(text) {
  return text ? text.split(",").map((run) => run.split(":").map(Number)) : [];
}

// ---- the files written before the interpreter starts ----------------------------------------------

// Written to the stream and read back in chunks: a Blob's stream read through a Response took three
// times as long for the ~500 small files of a boot (per-file overhead, not inflating).
async function inflateRaw(bytes) {
  const stream = new DecompressionStream("deflate-raw");
  const writer = stream.writable.getWriter();
  // a damaged entry rejects these too: it is reported once, by the reader
  writer.write(bytes).catch(() => {});
  writer.close().catch(() => {});
  const reader = stream.readable.getReader();
  const chunks = [];
  for (let read = await reader.read(); !read.done; read = await reader.read()) chunks.push(read.value);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  chunks.reduce((at, chunk) => { out.set(chunk, at); return at + chunk.length; }, 0);
  return out;
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

// Where an entry of the widgets archive is written: numpy's bytecode (numpy/**/__pycache__/*.pyc, built
// with the site) beside numpy's sources, the rest (widgets_py) in the course folder.
function archiveEntryPath(name, courseDir) {
  return `${name.startsWith("numpy/") ? SITE_PACKAGES : courseDir}/${name}`;
}

// numpy's files that Python never reads: type stubs, C headers and sources, static libraries, metadata
const NOT_RUN = /\.(pyi|h|c|pxd|pyx|a|pc|ini|txt|md|rst|typed)$|\.dist-info\//;

// [path, bytes] to write before the interpreter starts: numpy's modules (it is imported from files), its
// wheel and the widgets archive.
// `sources`: a snapshot key, or runtimeSources' answer.
export async function runtimeFiles(sources) {
  const [wheel, archive] = await Promise.all([fetchBytes(sources.wheelUrl, sources.wheelIntegrity), fetchBytes(sources.archiveUrl)]);
  const [numpy, widgets] = await Promise.all([
    unzip(wheel, (name) => !NOT_RUN.test(name)),
    unzip(archive, () => true),
  ]);
  return [
    ...numpy.map(([name, bytes]) => [`${SITE_PACKAGES}/${name}`, bytes]),
    ...widgets.map(([name, bytes]) => [archiveEntryPath(name, sources.courseDir), bytes]),
    [WHEEL_PATH, wheel],
  ];
}

// runtimeFiles made by a worker of its own (files_worker.js) and handed over: the calling thread stays free
// meanwhile (see there). In this thread where a worker cannot start one, or when that worker fails.
export function runtimeFilesAside(pyodideUrl, archiveUrl, courseDir) {
  const here = () => runtimeSources(pyodideUrl, archiveUrl, courseDir).then(runtimeFiles);
  if (typeof Worker === "undefined") return here();
  return new Promise((resolve, reject) => {
    const helper = new Worker(new URL("files_worker.js", import.meta.url), { type: "module" });
    helper.onmessage = ({ data }) => {
      helper.terminate();
      if (data && data.files) resolve(data.files);
      else reject(new Error((data && data.error) || "the files worker sent nothing"));
    };
    helper.onerror = (event) => {
      event.preventDefault();
      helper.terminate();
      reject(new Error(event.message || "the files worker did not start"));
    };
    helper.postMessage({ pyodideUrl, archiveUrl, courseDir });
  }).catch(here);
}

// Pyodide creates its Emscripten module with globalThis._createPyodideModule (defined by pyodide.asm.js);
// the next module created gets `hook` as its last pre-run step (Emscripten runs preRun from the end), and
// instantiates `wasm` (a promise of Pyodide's compiled wasm module, or null) instead of compiling its own.
let nextPreRun = null;
let nextWasm = null; // a promise of Pyodide's compiled wasm module for the next module created, or null
let createModule;
function beforeNextStart(hook, wasm = null) {
  if (!Object.getOwnPropertyDescriptor(globalThis, "_createPyodideModule")?.get) {
    createModule = globalThis._createPyodideModule;
    Object.defineProperty(globalThis, "_createPyodideModule", {
      configurable: true,
      set: (value) => { createModule = value; },
      // undefined until pyodide.asm.js has run, so that loadPyodide still loads it
      get: () => createModule && ((settings) => {
        const hook = nextPreRun;
        const compiled = nextWasm;
        nextPreRun = nextWasm = null;
        if (hook) settings.preRun = [hook, ...settings.preRun];
        if (compiled) settings.instantiateWasm = instantiateCompiled(compiled, settings.instantiateWasm);
        return createModule(settings);
      }),
    });
  }
  nextPreRun = hook;
  nextWasm = wasm;
}

// Emscripten's instantiateWasm hook, instantiating the module `compiled` (a promise); if that fails,
// Pyodide's own hook `fallback` (which fetches and compiles the wasm itself) runs instead.
function instantiateCompiled(compiled, fallback) {
  return (imports, receiveInstance) => {
    compiled.then((module) => WebAssembly.instantiate(module, imports).then((instance) => ({ module, instance })))
      .then(({ module, instance }) => receiveInstance(instance, module), () => fallback(imports, receiveInstance));
    return {}; // the exports arrive through receiveInstance
  };
}

// The pre-run step: write the files, load numpy's libraries in their fixed order, then wait for `before` (the
// snapshot's memory read and its key checked): the files do not depend on the memory, which Pyodide copies
// in only after every pre-run step, so they go in while the memory still arrives. On failure `onFailure`
// runs and the module carries on, so that Pyodide's own checks end the boot with an error instead of
// leaving it waiting.
function prepareModule(files, before, onFailure, marks) {
  // reported through onFailure when the pre-run step runs, not as unhandled rejections before it
  files.catch(() => {});
  Promise.resolve(before).catch(() => {});
  const compiled = compileLibs(files);
  compiled.catch(() => {});
  return (Module) => {
    Module.addRunDependency("course-snapshot");
    marks.prerun_at = performance.now();
    (async () => {
      try {
        const written = await files;
        marks.files_at = performance.now();
        for (const [path, bytes] of written) {
          Module.FS.mkdirTree(path.slice(0, path.lastIndexOf("/")));
          Module.FS.writeFile(path, bytes, { canOwn: true });
        }
        for (const [path, library] of await compiled) {
          await withCompiled(await library, () => Module.loadDynamicLibrary(path, { loadAsync: true, nodelete: true,
            allowUndefined: true, global: false, fs: Module.FS }, {}));
          const base = path.slice(path.lastIndexOf("/") + 1);
          Module.LDSO.loadedLibsByName[base] ||= Module.LDSO.loadedLibsByName[path];
        }
        marks.libs_at = performance.now();
        await before;
      } catch (err) {
        onFailure(err);
      } finally {
        Module.removeRunDependency("course-snapshot");
      }
    })();
  };
}

// A checksum of the snapshot's bytes, computed as they arrive (a SHA-256 of 44 MB would take another
// 50-200 ms after the last byte on a slow machine). It is there to catch damaged storage, not an attacker:
// whoever can write this origin's Cache Storage can change its scripts too. Two 32-bit MurmurHash3 lanes
// over the little-endian 32-bit words (64 bits), then the trailing bytes and the length.
export class Checksum {
  constructor() {
    this.h1 = 0x6a09e667;
    this.h2 = 0xbb67ae85;
    this.done = 0; // bytes mixed in so far (a multiple of 4 until digest)
  }

  // Mix in the whole words of bytes[done, end); `bytes` must start on a 4-byte boundary of its buffer.
  update(bytes, end) {
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, end >>> 2);
    let { h1, h2 } = this;
    for (let i = this.done >>> 2; i < words.length; i++) {
      let k = Math.imul(words[i], 0xcc9e2d51);
      k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
      h1 ^= k;
      h1 = (Math.imul((h1 << 13) | (h1 >>> 19), 5) + 0xe6546b64) | 0;
      h2 ^= k;
      h2 = (Math.imul((h2 << 17) | (h2 >>> 15), 9) + 0x38495ab5) | 0;
    }
    Object.assign(this, { h1, h2, done: words.length << 2 });
  }

  // The hex checksum of bytes[0, length): the trailing bytes and the length mixed in last.
  digest(bytes) {
    let tail = 0;
    for (let i = bytes.length - 1; i >= this.done; i--) tail = (tail << 8) | bytes[i];
    const mix = (h) => {
      h ^= Math.imul(tail, 0x85ebca6b) ^ bytes.length;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      return ((h ^ (h >>> 16)) >>> 0).toString(16).padStart(8, "0");
    };
    return mix(this.h1) + mix(this.h2);
  }
}

// numpy's libraries compiled as soon as their bytes are in, while Pyodide itself still loads: [[path,
// promise of {module, length}]] in NUMPY_LIBS order (the order they must be loaded in).
function compileLibs(files) {
  return files.then((written) => {
    const byPath = new Map(written);
    return NUMPY_LIBS.map((name) => {
      const path = `${SITE_PACKAGES}/${name}`;
      const bytes = byPath.get(path);
      const library = bytes ? WebAssembly.compile(bytes).then((module) => ({ module, length: bytes.length }))
        : Promise.reject(new Error(`${name} is missing`));
      library.catch(() => {}); // reported by the pre-run step that awaits it
      return [path, library];
    });
  });
}

// Run `load` (Emscripten's loadDynamicLibrary of one library) with its module already compiled. Emscripten
// reads the library's bytes from the file system and calls WebAssembly.instantiate(bytes, imports) once;
// that call gets the compiled module instead (the same bytes, recognised by their length), which spares
// compiling 7 MB of wasm after Pyodide is up. Any other call goes through unchanged.
async function withCompiled({ module, length }, load) {
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = (source, imports) => {
    if (!ArrayBuffer.isView(source) || source.byteLength !== length) return instantiate.call(WebAssembly, source, imports);
    WebAssembly.instantiate = instantiate;
    return instantiate.call(WebAssembly, module, imports).then((instance) => ({ module, instance }));
  };
  try {
    return await load();
  } finally {
    WebAssembly.instantiate = instantiate;
  }
}

// Read a cached snapshot: the files, then the memory (sized from its header, zero runs skipped), each
// checked against its checksum as the bytes arrive. -> {memory, files: promise of [path, bytes] once the
// files are in and checked, complete: promise settled once the memory is}.
function readSnapshot(response, marks) {
  const length = Number(response.headers.get(LENGTH));
  const expected = response.headers.get(CHECKSUM);
  const filesExpected = response.headers.get(FILES_CHECKSUM);
  const table = JSON.parse(response.headers.get(FILES) || "[]");
  if (!Number.isSafeInteger(length) || length <= 0 || !expected || !filesExpected || !table.length ||
      !table.every(([path, size]) => typeof path === "string" && Number.isSafeInteger(size) && size >= 0)) {
    throw new Error("snapshot entry without its sizes or checksums");
  }
  const memory = new Uint8Array(length);
  const fileBytes = new Uint8Array(table.reduce((sum, [, size]) => sum + size, 0));
  const memorySum = new Checksum();
  // where the body's bytes go, in order: [buffer, start, end, its checksum]
  const parts = [[fileBytes, 0, fileBytes.length, new Checksum()],
    ...storedRanges(length, parseZeroRuns(response.headers.get(ZERO_RUNS))).map(([start, end]) => [memory, start, end, memorySum])];
  let filesIn;
  const files = new Promise((resolve) => { filesIn = resolve; });
  const complete = (async () => {
    const reader = response.body.getReader();
    let part = 0;
    let at = 0; // where the next byte goes in parts[part]'s buffer
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (let from = 0; from < value.length;) {
        if (part === parts.length) throw new Error("snapshot longer than recorded");
        const [buffer, start, end, sum] = parts[part];
        at = Math.max(at, start); // the zero runs skipped so far are in: new memory is zeroed
        const count = Math.min(value.length - from, end - at);
        buffer.set(value.subarray(from, from + count), at);
        from += count;
        at += count;
        sum.update(buffer, at);
        if (at === end && ++part === 1) {
          if (sum.digest(fileBytes) !== filesExpected) throw new Error("snapshot's files do not match their checksum");
          let offset = 0;
          filesIn(table.map(([path, size]) => [path, fileBytes.subarray(offset, (offset += size))]));
          at = 0;
        }
      }
    }
    if (part < parts.length) throw new Error("snapshot cut short");
    memorySum.update(memory, length); // a zero run at the end
    marks.read_at = performance.now();
    if (memorySum.digest(memory) !== expected) throw new Error("snapshot does not match its checksum");
  })();
  // a failure before the files are in rejects both
  return { memory, files: Promise.race([files, complete.then(() => files)]), complete };
}

// Pyodide from a cached snapshot (`found`: the Response from findSnapshot, or a promise of it or of null) if
// it was made for `keyPromise`'s key (checked while Pyodide loads); null if there is none. Pyodide loads
// while the entry is read. Throws on any problem, after which the caller deletes the entry and boots
// normally. `marks` gets the times (performance.now()) of its steps. `wasm`: a promise of Pyodide's compiled
// wasm module, started early by the caller (or null: Pyodide compiles it once it creates its module).
export async function restoreSnapshot(loadPyodide, options, keyPromise, found, marks = {}, wasm = null) {
  let failure = null;
  const memory = Promise.resolve(found).then((response) => {
    if (!response) throw NO_ENTRY; // before Pyodide creates its module: loadPyodide rejects, nothing started
    marks.found_at = performance.now();
    const { memory: bytes, files, complete } = readSnapshot(response, marks);
    const sameKey = keyPromise.then((key) => {
      if (!key) throw new Error("the snapshot's key could not be computed");
      if (response.headers.get(KEY) !== key.id) throw new Error("the snapshot was made for other files");
      marks.key_at = performance.now();
      return key;
    });
    // a failed step zeroes the memory: Pyodide then refuses it (bad magic number) and loadPyodide rejects
    beforeNextStart(prepareModule(files, Promise.all([complete, sameKey]),
      (err) => { failure = err; bytes.fill(0); }, marks), wasm);
    return bytes;
  });
  // loadPyodide reports its rejection; it may await it only once it has loaded pyodide.asm.js
  memory.catch(() => {});
  let pyodide;
  try {
    pyodide = await loadPyodide({ ...options, _loadSnapshot: memory });
  } catch (err) {
    nextPreRun = nextWasm = null; // not left for the normal boot that follows
    if (err === NO_ENTRY) return null;
    throw failure || err;
  }
  delete pyodide._api.config._loadSnapshot; // else the snapshot's bytes stay reachable
  return pyodide;
}

const NO_ENTRY = new Error("no snapshot");

// Python with numpy's files written and its libraries loaded before the interpreter starts, as a snapshot
// needs them. A first visit boots this way too, instead of through Pyodide's package loader: the wheel is
// then inflated natively while Pyodide's own wasm compiles, not unpacked by Python after it has started.
// `making`: for a snapshot; `wasm`: as for restoreSnapshot. `files`: a promise of runtimeFiles' answer,
// awaited only just before the interpreter starts (Pyodide's downloads do not wait for it). `marks` gets the
// times (performance.now()) of the pre-run step's parts. -> {pyodide, files}
export async function bootWithFiles(loadPyodide, options, courseDir, files, { making = false, marks = {}, wasm = null } = {}) {
  let failure = null;
  beforeNextStart(prepareModule(files, null, (err) => { failure = err; }, marks), wasm);
  const pyodide = await loadPyodide(making ? { ...options, _makeSnapshot: true } : options);
  if (failure) throw failure;
  pyodide.runPython(`import sys\nsys.path.insert(0, ${JSON.stringify(courseDir)})`);
  return { pyodide, files: await files };
}

// A new snapshot: Python started with the files and libraries as a restore will have them, numpy and
// widgets_py imported, every widget (of every page: one snapshot serves the site) run once with its defaults.
export async function makeSnapshot(loadPyodide, options, key) {
  const { pyodide, files } = await bootWithFiles(loadPyodide, options, key.courseDir, runtimeFiles(key), { making: true });
  pyodide.runPython([
    "import numpy",
    `numpy.__path__.append(${JSON.stringify(WHEEL_PATH + "/numpy")})`,
    "import widgets_py.api as api",
    "from widgets_py import registry",
    "for t in registry.names(): api.run_json(t, '{}')",
    "del t",
  ].join("\n"));
  // what a restore writes: all but numpy's unpacked modules (in memory already, or read from the wheel)
  const libs = new Set(NUMPY_LIBS.map((name) => `${SITE_PACKAGES}/${name}`));
  const kept = files.filter(([path]) => libs.has(path) || !path.startsWith(SITE_PACKAGES + "/"));
  return { memory: pyodide.makeMemorySnapshot(), files: kept };
}
