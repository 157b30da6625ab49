"""The widget's history in real JupyterLab and Chromium: each step lists the values before and after it,
either can be restored ("Restore values before" reaches the values from before the first step), "Undo last"
takes back the last applied step, and the score chart has axes, tick labels and titles."""

from __future__ import annotations

import json
from typing import Any

from .conftest import PROPOSED, Lab, cell_output, notebook, only_local_requests, open_notebook, run_all, run_cell

CELL = '%%trace --train prompt --name story\nprompt = "Write a poem"\nprompt + ", please"'


def prompt_is(page: Any, text: str) -> None:
    """Run the print cell and wait for its output to say the prompt is `text`."""
    run_cell(page, 2)
    cell_output(page, 2).locator(f"text=PROMPT={text}").wait_for()


def test_history_undo_and_restore_before_or_after(page: Any, lab: Lab) -> None:
    (lab.root / "history-widget.ipynb").write_text(json.dumps(notebook(
        "%load_ext trace_workbench\n%trace_config history=history-widget.sqlite", CELL, 'print("PROMPT=" + prompt)')))
    open_notebook(page, lab, "history-widget.ipynb")
    run_all(page)
    widget = page.locator(".tw-root")
    widget.wait_for(timeout=90_000)
    widget.locator(".tw-output code:has-text('Write a poem, please')").wait_for()
    cell_output(page, 2).locator("text=PROMPT=Write a poem").wait_for()
    widget.locator(".tw-feedback").fill("I wanted a haiku about the sea")
    widget.locator(".tw-score").fill("0.3")
    widget.locator(".tw-propose").click()
    widget.locator(".tw-accept-all").click(timeout=60_000)
    widget.locator(".tw-accepted pre:has-text('Write a haiku about the sea')").wait_for()
    prompt_is(page, PROPOSED)

    history = widget.locator(".tw-history")
    history.locator("summary").click()
    step = history.locator(".tw-step-accepted")
    step.wait_for()
    assert history.locator("summary").inner_text() == "History (1 step)"
    assert step.locator(".tw-step-before").inner_text() == "Write a poem"
    assert step.locator(".tw-step-after").inner_text() == PROPOSED

    plot = history.locator(".tw-score-plot")
    assert plot.locator(".tw-axis").count() == 2
    assert sorted(plot.locator(".tw-axis-title").all_text_contents()) == ["score", "step"]
    labels = plot.locator(".tw-tick-label").all_text_contents()
    step_id = step.get_attribute("data-step")
    assert f"#{step_id}" in labels and "0.3" in labels

    step.locator(".tw-restore-before").click()  # the values from before the first step
    widget.locator(".tw-accepted:has-text('Now in effect') pre:has-text('Write a poem')").wait_for()
    prompt_is(page, "Write a poem")
    restored = history.locator(".tw-step-restored")
    restored.wait_for()
    assert "values before step" in restored.inner_text()

    history.locator(".tw-undo").click()  # takes back the restore
    history.locator(".tw-step-undone").wait_for()
    prompt_is(page, PROPOSED)

    step.locator(".tw-restore-before").click()
    history.locator(".tw-step-restored").nth(1).wait_for()
    step.locator(".tw-restore-after").click()
    history.locator(".tw-step-restored").nth(2).wait_for()
    prompt_is(page, PROPOSED)
    assert widget.locator(".tw-error").inner_text() == ""
    only_local_requests(page, lab)
