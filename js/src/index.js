// The trace_workbench widget's front end (anywidget): the live trace graph, feedback, the proposal as
// side-by-side diffs with accept/reject per parameter, and the history. It talks to the kernel only
// through the model: traitlets (status, error, proposal, accepted, history, ...) and custom messages
// ("graph" deltas and snapshots from the kernel; propose/accept/reject/restore/rerun/snapshot to it).
import "./style.css";
import { diffTable } from "./diff.js";
import { GraphView } from "./graph.js";
import { GraphStore } from "./store.js";

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

function h(doc, tag, attrs = {}, ...children) {
  const el = doc.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "className") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" ? doc.createTextNode(child) : child);
  }
  return el;
}

function usageText(usage) {
  if (!usage || !usage.total_tokens) return "";
  const cost = usage.cost ? `, about $${Number(usage.cost).toFixed(4)}` : "";
  return `${usage.total_tokens} tokens (${usage.prompt_tokens || 0} in, ${usage.completion_tokens || 0} out${cost})`;
}

function scorePlot(doc, steps) {
  const scored = steps.filter((s) => typeof s.score === "number");
  if (scored.length < 1) return null;
  const w = 240;
  const ht = 60;
  const scores = scored.map((s) => s.score);
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  const span = hi - lo || 1;
  const x = (i) => (scored.length === 1 ? w / 2 : 8 + (i * (w - 16)) / (scored.length - 1));
  const y = (v) => ht - 8 - ((v - lo) / span) * (ht - 16);
  const ns = "http://www.w3.org/2000/svg";
  const svg = doc.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${ht}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", ht);
  svg.setAttribute("class", "tw-score-plot");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `Score over steps: ${scores.join(", ")}`);
  const line = doc.createElementNS(ns, "polyline");
  line.setAttribute("points", scored.map((s, i) => `${x(i)},${y(s.score)}`).join(" "));
  svg.append(line);
  scored.forEach((s, i) => {
    const dot = doc.createElementNS(ns, "circle");
    dot.setAttribute("cx", x(i));
    dot.setAttribute("cy", y(s.score));
    dot.setAttribute("r", 3);
    const title = doc.createElementNS(ns, "title");
    title.textContent = `step #${s.id}: score ${s.score}`;
    dot.append(title);
    svg.append(dot);
  });
  return svg;
}

function render({ model, el }) {
  const doc = el.ownerDocument;
  const store = storeOf(model);
  const send = (msg) => model.send(msg);
  const root = h(doc, "div", { className: "tw-root" });
  el.append(root);

  // -- header and graph --------------------------------------------------------------------------
  const status = h(doc, "span", { className: "tw-status", role: "status", "aria-live": "polite" });
  const count = h(doc, "span", { className: "tw-count" });
  const legendEl = h(doc, "span", { className: "tw-legend", "aria-label": "Legend" },
    ...[["parameter", "trainable parameter"], ["value", "value"], ["operation", "operation"],
      ["exception", "exception"], ["output", "output"], ["path", "parameter → output path"]]
      .map(([kind, text]) => h(doc, "span", { className: `tw-key tw-key-${kind}` }, text)));
  const header = h(doc, "div", { className: "tw-header" },
    h(doc, "strong", {}, `Trace · cell ${model.get("label")}`), status, count, legendEl);

  const details = h(doc, "div", { className: "tw-details", "aria-live": "polite" },
    h(doc, "p", { className: "tw-hint" }, "Click a node (or focus the graph and press n / p) to see its value."));
  const canvas = h(doc, "div", { className: "tw-canvas", tabindex: "0", role: "application",
    "aria-label": "Trace graph. Keys: n next node, p previous node, f fit, + zoom in, - zoom out." });
  const collapseButton = h(doc, "button", { className: "tw-collapse", "aria-pressed": "false",
    title: "Group repeated operations into one node each" }, "Collapse repeats");
  const find = h(doc, "input", { className: "tw-find", type: "search", placeholder: "Find node…",
    "aria-label": "Find a node by name", list: "" });
  const toolbar = h(doc, "div", { className: "tw-toolbar" },
    h(doc, "button", { onclick: () => view?.fit(), title: "Fit the graph (f)" }, "Fit"),
    h(doc, "button", { onclick: () => view?.zoom(1.25), title: "Zoom in (+)", "aria-label": "Zoom in" }, "+"),
    h(doc, "button", { onclick: () => view?.zoom(0.8), title: "Zoom out (-)", "aria-label": "Zoom out" }, "−"),
    collapseButton, find);
  const graphBox = h(doc, "div", { className: "tw-graph" }, canvas, details);
  root.append(header, toolbar, graphBox);

  const field = (label, value, pre) => (value === undefined || value === null || value === "" ? null
    : h(doc, "div", { className: "tw-field" }, h(doc, "div", { className: "tw-field-label" }, label),
      h(doc, pre ? "pre" : "div", { className: "tw-field-value" }, String(value))));

  function showNode(node) {
    details.replaceChildren();
    if (!node) {
      details.append(h(doc, "p", { className: "tw-hint" }, "Click a node to see its value."));
      return;
    }
    details.append(
      h(doc, "div", { className: "tw-node-title" }, node.group ? `${node.name} ×${node.members.length}` : node.name),
      field("Kind", node.group ? "collapsed operations" : [node.kind, node.trainable ? "trainable" : "",
        node.output ? "output" : "", node.external ? "from an earlier cell" : ""].filter(Boolean).join(", ")),
      field("Type", node.type),
      field("Description", node.description),
      field("Value", node.data, true),
      field("Code", node.code, true),
      node.feedback && node.feedback.length
        ? field("Feedback that reached it", node.feedback.join("\n———\n"), true)
        : field("Feedback", node.group ? null : "none yet"),
    );
  }

  // cytoscape needs its container in the page with a size: the view is made when the canvas gets one.
  let view = null;
  let collapsed = false;
  function ensureView() {
    if (view || !canvas.isConnected || canvas.clientWidth === 0) return view;
    view = new GraphView(canvas, store, showNode);
    view.collapsed = collapsed;
    view.redraw();
    updateCount();
    return view;
  }
  canvas.addEventListener("keydown", (event) => {
    if (!view) return;
    const actions = { n: () => view.step(1), p: () => view.step(-1), f: () => view.fit(), "+": () => view.zoom(1.25),
      "=": () => view.zoom(1.25), "-": () => view.zoom(0.8), Escape: () => view.select(null) };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      event.stopPropagation();
      action();
    }
  });
  collapseButton.addEventListener("click", () => {
    const on = collapseButton.getAttribute("aria-pressed") !== "true";
    collapseButton.setAttribute("aria-pressed", String(on));
    collapsed = on;
    view?.setCollapsed(on);
    updateCount();
  });
  find.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.stopPropagation();
    const text = find.value.trim().toLowerCase();
    const match = [...store.nodes.values()].find((n) => n.name.toLowerCase() === text)
      || [...store.nodes.values()].find((n) => n.name.toLowerCase().includes(text));
    if (match && view) {
      view.select(match.id);
      view.autoFit = false;
      view.cy.center(view.cy.getElementById(match.id));
    }
  });

  function updateCount() {
    count.textContent = `${store.nodes.size} nodes`;
    root.dataset.nodes = String(view ? view.cy.nodes().length : 0);
  }
  const unsubscribe = store.subscribe((change) => {
    const started = performance.now();
    if (view) view.apply(change);
    else ensureView();
    updateCount();
    root.dataset.applyMs = String(performance.now() - started);
  });
  updateCount();
  if (store.seq < model.get("graph_seq") || store.seq < 0) {
    store.waiting = true;
    send({ type: "snapshot" });
  }

  // -- output, feedback ------------------------------------------------------------------------------
  const outputLine = h(doc, "div", { className: "tw-output" });
  const feedbackText = h(doc, "textarea", { className: "tw-feedback", rows: "2",
    placeholder: "What should change? e.g. “too long, answer in one sentence”", "aria-label": "Feedback" });
  const score = h(doc, "input", { className: "tw-score", type: "number", step: "any", placeholder: "score",
    "aria-label": "Score (optional)" });
  const candidateCount = h(doc, "input", { className: "tw-candidates", type: "number", min: "1", max: "10", step: "1",
    value: "1", title: "How many alternative proposals to ask for (1: one proposal)",
    "aria-label": "Number of candidate proposals" });
  const proposeButton = h(doc, "button", { className: "tw-propose tw-primary" }, "Propose");
  const stopButton = h(doc, "button", { className: "tw-stop", hidden: true, title: "Cancel this proposal" }, "Stop");
  stopButton.addEventListener("click", () => send({ type: "stop" }));
  const usageLine = h(doc, "span", { className: "tw-usage" });
  const localNote = h(doc, "div", { className: "tw-local-note", role: "note", hidden: true });
  const error = h(doc, "div", { className: "tw-error", role: "alert" });
  const propose = () => {
    const text = feedbackText.value.trim();
    const value = score.value.trim();
    const candidates = Math.max(1, Math.round(Number(candidateCount.value) || 1));
    send({ type: "propose", text, score: value === "" ? null : Number(value), candidates });
  };
  proposeButton.addEventListener("click", propose);
  feedbackText.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.stopPropagation();
      propose();
    }
  });
  const feedbackBox = h(doc, "div", { className: "tw-feedback-box" },
    h(doc, "label", { className: "tw-section-title" }, "Feedback"),
    h(doc, "div", { className: "tw-feedback-row" }, feedbackText, score, candidateCount, proposeButton,
      stopButton),
    usageLine, localNote, error);
  const proposalBox = h(doc, "div", { className: "tw-proposal" });
  const acceptedBox = h(doc, "div", { className: "tw-accepted" });
  const writebackBox = h(doc, "div", { className: "tw-writeback", role: "status", "aria-live": "polite" });
  const historyBox = h(doc, "details", { className: "tw-history" });
  root.append(outputLine, feedbackBox, proposalBox, acceptedBox, writebackBox, historyBox);

  function renderStatus() {
    const state = model.get("status");
    const busy = state === "proposing" || state === "running" || state === "applying";
    status.textContent = { idle: "", running: "running…", proposing: "the model is working…",
      applying: "applying…", error: "error" }[state] ?? state;
    status.className = `tw-status tw-status-${state}`;
    root.classList.toggle("tw-busy", busy);
    proposeButton.disabled = busy;
    proposeButton.textContent = state === "proposing" ? "Proposing…" : "Propose";
    stopButton.hidden = state !== "proposing";
    for (const button of proposalBox.querySelectorAll("button")) button.disabled = busy;
  }
  function renderError() {
    const text = model.get("error");
    error.textContent = text;
    error.hidden = !text;
  }
  function renderOutput() {
    const value = model.get("output_value");
    outputLine.replaceChildren();
    if (value) outputLine.append(h(doc, "span", { className: "tw-field-label" }, "Output "), h(doc, "code", {}, value));
  }
  function renderUsage() {
    const usage = model.get("usage");
    usageLine.textContent = usageText(usage) ? `Last proposal used ${usageText(usage)}.` : "";
    localNote.textContent = (usage && usage.note) || "";
    localNote.hidden = !localNote.textContent;
  }

  // One proposal (or one candidate of several): reasoning, a card per parameter (diff, accept/reject,
  // editable value), and the actions; `candidate` is its index among the candidates, or null.
  function optionElements(option, candidate) {
    const elements = [];
    const changes = option.changes || [];
    if (option.reasoning) {
      elements.push(h(doc, "div", { className: "tw-reasoning" }, h(doc, "strong", {}, "Reasoning: "),
        option.reasoning));
    }
    const choices = new Map();
    const edits = new Map();
    const group = `tw-${model.get("label")}-${candidate ?? "p"}`;
    for (const change of changes) {
      const editor = h(doc, "textarea", { className: "tw-edit", rows: String(Math.min(12,
        change.new_text.split("\n").length + 1)), "aria-label": `Proposed value of ${change.name} (editable)` });
      editor.value = change.new_text;
      edits.set(change.key, editor);
      const accept = h(doc, "input", { type: "radio", name: `${group}-${change.key}`, value: "accept",
        checked: true, "aria-label": `Accept ${change.name}` });
      const reject = h(doc, "input", { type: "radio", name: `${group}-${change.key}`, value: "reject",
        "aria-label": `Reject ${change.name}` });
      choices.set(change.key, accept);
      elements.push(h(doc, "div", { className: "tw-change", "data-name": change.name },
        h(doc, "div", { className: "tw-change-title" }, h(doc, "strong", {}, change.name),
          ` (${change.kind})`,
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
    const decide = (mode) => {
      const chosen = mode === "all" ? changes : changes.filter((c) => choices.get(c.key).checked);
      if (!chosen.length) {
        send({ type: "reject", reason: null });
        return;
      }
      const editsOut = {};
      for (const c of chosen) {
        const text = edits.get(c.key).value;
        if (text !== c.new_text) editsOut[c.key] = text;
      }
      const message = { type: "accept", names: chosen.map((c) => c.key), edits: editsOut };
      if (candidate !== null) message.candidate = candidate;
      send(message);
    };
    if (changes.length) {
      elements.push(h(doc, "div", { className: "tw-actions" },
        h(doc, "button", { className: "tw-accept-all tw-primary", onclick: () => decide("all") },
          candidate === null ? "Accept all" : `Accept candidate ${candidate}`),
        changes.length > 1 ? h(doc, "button", { className: "tw-apply-choices", onclick: () => decide("chosen") },
          "Apply choices") : null,
        candidate === null ? rejectButton("Reject") : null));
    }
    return elements;
  }

  function rejectButton(text) {
    return h(doc, "button", { className: "tw-reject-all", onclick: () => send({ type: "reject", reason: null }) }, text);
  }

  function candidateHead(option, chosen) {
    const score = typeof option.score === "number" ? ` · score ${option.score}` : "";
    return `Candidate ${option.index}${score}${option.index === chosen ? " (default)" : ""}`;
  }

  function renderProposal() {
    const proposal = model.get("proposal") || {};
    proposalBox.replaceChildren();
    const candidates = proposal.candidates || [];
    const usable = (option) => (option.changes || []).length || option.reasoning
      || Object.keys(option.rejected || {}).length;
    if (!candidates.length && !usable(proposal)) return;
    const from = proposal.optimizer || "the optimizer";
    if (!candidates.length) {
      proposalBox.append(h(doc, "div", { className: "tw-section-title" }, `Proposal from ${from}`),
        ...optionElements(proposal, null));
      renderStatus();
      return;
    }
    // Several candidates: side by side, one column each (its score, reasoning and diffs, its own accept).
    const columns = candidates.map((option) => h(doc, "section", {
      className: `tw-candidate-column${option.index === proposal.chosen ? " tw-candidate-default" : ""}`,
      role: "listitem", "data-index": String(option.index), "aria-label": `Candidate ${option.index}` },
    h(doc, "div", { className: "tw-candidate-head" }, candidateHead(option, proposal.chosen)),
    option.evaluation_error ? h(doc, "div", { className: "tw-unusable" }, `Not scored: ${option.evaluation_error}`)
      : null,
    ...optionElements(option, option.index)));
    proposalBox.append(h(doc, "div", { className: "tw-section-title" },
      `${candidates.length} candidates from ${from}: pick one (or parts of one) and accept it`),
    h(doc, "div", { className: "tw-candidate-grid", role: "list" }, columns),
    h(doc, "div", { className: "tw-actions" }, rejectButton("Reject all candidates")));
    renderStatus();
  }

  function renderAccepted() {
    const accepted = model.get("accepted") || {};
    acceptedBox.replaceChildren();
    if (!accepted.values || !Object.keys(accepted.values).length) return;
    acceptedBox.append(h(doc, "div", { className: "tw-section-title" },
      `${accepted.decision === "accepted" ? "Accepted" : "Now in effect"} (step #${accepted.step})`));
    for (const [name, text] of Object.entries(accepted.values)) {
      acceptedBox.append(h(doc, "div", { className: "tw-field" }, h(doc, "div", { className: "tw-field-label" }, name),
        h(doc, "pre", { className: "tw-field-value" }, text)));
    }
    acceptedBox.append(h(doc, "button", { className: "tw-rerun tw-primary", onclick: () => send({ type: "rerun" }) },
      "Re-run the cell"));
  }

  // What became of the cell's text; when the person edited the cell since it ran, ask what to do.
  function renderWriteback() {
    const status = model.get("writeback") || {};
    writebackBox.replaceChildren();
    writebackBox.className = `tw-writeback tw-writeback-${status.state || "none"}`;
    if (!status.message) return;
    writebackBox.append(h(doc, "span", {}, status.message));
    if (status.state !== "edited") return;
    const answer = (value) => send({ type: "writeback", answer: value });
    writebackBox.append(h(doc, "div", { className: "tw-actions" },
      h(doc, "button", { className: "tw-writeback-overwrite", onclick: () => answer("overwrite") },
        "Write the values into my text"),
      h(doc, "button", { className: "tw-writeback-below", onclick: () => answer("below") },
        "Put the updated cell below"),
      h(doc, "button", { className: "tw-writeback-keep", onclick: () => answer("keep") }, "Keep my text")));
  }

  function renderHistory() {
    const steps = model.get("history") || [];
    const open = historyBox.open;
    historyBox.replaceChildren(h(doc, "summary", { className: "tw-section-title" }, `History (${steps.length} steps)`));
    historyBox.open = open;
    const plot = scorePlot(doc, steps);
    if (plot) historyBox.append(plot);
    const list = h(doc, "ol", { className: "tw-timeline" });
    for (const step of steps) {
      const when = new Date(step.created * 1000).toLocaleTimeString();
      list.append(h(doc, "li", { className: `tw-step tw-step-${step.decision}` },
        h(doc, "span", { className: "tw-step-head" }, `#${step.id} ${when} ${step.decision}`),
        step.names.length ? ` ${step.names.join(", ")}` : "",
        typeof step.score === "number" ? ` · score ${step.score}` : "",
        step.feedback ? h(doc, "div", { className: "tw-step-feedback" }, step.feedback) : null,
        step.revertible ? h(doc, "button", { className: "tw-revert", onclick: () => send({ type: "restore", step: step.id }),
          "aria-label": `Revert to step ${step.id}` }, "Revert to this step") : null));
    }
    historyBox.append(list);
  }

  const handlers = {
    "change:status": renderStatus, "change:error": renderError, "change:proposal": renderProposal,
    "change:accepted": renderAccepted, "change:history": renderHistory, "change:usage": renderUsage,
    "change:output_value": renderOutput, "change:writeback": renderWriteback,
  };
  for (const [event, handler] of Object.entries(handlers)) model.on(event, handler);
  renderProposal();
  renderStatus();
  renderError();
  renderOutput();
  renderUsage();
  renderAccepted();
  renderWriteback();
  renderHistory();

  // The theme's variables may load just after the body's attributes change: read them again shortly after.
  const themeWatch = new MutationObserver(() => {
    view?.restyle();
    setTimeout(() => view?.restyle(), 300);
  });
  themeWatch.observe(doc.body, { attributes: true, attributeFilter: ["data-jp-theme-light", "data-jp-theme-name"] });
  const resize = new ResizeObserver(() => {
    if (!ensureView()) return;
    view.cy.resize();
    if (view.autoFit) view.fit();
  });
  resize.observe(canvas);
  ensureView();

  return () => {
    for (const [event, handler] of Object.entries(handlers)) model.off(event, handler);
    unsubscribe();
    themeWatch.disconnect();
    resize.disconnect();
    view?.destroy();
  };
}

export default { initialize, render };
