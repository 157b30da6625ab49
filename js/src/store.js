// The graph as the kernel described it: nodes and edges keyed by id, kept per model (not per view),
// filled by numbered deltas; a gap in the numbering means a snapshot must be asked for.

export class GraphStore {
  constructor() {
    this.nodes = new Map();
    this.edges = new Map();
    this.seq = -1;
    this.listeners = new Set();
  }

  /** Apply one "graph" message; returns the change, or null when a delta was missed. */
  apply(msg) {
    if (msg.reset) {
      this.nodes.clear();
      this.edges.clear();
    } else if (msg.seq !== this.seq + 1) {
      return null;
    }
    this.seq = msg.seq;
    const added = [];
    const addedEdges = [];
    const updated = [];
    for (const node of msg.nodes || []) {
      const known = this.nodes.has(node.id);
      this.nodes.set(node.id, node);
      (known ? updated : added).push(node);
    }
    for (const node of msg.updates || []) {
      const old = this.nodes.get(node.id);
      if (old) {
        const merged = { ...old, ...node };
        this.nodes.set(node.id, merged);
        updated.push(merged);
      }
    }
    for (const edge of msg.edges || []) {
      const id = `${edge.source}>${edge.target}`;
      if (!this.edges.has(id) && this.nodes.has(edge.source) && this.nodes.has(edge.target)) {
        const kept = { id, source: edge.source, target: edge.target };
        this.edges.set(id, kept);
        addedEdges.push(kept);
      }
    }
    const change = { reset: Boolean(msg.reset), added, addedEdges, updated };
    for (const listener of this.listeners) listener(change);
    return change;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

// What one view of the widget shows, shared by its parts (toolbar, graph, details): the selected node,
// whether repeats are collapsed, how many nodes are drawn, and requests to the graph (fit, zoom). Each
// render() has its own (two views of one model may look at different nodes).
export class ViewState {
  constructor() {
    this.selected = null;
    this.collapsed = false;
    this.collapseChosen = false;
    this.drawn = 0;
    this.listeners = new Set();
  }

  /** Call `listener(event)` on every event; returns the function that stops it. */
  on(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event) {
    for (const listener of this.listeners) listener(event);
  }

  /** Select node `id` (null: none) described by `node`; `focus` asks the graph to pan and zoom to it. */
  select(id, node = null, focus = false) {
    this.selected = id === null ? null : { id, node };
    this.emit({ type: "select", id, node, focus });
  }

  /** Collapse repeats or not; `chosen` (the person pressed the button) stops automatic collapsing. */
  setCollapsed(on, chosen = true) {
    this.collapseChosen = this.collapseChosen || chosen;
    if (on === this.collapsed) return;
    this.collapsed = on;
    this.emit({ type: "collapsed", on });
  }

  /** The graph drew `count` nodes; `applyMs`: how long applying the store's last change took. */
  setDrawn(count, applyMs = null) {
    if (count === this.drawn && applyMs === null) return;
    this.drawn = count;
    this.emit({ type: "drawn", count, applyMs });
  }

  /** Ask the graph to fit, or to zoom by `factor`. */
  request(type, factor = 1) {
    this.emit({ type, factor });
  }
}
