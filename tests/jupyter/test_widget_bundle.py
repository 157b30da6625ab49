"""The shipped front-end bundle (trace_workbench/jupyter/static/) is exactly what js/ builds."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "js"
STATIC = ROOT / "trace_workbench" / "jupyter" / "static"


def test_shipped_bundle_matches_its_sources(tmp_path: Path) -> None:
    assert (JS / "node_modules" / "esbuild").is_dir(), "run `npm ci` in js/ first (scripts/test.sh does)"
    subprocess.run(["node", "build.mjs", "--outdir", str(tmp_path)], cwd=JS, check=True, timeout=120)
    for name in ("widget.js", "widget.css"):
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), (
            f"static/{name} is stale: run `npm run build` in js/ and commit the result")


def test_bundle_has_everything_and_reaches_no_network() -> None:
    bundle = (STATIC / "widget.js").read_text(encoding="utf-8")
    assert "cytoscape" in bundle and "dagre" in bundle  # the graph libraries are bundled in
    for marker in ("https://cdn", "unpkg.com", "esm.sh", "jsdelivr", "fetch(\"http"):
        assert marker not in bundle
