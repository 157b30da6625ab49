"""The exported page in a real browser with the network cut off: it draws the graph, fetches nothing
and shows a node's details on hover (Debian's Chromium, driven headless by playwright)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

from trace_workbench.export import export_html
from trace_workbench.trace import node

CHROMIUM = "/usr/bin/chromium"


def test_page_draws_offline_and_shows_details_on_hover(tmp_path: Path) -> None:
    x = node(3, name="x", trainable=True)
    out = x * 2 + 1
    out.backward("should be larger")
    page_path = export_html(out, tmp_path / "graph.html")

    fetched: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(offline=True)
            context.route("**/*", lambda route: (fetched.append(route.request.url), route.abort())
                          if not route.request.url.startswith("file://") else route.continue_())
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.as_uri())
            page.wait_for_function("typeof network !== 'undefined' && Object.keys(network.getPositions()).length === 5")
            where = page.evaluate("""() => {
                const id = nodes.get().find(n => n.kind === 'parameter').id;
                const box = document.getElementById('mynetwork').getBoundingClientRect();
                const dom = network.canvasToDOM(network.getPositions([id])[id]);
                return {x: box.left + dom.x, y: box.top + dom.y};
            }""")
            page.mouse.move(where["x"] + 2, where["y"] + 2)
            page.mouse.move(where["x"], where["y"])
            tooltip = page.locator("div.vis-tooltip")
            tooltip.wait_for(state="visible", timeout=5000)
            text = tooltip.inner_text()
        finally:
            browser.close()

    assert fetched == [] and errors == []
    assert text.startswith(f"{x.name} (parameter, trainable)")
    assert "data: 3" in text and "feedback: should be larger" in text
