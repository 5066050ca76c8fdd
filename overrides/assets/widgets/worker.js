// The one Python runtime of a tab: Pyodide + numpy + widgets_py, booted as soon as the worker starts.
// Protocol (every request carries an id; the reply echoes it):
//   in:  {type: "init", archive, widgets}   the content-hashed archive's file name; widget types to preload
//        {type: "preload", widgets}         more widget types to import ahead of their first run
//        {type: "run", id, widget, params}  params: overrides as a plain object
//   out: {type: "ready", timings (with .loaded: the imported widget types)}  |  {type: "preloaded", widgets}
//        {type: "fatal", error}  |  {type: "result", id, payload}
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
  if (msg.type !== "run") return;
  let compute;
  try {
    compute = await computeReady;
  } catch (err) {
    return; // "fatal" was already posted; the page restarts the worker on the next interaction
  }
  const started = performance.now();
  let payload;
  try {
    payload = JSON.parse(compute(msg.widget, JSON.stringify(msg.params || {})));
  } catch (err) {
    payload = { ok: false, error: "the simulation failed: " + oneLine(err), param: null };
  }
  payload.compute_ms = performance.now() - started;
  postMessage({ type: "result", id: msg.id, payload });
};
