// Compiles Python sources to bytecode with the interpreter readers run (this site's Pyodide), so the
// worker imports numpy and widgets_py without compiling them on every cold start (hooks/widgets/bytecode.py).
//   node compile_bytecode.mjs <pyodide dir> <source dir>
// Every <source dir>/**/*.py gets its __pycache__/<name>.cpython-312.pyc beside it, hash-based and
// unchecked (PEP 552: valid whatever the files' dates once unpacked), recorded under its path relative to
// <source dir> (so the bytes do not depend on where the build ran). Errors: one line on stderr, exit 1.
import { resolve } from "node:path";

const [pyodideDir, sourceDir] = process.argv.slice(2);
if (!pyodideDir || !sourceDir) {
  console.error("usage: node compile_bytecode.mjs <pyodide dir> <source dir>");
  process.exit(2);
}
try {
  const { loadPyodide } = await import(resolve(pyodideDir, "pyodide.mjs"));
  const py = await loadPyodide({ indexURL: resolve(pyodideDir) + "/", stdout: console.log, stderr: console.error });
  py.FS.mkdirTree("/src");
  py.FS.mount(py.FS.filesystems.NODEFS, { root: resolve(sourceDir) }, "/src");
  py.runPython(`
import pathlib, py_compile
for path in sorted(pathlib.Path("/src").rglob("*.py")):
    name = str(path.relative_to("/src"))
    try:
        py_compile.compile(str(path), dfile=name, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError as err:
        raise RuntimeError(f"{name}: {err.exc_type_name}: {err.exc_value}") from None
`);
} catch (err) {
  console.error(String(err.message || err).trim().split("\n").slice(-1)[0]);
  process.exit(1);
}
