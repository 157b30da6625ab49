// The graph's canvas: makes the GraphView once the canvas has a size, feeds it the store's changes and
// the view state's requests (select, focus, fit, zoom, collapse), follows the theme and the canvas's size,
// and turns keys into requests. A graph that is big when it first arrives opens with repeats collapsed.
import { h } from "./dom.js";
import { GraphView, opensCollapsed } from "./graph.js";

/** What a key pressed on the focused canvas asks for: a view-state request, a step, or nothing. */
export function keyAction(key) {
  return { n: { step: 1 }, p: { step: -1 }, f: { request: "fit" }, "+": { request: "zoom", factor: 1.25 },
    "=": { request: "zoom", factor: 1.25 }, "-": { request: "zoom", factor: 0.8 }, Escape: { clear: true } }[key]
    || null;
}

export function mountGraph({ doc, store, view }) {
  const canvas = h(doc, "div", { className: "tw-canvas", tabindex: "0", role: "application",
    "aria-label": "Trace graph. Keys: n next node, p previous node, f fit, + zoom in, - zoom out." });
  let graph = null;

  const drawn = (applyMs = null) => view.setDrawn(graph ? graph.cy.nodes().length : 0, applyMs);
  function autoCollapse() {
    if (!view.collapseChosen && !view.collapsed && opensCollapsed(store.nodes.size)) view.setCollapsed(true, false);
  }
  // cytoscape needs its container in the page with a size: the view is made when the canvas gets one.
  function ensure() {
    if (graph || !canvas.isConnected || canvas.clientWidth === 0) return graph;
    autoCollapse();
    graph = new GraphView(canvas, store, (id, node) => view.select(id, node));
    graph.collapsed = view.collapsed;
    graph.redraw();
    if (view.selected) graph.select(view.selected.id);
    drawn();
    return graph;
  }

  const stopView = view.on((event) => {
    if (event.type === "collapsed") {
      if (!graph) return; // made collapsed or not when the canvas gets its size
      graph.setCollapsed(event.on);
      if (view.selected) graph.select(view.selected.id);
      drawn();
    } else if (event.type === "drawn" || !ensure()) {
      return;
    } else if (event.type === "select") {
      graph.select(event.id);
      if (event.focus && event.id !== null) graph.focus(event.id);
    } else if (event.type === "fit") {
      graph.fit();
    } else if (event.type === "zoom") {
      graph.zoom(event.factor);
    }
  });
  const stopStore = store.subscribe((change) => {
    const started = performance.now();
    autoCollapse();
    if (graph) graph.apply(change);
    else ensure();
    drawn(performance.now() - started);
  });

  canvas.addEventListener("keydown", (event) => {
    const action = keyAction(event.key);
    if (!action || !ensure()) return;
    event.preventDefault();
    event.stopPropagation();
    if (action.request) view.request(action.request, action.factor);
    else if (action.clear) view.select(null);
    else {
      const id = graph.step(action.step);
      if (id !== null) view.select(id, graph.elementNode(id), true);
    }
  });

  // The theme's variables may load just after the body's attributes change: read them again shortly after.
  const themeWatch = new MutationObserver(() => {
    graph?.restyle();
    setTimeout(() => graph?.restyle(), 300);
  });
  themeWatch.observe(doc.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  const resize = new ResizeObserver(() => {
    if (!ensure()) return;
    graph.cy.resize();
    if (graph.autoFit) graph.fit(true);
  });
  resize.observe(canvas);

  return {
    elements: [canvas],
    start: ensure,
    dispose() {
      stopView();
      stopStore();
      themeWatch.disconnect();
      resize.disconnect();
      graph?.destroy();
    },
  };
}
