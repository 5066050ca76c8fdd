"""The bytecode shipped in the widgets archive (hooks/widgets/bytecode.py) is what Pyodide uses.

Boots the site's Pyodide under Node (tests/bytecode_check.mjs), installs numpy and the archive as the
worker does, and imports everything the worker imports: Python must compile nothing from source, and
every .pyc must carry Pyodide's magic number, be hash-based unchecked and match its source's hash.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from hooks.widgets import build, bytecode, runtime_assets

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="needs Node (as the build does)")


def test_archive_carries_bytecode_for_every_module():
    names = set(zipfile.ZipFile(io.BytesIO(build.archive_bytes())).namelist())
    sources = [n for n in names if n.startswith("widgets_py/") and n.endswith(".py")]
    for source in sources:
        folder, _, file = source.rpartition("/")
        assert f"{folder}/__pycache__/{file[:-3]}.cpython-312.pyc" in names, source
    assert "numpy/__pycache__/__init__.cpython-312.pyc" in names
    assert "numpy/random/__pycache__/__init__.cpython-312.pyc" in names


def test_pyodide_imports_numpy_and_widgets_from_the_archive_bytecode(tmp_path):
    archive = tmp_path / "widgets.zip"
    archive.write_bytes(build.archive_bytes())
    proc = subprocess.run(["node", str(ROOT / "tests" / "bytecode_check.mjs"), str(runtime_assets.CACHE_DIR),
                           str(archive)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["problems"] == []
    assert report["compiled"] == []  # nothing compiled from source while importing
    assert "numpy.random" in report["imported"] and "widgets_py.api" in report["imported"]
    assert report["numpy_cached"].endswith("numpy/__pycache__/__init__.cpython-312.pyc")


def test_bytecode_is_cached_by_content(tmp_path):
    sources = [("widgets_py/__init__.py", b"X = 1\n")]
    first = bytecode.bytecode(sources, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.zip"))) == 1
    assert bytecode.bytecode(sources, cache_dir=tmp_path) == first  # from the cache
    changed = bytecode.bytecode([("widgets_py/__init__.py", b"X = 2\n")], cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.zip"))) == 2
    assert dict(changed)["widgets_py/__pycache__/__init__.cpython-312.pyc"] != dict(first)[
        "widgets_py/__pycache__/__init__.cpython-312.pyc"]



def test_old_cache_entries_are_dropped(tmp_path):
    for age in range(bytecode.KEEP_ENTRIES + 2):
        old = tmp_path / f"old{age}.zip"
        old.write_bytes(b"")
        os.utime(old, (1_000_000 + age, 1_000_000 + age))
    bytecode.bytecode([("widgets_py/__init__.py", b"Z = 1\n")], cache_dir=tmp_path)
    kept = sorted(p.name for p in tmp_path.glob("*.zip"))
    assert len(kept) == bytecode.KEEP_ENTRIES and "old0.zip" not in kept and f"old{bytecode.KEEP_ENTRIES + 1}.zip" in kept


def test_a_syntax_error_is_one_line_naming_the_file(tmp_path):
    with pytest.raises(bytecode.BytecodeError) as err:
        bytecode.bytecode([("widgets_py/broken.py", b"def f(:\n")], cache_dir=tmp_path)
    message = str(err.value)
    assert "\n" not in message and "widgets_py/broken.py" in message and "SyntaxError" in message


def test_missing_node_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(bytecode.shutil, "which", lambda name: None)
    with pytest.raises(bytecode.BytecodeError, match="^node not found"):
        bytecode.bytecode([("widgets_py/__init__.py", b"Y = 3\n")], cache_dir=tmp_path)
