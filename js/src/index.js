// The trace_workbench widget's front end (anywidget): the live trace graph, feedback, the proposal as
// side-by-side diffs with accept/reject per parameter, and the history. It talks to the kernel only
// through the model: traitlets (status, error, proposal, accepted, history, ...) and custom messages
// ("graph" deltas and snapshots from the kernel; propose/accept/reject/undo/restore/rerun/snapshot to it).
// render() composes the parts, each its own module; they share only the model, the graph store (one per
// model) and the view state (one per view).
import "./style.css";
import { mountAccepted } from "./accepted.js";
import { mountDetails } from "./details.js";
import { h } from "./dom.js";
import { mountFeedback } from "./feedback.js";
import { mountGraph } from "./graph-pane.js";
import { mountHeader } from "./header.js";
import { mountHistory } from "./history.js";
import { mountProposal } from "./proposal.js";
import { GraphStore, ViewState } from "./store.js";

// anywidget hands initialize() and each render() a different proxy of the same model, so the graph
// store is kept by the model's `uid` trait, not by the proxy object.
const stores = new Map();

function storeOf(model) {
  const uid = model.get("uid");
  let store = stores.get(uid);
  if (!store) {
    store = new GraphStore();
    stores.set(uid, store);
  }
  return store;
}

function onGraphMessage(model, msg) {
  if (!msg || msg.type !== "graph") return;
  const store = storeOf(model);
  if (store.apply(msg) === null && !store.waiting) {
    store.waiting = true;
    model.send({ type: "snapshot" });
  } else if (msg.reset) {
    store.waiting = false;
  }
}

function initialize({ model }) {
  storeOf(model);
  model.on("msg:custom", (msg) => onGraphMessage(model, msg));
  return () => stores.delete(model.get("uid"));
}

function render({ model, el }) {
  const doc = el.ownerDocument;
  const store = storeOf(model);
  const view = new ViewState();
  const context = { doc, model, store, view };
  const root = h(doc, "div", { className: "tw-root" });
  el.append(root);

  const header = mountHeader(context);
  const graph = mountGraph(context);
  const details = mountDetails(context);
  const parts = [header, graph, details, mountFeedback(context), mountProposal(context), mountAccepted(context),
    mountHistory(context)];
  root.append(...header.elements, h(doc, "div", { className: "tw-graph" }, ...graph.elements, ...details.elements),
    ...parts.slice(3).flatMap((part) => part.elements));

  // How many nodes are drawn and how long the last change took to apply, for tests and benchmarks.
  const stopCount = view.on((event) => {
    if (event.type !== "drawn") return;
    root.dataset.nodes = String(event.count);
    if (event.applyMs !== null) root.dataset.applyMs = String(event.applyMs);
  });
  root.dataset.nodes = "0";
  if (store.seq < model.get("graph_seq") || store.seq < 0) {
    store.waiting = true;
    model.send({ type: "snapshot" });
  }
  graph.start();

  return () => {
    stopCount();
    for (const part of parts) part.dispose();
  };
}

export default { initialize, render };
