"""End to end in real JupyterLab and Chromium: run a %%trace cell, watch the graph appear, give
feedback, Propose against the local model server, see the side-by-side diff, Accept, and check in the
kernel that the parameter changed; the model server being down shows a readable inline error.
Screenshots (light and dark theme) are saved in tests/browser/artifacts/."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.jupyter.conftest import fallback_svg
from trace_workbench.testing import ChatServer

from .conftest import (
    ARTIFACTS,
    PROPOSED,
    Lab,
    cell_output,
    only_local_requests,
    open_notebook,
    run_all,
    run_cell,
    set_theme,
)


@pytest.mark.front_ends("jupyterlab", "notebook7")
def test_feedback_propose_accept_in_jupyterlab(page: Any, lab: Lab) -> None:
    open_notebook(page, lab, "workbench.ipynb")
    run_all(page)
    widget = page.locator(".tw-root")
    widget.wait_for(timeout=90_000)
    page.wait_for_function("() => Number(document.querySelector('.tw-root')?.dataset.nodes) >= 3")
    page.wait_for_selector(".tw-output code:has-text('Write a poem, please')")
    page.wait_for_selector(".jp-Notebook .jp-Cell >> nth=2 >> .jp-OutputArea:has-text('PROMPT=Write a poem')")

    widget.locator(".tw-feedback").fill("I wanted a haiku about the sea")
    widget.locator(".tw-score").fill("0.3")
    widget.locator(".tw-propose").click()
    diff = widget.locator(".tw-change[data-name='prompt'] .tw-diff")
    diff.wait_for(timeout=60_000)
    assert "Write a poem" in diff.locator("td").first.inner_text()
    assert "haiku" in " ".join(diff.locator(".tw-word-add").all_inner_texts())
    assert "haiku about the sea" in widget.locator(".tw-reasoning").first.inner_text()
    assert "tokens" in widget.locator(".tw-usage").inner_text()
    widget.screenshot(path=str(lab.artifact("workbench-light.png")))
    set_theme(page, "JupyterLab Dark", light=False)
    widget.screenshot(path=str(lab.artifact("workbench-dark.png")))
    set_theme(page, "JupyterLab Light", light=True)

    widget.locator(".tw-accept-all").click()
    widget.locator(".tw-accepted pre:has-text('Write a haiku about the sea')").wait_for()
    run_cell(page, 2)
    cell_output(page, 2).locator(f"text=PROMPT={PROPOSED}").wait_for()
    widget.locator(".tw-history summary").click()
    widget.locator(".tw-step-accepted").wait_for()
    assert widget.locator(".tw-score-plot").count() == 1
    widget.locator(".tw-rerun").click()
    page.wait_for_selector(f".tw-output code:has-text('{PROPOSED}, please')")
    only_local_requests(page, lab)

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    saved = json.loads((lab.root / "workbench.ipynb").read_text())
    fallback = ["".join(o["data"]["text/html"]) for o in saved["cells"][1]["outputs"]
                if "text/html" in o.get("data", {})]
    picture = fallback_svg(fallback[0]) if fallback else ""
    assert "<svg" in picture and "prompt:0" in picture  # readable without a kernel
    assert f"+{PROPOSED}" in fallback[0] and "-Write a poem" in fallback[0]  # the last proposal's diff


def test_model_server_down_shows_a_readable_error(page: Any, lab: Lab) -> None:
    open_notebook(page, lab, "down.ipynb")
    run_all(page)
    widget = page.locator(".tw-root")
    widget.wait_for(timeout=90_000)
    page.wait_for_selector(".tw-output code:has-text('CALM')")
    widget.locator(".tw-feedback").fill("friendlier")
    widget.locator(".tw-feedback").press("Control+Enter")
    error = widget.locator(".tw-error:has-text('Could not reach the model')")
    error.wait_for(timeout=60_000)
    assert "Check that the server is running" in error.inner_text()
    assert widget.locator(".tw-propose").is_enabled()
    only_local_requests(page, lab)


def test_a_big_graph_stays_usable(page: Any, lab: Lab) -> None:
    open_notebook(page, lab, "big.ipynb")
    run_all(page)
    widget = page.locator(".tw-root")
    widget.wait_for(timeout=90_000)
    page.wait_for_selector(".tw-output code:has-text('600')")
    page.wait_for_function("() => parseInt(document.querySelector('.tw-count')?.textContent) >= 601")
    # Big graphs open with their repeats collapsed; the same button expands them, by mouse or keyboard.
    page.wait_for_function("() => Number(document.querySelector('.tw-root')?.dataset.nodes) < 10")
    assert widget.locator(".tw-collapse").get_attribute("aria-pressed") == "true"
    widget.locator(".tw-collapse").click()
    page.wait_for_function("() => Number(document.querySelector('.tw-root')?.dataset.nodes) >= 601")
    assert widget.locator(".tw-collapse").get_attribute("aria-pressed") == "false"
    widget.locator(".tw-collapse").press("Enter")
    page.wait_for_function("() => Number(document.querySelector('.tw-root')?.dataset.nodes) < 10")
    widget.locator(".tw-collapse").press("Enter")
    page.wait_for_function("() => Number(document.querySelector('.tw-root')?.dataset.nodes) >= 601")
    widget.locator(".tw-canvas").focus()
    page.keyboard.press("n")
    assert widget.locator(".tw-node-title").inner_text() != ""
    widget.locator(".tw-find").fill("a:0")
    widget.locator(".tw-find").press("Enter")
    widget.locator(".tw-node-title:has-text('a:0')").wait_for()
    assert "trainable" in widget.locator(".tw-details").inner_text()


def test_choose_among_candidates_in_jupyterlab(page: Any, lab: Lab, chat_server: ChatServer) -> None:
    open_notebook(page, lab, "candidates.ipynb")
    run_all(page)
    widget = page.locator(".tw-root")
    widget.wait_for(timeout=90_000)
    page.wait_for_selector(".tw-output code:has-text('calm!')")
    chat_server.add_replies(*(json.dumps({"reasoning": f"Option {tone}.", "answer": "", "suggestion": {"tone0": tone}})
                              for tone in ("cheerful", "solemn", "curious")))
    widget.locator(".tw-feedback").fill("more feeling")
    widget.locator(".tw-candidates").fill("3")
    widget.locator(".tw-propose").click()
    columns = widget.locator(".tw-candidate-column")
    columns.nth(2).wait_for(timeout=60_000)
    assert columns.count() == 3  # side by side: every candidate visible at once, each with its own diff
    heads = [columns.nth(i).locator(".tw-candidate-head").inner_text() for i in range(3)]
    assert heads == ["Candidate 0", "Candidate 1", "Candidate 2 (default)"]
    boxes = [columns.nth(i).bounding_box() for i in range(3)]
    assert boxes[0]["y"] == boxes[1]["y"] == boxes[2]["y"] and boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]
    for i, tone in enumerate(("cheerful", "solemn", "curious")):
        assert tone in columns.nth(i).locator(".tw-word-add").inner_text()
        assert f"Option {tone}." in columns.nth(i).locator(".tw-reasoning").inner_text()
    assert "tw-candidate-default" in columns.nth(2).get_attribute("class")
    widget.screenshot(path=str(ARTIFACTS / "workbench-candidates.png"))
    columns.nth(0).locator(".tw-accept-all").click()
    widget.locator(".tw-accepted pre:has-text('cheerful')").wait_for()
    run_cell(page, 2)
    cell_output(page, 2).locator("text=TONE=cheerful").wait_for()
    widget.locator(".tw-history summary").click()
    widget.locator(".tw-step-accepted").wait_for()
    only_local_requests(page, lab)
