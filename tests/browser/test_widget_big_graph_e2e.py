"""A 500-operation graph in real JupyterLab and Chromium: it opens readable (repeats collapsed, fitted at a
zoom whose labels are drawn), expanded it still opens readable around its output, and Find pans and zooms
to the node it finds."""

from __future__ import annotations

import json
from typing import Any

from .conftest import ARTIFACTS, Lab, notebook, open_notebook, run_all

CELL = "%%trace --train a --name big500\na = 1\nx = 0\nfor i in range(250):\n    x = x * 2 + a\nx"
READABLE_ZOOM = 0.7  # js/src/graph.js: node labels (10px) are drawn from 7px on
VIEWPORT = """() => {
  const cy = document.querySelector('.tw-canvas')._cyreg.cy;
  const selected = cy.$('node:selected');
  const at = selected.nonempty() ? selected.renderedPosition() : null;
  return { zoom: cy.zoom(), drawn: cy.nodes().length, width: cy.width(), height: cy.height(),
           selected: selected.nonempty() ? selected.id() : null, x: at && at.x, y: at && at.y };
}"""


def find(page: Any, widget: Any, name: str) -> dict[str, Any]:
    widget.locator(".tw-find").fill(name)
    widget.locator(".tw-find").press("Enter")
    widget.locator(f".tw-node-title:has-text('{name}')").wait_for()
    return page.evaluate(VIEWPORT)


def assert_centred(view: dict[str, Any]) -> None:
    assert view["selected"] is not None
    assert abs(view["x"] - view["width"] / 2) < 2 and abs(view["y"] - view["height"] / 2) < 2, view


def test_a_500_operation_graph_opens_readable_and_find_goes_to_the_node(page: Any, lab: Lab) -> None:
    (lab.root / "big500.ipynb").write_text(json.dumps(notebook("%load_ext trace_workbench", CELL)))
    open_notebook(page, lab, "big500.ipynb")
    run_all(page)
    widget = page.locator(".tw-root")
    widget.wait_for(timeout=90_000)
    widget.locator(".tw-output code").wait_for(timeout=90_000)
    page.wait_for_function("() => parseInt(document.querySelector('.tw-count')?.textContent) >= 500")
    page.wait_for_function("() => Number(document.querySelector('.tw-root')?.dataset.nodes) > 0")

    opened = page.evaluate(VIEWPORT)
    assert opened["drawn"] < 10  # a, 0, one "multiply" and one "add" group (their constants inside), the output
    assert opened["zoom"] >= READABLE_ZOOM
    assert widget.locator(".tw-collapse").get_attribute("aria-pressed") == "true"
    assert "repeats collapsed" in widget.locator(".tw-count").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "big-graph-collapsed.png"))

    assert_centred(find(page, widget, "a:0"))
    found = find(page, widget, "multiply:100")  # inside a group: the group is selected and centred
    assert found["selected"] == "group:multiply"
    assert_centred(found)

    widget.locator(".tw-collapse").click()
    page.wait_for_function("() => Number(document.querySelector('.tw-root')?.dataset.nodes) >= 500")
    expanded = page.evaluate(VIEWPORT)
    assert expanded["zoom"] >= READABLE_ZOOM  # readable around the output, not a dotted line

    widget.locator(".tw-canvas").focus()
    page.keyboard.press("f")  # Fit shows the whole graph, however small
    page.wait_for_function(f"() => document.querySelector('.tw-canvas')._cyreg.cy.zoom() < {READABLE_ZOOM}")
    found = find(page, widget, "multiply:100")
    assert found["zoom"] >= 1  # zoomed in to it, and it is in the middle
    assert_centred(found)
    widget.screenshot(path=str(ARTIFACTS / "big-graph-found.png"))
