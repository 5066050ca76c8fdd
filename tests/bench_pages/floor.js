// The floor page's script: a file, not inline, so it runs under the site's Content Security Policy
// (the bench server sends the site's _headers for every path, as a static host would).
const indexURL = new URL("../course/assets/pyodide/", location.href).href;
const { loadPyodide } = await import(indexURL + "pyodide.mjs");
const marks = {};
const pyodide = await loadPyodide({ indexURL, stdout: () => {}, stderr: () => {} });
marks.boot = performance.now();
await pyodide.loadPackage("numpy", { messageCallback: () => {} });
marks.numpy = performance.now();
pyodide.runPython("import numpy");
marks.import = performance.now();
window.__floor = marks;
document.getElementById("status").textContent = "ready";
