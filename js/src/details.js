// The details pane: the selected node's name, kind, type, description, value, code and the feedback
// that reached it. It follows the view state's selection.
import { h } from "./dom.js";

const HINT = "Click a node (or focus the graph and press n / p) to see its value.";

const present = (value) => value !== undefined && value !== null && value !== "";

/** A node's title: its name, with the count of a collapsed group. */
export function nodeTitle(node) {
  return node.group ? `${node.name} ×${node.members.length}` : node.name;
}

/** The rows the pane shows for `node`: [{label, value, pre}], without the fields the node does not have. */
export function nodeFields(node) {
  const kind = node.group ? "collapsed operations" : [node.kind, node.trainable ? "trainable" : "",
    node.output ? "output" : "", node.external ? "from an earlier cell" : ""].filter(Boolean).join(", ");
  const feedback = node.feedback && node.feedback.length ? node.feedback.join("\n———\n") : null;
  const rows = [
    { label: "Kind", value: kind },
    { label: "Type", value: node.type },
    { label: "Description", value: node.description },
    { label: "Value", value: node.data, pre: true },
    { label: "Code", value: node.code, pre: true },
    feedback ? { label: "Feedback that reached it", value: feedback, pre: true }
      : { label: "Feedback", value: node.group ? null : "none yet" },
  ];
  return rows.filter((row) => present(row.value)).map((row) => ({ ...row, value: String(row.value),
    pre: Boolean(row.pre) }));
}

export function mountDetails({ doc, view }) {
  const details = h(doc, "div", { className: "tw-details", "aria-live": "polite" });
  function show(node) {
    if (!node) {
      details.replaceChildren(h(doc, "p", { className: "tw-hint" }, HINT));
      return;
    }
    details.replaceChildren(h(doc, "div", { className: "tw-node-title" }, nodeTitle(node)),
      ...nodeFields(node).map((row) => h(doc, "div", { className: "tw-field" },
        h(doc, "div", { className: "tw-field-label" }, row.label),
        h(doc, row.pre ? "pre" : "div", { className: "tw-field-value" }, row.value))));
  }
  const stop = view.on((event) => { if (event.type === "select") show(event.node); });
  show(view.selected?.node || null);
  return { elements: [details], dispose: stop };
}
