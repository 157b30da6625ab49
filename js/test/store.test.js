// GraphStore (numbered deltas, snapshots, gaps) and ViewState (selection, collapse, requests).
import assert from "node:assert/strict";
import { test } from "node:test";
import { GraphStore, ViewState } from "../src/store.js";

const node = (id, extra = {}) => ({ id, name: id, kind: "value", level: 0, ...extra });

test("a snapshot fills the store and its listeners hear what was added", () => {
  const store = new GraphStore();
  const heard = [];
  store.subscribe((change) => heard.push(change));
  const change = store.apply({ seq: 0, reset: true, nodes: [node("a"), node("b")], edges: [{ source: "a", target: "b" }] });
  assert.equal(store.seq, 0);
  assert.deepEqual([...store.nodes.keys()], ["a", "b"]);
  assert.deepEqual([...store.edges.keys()], ["a>b"]);
  assert.equal(change.reset, true);
  assert.deepEqual(change.added.map((n) => n.id), ["a", "b"]);
  assert.equal(heard.length, 1);
});

test("deltas add nodes, merge updates and drop edges to unknown nodes", () => {
  const store = new GraphStore();
  store.apply({ seq: 0, reset: true, nodes: [node("a")], edges: [] });
  const change = store.apply({ seq: 1, nodes: [node("b")], edges: [{ source: "a", target: "b" },
    { source: "a", target: "ghost" }], updates: [{ id: "a", feedback: ["shorter"] }, { id: "ghost", data: 1 }] });
  assert.deepEqual(change.added.map((n) => n.id), ["b"]);
  assert.deepEqual(change.addedEdges.map((e) => e.id), ["a>b"]);
  assert.deepEqual(change.updated.map((n) => n.id), ["a"]);
  assert.deepEqual(store.nodes.get("a").feedback, ["shorter"]);
  assert.equal(store.nodes.get("a").name, "a"); // merged, not replaced
  assert.equal(store.nodes.has("ghost"), false);
});

test("a gap in the numbering is refused (null) and changes nothing until a snapshot", () => {
  const store = new GraphStore();
  store.apply({ seq: 0, reset: true, nodes: [node("a")], edges: [] });
  assert.equal(store.apply({ seq: 2, nodes: [node("c")] }), null);
  assert.equal(store.seq, 0);
  assert.equal(store.nodes.has("c"), false);
  store.apply({ seq: 3, reset: true, nodes: [node("c")], edges: [] });
  assert.deepEqual([...store.nodes.keys()], ["c"]);
});

test("an unsubscribed listener hears nothing more", () => {
  const store = new GraphStore();
  let calls = 0;
  const stop = store.subscribe(() => { calls += 1; });
  store.apply({ seq: 0, reset: true, nodes: [], edges: [] });
  stop();
  store.apply({ seq: 1, nodes: [node("a")] });
  assert.equal(calls, 1);
});

test("the view state tells its listeners of selections, collapsing and requests", () => {
  const view = new ViewState();
  const events = [];
  const stop = view.on((event) => events.push(event));
  view.select("n1", { id: "n1" }, true);
  assert.deepEqual(view.selected, { id: "n1", node: { id: "n1" } });
  view.setCollapsed(true, false);
  view.setCollapsed(true); // no change: no event, but the choice is now the person's
  view.request("zoom", 1.25);
  view.setDrawn(3);
  view.setDrawn(3); // unchanged: quiet
  view.select(null);
  stop();
  view.request("fit");
  assert.deepEqual(events.map((e) => e.type), ["select", "collapsed", "zoom", "drawn", "select"]);
  assert.equal(events[0].focus, true);
  assert.equal(events[2].factor, 1.25);
  assert.equal(view.selected, null);
  assert.equal(view.collapsed, true);
  assert.equal(view.collapseChosen, true);
});

test("collapsing automatically does not count as the person's choice", () => {
  const view = new ViewState();
  view.setCollapsed(true, false);
  assert.equal(view.collapseChosen, false);
  view.setCollapsed(false);
  assert.equal(view.collapseChosen, true);
});
