// The graph's pure parts: collapsing repeats, when a graph opens collapsed, and fitting the viewport.
import assert from "node:assert/strict";
import { test } from "node:test";
import { READABLE_ZOOM, collapse, fitViewport, opensCollapsed } from "../src/graph.js";

/** A chain x0 -> add1 -> add2 ... of `count` adds, each also fed by its own constant "1", plus parameter a. */
function chain(count) {
  const nodes = [{ id: "a", name: "a:0", kind: "parameter", trainable: true, level: 0 }];
  const edges = [];
  let previous = "a";
  for (let i = 0; i < count; i++) {
    nodes.push({ id: `c${i}`, name: `int:${i}`, kind: "value", level: 0 });
    nodes.push({ id: `add${i}`, name: `add:${i}`, op: "add", kind: "operation", level: i + 1, output: i === count - 1 });
    edges.push({ source: previous, target: `add${i}` }, { source: `c${i}`, target: `add${i}` });
    previous = `add${i}`;
  }
  return { nodes, edges };
}

test("six or more of one operator become one group with their constants inside", () => {
  const { nodes, edges } = chain(10);
  const result = collapse(nodes, edges);
  const group = result.nodes.find((n) => n.group);
  assert.equal(group.id, "group:add");
  assert.equal(group.members.length, 9); // the output stays its own node
  assert.equal(group.inputs, 9);
  assert.match(group.description, /9 repeated "add" operations and their 9 constant inputs/);
  assert.deepEqual(result.nodes.map((n) => n.id).sort(), ["a", "add9", "c9", "group:add"].sort());
  assert.equal(result.groupOf.get("add3"), "group:add");
  assert.equal(result.groupOf.get("c3"), "group:add");
  const ids = result.edges.map((e) => e.id).sort();
  assert.deepEqual(ids, ["a>group:add", "c9>add9", "group:add>add9"].sort()); // no self loop, no duplicates
});

test("fewer repeats than the threshold, parameters and outputs are never collapsed", () => {
  const { nodes, edges } = chain(5);
  const result = collapse(nodes, edges);
  assert.equal(result.nodes.length, nodes.length);
  assert.equal(result.groupOf.size, 0);
  assert.ok(result.nodes.some((n) => n.trainable));
});

test("a constant that also feeds a node outside the group stays drawn", () => {
  const { nodes, edges } = chain(8);
  nodes.push({ id: "other", name: "mul:0", op: "mul", kind: "operation", level: 2 });
  edges.push({ source: "c2", target: "other" });
  const result = collapse(nodes, edges);
  assert.ok(result.nodes.some((n) => n.id === "c2"));
  assert.ok(result.edges.some((e) => e.id === "c2>group:add") && result.edges.some((e) => e.id === "c2>other"));
});

test("big graphs open collapsed, small ones whole", () => {
  assert.equal(opensCollapsed(40), false);
  assert.equal(opensCollapsed(1001), true);
});

test("a fit shows the whole graph centred, zoomed in at most to the maximum", () => {
  const small = fitViewport({ x1: 0, x2: 100, y1: 0, y2: 50 }, 800, 400);
  assert.equal(small.zoom, 1.5);
  assert.deepEqual(small.pan, { x: 400 - 1.5 * 50, y: 200 - 1.5 * 25 });
  const wide = fitViewport({ x1: 0, x2: 7600, y1: 0, y2: 100 }, 800, 400);
  assert.equal(wide.zoom, 0.1);
});

test("a readable fit stops at the readable zoom and centres the anchor", () => {
  const tall = { x1: 0, x2: 100, y1: 0, y2: 35000 };
  const whole = fitViewport(tall, 800, 400, { readable: false });
  assert.ok(whole.zoom < READABLE_ZOOM);
  const readable = fitViewport(tall, 800, 400, { readable: true, anchor: { x: 50, y: 35000 } });
  assert.equal(readable.zoom, READABLE_ZOOM);
  assert.deepEqual(readable.pan, { x: 400 - READABLE_ZOOM * 50, y: 200 - READABLE_ZOOM * 35000 });
});
