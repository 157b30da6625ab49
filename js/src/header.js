// The widget's header (cell label, status, node count, legend) and the graph's toolbar (fit, zoom,
// collapse repeats, find a node). The toolbar talks to the graph through the view state only.
import { h } from "./dom.js";

export const LEGEND = [["parameter", "trainable parameter"], ["value", "value"], ["operation", "operation"],
  ["exception", "exception"], ["output", "output"], ["path", "parameter → output path"]];

const STATUS = { idle: "", running: "running…", proposing: "the model is working…", applying: "applying…",
  error: "error" };

/** The words for a widget status ("idle" says nothing). */
export function statusText(state) {
  return STATUS[state] ?? state;
}

/** Whether the kernel is busy for this widget (buttons that act wait). */
export function isBusy(state) {
  return state === "proposing" || state === "running" || state === "applying";
}

/** "12 nodes", and how many are drawn when repeats are collapsed. */
export function countText(total, drawn, collapsed) {
  const noun = total === 1 ? "node" : "nodes";
  return collapsed && drawn < total ? `${total} ${noun} (${drawn} drawn, repeats collapsed)` : `${total} ${noun}`;
}

/** The node `text` names: the one whose name is exactly it, else the first whose name contains it (case
 * ignored), else the first operation of that operator; null when none (or `text` is blank). */
export function findNode(nodes, text) {
  const wanted = text.trim().toLowerCase();
  if (!wanted) return null;
  const list = [...nodes];
  return list.find((n) => n.name.toLowerCase() === wanted)
    || list.find((n) => n.name.toLowerCase().includes(wanted))
    || list.find((n) => (n.op || "").toLowerCase() === wanted)
    || null;
}

export function mountHeader({ doc, model, store, view }) {
  const status = h(doc, "span", { className: "tw-status", role: "status", "aria-live": "polite" });
  const count = h(doc, "span", { className: "tw-count" });
  const legend = h(doc, "span", { className: "tw-legend", "aria-label": "Legend" },
    ...LEGEND.map(([kind, text]) => h(doc, "span", { className: `tw-key tw-key-${kind}` }, text)));
  const header = h(doc, "div", { className: "tw-header" },
    h(doc, "strong", {}, `Trace · cell ${model.get("label")}`), status, count, legend);

  const collapseButton = h(doc, "button", { className: "tw-collapse", "aria-pressed": "false",
    title: "Group repeated operations into one node each",
    onclick: () => view.setCollapsed(!view.collapsed) }, "Collapse repeats");
  const find = h(doc, "input", { className: "tw-find", type: "search", placeholder: "Find node…",
    "aria-label": "Find a node by name" });
  find.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.stopPropagation();
    const match = findNode(store.nodes.values(), find.value);
    find.setAttribute("aria-invalid", String(!match && find.value.trim() !== ""));
    find.title = match || !find.value.trim() ? "" : `No node is called “${find.value.trim()}”`;
    if (match) view.select(match.id, match, true);
  });
  const toolbar = h(doc, "div", { className: "tw-toolbar" },
    h(doc, "button", { onclick: () => view.request("fit"), title: "Fit the graph (f)" }, "Fit"),
    h(doc, "button", { onclick: () => view.request("zoom", 1.25), title: "Zoom in (+)", "aria-label": "Zoom in" },
      "+"),
    h(doc, "button", { onclick: () => view.request("zoom", 0.8), title: "Zoom out (-)", "aria-label": "Zoom out" },
      "−"),
    collapseButton, find);

  const renderCount = () => { count.textContent = countText(store.nodes.size, view.drawn, view.collapsed); };
  const renderStatus = () => {
    const state = model.get("status");
    status.textContent = statusText(state);
    status.className = `tw-status tw-status-${state}`;
  };
  const stopView = view.on((event) => {
    if (event.type === "collapsed") collapseButton.setAttribute("aria-pressed", String(event.on));
    if (event.type === "collapsed" || event.type === "drawn") renderCount();
  });
  const stopStore = store.subscribe(renderCount);
  model.on("change:status", renderStatus);
  renderStatus();
  renderCount();
  collapseButton.setAttribute("aria-pressed", String(view.collapsed));
  return {
    elements: [header, toolbar],
    dispose() {
      stopView();
      stopStore();
      model.off("change:status", renderStatus);
    },
  };
}
