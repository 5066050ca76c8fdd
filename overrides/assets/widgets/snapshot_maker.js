// A short-lived worker that worker.js starts after a normal boot has made the widgets ready: it boots its
// own Python (so the reader's worker keeps answering meanwhile), makes a memory snapshot (snapshot.js),
// stores it in Cache Storage for the next visit, reports and is closed.
//   in:  {key, pyodideUrl}   out: {state: "stored", bytes, ms}  |  {state: "failed", error}
import { makeSnapshot, recordMakingFailed, storeSnapshot } from "./snapshot.js";

self.onmessage = async (event) => {
  const { key, pyodideUrl } = event.data || {};
  const started = performance.now();
  try {
    const { loadPyodide } = await import(pyodideUrl + "pyodide.mjs");
    const made = await makeSnapshot(loadPyodide, { indexURL: pyodideUrl, stdout: () => {}, stderr: () => {} },
      key);
    await storeSnapshot(key, made);
    postMessage({ state: "stored", bytes: made.memory.length, ms: performance.now() - started });
  } catch (err) {
    const error = String((err && err.message) || err).split("\n")[0];
    await recordMakingFailed(key, error).catch(() => {});
    postMessage({ state: "failed", error });
  }
};
