"""Build-side offline pieces: the classic-script bundles and the downloadable archive."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from hooks.offline import bundle, package


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_bundle_follows_imports_including_new_modules(tmp_path):
    write(tmp_path / "assets/course/course.js", 'import { hello } from "./added.js";\nwindow.__greeting = hello();\n')
    write(tmp_path / "assets/course/added.js", 'export function hello() { return "from a module added later"; }\n')
    built = bundle.bundle("assets/course/course.js", overrides=tmp_path)
    code = built.code.decode()
    assert "from a module added later" in code
    assert "import " not in code and "export " not in code  # a classic script
    assert built.sources == ("assets/course/added.js", "assets/course/course.js")
    assert built.path.startswith("assets/bundles/course.") and built.path.endswith(".js")
    # the name follows the content
    write(tmp_path / "assets/course/added.js", 'export function hello() { return "changed"; }\n')
    assert bundle.bundle("assets/course/course.js", overrides=tmp_path).path != built.path


def test_bundle_refuses_import_meta_with_the_file_named(tmp_path):
    write(tmp_path / "assets/x.js", 'console.log(new URL("./a", import.meta.url));\n')
    with pytest.raises(bundle.BundleError, match=r"assets/x\.js: .*import\.meta"):
        bundle.bundle("assets/x.js", overrides=tmp_path)
    with pytest.raises(bundle.BundleError, match="entry script not found"):
        bundle.bundle("assets/missing.js", overrides=tmp_path)


def test_write_bundles_replaces_old_ones_and_drops_bundled_sources(tmp_path):
    site = tmp_path / "site"
    write(site / bundle.BUNDLE_DIR / "course.000000000000.js", "old")
    write(site / "assets/course/course.js", "source copied by the theme")
    b = bundle.Bundle(entry="assets/course/course.js", path=f"{bundle.BUNDLE_DIR}/course.111111111111.js",
                      code=b"new", sources=("assets/course/course.js",))
    bundle.write_bundles(site, [b])
    assert [p.name for p in (site / bundle.BUNDLE_DIR).iterdir()] == ["course.111111111111.js"]
    assert not (site / "assets/course/course.js").exists()


def test_offline_zip_holds_the_site_and_a_readme(tmp_path):
    site = tmp_path / "site"
    write(site / "index.html", "<h1>home</h1>")
    write(site / "lessons/a/index.html", "<h1>a</h1>")
    out = tmp_path / "dist" / "course.zip"
    assert package.main([str(site), str(out)]) == 0
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        readme = zf.read("README.txt").decode()
    assert names == ["README.txt", f"{package.FOLDER}/index.html", f"{package.FOLDER}/lessons/a/index.html"]
    assert f"python3 -m http.server 8000 --directory {package.FOLDER}" in readme
    first = out.read_bytes()
    assert package.main([str(site), str(out)]) == 0 and out.read_bytes() == first  # reproducible


def test_offline_zip_without_a_site_says_so(tmp_path, capsys):
    assert package.main([str(tmp_path / "nothing"), str(tmp_path / "x.zip")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no index.html" in err and "make build" in err
    assert not (tmp_path / "x.zip").exists()


def test_precompressed_twins_only_where_they_shrink(tmp_path):
    from hooks.offline import precompress

    site = tmp_path / "site"
    write(site / "index.html", "<p>course</p>" * 200)
    (site / "assets").mkdir()
    (site / "assets/random.zip").write_bytes(__import__("os").urandom(4096))  # random bytes do not shrink
    done = precompress.precompress(site, cache=tmp_path / "cache")
    assert done == ["index.html"]
    import brotli, gzip
    assert brotli.decompress((site / "index.html.br").read_bytes()) == (site / "index.html").read_bytes()
    assert gzip.decompress((site / "index.html.gz").read_bytes()) == (site / "index.html").read_bytes()
    assert not (site / "assets/random.zip.br").exists()


def test_service_worker_manifest_versions_every_file(tmp_path):
    from hooks.offline import service_worker

    site = tmp_path / "site"
    write(site / "index.html", "home")
    write(site / "lessons/a/index.html", "a")
    write(site / "assets/pyodide/pyodide.mjs", "runtime")
    write(site / "assets/pyodide/pyodide.mjs.br", "twin")
    first = service_worker.build_manifest(site)
    assert set(first["files"]) == {"", "lessons/a/", "assets/pyodide/pyodide.mjs"}
    assert first["runtime"] == ["assets/pyodide/pyodide.mjs"] and first["runtime_bytes"] == 7
    write(site / "lessons/a/index.html", "a, changed")
    second = service_worker.write_service_worker(site)
    assert second["version"] != first["version"]
    assert (site / "sw.js").read_text().startswith("const BUILD = {")
