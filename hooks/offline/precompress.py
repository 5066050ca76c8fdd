"""``make hosting``: brotli (``.br``) and gzip (``.gz``) twins of the big runtime and script files, for
static servers that serve a precompressed file when the browser accepts it (nginx ``gzip_static`` /
``brotli_static``, Caddy ``precompressed``, many CDNs).

    python -m hooks.offline.precompress SITE_DIR

Only files that shrink by at least 10 % get twins (wheels and zips are compressed already). Results
are cached under ``.cache/precompressed`` by content hash: brotli at its best level is slow.
"""

from __future__ import annotations

import gzip
import hashlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "precompressed"
SUFFIXES = (".js", ".mjs", ".wasm", ".json", ".css", ".html", ".svg", ".xml", ".zip")
MIN_BYTES = 1024
KEEP_RATIO = 0.9


def _compressed(data: bytes, kind: str, cache: Path) -> bytes:
    import brotli

    path = cache / f"{hashlib.sha256(data).hexdigest()}.{kind}"
    if path.exists():
        return path.read_bytes()
    out = brotli.compress(data, quality=11) if kind == "br" else gzip.compress(data, compresslevel=9, mtime=0)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{kind}.tmp")
    tmp.write_bytes(out)
    tmp.replace(path)
    return out


def precompress(site_dir: Path, cache: Path = CACHE) -> list[str]:
    """Write the twins; returns the site paths that got them."""
    site = Path(site_dir)
    done = []
    for path in sorted(p for p in site.rglob("*") if p.is_file() and p.suffix in SUFFIXES):
        data = path.read_bytes()
        if len(data) < MIN_BYTES:
            continue
        for kind in ("br", "gz"):
            out = _compressed(data, kind, cache)
            twin = path.with_name(f"{path.name}.{kind}")
            if len(out) <= KEEP_RATIO * len(data):
                twin.write_bytes(out)
                if kind == "br":
                    done.append(path.relative_to(site).as_posix())
            else:
                twin.unlink(missing_ok=True)
    return done


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not (Path(args[0]) / "index.html").is_file():
        print("usage: python -m hooks.offline.precompress SITE_DIR (a built site: run make build)", file=sys.stderr)
        return 2
    done = precompress(Path(args[0]))
    print(f"{args[0]}: .br and .gz next to {len(done)} files")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
