// The history: "Undo last", the score chart, and each step (number, time, decision, feedback) with the
// values it changed, before and after, and a button to restore either.
import { h } from "./dom.js";
import { scorePlot } from "./plot.js";

/** "History (1 step)", "History (3 steps)". */
export function historyTitle(steps) {
  return `History (${steps.length} ${steps.length === 1 ? "step" : "steps"})`;
}

/** A step's first line: number, time, decision, the names it changed and its score. */
export function stepHead(step, when) {
  const names = step.names && step.names.length ? ` ${step.names.join(", ")}` : "";
  const score = typeof step.score === "number" ? ` · score ${step.score}` : "";
  return `#${step.id} ${when} ${step.decision}${names}${score}`;
}

/** The message restoring the values from before step `step` (before true) or after it. */
export function restoreMessage(step, before) {
  return { type: "restore", step: step.id, before };
}

export function mountHistory({ doc, model }) {
  const send = (msg) => model.send(msg);
  const box = h(doc, "details", { className: "tw-history" });

  function valuesTable(step) {
    return h(doc, "table", { className: "tw-step-values" },
      h(doc, "thead", {}, h(doc, "tr", {}, h(doc, "th", {}, ""), h(doc, "th", {}, "before"),
        h(doc, "th", {}, "after"))),
      h(doc, "tbody", {}, step.values.map((value) => h(doc, "tr", {},
        h(doc, "th", { scope: "row" }, value.name),
        h(doc, "td", {}, h(doc, "pre", { className: "tw-step-before" }, value.before)),
        h(doc, "td", {}, h(doc, "pre", { className: "tw-step-after" }, value.after))))));
  }

  function stepItem(step) {
    const when = new Date(step.created * 1000).toLocaleTimeString();
    const values = step.values || [];
    return h(doc, "li", { className: `tw-step tw-step-${step.decision}`, "data-step": String(step.id) },
      h(doc, "span", { className: "tw-step-head" }, stepHead(step, when)),
      step.note ? h(doc, "span", { className: "tw-step-note" }, ` (${step.note})`) : null,
      step.feedback ? h(doc, "div", { className: "tw-step-feedback" }, step.feedback) : null,
      values.length ? valuesTable(step) : null,
      step.revertible ? h(doc, "div", { className: "tw-actions" },
        h(doc, "button", { className: "tw-restore-before", onclick: () => send(restoreMessage(step, true)),
          "aria-label": `Restore the values from before step ${step.id}` }, "Restore values before"),
        h(doc, "button", { className: "tw-restore-after", onclick: () => send(restoreMessage(step, false)),
          "aria-label": `Restore the values after step ${step.id}` }, "Restore values after")) : null);
  }

  function render() {
    const steps = model.get("history") || [];
    const open = box.open;
    box.replaceChildren(h(doc, "summary", { className: "tw-section-title" }, historyTitle(steps)));
    box.open = open;
    if (steps.length) {
      box.append(h(doc, "div", { className: "tw-actions" },
        h(doc, "button", { className: "tw-undo", onclick: () => send({ type: "undo" }),
          title: "Put back the values from before the last applied step of this session" }, "Undo last")));
    }
    const plot = scorePlot(doc, steps);
    if (plot) box.append(plot);
    box.append(h(doc, "ol", { className: "tw-timeline" }, steps.map(stepItem)));
  }

  model.on("change:history", render);
  render();
  return { elements: [box], dispose: () => model.off("change:history", render) };
}
