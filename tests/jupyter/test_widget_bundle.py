"""The shipped front ends (the widget's loader and CSS in trace_workbench/jupyter/static/; the JupyterLab
extension and the widget's front end in trace_workbench/labextension/) are exactly what js/ builds, under
content-hashed names JupyterLab's packaging conventions expect, and the widget's state holds only the loader."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import trace_workbench

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "js"
PACKAGE = ROOT / "trace_workbench"
BUILT = ("jupyter/static", "labextension")


def _files(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for folder in BUILT
            for path in sorted((root / folder).rglob("*")) if path.is_file()}


def test_shipped_bundles_match_their_sources(tmp_path: Path) -> None:
    assert (JS / "node_modules" / "esbuild").is_dir(), "run `npm ci` in js/ first (scripts/test.sh does)"
    subprocess.run(["node", "build.mjs", "--outdir", str(tmp_path)], cwd=JS, check=True, timeout=120)
    built, shipped = _files(tmp_path), _files(PACKAGE)
    assert sorted(built) == sorted(shipped), "trace_workbench/ holds other bundles: run `npm run build` in js/"
    for name, content in built.items():
        assert shipped[name] == content, f"trace_workbench/{name} is stale: run `npm run build` in js/ and commit"


def test_bundles_have_everything_and_reach_no_network() -> None:
    (widget,) = (PACKAGE / "labextension" / "static").glob("widget.*.js")
    text = widget.read_text(encoding="utf-8")
    assert "cytoscape" in text and "dagre" in text  # the graph libraries are bundled in
    for name, content in _files(PACKAGE).items():
        for marker in (b"https://cdn", b"unpkg.com", b"esm.sh", b"jsdelivr", b'fetch("http'):
            assert marker not in content, name


def test_labextension_follows_jupyterlab_packaging() -> None:
    folder = PACKAGE / "labextension"
    package = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    assert package["version"] == trace_workbench.__version__  # the version has one place: the Python package
    load = package["jupyterlab"]["_build"]["load"]
    assert load.startswith("static/remoteEntry.") and load != "static/remoteEntry.js"  # content-hashed
    entry = (folder / load).read_text(encoding="utf-8")
    assert f'_JUPYTERLAB["{package["name"]}"]' in entry  # the container JupyterLab looks up by name
    install = json.loads((folder / "install.json").read_text(encoding="utf-8"))
    assert install["packageManager"] == "python" and install["packageName"] == "trace-workbench"
    assert trace_workbench._jupyter_labextension_paths() == [{"src": "labextension", "dest": package["name"]}]


def test_the_loader_names_the_shipped_front_end() -> None:
    from trace_workbench.jupyter.widget import WorkbenchWidget, front_end_message

    message = front_end_message()
    loader = (PACKAGE / "jupyter" / "static" / "loader.js").read_text(encoding="utf-8")
    assert f'"{message["file"]}"' in loader
    assert (PACKAGE / "labextension" / "static" / message["file"]).read_text(encoding="utf-8") == message["code"]
    assert len(str(WorkbenchWidget._esm)) < 3000  # the state carries the loader, not the 500 KB front end
