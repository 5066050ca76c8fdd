// For tests/test_bytecode.py: boots the site's Pyodide under Node, installs numpy and the widgets archive
// as worker.js's package-loader boot does, imports everything the worker imports and prints (JSON) the
// modules Python compiled from source meanwhile and, for every .pyc in the archive, what is wrong with it.
//   node tests/bytecode_check.mjs <pyodide dir> <widgets archive>
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

const [pyodideDir, archivePath] = process.argv.slice(2);
const { loadPyodide } = await import(resolve(pyodideDir, "pyodide.mjs"));
const py = await loadPyodide({ indexURL: resolve(pyodideDir) + "/", packages: ["numpy"], stdout: console.log, stderr: console.error });
const course = "/home/pyodide/course";
py.unpackArchive(new Uint8Array(readFileSync(archivePath)), "zip", { extractDir: course });
py.runPython(`
import importlib.util, json, pathlib, shutil, sys, sysconfig
import importlib._bootstrap_external as external

# what worker.js does after unpacking
sys.path.insert(0, "${course}")
shutil.copytree("${course}/numpy", sysconfig.get_path("purelib") + "/numpy", dirs_exist_ok=True)
shutil.rmtree("${course}/numpy")

problems = []
for root in (pathlib.Path("${course}/widgets_py"), pathlib.Path(sysconfig.get_path("purelib")) / "numpy"):
    for pyc in root.rglob("__pycache__/*.pyc"):
        source = importlib.util.source_from_cache(str(pyc))
        data = pyc.read_bytes()
        if data[:4] != importlib.util.MAGIC_NUMBER:
            problems.append(f"{pyc}: magic {data[:4].hex()}")
        elif int.from_bytes(data[4:8], "little") != 0b01:
            problems.append(f"{pyc}: not hash-based unchecked")
        elif not pathlib.Path(source).exists():
            problems.append(f"{pyc}: no source")
        elif data[8:16] != importlib.util.source_hash(pathlib.Path(source).read_bytes()):
            problems.append(f"{pyc}: does not match its source")

compiled = []
to_code = external.SourceLoader.source_to_code
def counting(self, data, path, *args, **kwargs):
    compiled.append(path)
    return to_code(self, data, path, *args, **kwargs)
external.SourceLoader.source_to_code = counting

import numpy, numpy.random, widgets_py.api
from widgets_py import registry
for name in registry.names():
    widgets_py.api.preload([name])
print(json.dumps({"compiled": compiled, "problems": problems,
                  "imported": sorted(m for m in sys.modules if m.startswith(("numpy", "widgets_py"))),
                  "numpy_cached": numpy.__cached__}))
`);
