// A short-lived worker that makes a first visit's runtime files (snapshot.js runtimeFiles: numpy's wheel and
// the widgets archive downloaded and unpacked) and hands them over (transferred) to the Python worker. That
// worker's own thread must stay free meanwhile: V8 takes Pyodide's wasm in on it as it streams in, and
// unpacking the ~500 files there held the wasm back by about half a second on a 2-core machine.
//   in: {pyodideUrl, archiveUrl, courseDir}   out: {files: [[path, bytes]]}  |  {error}
import { runtimeFiles, runtimeSources } from "./snapshot.js";

self.onmessage = async (event) => {
  const { pyodideUrl, archiveUrl, courseDir } = event.data || {};
  try {
    const files = await runtimeFiles(await runtimeSources(pyodideUrl, archiveUrl, courseDir));
    postMessage({ files }, [...new Set(files.map(([, bytes]) => bytes.buffer))]);
  } catch (err) {
    postMessage({ error: String((err && err.message) || err).split("\n")[0] });
  }
};
