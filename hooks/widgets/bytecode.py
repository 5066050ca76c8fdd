"""Python bytecode for what the readers' worker imports: numpy's modules and widgets_py's.

Pyodide's numpy wheel carries only ``.py`` sources and Pyodide never writes bytecode, so without this
every cold start compiles ~190 modules in the browser (about 1 s of the start-up, most of it numpy).
Here they are compiled at build time by the interpreter readers run (this site's Pyodide, under Node:
``compile_bytecode.mjs``) into ``__pycache__/<name>.cpython-312.pyc`` files that are hash-based and
unchecked (PEP 552): Python uses them without comparing dates, which unpacked files do not keep.
They ship inside the widgets archive (see build.archive_bytes), so its content-hashed name, and with it
the snapshot key, changes whenever they do.

The result is cached under ``.cache/bytecode/`` keyed by the Pyodide version, the numpy wheel's sha256
and the compiled sources (widgets_py's), so a build compiles only after one of those changes (~5 s).
Node is required (the build already needs it: npm, esbuild); without it, or if compiling fails, the
build stops with one line (a site without bytecode would boot slower with no one noticing).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

from . import runtime_assets

CACHE_DIR = runtime_assets.ROOT / ".cache" / "bytecode"
SCRIPT = Path(__file__).with_name("compile_bytecode.mjs")
FORMAT = 1  # bump when what is compiled or how changes
COMPILE_TIMEOUT_S = 300
KEEP_ENTRIES = 4


class BytecodeError(RuntimeError):
    """One line saying what could not be compiled and why."""


def numpy_wheel(pyodide_dir: Path) -> tuple[Path, str]:
    """(path, sha256 from the shipped lock) of the numpy wheel, checked against that sha256."""
    try:
        (numpy,) = runtime_assets.wheels(runtime_assets.shipped_lock(pyodide_dir), ["numpy"])
    except runtime_assets.RuntimeAssetError as err:
        raise BytecodeError(str(err)) from None
    return pyodide_dir / numpy.file_name, numpy.sha256


def bytecode(sources: list[tuple[str, bytes]], pyodide_dir: Path | None = None,
             cache_dir: Path = CACHE_DIR) -> list[tuple[str, bytes]]:
    """[(archive name, .pyc bytes)] for numpy's modules and the ``.py`` files among ``sources`` ((archive
    name, bytes) of widgets_py), sorted by name; read from the cache when nothing they depend on changed."""
    pyodide_dir = pyodide_dir or runtime_assets.CACHE_DIR
    wheel, wheel_sha = numpy_wheel(pyodide_dir)
    modules = sorted((name, data) for name, data in sources if name.endswith(".py"))
    key = hashlib.sha256(json.dumps([FORMAT, runtime_assets.PYODIDE_VERSION, wheel_sha,
                                     [[name, hashlib.sha256(data).hexdigest()] for name, data in modules]]).encode())
    cached = cache_dir / f"{key.hexdigest()[:32]}.zip"
    if not cached.exists():
        compiled = _compile(wheel, wheel_sha, modules, pyodide_dir)
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".part", delete=False) as tmp:
            with zipfile.ZipFile(tmp, "w") as zf:
                for name, data in compiled:
                    zf.writestr(name, data)
        Path(tmp.name).replace(cached)  # never a half-written entry under the final name
        # each edit of widgets_py under `mkdocs serve` adds an entry (~1.7 MB): keep the latest few
        for old in sorted(cache_dir.glob("*.zip"), key=lambda p: p.stat().st_mtime, reverse=True)[KEEP_ENTRIES:]:
            old.unlink(missing_ok=True)
    with zipfile.ZipFile(cached) as zf:
        return sorted((name, zf.read(name)) for name in zf.namelist())


def _compile(wheel: Path, wheel_sha: str, modules: list[tuple[str, bytes]], pyodide_dir: Path) -> list[tuple[str, bytes]]:
    node = shutil.which("node")
    if node is None:
        raise BytecodeError("node not found: the build compiles numpy's and widgets_py's bytecode with Pyodide "
                            "under Node (install Node 20, as for 'npm ci')")
    if not wheel.exists() or runtime_assets.sha256_of(wheel) != wheel_sha:
        raise BytecodeError(f"{wheel}: missing or sha256 mismatch: run 'python -m hooks.widgets.runtime_assets fetch'")
    with tempfile.TemporaryDirectory(prefix="course-bytecode-") as tmp:
        root = Path(tmp)
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if info.filename.startswith("numpy/") and info.filename.endswith(".py"):
                    zf.extract(info, root)
        for name, data in modules:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        try:
            proc = subprocess.run([node, str(SCRIPT), str(pyodide_dir), str(root)], capture_output=True,
                                  text=True, timeout=COMPILE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BytecodeError(f"compiling bytecode with Pyodide took over {COMPILE_TIMEOUT_S} s") from None
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or [f"node exited with {proc.returncode}"])[-1]
            raise BytecodeError(f"compiling bytecode with Pyodide failed: {last}")
        return sorted((path.relative_to(root).as_posix(), path.read_bytes()) for path in root.rglob("*.pyc"))

