// The search view (anywidget module of SearchWidget): a running search's candidates as a table and a
// lineage tree (and, for a Pareto objective, the front over its first two metrics), any candidate's diff
// against its parent, and promote / prune / stop / resume. State comes from the traitlets `status`,
// `summary`, `candidates`, `diff` and `error`; actions go to the kernel as custom messages.
import "./style.css";
import "./search.css";
import { diffTable } from "./diff.js";
import { frontPoints, metricNames, shown, treeLayout } from "./search_model.js";

const SVG = "http://www.w3.org/2000/svg";

function make(doc, tag, props = {}, children = []) {
  const node = doc.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "className" || key === "textContent" || key === "disabled" || key === "title") node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function svgNode(doc, tag, attrs = {}) {
  const node = doc.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

function render({ model, el }) {
  const doc = el.ownerDocument;
  let selected = null;
  const send = (msg) => model.send(msg);

  const title = make(doc, "strong");
  const status = make(doc, "span", { className: "tw-search-status", role: "status", "aria-live": "polite" });
  const stop = make(doc, "button", { className: "tw-search-stop", textContent: "Stop",
    title: "Stop after the work under way (resume goes on from there)", onclick: () => send({ type: "stop" }) });
  const resume = make(doc, "button", { className: "tw-search-resume", textContent: "Resume",
    title: "Go on from where the search stopped", onclick: () => send({ type: "resume" }) });
  const error = make(doc, "div", { className: "tw-error", role: "alert" });
  const table = make(doc, "table", { className: "tw-search-table" });
  const tree = make(doc, "div", { className: "tw-search-tree", "aria-label": "Lineage of the candidates" });
  const front = make(doc, "div", { className: "tw-search-front", "aria-label": "Pareto front" });
  const diff = make(doc, "div", { className: "tw-search-diff", "aria-live": "polite" });
  const root = make(doc, "div", { className: "tw-root tw-search" }, [
    make(doc, "div", { className: "tw-header" }, [title, status, stop, resume]),
    error,
    make(doc, "div", { className: "tw-search-body" }, [table, make(doc, "div", { className: "tw-search-plots" },
      [tree, front])]),
    diff,
  ]);
  el.append(root);

  function select(id) {
    selected = id;
    send({ type: "diff", id });
    renderCandidates();
  }

  function renderHeader() {
    const s = model.get("summary") || {};
    const state = model.get("status");
    title.textContent = `Search ${s.name ?? ""} · ${s.strategy ?? ""} · ${s.objective ?? ""}`;
    status.textContent = `${state}${s.stopped && state !== "running" ? ` (${s.stopped})` : ""} · round `
      + `${s.round ?? 0}/${s.rounds ?? 0} · ${s.tokens ?? 0} tokens`;
    stop.disabled = state !== "running";
    resume.disabled = state === "running";
    error.textContent = model.get("error") || "";
    error.hidden = !error.textContent;
  }

  function renderTable(rows, metrics) {
    const pareto = Boolean((model.get("summary") || {}).pareto);
    const head = ["#", "parent", "status", "rollouts", "value", "UCB", ...metrics, ""];
    table.replaceChildren(make(doc, "thead", {}, [make(doc, "tr", {}, head.map((text) => make(doc, "th",
      { textContent: text })))]));
    const body = make(doc, "tbody");
    for (const row of rows) {
      const marks = [row.best ? "best" : "", pareto && row.front ? "front" : "", row.promoted ? "promoted" : ""]
        .filter(Boolean).join(" ");
      const promote = make(doc, "button", { className: "tw-search-promote", textContent: "Promote",
        title: `Expand #${row.id} next`, onclick: (event) => { event.stopPropagation(); send({ type: "promote", id: row.id }); } });
      const prune = make(doc, "button", { className: "tw-search-prune", textContent: "Prune",
        title: `Never roll out or expand #${row.id} again`, disabled: row.parent === null || row.status === "pruned",
        onclick: (event) => { event.stopPropagation(); send({ type: "prune", id: row.id }); } });
      const cells = [`#${row.id}`, row.parent === null ? "-" : `#${row.parent}`, row.status, String(row.rollouts),
        shown(row.value), shown(row.ucb), ...metrics.map((m) => shown(row.metrics[m])), marks];
      const tr = make(doc, "tr", { "data-id": String(row.id), "data-status": row.status,
        className: `tw-search-row${row.id === selected ? " tw-selected" : ""}${row.best ? " tw-best" : ""}`,
        onclick: () => select(row.id) }, [...cells.map((text) => make(doc, "td", { textContent: text })),
        make(doc, "td", { className: "tw-search-actions" }, [promote, prune])]);
      body.append(tr);
    }
    table.append(body);
  }

  function renderTree(rows) {
    const { nodes, edges, width, height } = treeLayout(rows);
    const dx = 70;
    const dy = 26;
    const svg = svgNode(doc, "svg", { width: Math.max(1, width) * dx + 20, height: Math.max(1, height) * dy + 10,
      role: "img" });
    const at = new Map(nodes.map((n) => [n.id, [n.x * dx + 16, n.y * dy + 16]]));
    for (const { from, to } of edges) {
      const [x1, y1] = at.get(from);
      const [x2, y2] = at.get(to);
      svg.append(svgNode(doc, "line", { x1, y1, x2, y2, class: "tw-search-edge" }));
    }
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const n of nodes) {
      const row = byId.get(n.id);
      const [cx, cy] = at.get(n.id);
      const group = svgNode(doc, "g", { class: `tw-search-node tw-status-${row.status}${row.best ? " tw-best" : ""}`
        + `${n.id === selected ? " tw-selected" : ""}`, "data-id": String(n.id) });
      group.append(svgNode(doc, "circle", { cx, cy, r: 9 }));
      const label = svgNode(doc, "text", { x: cx + 12, y: cy + 4 });
      label.textContent = `#${n.id} ${shown(row.value)}`;
      const tip = svgNode(doc, "title");
      tip.textContent = `#${n.id} (${row.status}): ${row.reasoning || "the starting point"}`;
      group.append(label, tip);
      group.addEventListener("click", () => select(n.id));
      svg.append(group);
    }
    tree.replaceChildren(svg);
  }

  function renderFront(rows) {
    const s = model.get("summary") || {};
    front.replaceChildren();
    if (!s.pareto || (s.metrics || []).length < 2) return;
    const [yName, xName] = s.metrics;
    const points = frontPoints(rows, xName, yName);
    if (!points.length) return;
    const size = 180;
    const span = (values) => [Math.min(...values), Math.max(...values)];
    const [x0, x1] = span(points.map((p) => p.x));
    const [y0, y1] = span(points.map((p) => p.y));
    const px = (x) => 20 + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (size - 30);
    const py = (y) => size - 20 - (y1 === y0 ? 0.5 : (y - y0) / (y1 - y0)) * (size - 30);
    const svg = svgNode(doc, "svg", { width: size, height: size, role: "img",
      "aria-label": `${yName} against ${xName}; the front is filled` });
    for (const p of points) {
      const dot = svgNode(doc, "circle", { cx: px(p.x), cy: py(p.y), r: 5, "data-id": String(p.id),
        class: p.front ? "tw-search-on-front" : "tw-search-off-front" });
      const tip = svgNode(doc, "title");
      tip.textContent = `#${p.id}: ${yName} ${shown(p.y)}, ${xName} ${shown(p.x)}`;
      dot.append(tip);
      dot.addEventListener("click", () => select(p.id));
      svg.append(dot);
    }
    const caption = make(doc, "div", { className: "tw-hint",
      textContent: `${yName} ↑ against ${xName}${(s.minimize || []).includes(xName) ? " ↓" : ""}` });
    front.append(svg, caption);
  }

  function renderCandidates() {
    const rows = model.get("candidates") || [];
    const metrics = metricNames(rows);
    renderTable(rows, metrics);
    renderTree(rows);
    renderFront(rows);
  }

  function renderDiff() {
    const d = model.get("diff") || {};
    diff.replaceChildren();
    if (d.id === undefined) {
      diff.append(make(doc, "p", { className: "tw-hint", textContent: "Click a candidate to see its diff against its parent." }));
      return;
    }
    const head = d.parent === null ? `Candidate #${d.id} is the starting point.` : `Candidate #${d.id} against #${d.parent}`;
    diff.append(make(doc, "div", { className: "tw-search-diff-title", textContent: head }));
    for (const change of d.changes || []) {
      diff.append(make(doc, "div", { className: "tw-change", "data-name": change.name }, [
        make(doc, "div", { className: "tw-field-label", textContent: change.name }),
        diffTable(doc, change.old, change.new),
      ]));
    }
  }

  const handlers = {
    "change:status": renderHeader,
    "change:summary": renderHeader,
    "change:error": renderHeader,
    "change:candidates": renderCandidates,
    "change:diff": renderDiff,
  };
  for (const [event, handler] of Object.entries(handlers)) model.on(event, handler);
  renderHeader();
  renderCandidates();
  renderDiff();
  return () => {
    for (const [event, handler] of Object.entries(handlers)) model.off(event, handler);
  };
}

export default { render };
