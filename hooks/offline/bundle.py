"""The reader-side scripts as classic bundles, so they also run from ``file://``.

Browsers refuse ES-module scripts on pages opened from disk, so the sources in ``overrides/`` (small ES
modules) are bundled at build time by esbuild (npm, pinned) into one classic IIFE script per entry
module, named by a hash of its content. esbuild follows imports, so a module imported (statically or
with ``import()``) from an entry is included without further configuration. ``import.meta`` does not
exist in a classic script: the build fails on it, and sources locate files with
``overrides/assets/course/assets.js`` instead.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OVERRIDES = ROOT / "overrides"
ESBUILD = ROOT / "node_modules" / ".bin" / "esbuild"
BUNDLE_DIR = "assets/bundles"  # under the site root; assets.js assumes bundles sit one level below assets/
TARGET = "es2020"


class BundleError(RuntimeError):
    """One line naming the entry and what esbuild said."""


@dataclass(frozen=True)
class Bundle:
    entry: str  # the entry module, relative to overrides/ (e.g. assets/course/course.js)
    path: str  # where the bundle goes, relative to the site root
    code: bytes
    sources: tuple[str, ...] = ()  # overrides/ files it contains, relative to overrides/


def bundle(entry: str, overrides: Path = OVERRIDES) -> Bundle:
    """One entry module and everything it imports as a minified classic script."""
    source = overrides / entry
    if not source.is_file():
        raise BundleError(f"{source}: entry script not found")
    if not ESBUILD.exists():
        raise BundleError(f"{ESBUILD} not found: run 'make install' (npm ci)")
    with tempfile.TemporaryDirectory(prefix="course-bundle-") as tmp:
        out, meta = Path(tmp) / "out.js", Path(tmp) / "meta.json"
        proc = subprocess.run(
            [str(ESBUILD), str(source), "--bundle", "--format=iife", "--minify", f"--target={TARGET}",
             "--charset=utf8", "--log-level=error", "--log-override:empty-import-meta=error",
             f"--outfile={out}", f"--metafile={meta}"],
            cwd=ROOT, capture_output=True,
        )
        if proc.returncode != 0:
            lines = [ln.strip() for ln in proc.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
            raise BundleError(f"{entry}: " + " ".join(lines[:3]))
        code = out.read_bytes()
        inputs = json.loads(meta.read_text(encoding="utf-8"))["inputs"]
    # the overrides/ files now inside the bundle (relative to overrides/), so the site need not ship them
    sources = sorted(
        path.relative_to(overrides).as_posix()
        for path in ((ROOT / name).resolve() for name in inputs)
        if path.is_relative_to(overrides.resolve())
    )
    digest = hashlib.sha256(code).hexdigest()[:12]
    return Bundle(entry=entry, path=f"{BUNDLE_DIR}/{Path(entry).stem}.{digest}.js", code=code,
                  sources=tuple(sources))


def write_bundles(site_dir: Path, bundles: list[Bundle]) -> None:
    """Write the bundles into the site; bundles of earlier builds in that folder are removed."""
    folder = Path(site_dir) / BUNDLE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    keep = {Path(b.path).name for b in bundles}
    for old in folder.glob("*.js"):
        if old.name not in keep:
            old.unlink()
    for b in bundles:
        (Path(site_dir) / b.path).write_bytes(b.code)
        for source in b.sources:  # the theme copied the module sources too; pages use the bundles only
            (Path(site_dir) / source).unlink(missing_ok=True)
