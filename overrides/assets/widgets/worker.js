// The one Python runtime of a tab: Pyodide + numpy + widgets_py, booted as soon as the worker starts.
// Protocol (every request carries an id; the reply echoes it):
//   in:  {type: "init", archive, widgets}   the content-hashed archive's file name (also the worker's name,
//                                           known before this message arrives); widget types to preload
//        {type: "preload", widgets}         more widget types to import ahead of their first run
//        {type: "run", id, widget, params, key?, background?, sent_at?}  params: overrides as a plain
//                                           object; key: the asking widget (a newer run with the same key
//                                           replaces one still waiting); background: runs after every other
//                                           run; sent_at: epoch ms of the postMessage (see worker.inbox_ms)
//   out: {type: "ready", timings (with .loaded: the imported widget types)}  |  {type: "preloaded", widgets}
//        {type: "fatal", error}  |  {type: "result", id, payload}  (payload.superseded: replaced unrun)
//        {type: "snapshot", state: "stored", bytes, ms | state: "failed", error}   a snapshot was made (or not)
const ASSETS = new URL("../", import.meta.url);
const PYODIDE_URL = new URL("pyodide/", ASSETS).href;
const PYODIDE_OPTIONS = { indexURL: PYODIDE_URL, stdout: () => {}, stderr: () => {} };
// The snapshot for the next visit is made once the reader has left the controls alone this long: making it
// boots a second Python, which on a small machine would slow the answers to a reader moving sliders.
const SNAPSHOT_QUIET_MS = 2000;
const t0 = performance.now();
const timings = {};
// both fetched at once (a static import would hold Pyodide's back until snapshot.js arrived)
const pyodideLoader = import(PYODIDE_URL + "pyodide.mjs");
pyodideLoader.catch(() => {}); // a failure is reported by the boot that awaits it ("fatal"), not as unhandled
// (not the interpreter's own 1.2 MB script, pyodide.asm.js, ahead of loadPyodide: compiling it holds this
// thread for 100-250 ms, and loadPyodide, which starts the 10 MB wasm's download before it loads that
// script, was then called that much later)
const snapshots = import("./snapshot.js").catch(() => null); // without it, Python boots normally
// and its 10 MB of wasm, compiled from the start (on a returning visit from the HTTP cache and the browser's
// code cache) instead of once loadPyodide creates its module: snapshot.js's boots (secure contexts only) use it
const pyodideWasm = globalThis.isSecureContext ? WebAssembly.compileStreaming(fetch(PYODIDE_URL + "pyodide.asm.wasm")) : null;
pyodideWasm?.catch(() => {}); // then Pyodide compiles it itself
const COURSE_DIR = "/home/pyodide/course";

let archiveName;
const archiveKnown = new Promise((resolve) => { archiveName = resolve; });
if (self.name) archiveName(self.name); // spawnWorker (boot.js) names the worker after the archive; else "init" does
const archiveUrl = archiveKnown.then((name) => new URL("widgets/" + name, ASSETS).href);
const snapshotKeyReady = snapshots
  .then((snap) => (snap && snap.snapshotsSupported() ? snap.snapshotKey(PYODIDE_URL, archiveUrl, COURSE_DIR) : null))
  .catch(() => null);
let pageWidgets = [];
let preloadNow = () => {};
let warmMore = () => {};

// Python starts from the snapshot of an earlier visit when there is one (snapshot.js), else normally; after
// a normal boot a snapshot is made in the background for the next visit.
async function bootPython() {
  const { loadPyodide } = await pyodideLoader;
  // numpy in `packages` downloads while the interpreter boots instead of after it
  const pyodide = await loadPyodide({ ...PYODIDE_OPTIONS, packages: ["numpy"] });
  timings.boot_ms = performance.now() - t0;
  return pyodide;
}

async function fetchArchive() {
  const response = await fetch(await archiveUrl);
  if (!response.ok) throw new Error(`widgets archive: HTTP ${response.status}`);
  return response.arrayBuffer();
}

// The boot's timings: how it went, when Python was up, and its steps' marks (performance.now() of each
// "<step>_at") as "<prefix><step>_ms" from the worker's start.
function bootDone(kind, prefix, marks) {
  for (const [name, at] of Object.entries(marks)) timings[prefix + name.replace("_at", "_ms")] = at - t0;
  timings.boot_ms = performance.now() - t0;
  timings.boot = kind;
}

// Python with numpy's files written before it starts, as the snapshot maker boots (snapshot.js), else (no
// SubtleCrypto or DecompressionStream; or that boot failed) through Pyodide's package loader. Pyodide's
// downloads start at once; the files are made by a worker of their own meanwhile and awaited only just
// before Python starts.
async function bootNormally() {
  const snap = await snapshots;
  if (snap && snap.snapshotsSupported()) {
    const marks = {};
    const files = archiveUrl.then((url) => snap.runtimeFilesAside(PYODIDE_URL, url, COURSE_DIR));
    files.catch(() => {}); // a failure ends the boot below (or is moot when Pyodide itself did not load)
    try {
      const { loadPyodide } = await pyodideLoader;
      const { pyodide } = await snap.bootWithFiles(loadPyodide, PYODIDE_OPTIONS, COURSE_DIR, files, { marks, wasm: pyodideWasm });
      bootDone("normal", "boot_", marks);
      return pyodide;
    } catch (err) {
      timings.files_boot_error = oneLine(err);
    }
  }
  // both downloads run in parallel
  const [pyodide, archive] = await Promise.all([bootPython(), fetchArchive()]);
  pyodide.unpackArchive(archive, "zip", { extractDir: COURSE_DIR });
  // numpy's bytecode in the archive goes beside numpy's sources, where Python looks for it (see README)
  pyodide.runPython([
    "import shutil, sys, sysconfig",
    `sys.path.insert(0, ${JSON.stringify(COURSE_DIR)})`,
    `shutil.copytree(${JSON.stringify(COURSE_DIR + "/numpy")}, sysconfig.get_path("purelib") + "/numpy", dirs_exist_ok=True)`,
    `shutil.rmtree(${JSON.stringify(COURSE_DIR + "/numpy")})`,
  ].join("\n"));
  timings.boot = "normal";
  return pyodide;
}

// Python restored from this browser's snapshot, or null (none, or unusable: then it is deleted and the
// normal boot follows, which makes a new one; the reader sees nothing of it).
async function bootFromSnapshot() {
  const snap = await snapshots;
  if (!snap || !snap.snapshotsSupported()) return null;
  // the entry's address is the archives' folder's, whatever the archive: the lookup starts before the page's
  // init message names it (the key, checked meanwhile, holds the archive's name)
  const url = snap.snapshotUrl(new URL("widgets/", ASSETS).href);
  // on a first visit there is none: boot normally at once, before Pyodide starts any download of its own
  const found = await snap.findSnapshot(url).catch(() => null);
  if (!found) return null;
  const marks = {};
  try {
    const { loadPyodide } = await pyodideLoader;
    const pyodide = await snap.restoreSnapshot(loadPyodide, PYODIDE_OPTIONS, snapshotKeyReady, found, marks, pyodideWasm);
    if (!pyodide) return null;
    bootDone("snapshot", "snapshot_", marks);
    return pyodide;
  } catch (err) {
    timings.snapshot_error = oneLine(err);
    await snap.deleteSnapshot(url).catch(() => {});
    return null;
  }
}

// After a normal boot, once the reader has been quiet for a while (see SNAPSHOT_QUIET_MS; the page's first
// runs are done by then): a snapshot for the next visit, made by a worker of its own (snapshot_maker.js)
// so this one keeps answering.
function makeSnapshotLater() {
  // readerBusyUntil: the reader's last run (or the ready) + BACKGROUND_AFTER_MS
  const quietIn = readerBusyUntil - BACKGROUND_AFTER_MS + SNAPSHOT_QUIET_MS - performance.now();
  if (quietIn > 0) {
    setTimeout(makeSnapshotLater, quietIn);
    return;
  }
  (async () => {
    const key = await snapshotKeyReady;
    // (workers cannot start workers in some browsers)
    if (!key || typeof Worker === "undefined" || (await (await snapshots).makingFailedBefore(key).catch(() => true))) return;
    const maker = new Worker(new URL("snapshot_maker.js", import.meta.url), { type: "module" });
    maker.onmessage = (event) => {
      maker.terminate();
      postMessage({ type: "snapshot", ...event.data });
    };
    maker.onerror = (event) => {
      event.preventDefault();
      maker.terminate();
      postMessage({ type: "snapshot", state: "failed", error: event.message || "the snapshot worker did not start" });
    };
    maker.postMessage({ key, pyodideUrl: PYODIDE_URL });
  })();
}

function everyWidget(pyodide) {
  const names = pyodide.runPython("from widgets_py import registry\nregistry.names()");
  const types = names.toJs();
  names.destroy();
  return types;
}

async function boot() {
  const pyodide = (await bootFromSnapshot()) || (await bootNormally());
  const api = pyodide.pyimport("widgets_py.api");
  // import the page's simulators now, so their first run is only the run
  preloadNow = (types) => {
    const loaded = api.preload(pyodide.toPy(types));
    const names = loaded.toJs();
    loaded.destroy();
    return names;
  };
  // a snapshot holds every widget imported: all are ready, so later pages need no preload round trip
  timings.loaded = preloadNow(timings.boot === "snapshot" ? everyWidget(pyodide) : pageWidgets);
  timings.ready_ms = performance.now() - t0;
  timings.t0_epoch_ms = performance.timeOrigin + t0; // the *_ms above count from here (for the page's clock)
  // from "ready" on, in pieces between the runs (see drainRuns): the page's widgets run once on small
  // inputs, so the reader's first change does not pay for compiling numpy's code (V8 compiles
  // WebAssembly lazily) nor, where the widget fills caches with it, for the defaults' training
  const list = pyodide.toPy(pageWidgets);
  warming = api.WarmUp(list);
  list.destroy();
  warmingPending = true;
  warmMore = (types) => {
    const more = pyodide.toPy(types);
    try {
      warming.add(more);
      warmingPending = true;
      scheduleDrain();
    } finally {
      more.destroy();
    }
  };
  setTimeout(scheduleDrain, 0);
  if (timings.boot === "normal") setTimeout(makeSnapshotLater, 0); // after readerBusyUntil counts from ready
  return api.run_json;
}

const computeReady = boot();
computeReady.then(
  () => postMessage({ type: "ready", timings }),
  (err) => postMessage({ type: "fatal", error: oneLine(err) }),
);

function oneLine(err) {
  const text = String((err && err.message) || err || "unknown error");
  return text.split("\n").filter(Boolean).slice(-1)[0] || text;
}

self.onmessage = async (event) => {
  const msg = event.data || {};
  if (msg.type === "init") {
    pageWidgets = msg.widgets || [];
    archiveName(msg.archive);
    return;
  }
  if (msg.type === "preload") {
    // widget types found after the worker started (the rest of the page, or a new page)
    pageWidgets = [...new Set([...pageWidgets, ...(msg.widgets || [])])];
    computeReady.then(() => {
      postMessage({ type: "preloaded", widgets: preloadNow(msg.widgets || []) });
      warmMore(msg.widgets || []);
    }, () => {});
    return;
  }
  if (msg.type === "run") enqueueRun(msg);
};

// ---- runs: latest wins, the reader's changes before the warm-up and background checks -----------
// A run is synchronous Python: while it computes, new messages wait in the worker's event queue. Runs
// are therefore queued here and picked one at a time on a fresh task, after every message that arrived
// meanwhile: a newer run of the same widget replaces a waiting one (a slider storm computes only its
// last position); the warm-up goes one piece per task while no reader's run waits, and background runs
// (checking the pre-rendered view) wait behind both.
const waitingRuns = [];
let warming = null; // api.WarmUp of the page's widgets: step() runs one piece, drop(type) forgets a widget's
let warmingPending = false;
let drainScheduled = false;
let drainTimer = null; // the pending drain's timer (null while none is pending, or one is running)
// Background runs start only once the reader has left the runtime alone this long (since it was ready,
// or since their last change was computed): a reader's next move does not queue behind them.
const BACKGROUND_AFTER_MS = 300;
let readerBusyUntil = 0;
computeReady.then(() => { readerBusyUntil = Math.max(readerBusyUntil, performance.now() + BACKGROUND_AFTER_MS); }, () => {});

function enqueueRun(msg) {
  msg.receivedAt = performance.now();
  // sent_at (epoch ms, from the page): the time it waited for the piece of work in progress to end
  msg.inboxMs = msg.sent_at ? performance.timeOrigin + msg.receivedAt - msg.sent_at : null;
  if (!msg.background) readerBusyUntil = performance.now() + BACKGROUND_AFTER_MS;
  const same = msg.key == null ? -1 : waitingRuns.findIndex((r) => r.key === msg.key);
  if (same >= 0) {
    const [stale] = waitingRuns.splice(same, 1);
    postMessage({ type: "result", id: stale.id, payload: { ok: false, superseded: true, error: "superseded" } });
  }
  waitingRuns.push(msg);
  if (msg.background) scheduleDrain();
  else drainSoon();
}

function scheduleDrain(delay = 0) {
  if (drainScheduled || !(waitingRuns.length || warmingPending)) return;
  drainScheduled = true;
  drainTimer = setTimeout(drainRuns, delay);
}

// A reader's run does not wait for a drain timed for later (the quiet before a background check) nor
// for the next timer of the warm-up's chain (nested timers are delayed by 4 ms or more): it gets one now.
function drainSoon() {
  if (drainTimer === null) {
    scheduleDrain(); // (or a drain is already running: it will find this run)
    return;
  }
  clearTimeout(drainTimer);
  drainTimer = setTimeout(drainRuns, 0);
}

async function drainRuns() {
  drainTimer = null;
  let compute;
  try {
    compute = await computeReady;
  } catch (err) {
    waitingRuns.length = 0;
    return; // "fatal" was already posted; the page restarts the worker on the next interaction
  }
  drainScheduled = false;
  const next = waitingRuns.findIndex((r) => !r.background);
  if (next < 0 && warmingPending) {
    warmUpPiece();
    scheduleDrain(); // on a new task: a reader's run that came in meanwhile goes first
    return;
  }
  const quietIn = readerBusyUntil - performance.now();
  if (next < 0 && quietIn > 0) {
    scheduleDrain(quietIn);
    return;
  }
  const [msg] = waitingRuns.splice(next >= 0 ? next : 0, 1);
  if (!msg) return;
  const payload = runOnce(compute, msg);
  postMessage({ type: "result", id: msg.id, payload });
  if (!msg.background) {
    readerBusyUntil = performance.now() + BACKGROUND_AFTER_MS; // the quiet starts now
    // this run compiled what the widget's warm-up would have: the rest of it would only hold the next run
    if (payload.ok && warmingPending) warming.drop(msg.widget);
  }
  scheduleDrain(); // on a new task, so messages that came in during this run are queued first
}

function warmUpPiece() {
  try {
    warmingPending = warming.step();
  } catch (err) {
    warmingPending = false; // only a head start: a failure shows when the widget runs
  }
}

function runOnce(compute, msg) {
  const started = performance.now();
  let payload;
  try {
    const text = compute(msg.widget, JSON.stringify(msg.params || {}));
    const computed = performance.now();
    payload = JSON.parse(text);
    // queue_ms: waiting behind other runs; posted_at (epoch ms): the page measures the delivery from it
    // inbox_ms: waiting in the worker's event queue (behind a warm-up piece or another run) before that
    payload.worker = { inbox_ms: msg.inboxMs, queue_ms: started - msg.receivedAt, python_ms: computed - started,
      parse_ms: performance.now() - computed, bytes: text.length, posted_at: performance.timeOrigin + performance.now() };
  } catch (err) {
    payload = { ok: false, error: "the simulation failed: " + oneLine(err), param: null };
  }
  payload.compute_ms = performance.now() - started;
  return payload;
}
