"""A notebook saved with the workbench reads without a kernel: executed by a real kernel (nbclient) and
converted by nbconvert to HTML, it shows the graph picture and the last proposal's diff."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from trace_workbench.testing import ChatServer

from .conftest import fallback_svg, reply


@pytest.fixture
def chat_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChatServer:
    with ChatServer() as server:
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("TRACE_WORKBENCH_HISTORY", str(tmp_path / "history.sqlite"))
        for name in ("TRACE_WORKBENCH_REPLAY", "TRACE_WORKBENCH_RECORD", "TRACE_WORKBENCH_CACHE"):
            monkeypatch.delenv(name, raising=False)
        yield server


def test_nbconvert_html_shows_the_graph_and_the_last_diff(chat_env: ChatServer, tmp_path: Path) -> None:
    chat_env.add_replies(reply({"prompt0": "Write a haiku about the sea"}))
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(text) for text in (
        "%load_ext trace_workbench",
        '%%trace --train prompt --name poem\nprompt = "Write a poem"\nprompt + ", please"',
        "%trace_feedback I wanted a haiku about the sea",
        "%trace_propose",
    )])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    # Saved as JupyterLab saves by default: without the widgets' state (nbconvert then uses the fallback).
    NotebookClient(notebook, timeout=120, store_widget_state=False,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(path, as_version=4))
    assert "trace-workbench-fallback" in body and "Trace · cell poem" in body
    picture = body[body.index("trace-workbench-fallback"):]
    assert '<img alt="the graph of cell poem"' in picture and "<svg" not in picture  # the sanitizer keeps it
    assert "<svg" in fallback_svg(picture) and "prompt:0" in fallback_svg(picture)  # the graph, with the parameter
    assert "-Write a poem" in picture and "+Write a haiku about the sea" in picture  # the proposal's diff
    assert os.environ["OPENAI_API_KEY"] not in body
