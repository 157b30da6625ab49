"""What a packager gets: the wheel and the sdist built from this tree (offline, with setuptools' own build
backend), their metadata, the JupyterLab extension where JupyterLab finds it, and extras as people install."""

from __future__ import annotations

import email
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import trace_workbench

ROOT = Path(__file__).resolve().parents[1]
BUILD = ("import sys, setuptools.build_meta as b; "
         "print(getattr(b, 'build_' + sys.argv[1])(sys.argv[2]))")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    for kind in ("sdist", "wheel"):
        subprocess.run([sys.executable, "-c", BUILD, kind, str(out)], cwd=ROOT, check=True, capture_output=True,
                       timeout=300)
    return out


def test_the_wheel_has_the_license_one_version_and_the_extension(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = email.message_from_bytes(archive.read(next(n for n in names if n.endswith("/METADATA"))))
    assert metadata["License-Expression"] == "MIT" and any(n.endswith("licenses/LICENSE") for n in names)
    assert metadata["Version"] == trace_workbench.__version__
    share = f"trace_workbench-{trace_workbench.__version__}.data/data/share/jupyter/labextensions/trace-workbench/"
    shipped = sorted(n[len(share):] for n in names if n.startswith(share))
    expected = sorted(str(p.relative_to(ROOT / "trace_workbench" / "labextension"))
                      for p in (ROOT / "trace_workbench" / "labextension").rglob("*") if p.is_file())
    assert shipped == expected and "install.json" in shipped
    requires = metadata.get_all("Requires-Dist")
    widget = [r for r in requires if 'extra == "widget"' in r]
    assert any(r.startswith("anywidget") for r in widget)
    assert not any(r.startswith(("jupyterlab", "matplotlib")) for r in widget)  # no server, no plots
    assert set(metadata.get_all("Provides-Extra")) >= {"widget", "export", "notebooks", "jupyter", "local", "dev"}


def test_the_sdist_holds_the_tests_the_js_sources_and_the_notebooks(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("LICENSE", "js/src/index.js", "js/src/loader.js", "js/build.mjs", "js/package-lock.json",
                   "tests/jupyter/test_cell_sync.py", "notebooks/01_quickstart.ipynb",
                   "notebooks/replies/01_quickstart.jsonl", "scripts/test.sh"):
        assert needed in names, needed
    assert not any("node_modules" in name or "__pycache__" in name for name in names)
