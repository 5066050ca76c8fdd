// The one Python runtime of a tab: Pyodide + numpy + widgets_py, booted as soon as the worker starts.
// Protocol (every request carries an id; the reply echoes it):
//   in:  {type: "init", archive, widgets}   the content-hashed archive's file name; widget types to preload
//        {type: "preload", widgets}         more widget types to import ahead of their first run
//        {type: "run", id, widget, params, key?, background?}  params: overrides as a plain object;
//                                           key: the asking widget (a newer run with the same key replaces
//                                           one still waiting); background: runs after every other run
//   out: {type: "ready", timings (with .loaded: the imported widget types)}  |  {type: "preloaded", widgets}
//        {type: "fatal", error}  |  {type: "result", id, payload}  (payload.superseded: replaced unrun)
const ASSETS = new URL("../", import.meta.url);
const PYODIDE_URL = new URL("pyodide/", ASSETS).href;
const t0 = performance.now();
const timings = {};

let archiveName;
const archiveKnown = new Promise((resolve) => { archiveName = resolve; });
let pageWidgets = [];
let preloadNow = () => {};

async function bootPython() {
  const { loadPyodide } = await import(PYODIDE_URL + "pyodide.mjs");
  // numpy in `packages` downloads while the interpreter boots instead of after it
  const pyodide = await loadPyodide({
    indexURL: PYODIDE_URL,
    packages: ["numpy"],
    stdout: () => {},
    stderr: () => {},
  });
  timings.boot_ms = performance.now() - t0;
  return pyodide;
}

async function fetchArchive() {
  const name = await archiveKnown;
  const response = await fetch(new URL("widgets/" + name, ASSETS).href);
  if (!response.ok) throw new Error(`widgets archive: HTTP ${response.status}`);
  return response.arrayBuffer();
}

async function boot() {
  // both downloads run in parallel
  const [pyodide, archive] = await Promise.all([bootPython(), fetchArchive()]);
  pyodide.unpackArchive(archive, "zip", { extractDir: "/home/pyodide/course" });
  pyodide.runPython("import sys\nsys.path.insert(0, '/home/pyodide/course')");
  const api = pyodide.pyimport("widgets_py.api");
  // import the page's simulators now, so their first run is only the run
  preloadNow = (types) => {
    const loaded = api.preload(pyodide.toPy(types));
    const names = loaded.toJs();
    loaded.destroy();
    return names;
  };
  timings.loaded = preloadNow(pageWidgets);
  timings.ready_ms = performance.now() - t0;
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
    computeReady.then(() => postMessage({ type: "preloaded", widgets: preloadNow(msg.widgets || []) }), () => {});
    return;
  }
  if (msg.type === "run") enqueueRun(msg);
};

// ---- runs: latest wins, the reader's changes before background checks ---------------------------
// A run is synchronous Python: while it computes, new messages wait in the worker's event queue. Runs
// are therefore queued here and picked one at a time on a fresh task, after every message that arrived
// meanwhile: a newer run of the same widget replaces a waiting one (a slider storm computes only its
// last position), and background runs (checking the pre-rendered view) wait behind the reader's.
const waitingRuns = [];
let drainScheduled = false;
// Background runs start only once the reader has left the runtime alone this long (since it was ready,
// or since their last change was computed): a reader's next move does not queue behind them.
const BACKGROUND_AFTER_MS = 300;
let readerBusyUntil = 0;
computeReady.then(() => { readerBusyUntil = Math.max(readerBusyUntil, performance.now() + BACKGROUND_AFTER_MS); }, () => {});

function enqueueRun(msg) {
  if (!msg.background) readerBusyUntil = performance.now() + BACKGROUND_AFTER_MS;
  const same = msg.key == null ? -1 : waitingRuns.findIndex((r) => r.key === msg.key);
  if (same >= 0) {
    const [stale] = waitingRuns.splice(same, 1);
    postMessage({ type: "result", id: stale.id, payload: { ok: false, superseded: true, error: "superseded" } });
  }
  waitingRuns.push(msg);
  scheduleDrain();
}

function scheduleDrain() {
  if (drainScheduled || !waitingRuns.length) return;
  drainScheduled = true;
  setTimeout(drainRuns, 0);
}

async function drainRuns() {
  let compute;
  try {
    compute = await computeReady;
  } catch (err) {
    waitingRuns.length = 0;
    return; // "fatal" was already posted; the page restarts the worker on the next interaction
  }
  drainScheduled = false;
  const next = waitingRuns.findIndex((r) => !r.background);
  const quietIn = readerBusyUntil - performance.now();
  if (next < 0 && quietIn > 0) {
    drainScheduled = true;
    setTimeout(drainRuns, quietIn);
    return;
  }
  const [msg] = waitingRuns.splice(next >= 0 ? next : 0, 1);
  if (!msg) return;
  postMessage({ type: "result", id: msg.id, payload: runOnce(compute, msg) });
  if (!msg.background) readerBusyUntil = performance.now() + BACKGROUND_AFTER_MS; // the quiet starts now
  scheduleDrain(); // on a new task, so messages that came in during this run are queued first
}

function runOnce(compute, msg) {
  const started = performance.now();
  let payload;
  try {
    const text = compute(msg.widget, JSON.stringify(msg.params || {}));
    const computed = performance.now();
    payload = JSON.parse(text);
    payload.worker = { python_ms: computed - started, parse_ms: performance.now() - computed, bytes: text.length };
  } catch (err) {
    payload = { ok: false, error: "the simulation failed: " + oneLine(err), param: null };
  }
  payload.compute_ms = performance.now() - started;
  return payload;
}
