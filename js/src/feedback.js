// The cell's output and the feedback box: text, an optional score, how many candidates to ask for,
// Propose and Stop; below it the last proposal's token use, the local-model note and the inline error.
import { h } from "./dom.js";
import { isBusy } from "./header.js";

/** "120 tokens (100 in, 20 out, about $0.0001)", or "" when the usage is unknown. */
export function usageText(usage) {
  if (!usage || !usage.total_tokens) return "";
  const cost = usage.cost ? `, about $${Number(usage.cost).toFixed(4)}` : "";
  return `${usage.total_tokens} tokens (${usage.prompt_tokens || 0} in, ${usage.completion_tokens || 0} out${cost})`;
}

/** The "propose" message for what the person typed: feedback text, score ("" for none), candidate count. */
export function proposeMessage(text, score, candidates) {
  const value = String(score).trim();
  const number = value === "" ? null : Number(value);
  return { type: "propose", text: text.trim(), score: Number.isFinite(number) ? number : null,
    candidates: Math.max(1, Math.round(Number(candidates) || 1)) };
}

export function mountFeedback({ doc, model }) {
  const send = (msg) => model.send(msg);
  const output = h(doc, "div", { className: "tw-output" });
  const text = h(doc, "textarea", { className: "tw-feedback", rows: "2",
    placeholder: "What should change? e.g. “too long, answer in one sentence”", "aria-label": "Feedback" });
  const score = h(doc, "input", { className: "tw-score", type: "number", step: "any", placeholder: "optional" });
  const candidates = h(doc, "input", { className: "tw-candidates", type: "number", min: "1", max: "10", step: "1",
    value: "1", title: "How many alternative proposals to ask for (1: one proposal)" });
  const proposeButton = h(doc, "button", { className: "tw-propose tw-primary" }, "Propose");
  const stopButton = h(doc, "button", { className: "tw-stop", hidden: true, title: "Cancel this proposal",
    onclick: () => send({ type: "stop" }) }, "Stop");
  const usage = h(doc, "span", { className: "tw-usage" });
  const localNote = h(doc, "div", { className: "tw-local-note", role: "note", hidden: true });
  const error = h(doc, "div", { className: "tw-error", role: "alert" });
  const propose = () => send(proposeMessage(text.value, score.value, candidates.value));
  proposeButton.addEventListener("click", propose);
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.stopPropagation();
      propose();
    }
  });
  const box = h(doc, "div", { className: "tw-feedback-box" },
    h(doc, "label", { className: "tw-section-title" }, "Feedback"),
    h(doc, "div", { className: "tw-feedback-row" }, text,
      h(doc, "label", { className: "tw-labelled" }, h(doc, "span", { className: "tw-field-label" }, "Score"), score),
      h(doc, "label", { className: "tw-labelled", title: "How many alternative proposals to ask for" },
        h(doc, "span", { className: "tw-field-label" }, "Candidates"), candidates),
      proposeButton, stopButton),
    usage, localNote, error);

  const renders = {
    "change:output_value"() {
      const value = model.get("output_value");
      output.replaceChildren();
      if (value) output.append(h(doc, "span", { className: "tw-field-label" }, "Output "), h(doc, "code", {}, value));
    },
    "change:status"() {
      const state = model.get("status");
      proposeButton.disabled = isBusy(state);
      proposeButton.textContent = state === "proposing" ? "Proposing…" : "Propose";
      stopButton.hidden = state !== "proposing";
    },
    "change:error"() {
      error.textContent = model.get("error");
      error.hidden = !error.textContent;
    },
    "change:usage"() {
      const used = model.get("usage");
      usage.textContent = usageText(used) ? `Last proposal used ${usageText(used)}.` : "";
      localNote.textContent = (used && used.note) || "";
      localNote.hidden = !localNote.textContent;
    },
  };
  for (const [event, render] of Object.entries(renders)) {
    model.on(event, render);
    render();
  }
  return {
    elements: [output, box],
    dispose() {
      for (const [event, render] of Object.entries(renders)) model.off(event, render);
    },
  };
}
