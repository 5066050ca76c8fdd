"""``make offline``: the built site as one .zip to download and open from disk.

    python -m hooks.offline.package SITE_DIR OUT.zip

The archive holds one folder (``scaling-ai-course/``) with the site and a README.txt saying how to open
it and how to serve it for live simulation. Entries are sorted and dated from a fixed time, so the same
site gives the same archive.
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

FOLDER = "scaling-ai-course"
_DATE = (2020, 1, 1, 0, 0, 0)
README = f"""Scaling AI Systems: the course, to read from disk
====================================================

Open {FOLDER}/index.html in a web browser (double-click it). Lessons, quizzes, flashcards, notes and
search all work from the files, without a network; progress is kept in this browser.

The simulators show the results computed when the course was built. To move their controls and
simulate live, the folder must be served over HTTP, because browsers do not run the Python worker for
pages opened from disk. With Python 3 installed, run in a terminal, from the folder that holds
{FOLDER}/:

    python3 -m http.server 8000 --directory {FOLDER}

and open http://localhost:8000/ . (Each widget also shows this command with the folder's full path.)
Everything is served from that folder: nothing is downloaded from anywhere else.
"""


class PackageError(ValueError):
    """One line naming what is wrong."""


def write_zip(site: Path, out: Path) -> int:
    """Write the archive; returns the number of site files in it."""
    site = Path(site)
    if not (site / "index.html").is_file():
        raise PackageError(f"{site}: no index.html here; build the site first (make build)")
    files = sorted(p for p in site.rglob("*") if p.is_file())
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, data in [("README.txt", README.encode())] + [
            (f"{FOLDER}/{p.relative_to(site).as_posix()}", None) for p in files
        ]:
            info = zipfile.ZipInfo(name, date_time=_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data if data is not None else (site / name[len(FOLDER) + 1:]).read_bytes())
    tmp.replace(out)  # no half-written archive under the final name
    return len(files)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m hooks.offline.package SITE_DIR OUT.zip", file=sys.stderr)
        return 2
    try:
        count = write_zip(Path(args[0]), Path(args[1]))
    except (PackageError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"{args[1]}: {count} files of {args[0]} in {FOLDER}/, with README.txt")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
