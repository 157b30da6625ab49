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
