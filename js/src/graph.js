// The trace graph drawn with cytoscape: a layered DAG (parameters on top, the output at the bottom),
// node kinds told apart by shape and colour, paths from trainable parameters to the output
// highlighted, repeated operations collapsible, zoom and fit. Small graphs are laid out by dagre;
// big ones (and live deltas) by a fast incremental layering on the engine's node levels.
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";

cytoscape.use(dagre);

const DX = 130;
const DY = 70;
const DAGRE_LIMIT = 200;
const COLLAPSE_MIN = 6;
const BIG = 500;
const AUTO_COLLAPSE = 150;
/** The zoom from which node labels are drawn (10px text, shown from 7px on): fits never go below it. */
export const READABLE_ZOOM = 0.7;
/** The zoom Find brings a node to, at least. */
export const FOCUS_ZOOM = 1;

function cssVar(el, name, fallback) {
  const value = getComputedStyle(el).getPropertyValue(name).trim();
  return value || fallback;
}

function themeStyle(el, big) {
  const v = (name, fallback) => cssVar(el, name, fallback);
  const text = v("--tw-text", "#212121");
  return [
    { selector: "node", style: {
      label: "data(label)", "font-size": 10, color: text, "text-valign": "center", "text-halign": "center",
      width: 112, height: 32, "border-width": 1.5,
      "min-zoomed-font-size": 7,
    } },
    { selector: "node.parameter", style: {
      shape: "round-rectangle", "background-color": v("--tw-param-fill", "#ffe0b2"),
      "border-color": v("--tw-param-border", "#ef6c00"), "border-width": 3,
    } },
    { selector: "node.value", style: {
      shape: "rectangle", "background-color": v("--tw-value-fill", "#eeeeee"),
      "border-color": v("--tw-value-border", "#9e9e9e"),
    } },
    { selector: "node.operation", style: {
      shape: "ellipse", "background-color": v("--tw-op-fill", "#bbdefb"), "border-color": v("--tw-op-border", "#1976d2"),
    } },
    { selector: "node.exception", style: {
      shape: "octagon", "background-color": v("--tw-exc-fill", "#ffcdd2"), "border-color": v("--tw-exc-border", "#c62828"),
      "border-width": 3,
    } },
    { selector: "node.output", style: {
      "border-color": v("--tw-output-border", "#2e7d32"), "border-width": 5, "border-style": "double",
      "font-weight": "bold",
    } },
    { selector: "node.external", style: { opacity: 0.7, "border-style": "dashed" } },
    { selector: "node.group", style: { width: 140, height: 40, "font-style": "italic" } },
    { selector: "edge", style: {
      width: 1.2, "line-color": v("--tw-edge", "#9e9e9e"), "target-arrow-color": v("--tw-edge", "#9e9e9e"),
      "target-arrow-shape": "triangle", "curve-style": "straight", "arrow-scale": 0.8,
    } },
    { selector: "edge.path", style: {
      width: 3, "line-color": v("--tw-path", "#2e7d32"), "target-arrow-color": v("--tw-path", "#2e7d32"),
    } },
    { selector: "node.path", style: { "underlay-color": v("--tw-path", "#2e7d32"), "underlay-opacity": 0.25,
      "underlay-padding": 4 } },
    // Big graphs: straight edges without arrowheads (the layering already says which way they go),
    // which costs a fraction to draw.
    ...(big ? [{ selector: "edge", style: { "curve-style": "haystack", "haystack-radius": 0,
      "target-arrow-shape": "none" } }] : []),
    { selector: "node:selected", style: { "overlay-color": v("--tw-select", "#1976d2"), "overlay-opacity": 0.3,
      "overlay-padding": 5 } },
  ];
}

function nodeLabel(node) {
  let text = node.name;
  if (node.group) text = `${node.name} ×${node.members.length}`;
  else if (node.kind === "operation") text = node.op || node.name;
  return text.length > 18 ? `${text.slice(0, 17)}…` : text;
}

function classesOf(node, onPath) {
  return [node.kind, node.output ? "output" : "", node.external ? "external" : "", node.group ? "group" : "",
    onPath ? "path" : ""].filter(Boolean).join(" ");
}

/** Group repeated operations (same operator, COLLAPSE_MIN or more times) into one node per operator; a
 * constant (a value with no parents, not trainable) feeding only one group is drawn inside it. Returns the
 * drawn nodes and edges, and `groupOf`: the id of the group each hidden node is in. */
export function collapse(nodes, edges) {
  const counts = new Map();
  const repeatable = (node) => node.kind === "operation" && !node.output && !node.trainable;
  for (const node of nodes) if (repeatable(node)) counts.set(node.op, (counts.get(node.op) || 0) + 1);
  const groupOf = new Map();
  const groups = new Map();
  for (const node of nodes) {
    if (!repeatable(node) || counts.get(node.op) < COLLAPSE_MIN) continue;
    const id = `group:${node.op}`;
    if (!groups.has(id)) {
      groups.set(id, { id, name: node.op, op: node.op, kind: "operation", group: true, members: [], inputs: 0,
        level: node.level, data: "", feedback: [] });
    }
    const group = groups.get(id);
    group.members.push(node.id);
    group.level = Math.min(group.level, node.level);
    groupOf.set(node.id, id);
  }
  const hasParents = new Set(edges.map((edge) => edge.target));
  const consumers = new Map();
  for (const edge of edges) {
    if (!consumers.has(edge.source)) consumers.set(edge.source, new Set());
    consumers.get(edge.source).add(groupOf.get(edge.target) || edge.target);
  }
  for (const node of nodes) {
    const into = consumers.get(node.id);
    if (node.kind !== "value" || node.trainable || node.output || hasParents.has(node.id) || !into
      || into.size !== 1) continue;
    const [target] = into;
    if (!groups.has(target)) continue;
    groupOf.set(node.id, target);
    groups.get(target).inputs += 1;
  }
  for (const group of groups.values()) {
    const constants = group.inputs ? ` and their ${group.inputs} constant inputs` : "";
    group.description = `${group.members.length} repeated "${group.op}" operations${constants}, collapsed`;
  }
  const kept = nodes.filter((node) => !groupOf.has(node.id)).concat([...groups.values()]);
  const seen = new Set();
  const keptEdges = [];
  for (const edge of edges) {
    const source = groupOf.get(edge.source) || edge.source;
    const target = groupOf.get(edge.target) || edge.target;
    const id = `${source}>${target}`;
    if (source !== target && !seen.has(id)) {
      seen.add(id);
      keptEdges.push({ id, source, target });
    }
  }
  return { nodes: kept, edges: keptEdges, groupOf };
}

/** Whether a graph of `count` nodes opens with its repeats collapsed (drawn whole it would be unreadable). */
export function opensCollapsed(count) {
  return count > AUTO_COLLAPSE;
}

/** The viewport {zoom, pan} showing `bounds` (model coordinates, padded) in a `width` x `height` canvas,
 * zoomed in at most to `maxZoom`. With `readable`, never below READABLE_ZOOM (labels are drawn from
 * there on): a graph too big for that is shown around `anchor` (e.g. its output) instead of whole. */
export function fitViewport(bounds, width, height, { minZoom = 0.02, maxZoom = 1.5, readable = false,
  anchor = null } = {}) {
  const w = Math.max(1, bounds.x2 - bounds.x1);
  const h = Math.max(1, bounds.y2 - bounds.y1);
  let zoom = Math.max(minZoom, Math.min(maxZoom, (width - 40) / w, (height - 40) / h));
  let centre = { x: (bounds.x1 + bounds.x2) / 2, y: (bounds.y1 + bounds.y2) / 2 };
  if (readable && zoom < READABLE_ZOOM) {
    zoom = READABLE_ZOOM;
    if (anchor) centre = anchor;
  }
  return { zoom, pan: { x: width / 2 - zoom * centre.x, y: height / 2 - zoom * centre.y } };
}

export class GraphView {
  /** Draws `store` into `container`; `onTap(id, node)` is called when a node is clicked (null, null: the
   * background). */
  constructor(container, store, onTap) {
    this.container = container;
    this.store = store;
    this.onTap = onTap;
    this.groupOf = new Map();
    this.collapsed = false;
    this.big = false;
    this.autoFit = true;
    this.slots = new Map();
    this.maxLevel = 0;
    this.resetModel();
    this.cy = cytoscape({
      container,
      style: themeStyle(container),
      minZoom: 0.02,
      maxZoom: 3,
      wheelSensitivity: 0.3,
      boxSelectionEnabled: false,
      hideEdgesOnViewport: true,
      pixelRatio: 1,
    });
    this.cy.on("tap", "node", (event) => this.onTap(event.target.id(), this.elementNode(event.target.id())));
    this.cy.on("tap", (event) => { if (event.target === this.cy) this.onTap(null, null); });
    this.cy.on("viewport", () => { if (this.userMoved) this.autoFit = false; });
    container.addEventListener("wheel", () => { this.userMoved = true; }, { passive: true });
    container.addEventListener("mousedown", () => { this.userMoved = true; });
  }

  /** The drawn graph (after collapsing) as adjacency maps, for path highlighting and fitting. */
  resetModel() {
    this.drawn = new Map();
    this.parents = new Map();
    this.children = new Map();
    this.onPath = new Set();
    this.positions = new Map();
    this.bounds = null;
  }

  /** Re-read the colours (the JupyterLab theme changed). */
  restyle() {
    this.cy.style(themeStyle(this.container, this.big));
  }

  /** Switch the edge style when the graph crosses the size where drawing cost starts to matter. */
  sizeStyle(count) {
    const big = count > BIG;
    if (big !== this.big) {
      this.big = big;
      this.restyle();
    }
  }

  /** The drawn element showing node `id` (its group's, when it is collapsed into one). */
  element(id) {
    return this.cy.getElementById(this.groupOf.get(id) || id);
  }

  /** Mark node `id` (null: none) as selected. */
  select(id) {
    this.cy.$(":selected").unselect();
    if (id === null) return;
    const element = this.element(id);
    if (element.nonempty()) element.select();
  }

  /** Pan to node `id`, zooming in to FOCUS_ZOOM if the graph is drawn smaller. */
  focus(id) {
    const element = this.element(id);
    if (element.empty()) return;
    this.autoFit = false;
    const cy = this.cy;
    const zoom = Math.min(cy.maxZoom(), Math.max(cy.zoom(), FOCUS_ZOOM));
    const where = element.position();
    cy.viewport({ zoom, pan: { x: cy.width() / 2 - zoom * where.x, y: cy.height() / 2 - zoom * where.y } });
  }

  elementNode(id) {
    if (id.startsWith("group:")) return this.groups?.get(id) || null;
    return this.store.nodes.get(id) || null;
  }

  /** Place a node in its level's row, near the mean x of its parents' positions, in the first free slot. */
  place(node, parents) {
    const level = node.output ? Math.max(node.level, this.maxLevel) : node.level;
    let row = this.slots.get(level);
    if (!row) {
      row = new Set();
      this.slots.set(level, row);
    }
    let wanted = 0;
    if (parents.length) {
      wanted = Math.round(parents.reduce((sum, p) => sum + p.x, 0) / parents.length / DX);
    }
    let slot = wanted;
    for (let step = 1; row.has(slot); step++) slot = wanted + (step % 2 ? Math.ceil(step / 2) : -step / 2);
    row.add(slot);
    const where = { x: slot * DX, y: level * DY };
    const b = this.bounds;
    this.bounds = b ? { x1: Math.min(b.x1, where.x), x2: Math.max(b.x2, where.x), y1: Math.min(b.y1, where.y),
      y2: Math.max(b.y2, where.y) } : { x1: where.x, x2: where.x, y1: where.y, y2: where.y };
    return where;
  }

  /** Draw the whole graph again (a snapshot, the collapse toggle, or a re-layout). */
  redraw() {
    const cy = this.cy;
    this.slots = new Map();
    let nodes = [...this.store.nodes.values()];
    let edges = [...this.store.edges.values()];
    this.groups = null;
    this.groupOf = new Map();
    if (this.collapsed) {
      let groupOf;
      ({ nodes, edges, groupOf } = collapse(nodes, edges));
      this.groupOf = groupOf;
      this.groups = new Map(nodes.filter((n) => n.group).map((n) => [n.id, n]));
    }
    this.maxLevel = nodes.reduce((max, n) => Math.max(max, n.level), 0);
    this.resetModel();
    this.sizeStyle(nodes.length);
    cy.batch(() => {
      cy.elements().remove();
      this.addElements(nodes, edges);
    });
    this.layoutSmall();
    if (this.autoFit) this.fit(true);
  }

  /** Add nodes (placed in their rows) and edges, with their path classes already set. */
  addElements(nodes, edges) {
    const sorted = [...nodes].sort((a, b) => a.level - b.level);
    for (const edge of edges) {
      if (!this.parents.has(edge.target)) this.parents.set(edge.target, []);
      this.parents.get(edge.target).push(edge.source);
      if (!this.children.has(edge.source)) this.children.set(edge.source, []);
      this.children.get(edge.source).push(edge.target);
    }
    for (const node of sorted) this.drawn.set(node.id, node);
    const onPath = this.pathSet();
    const elements = [];
    for (const node of sorted) {
      this.maxLevel = Math.max(this.maxLevel, node.level);
      const parents = (this.parents.get(node.id) || []).map((id) => this.positions.get(id)).filter(Boolean);
      const where = this.place(node, parents);
      this.positions.set(node.id, where);
      elements.push({ group: "nodes", data: { id: node.id, label: nodeLabel(node) }, position: where,
        classes: classesOf(node, onPath.has(node.id)) });
    }
    for (const edge of edges) {
      elements.push({ group: "edges", data: edge,
        classes: onPath.has(edge.source) && onPath.has(edge.target) ? "path" : "" });
    }
    this.cy.add(elements);
    this.markPath(onPath, new Set(nodes.map((n) => n.id)));
  }

  /** Apply a store change: add the new nodes and edges where they belong, refresh the updated ones. */
  apply(change) {
    const grown = this.drawn.size + change.added.length;
    if (change.reset || this.collapsed || (this.drawn.size <= DAGRE_LIMIT && grown > DAGRE_LIMIT)) {
      this.redraw();
      return;
    }
    const cy = this.cy;
    this.sizeStyle(grown);
    cy.batch(() => {
      this.addElements(change.added, change.addedEdges);
      for (const node of change.updated) {
        this.drawn.set(node.id, node);
        const element = cy.getElementById(node.id);
        if (element.nonempty()) {
          element.data("label", nodeLabel(node));
          element.classes(classesOf(node, this.onPath.has(node.id)));
          if (node.output && this.bounds && element.position("y") < this.maxLevel * DY) {
            element.position("y", this.maxLevel * DY);
            this.positions.set(node.id, element.position());
            this.bounds.y2 = Math.max(this.bounds.y2, this.maxLevel * DY);
          }
        }
      }
      if (change.updated.some((n) => n.output || n.trainable)) this.highlight();
    });
    if (change.added.length) this.layoutSmall();
    // A big graph keeps its zoom while it grows (re-zooming redraws every element); it is fitted
    // again when the output arrives.
    const outputArrived = change.updated.some((n) => n.output) || change.added.some((n) => n.output);
    if (this.autoFit && (this.drawn.size <= BIG || outputArrived)) this.fit(true);
  }

  /** Small graphs get dagre's layout (fewer crossings); big ones keep the fast layering. */
  layoutSmall() {
    const count = this.drawn.size;
    if (count > 1 && count <= DAGRE_LIMIT) {
      this.cy.layout({ name: "dagre", rankDir: "TB", nodeSep: 18, rankSep: 40, animate: false, fit: false }).run();
      this.bounds = null;
    }
  }

  /** The ids of the nodes on paths from trainable parameters to the output. */
  pathSet() {
    const walk = (starts, next) => {
      const seen = new Set(starts);
      const stack = [...starts];
      while (stack.length) {
        for (const id of next.get(stack.pop()) || []) {
          if (!seen.has(id)) {
            seen.add(id);
            stack.push(id);
          }
        }
      }
      return seen;
    };
    const output = [];
    const params = [];
    for (const node of this.drawn.values()) {
      if (node.output) output.push(node.id);
      if (node.trainable) params.push(node.id);
    }
    const onPath = new Set();
    if (output.length && params.length) {
      const up = walk(output, this.parents);
      for (const id of walk(params, this.children)) if (up.has(id)) onPath.add(id);
    }
    return onPath;
  }

  /** Set the path classes of the drawn elements whose membership changed (`fresh` ones are already right). */
  markPath(onPath, fresh = new Set()) {
    const cy = this.cy;
    for (const id of new Set([...onPath, ...this.onPath])) {
      if (fresh.has(id) || onPath.has(id) === this.onPath.has(id)) continue;
      cy.getElementById(id).toggleClass("path", onPath.has(id));
      for (const other of [...(this.parents.get(id) || []), ...(this.children.get(id) || [])]) {
        const [source, target] = (this.parents.get(id) || []).includes(other) ? [other, id] : [id, other];
        cy.getElementById(`${source}>${target}`).toggleClass("path", onPath.has(source) && onPath.has(target));
      }
    }
    this.onPath = onPath;
  }

  /** Recompute the highlighted paths (after the output or a parameter changed). */
  highlight() {
    this.markPath(this.pathSet());
  }

  setCollapsed(collapsed) {
    this.collapsed = collapsed;
    this.autoFit = true;
    this.redraw();
  }

  /** Show the whole graph (from the known positions: measuring thousands of labels is slow); `readable`
   * (the automatic fits) stops at a zoom whose labels can be read, around the output. */
  fit(readable = false) {
    const cy = this.cy;
    const b = this.bounds;
    const bounds = b ? { x1: b.x1 - 65, x2: b.x2 + 65, y1: b.y1 - 25, y2: b.y2 + 25 } : cy.elements().boundingBox();
    if (!Number.isFinite(bounds.x1)) return;
    const output = [...this.drawn.values()].find((node) => node.output);
    const anchor = output ? cy.getElementById(output.id).position() : null;
    cy.viewport(fitViewport(bounds, cy.width(), cy.height(), { minZoom: cy.minZoom(), readable, anchor }));
  }

  zoom(factor) {
    this.autoFit = false;
    const cy = this.cy;
    cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
  }

  /** The id of the next (or previous) drawn node after the selected one, in drawing order (keyboard use). */
  step(direction) {
    const nodes = this.cy.nodes();
    if (nodes.empty()) return null;
    const current = this.cy.$("node:selected");
    let index = current.nonempty() ? nodes.indexOf(current[0]) + direction : 0;
    index = (index + nodes.length) % nodes.length;
    return nodes[index].id();
  }

  destroy() {
    this.cy.destroy();
  }
}
