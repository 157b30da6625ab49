// The pending proposal: the optimizer's reasoning and, per parameter, a side-by-side diff with accept /
// reject and an editable value; with several candidates, one column each with its own accept. Sends
// "accept" (the chosen names, the edited values, the candidate) or "reject".
import { diffTable } from "./diff.js";
import { h } from "./dom.js";
import { isBusy } from "./header.js";

/** Whether a proposal (or candidate) has anything to show: changes, reasoning or unusable parts. */
export function isUsable(option) {
  return Boolean((option.changes || []).length || option.reasoning || Object.keys(option.rejected || {}).length);
}

/** A candidate column's title: its index, score, and whether it is the default choice. */
export function candidateHead(option, chosen) {
  const score = typeof option.score === "number" ? ` · score ${option.score}` : "";
  return `Candidate ${option.index}${score}${option.index === chosen ? " (default)" : ""}`;
}

/** The message for accepting `chosen` changes (each {key, new_text}) with the texts in `edited` (key -> the
 * text in its editor; only those that differ are sent) from `candidate` (null: the only proposal); nothing
 * chosen rejects. */
export function decisionMessage(chosen, edited, candidate = null) {
  if (!chosen.length) return { type: "reject", reason: null };
  const edits = {};
  for (const change of chosen) {
    const text = edited.get(change.key);
    if (text !== undefined && text !== change.new_text) edits[change.key] = text;
  }
  const message = { type: "accept", names: chosen.map((c) => c.key), edits };
  if (candidate !== null) message.candidate = candidate;
  return message;
}

export function mountProposal({ doc, model }) {
  const send = (msg) => model.send(msg);
  const box = h(doc, "div", { className: "tw-proposal" });
  const rejectButton = (text) => h(doc, "button", { className: "tw-reject-all",
    onclick: () => send({ type: "reject", reason: null }) }, text);

  // One proposal (or one candidate of several): reasoning, a card per parameter, and the actions;
  // `candidate` is its index among the candidates, or null.
  function optionElements(option, candidate) {
    const elements = [];
    const changes = option.changes || [];
    if (option.reasoning) {
      elements.push(h(doc, "div", { className: "tw-reasoning" }, h(doc, "strong", {}, "Reasoning: "),
        option.reasoning));
    }
    const accepts = new Map();
    const editors = new Map();
    const group = `tw-${model.get("label")}-${candidate ?? "p"}`;
    for (const change of changes) {
      const editor = h(doc, "textarea", { className: "tw-edit", rows: String(Math.min(12,
        change.new_text.split("\n").length + 1)), "aria-label": `Proposed value of ${change.name} (editable)` });
      editor.value = change.new_text;
      editors.set(change.key, editor);
      const accept = h(doc, "input", { type: "radio", name: `${group}-${change.key}`, value: "accept",
        checked: true, "aria-label": `Accept ${change.name}` });
      const reject = h(doc, "input", { type: "radio", name: `${group}-${change.key}`, value: "reject",
        "aria-label": `Reject ${change.name}` });
      accepts.set(change.key, accept);
      elements.push(h(doc, "div", { className: "tw-change", "data-name": change.name },
        h(doc, "div", { className: "tw-change-title" }, h(doc, "strong", {}, change.name), ` (${change.kind})`,
          h(doc, "label", { className: "tw-choice" }, accept, " accept"),
          h(doc, "label", { className: "tw-choice" }, reject, " reject")),
        diffTable(doc, change.old_text, change.new_text),
        change.reasoning ? h(doc, "div", { className: "tw-reasoning" }, change.reasoning) : null,
        h(doc, "details", { className: "tw-edit-box" }, h(doc, "summary", {}, "Edit the proposed value"), editor)));
    }
    if (candidate !== null && option.error) {
      elements.push(h(doc, "div", { className: "tw-unusable" }, `This candidate could not be used: ${option.error}`));
    }
    for (const [name, why] of Object.entries(option.rejected || {})) {
      elements.push(h(doc, "div", { className: "tw-unusable" }, `Not usable, ${name}: ${why}`));
    }
    const decide = (all) => {
      const chosen = all ? changes : changes.filter((c) => accepts.get(c.key).checked);
      const edited = new Map([...editors].map(([key, editor]) => [key, editor.value]));
      send(decisionMessage(chosen, edited, candidate));
    };
    if (changes.length) {
      elements.push(h(doc, "div", { className: "tw-actions" },
        h(doc, "button", { className: "tw-accept-all tw-primary", onclick: () => decide(true) },
          candidate === null ? "Accept all" : `Accept candidate ${candidate}`),
        changes.length > 1 ? h(doc, "button", { className: "tw-apply-choices", onclick: () => decide(false) },
          "Apply choices") : null,
        candidate === null ? rejectButton("Reject") : null));
    }
    return elements;
  }

  function renderStatus() {
    const busy = isBusy(model.get("status"));
    for (const button of box.querySelectorAll("button")) button.disabled = busy;
  }

  function render() {
    const proposal = model.get("proposal") || {};
    box.replaceChildren();
    const candidates = proposal.candidates || [];
    if (!candidates.length && !isUsable(proposal)) return;
    const from = proposal.optimizer || "the optimizer";
    if (!candidates.length) {
      box.append(h(doc, "div", { className: "tw-section-title" }, `Proposal from ${from}`),
        ...optionElements(proposal, null));
    } else {
      // Several candidates: side by side, one column each (its score, reasoning and diffs, its own accept).
      const columns = candidates.map((option) => h(doc, "section", {
        className: `tw-candidate-column${option.index === proposal.chosen ? " tw-candidate-default" : ""}`,
        role: "listitem", "data-index": String(option.index), "aria-label": `Candidate ${option.index}` },
      h(doc, "div", { className: "tw-candidate-head" }, candidateHead(option, proposal.chosen)),
      option.evaluation_error ? h(doc, "div", { className: "tw-unusable" }, `Not scored: ${option.evaluation_error}`)
        : null,
      ...optionElements(option, option.index)));
      box.append(h(doc, "div", { className: "tw-section-title" },
        `${candidates.length} candidates from ${from}: pick one (or parts of one) and accept it`),
      h(doc, "div", { className: "tw-candidate-grid", role: "list" }, columns),
      h(doc, "div", { className: "tw-actions" }, rejectButton("Reject all candidates")));
    }
    renderStatus();
  }

  model.on("change:proposal", render);
  model.on("change:status", renderStatus);
  render();
  return {
    elements: [box],
    dispose() {
      model.off("change:proposal", render);
      model.off("change:status", renderStatus);
    },
  };
}
