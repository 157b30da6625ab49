"""A part whose extra is missing fails with an ImportError that says which extra to install."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trace_workbench.trace import node


def test_export_without_its_extra_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from trace_workbench.export import export_html, to_networkx

    for name in ("pyvis", "pyvis.network", "networkx"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    with pytest.raises(ImportError, match=r'pip install "trace-workbench\[export\]"'):
        export_html(node(1), tmp_path / "graph.html")
    with pytest.raises(ImportError, match=r'pip install "trace-workbench\[export\]"'):
        to_networkx(node(1))


def test_the_widget_without_its_extra_names_it() -> None:
    code = ("import sys; sys.modules['anywidget'] = None\n"
            "from trace_workbench.jupyter import show\n"
            "try:\n    show()\nexcept ImportError as e:\n    print(e)")
    printed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert 'pip install "trace-workbench[widget]"' in printed
