"""The shipped front-end bundles (the widget in trace_workbench/jupyter/static/, the JupyterLab extension in
trace_workbench/labextension/) are exactly what js/ builds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "js"
PACKAGE = ROOT / "trace_workbench"
STATIC = PACKAGE / "jupyter" / "static"
BUNDLES = ("jupyter/static/widget.js", "jupyter/static/widget.css", "labextension/static/remoteEntry.js")


def test_shipped_bundle_matches_its_sources(tmp_path: Path) -> None:
    assert (JS / "node_modules" / "esbuild").is_dir(), "run `npm ci` in js/ first (scripts/test.sh does)"
    subprocess.run(["node", "build.mjs", "--outdir", str(tmp_path)], cwd=JS, check=True, timeout=120)
    for name in BUNDLES:
        assert (tmp_path / name).read_bytes() == (PACKAGE / name).read_bytes(), (
            f"trace_workbench/{name} is stale: run `npm run build` in js/ and commit the result")


def test_bundle_has_everything_and_reaches_no_network() -> None:
    bundle = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert "cytoscape" in bundle and "dagre" in bundle  # the graph libraries are bundled in
    for name in BUNDLES:
        text = (PACKAGE / name).read_text(encoding="utf-8")
        for marker in ("https://cdn", "unpkg.com", "esm.sh", "jsdelivr", "fetch(\"http"):
            assert marker not in text, name


def test_labextension_is_declared_where_jupyterlab_loads_it() -> None:
    package = json.loads((PACKAGE / "labextension" / "package.json").read_text(encoding="utf-8"))
    build = package["jupyterlab"]["_build"]
    assert (PACKAGE / "labextension" / build["load"]).is_file()
    bundle = (PACKAGE / "labextension" / build["load"]).read_text(encoding="utf-8")
    assert f'_JUPYTERLAB["{package["name"]}"]' in bundle  # the container JupyterLab looks up by name
    import trace_workbench

    assert trace_workbench._jupyter_labextension_paths() == [{"src": "labextension", "dest": package["name"]}]
