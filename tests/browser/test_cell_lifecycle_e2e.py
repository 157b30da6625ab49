"""End to end in real JupyterLab and Notebook 7 with Chromium: two %%trace cells with the same --name both keep
their widget through Run All, and the widget's "Re-run the cell" runs the cell as the notebook's Run does (its
Out and execution count update) with the cell's own parameter drawn as this cell's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from trace_workbench.testing import ChatServer

from .conftest import KERNEL_IDLE, PROPOSED, Lab, cell_output, notebook, only_local_requests, open_notebook, run_all

SAME_NAME = '%%trace --train tone --name same\ntone = "calm"\ntone + " sea"'
RERUN = '%%trace --train prompt --name again\nprompt = "Write a poem"\nrequest = prompt + ", please"\nrequest'
EXECUTION_COUNT = "(index) => window.jupyterapp.shell.currentWidget.content.widgets[index].model.executionCount"


def console_errors(page: Any) -> list[str]:
    """Collect the page's console errors and uncaught exceptions from now on."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"{error.name}: {error.message}"))
    return errors


@pytest.mark.front_ends("jupyterlab", "notebook7")
def test_two_cells_with_the_same_name_both_keep_their_widget(page: Any, lab: Lab, chat_server: ChatServer) -> None:
    (lab.root / "same-name.ipynb").write_text(json.dumps(notebook(
        "%load_ext trace_workbench", SAME_NAME, 'print("between")', SAME_NAME)))
    errors = console_errors(page)
    open_notebook(page, lab, "same-name.ipynb")
    run_all(page)
    cell_output(page, 2).locator("text=between").wait_for(timeout=90_000)
    cell_output(page, 3).locator(".tw-output code:has-text('calm sea')").wait_for(timeout=90_000)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)  # every message of the run reached the page
    for index in (1, 3):
        widget = cell_output(page, index).locator(".tw-root")
        widget.wait_for()
        assert widget.is_visible()
        page.wait_for_function("(el) => Number(el.dataset.nodes) >= 3", arg=widget.element_handle())
        assert "calm sea" in widget.locator(".tw-output").inner_text()
        assert cell_output(page, index).locator(".jp-OutputArea-executeResult").inner_text().endswith("'calm sea'")
    assert not [e for e in errors if "NotFoundError" in e or "removeChild" in e], errors

    # Feedback given in the first cell's widget is for the label's latest run: both widgets show the proposal.
    chat_server.add_replies(json.dumps({"reasoning": "Warmer.", "answer": "", "suggestion": {"tone0": "warm"}}))
    first = cell_output(page, 1).locator(".tw-root")
    first.locator(".tw-feedback").fill("warmer")
    first.locator(".tw-propose").click()
    for index in (1, 3):
        cell_output(page, index).locator(".tw-change[data-name='tone'] .tw-diff").wait_for(timeout=60_000)
    only_local_requests(page, lab)


@pytest.mark.front_ends("jupyterlab", "notebook7")
def test_rerun_in_the_widget_updates_the_cells_out_and_number(page: Any, lab: Lab) -> None:
    (lab.root / "rerun.ipynb").write_text(json.dumps(notebook(
        "%load_ext trace_workbench\n%trace_config history=rerun-history.sqlite", RERUN)))
    open_notebook(page, lab, "rerun.ipynb")
    run_all(page)
    result = cell_output(page, 1).locator(".jp-OutputArea-executeResult")
    result.locator("text=Write a poem, please").wait_for(timeout=90_000)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    before = page.evaluate(EXECUTION_COUNT, 1)
    assert isinstance(before, int)

    widget = cell_output(page, 1).locator(".tw-root")
    widget.locator(".tw-feedback").fill("I wanted a haiku about the sea")
    widget.locator(".tw-propose").click()
    widget.locator(".tw-change[data-name='prompt'] .tw-diff").wait_for(timeout=60_000)
    widget.locator(".tw-accept-all").click()
    widget.locator(".tw-writeback-written").wait_for(timeout=30_000)
    widget.locator(".tw-rerun").click()

    result.locator(f"text={PROPOSED}, please").wait_for(timeout=60_000)  # the cell's own Out
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    after = page.evaluate(EXECUTION_COUNT, 1)
    assert isinstance(after, int) and after > before
    prompt = cell_output(page, 1).locator(".jp-OutputArea-executeResult .jp-OutputPrompt").inner_text()
    assert str(after) in prompt
    widget = cell_output(page, 1).locator(".tw-root")  # the run showed the cell's widget anew
    widget.locator(f".tw-output code:has-text('{PROPOSED}, please')").wait_for()
    assert widget.locator(".tw-error").inner_text() == ""
    widget.locator(".tw-find").fill("prompt:0")
    widget.locator(".tw-find").press("Enter")
    widget.locator(".tw-node-title:has-text('prompt:0')").wait_for()
    kind = widget.locator(".tw-details .tw-field").first.inner_text()
    assert "trainable" in kind and "from an earlier cell" not in kind
    only_local_requests(page, lab)
