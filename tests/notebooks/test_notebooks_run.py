"""Every notebook under notebooks/ runs top to bottom in a fresh IPython shell, without a model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shell = InteractiveShell()
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    assert cells, f"{path.name} has no code cells"
    for i, cell in enumerate(cells):
        result = shell.run_cell("".join(cell["source"]), store_history=True)
        assert result.success, f"{path.name}, code cell {i}: {result.error_in_exec or result.error_before_exec}"
