"""The workbench widget in a real browser: time to first draw of a 2,000-node graph, and to apply a
200-node delta (targets: under 1.5 s and under 100 ms).

Run from the repository root (needs /usr/bin/chromium and the `playwright` pip package; no browser
download):

    python benchmarks/bench_widget.py            # 5 repeats
    python benchmarks/bench_widget.py --quick    # 2 repeats

The graph is a real trace made by the engine (a loop of operations over two trainable parameters),
turned into the widget's messages by the same GraphFeed the kernel uses. The shipped bundle
(widget.<hash>.js in trace_workbench/labextension/static) is loaded into a page served from 127.0.0.1
and rendered with a stand-in model (the anywidget interface: get/on/off/send), so the figures are the front end's
own, from the message's arrival: "drawn" until cytoscape's render event for it, "+frame" until the
browser's next frame after that, and the synchronous part (store, placement, cytoscape add) apart.
A table goes to stdout and the raw figures to benchmarks/results/widget-*.json (gitignored).
"""

from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from raw_figures import save

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trace_workbench.jupyter.protocol import GraphFeed  # noqa: E402
from trace_workbench.trace import GRAPH, node  # noqa: E402

STATIC = ROOT / "trace_workbench" / "jupyter" / "static"
FRONT_END = ROOT / "trace_workbench" / "labextension" / "static"
"""The built widget (content-hashed name, js/build.mjs); its stylesheet stays in jupyter/static."""
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="widget.css"></head>
<body><div id="host" style="width:1200px"></div>
<script type="module">
import widget from "./widget.js";
const frames = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
window.sent = [];
function fakeModel(state) {
  const listeners = {};
  return {
    get: (key) => state[key],
    on: (event, fn) => { (listeners[event] ||= []).push(fn); },
    off: (event, fn) => { listeners[event] = (listeners[event] || []).filter((f) => f !== fn); },
    send: (msg) => window.sent.push(msg),
    emit: (event, ...args) => (listeners[event] || []).forEach((fn) => fn(...args)),
  };
}
window.mount = () => {
  const host = document.getElementById("host");
  host.replaceChildren();
  const el = document.createElement("div");
  host.append(el);
  const model = fakeModel({ label: "bench", status: "idle", error: "", output_value: "", proposal: {},
    accepted: {}, history: [], usage: {}, graph_seq: -1 });
  widget.initialize({ model });
  window.cleanup = widget.render({ model, el });
  window.model = model;
};
// cytoscape keeps its instance on its container: its "render" event says when a frame was drawn.
const rendered = () => new Promise((done) => document.querySelector(".tw-canvas")._cyreg.cy.one("render", done));
window.timeMessage = async (message) => {
  const started = performance.now();
  const drawn = rendered();
  window.model.emit("msg:custom", message);
  await drawn;
  const drawnMs = performance.now() - started;
  await frames();
  const root = document.querySelector(".tw-root");
  const renderMs = document.querySelector(".tw-canvas")._cyreg.cy.renderer().lastRedrawTime;
  return { ms: performance.now() - started, drawnMs, renderMs, applyMs: Number(root.dataset.applyMs),
    drawn: Number(root.dataset.nodes) };
};
window.ready = true;
</script></body></html>"""


def make_messages(total: int = 2000, delta: int = 200) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A snapshot of a `total`-node trace, then the delta that adds `delta` more nodes while it still runs."""
    sent: list[dict[str, Any]] = []
    feed = GraphFeed(sent.append, interval=3600)
    GRAPH.clear()
    with GRAPH.scope("bench", feed.listener) as scope:
        a = node(1.0, trainable=True, name="a")
        b = node(2.0, trainable=True, name="b")
        x = a
        while len(scope.nodes) + 2 < total:
            x = (x * b) + a
    snapshot = feed.snapshot()
    sent.clear()
    start = len(feed)
    with GRAPH.scope("bench", feed.listener):
        while len(feed) - start < delta:
            x = (x * b) + a
    feed.flush()
    return snapshot, list(sent)


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/index.html"


def measure(repeats: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    snapshot, deltas = make_messages()
    folder = Path(tempfile.mkdtemp(prefix="bench-widget-"))
    shutil.copy(next(FRONT_END.glob("widget.*.js")), folder / "widget.js")
    shutil.copy(STATIC / "widget.css", folder)
    (folder / "index.html").write_text(PAGE)
    server, url = serve(folder)
    first, delta, apply, first_drawn, delta_drawn = [], [], [], [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1300, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_function("() => window.ready === true")
            for _ in range(repeats):
                page.evaluate("() => window.mount()")
                result = page.evaluate("(m) => window.timeMessage(m)", snapshot)
                first.append(result["ms"])
                first_drawn.append(result["drawnMs"])
                total_delta = total_drawn = 0.0
                for message in deltas:
                    result = page.evaluate("(m) => window.timeMessage(m)", message)
                    total_delta += result["ms"]
                    total_drawn += result["drawnMs"]
                    apply.append(result["applyMs"])
                delta.append(total_delta)
                delta_drawn.append(total_drawn)
                drawn = result["drawn"]
                page.evaluate("() => window.cleanup()")
            browser.close()
            if errors:
                raise RuntimeError(f"page errors: {errors}")
    finally:
        server.shutdown()
        shutil.rmtree(folder, ignore_errors=True)
    return {"nodes": len(snapshot["nodes"]), "delta_nodes": sum(len(m["nodes"]) for m in deltas),
            "delta_messages": len(deltas), "drawn": drawn, "first_draw_ms": first, "first_drawn_ms": first_drawn,
            "delta_ms": delta, "delta_drawn_ms": delta_drawn, "delta_apply_ms": apply}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    args = parser.parse_args()
    result = measure(2 if args.quick else 5)
    first = statistics.median(result["first_draw_ms"])
    delta = statistics.median(result["delta_ms"])
    apply = statistics.median(result["delta_apply_ms"])
    print(f"graph: {result['nodes']} nodes, then a delta of {result['delta_nodes']} nodes "
          f"({result['delta_messages']} message(s)); {result['drawn']} drawn at the end")
    first_drawn = statistics.median(result["first_drawn_ms"])
    delta_drawn = statistics.median(result["delta_drawn_ms"])
    print(f"{'measure (median ms)':<44}{'drawn':>9}{'+frame':>9}{'target':>9}")
    print(f"{'first draw of the whole graph':<44}{first_drawn:>9.1f}{first:>9.1f}{1500:>9}")
    print(f"{'apply the delta':<44}{delta_drawn:>9.1f}{delta:>9.1f}{100:>9}")
    print(f"{'  of which the synchronous apply (no drawing)':<44}{apply:>9.1f}")
    print("drawn: until cytoscape's render event; +frame: until the frame after it")
    save("widget", result, ["quick"] if args.quick else [])


if __name__ == "__main__":
    main()
