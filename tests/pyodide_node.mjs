// Runs Python in the site's own Pyodide + numpy under Node, with this checkout's widgets_py importable:
// the quickest way to time or profile a simulator in the runtime readers get (no browser, no build).
//   node tests/pyodide_node.mjs 'from widgets_py import api; print(api.run("cost_performance_dashboard")["metrics"])'
//   node tests/pyodide_node.mjs - < script.py
// Needs `make install` (it fetches .cache/pyodide). Prints the boot time on stderr.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const arg = process.argv[2];
if (!arg) {
  console.error("usage: node tests/pyodide_node.mjs 'python code' | -  (reads the code from stdin)");
  process.exit(2);
}
const code = arg === "-" ? readFileSync(0, "utf8") : arg;
const { loadPyodide } = await import(resolve(repo, ".cache/pyodide/pyodide.mjs"));
const started = performance.now();
const py = await loadPyodide({ indexURL: resolve(repo, ".cache/pyodide") + "/", stdout: console.log, stderr: console.error });
await py.loadPackage("numpy", { messageCallback: () => {} });
py.FS.mkdirTree("/repo");
py.FS.mount(py.FS.filesystems.NODEFS, { root: repo }, "/repo");
py.runPython("import sys; sys.path.insert(0, '/repo')");
console.error(`pyodide ${py.version} ready in ${(performance.now() - started).toFixed(0)} ms`);
try {
  py.runPython(code);
} catch (err) {
  console.error(String(err.message || err).trim().split("\n").slice(-1)[0]);
  process.exit(1);
}
