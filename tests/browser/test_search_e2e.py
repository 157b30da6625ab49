"""The search view in real JupyterLab and Chromium: %trace_search shows the candidates of a search against
the scripted model server; clicking a candidate shows its diff, Prune and Promote steer it (the kernel's
status table says so), and Resume goes on from the promoted candidate."""

from __future__ import annotations

import json
from typing import Any

from .conftest import (
    ARTIFACTS,
    PROPOSED,
    Lab,
    cell_output,
    notebook,
    only_local_requests,
    open_notebook,
    run_all,
    run_cell,
)

SETUP = """from trace_workbench.optimizers import OptoPrime
from trace_workbench.trace import node
prompt = node("Write a poem", trainable=True, name="prompt")
opt = OptoPrime([prompt])
DATA = [(", please", "haiku"), (" now", "sea")]
def program(suffix):
    return prompt + suffix
def feedback(out, wanted):
    return f"The text should mention {wanted}", float(wanted in out)"""
START = ("%trace_search start program DATA feedback --optimizer opt --strategy beam --beam-width 1 --rounds 1 "
         "--ucb-rollouts 0 --name watch")


def row(widget: Any, number: int) -> Any:
    return widget.locator(f".tw-search-row[data-id='{number}']")


def test_search_view_shows_candidates_and_steers_them(page: Any, lab: Lab) -> None:
    (lab.root / "search.ipynb").write_text(json.dumps(notebook(
        "%load_ext trace_workbench\n%trace_config history=search-history.sqlite", SETUP, START,
        "%trace_search status")))
    open_notebook(page, lab, "search.ipynb")
    run_all(page)
    widget = page.locator(".tw-search")
    widget.wait_for(timeout=90_000)
    page.wait_for_selector(".tw-search .tw-search-status:has-text('finished')", timeout=90_000)
    assert widget.locator(".tw-search-row").count() == 3
    assert widget.locator(".tw-search-node").count() == 3
    assert "best" in row(widget, 1).inner_text()

    row(widget, 1).click()
    diff = widget.locator(".tw-change[data-name='prompt0'] .tw-diff")
    diff.wait_for()
    assert "Write a poem" in diff.locator("td").first.inner_text()
    assert PROPOSED in diff.inner_text()

    row(widget, 2).locator(".tw-search-prune").click()
    page.wait_for_selector(".tw-search-row[data-id='2'][data-status='pruned']")
    row(widget, 0).locator(".tw-search-promote").click()
    page.wait_for_function("() => document.querySelector(\".tw-search-row[data-id='0']\")?.textContent"
                           ".includes('promoted')")
    ARTIFACTS.mkdir(exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "search-view.png"))

    run_cell(page, 3)
    status = cell_output(page, 3)
    status.locator("text=pruned").wait_for()
    text = status.inner_text()
    assert "promoted" in text and "#2" in text

    widget.locator(".tw-search-resume").click()
    page.wait_for_selector(".tw-search-row[data-id='3']", timeout=90_000)
    page.wait_for_selector(".tw-search .tw-search-status:has-text('finished')", timeout=90_000)
    assert row(widget, 3).locator("td").nth(1).inner_text() == "#0"  # the promoted start was expanded again
    assert row(widget, 2).get_attribute("data-status") == "pruned"
    only_local_requests(page, lab)
