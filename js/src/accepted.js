// What is in effect after a step (the values accepted or restored, with Re-run and Undo), and what became
// of the cell's text: when the person edited the cell since it ran, the question what to do with it.
import { h } from "./dom.js";

/** The accepted box's title, or null when `accepted` holds no values. */
export function acceptedTitle(accepted) {
  if (!accepted || !accepted.values || !Object.keys(accepted.values).length) return null;
  return `${accepted.decision === "accepted" ? "Accepted" : "Now in effect"} (step #${accepted.step})`;
}

/** The answers offered for a cell the person edited ([answer, button text]); none in the other states. */
export function writebackAnswers(status) {
  if (!status || status.state !== "edited") return [];
  return [["overwrite", "Write the values into my text"], ["below", "Put the updated cell below"],
    ["keep", "Keep my text"]];
}

export function mountAccepted({ doc, model }) {
  const send = (msg) => model.send(msg);
  const accepted = h(doc, "div", { className: "tw-accepted" });
  const writeback = h(doc, "div", { className: "tw-writeback", role: "status", "aria-live": "polite" });

  function renderAccepted() {
    const state = model.get("accepted") || {};
    accepted.replaceChildren();
    const title = acceptedTitle(state);
    if (!title) return;
    accepted.append(h(doc, "div", { className: "tw-section-title" }, title));
    for (const [name, text] of Object.entries(state.values)) {
      accepted.append(h(doc, "div", { className: "tw-field" }, h(doc, "div", { className: "tw-field-label" }, name),
        h(doc, "pre", { className: "tw-field-value" }, text)));
    }
    accepted.append(h(doc, "div", { className: "tw-actions" },
      h(doc, "button", { className: "tw-rerun tw-primary", onclick: () => send({ type: "rerun" }) },
        "Re-run the cell"),
      h(doc, "button", { className: "tw-undo", onclick: () => send({ type: "undo" }),
        title: "Put back the values from before the last applied step" }, "Undo last")));
  }

  function renderWriteback() {
    const status = model.get("writeback") || {};
    writeback.replaceChildren();
    writeback.className = `tw-writeback tw-writeback-${status.state || "none"}`;
    if (!status.message) return;
    writeback.append(h(doc, "span", {}, status.message));
    const answers = writebackAnswers(status);
    if (!answers.length) return;
    writeback.append(h(doc, "div", { className: "tw-actions" }, answers.map(([answer, text]) =>
      h(doc, "button", { className: `tw-writeback-${answer}`, onclick: () => send({ type: "writeback", answer }) },
        text))));
  }

  model.on("change:accepted", renderAccepted);
  model.on("change:writeback", renderWriteback);
  renderAccepted();
  renderWriteback();
  return {
    elements: [accepted, writeback],
    dispose() {
      model.off("change:accepted", renderAccepted);
      model.off("change:writeback", renderWriteback);
    },
  };
}
