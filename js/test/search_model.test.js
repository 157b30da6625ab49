import { test } from "node:test";
import assert from "node:assert/strict";
import { depths, frontPoints, metricNames, shown, treeLayout } from "../src/search_model.js";

const rows = [
  { id: 0, parent: null, metrics: { score: 0.1, cost: 0 } },
  { id: 1, parent: 0, metrics: { score: 0.5, cost: 4 }, front: true },
  { id: 2, parent: 0, metrics: { score: 0.3, cost: 2 }, front: true },
  { id: 3, parent: 1, metrics: { score: 0.9, cost: 9 }, front: true },
  { id: 4, parent: 1, metrics: {} },
];

test("depths follow the parent chain", () => {
  assert.deepEqual([...depths(rows)].sort((a, b) => a[0] - b[0]), [[0, 0], [1, 1], [2, 1], [3, 2], [4, 2]]);
});

test("tree layout puts leaves on their own rows and parents between their children", () => {
  const { nodes, edges, width, height } = treeLayout(rows);
  const y = Object.fromEntries(nodes.map((n) => [n.id, n.y]));
  const x = Object.fromEntries(nodes.map((n) => [n.id, n.x]));
  assert.deepEqual(y, { 0: 1.25, 1: 0.5, 2: 2, 3: 0, 4: 1 });
  assert.deepEqual(x, { 0: 0, 1: 1, 2: 1, 3: 2, 4: 2 });
  assert.deepEqual(edges, [{ from: 0, to: 1 }, { from: 0, to: 2 }, { from: 1, to: 3 }, { from: 1, to: 4 }]);
  assert.equal(width, 3);
  assert.equal(height, 3);
});

test("a candidate whose parent is not shown is a root of its own", () => {
  const { nodes, edges } = treeLayout([{ id: 5, parent: 2, metrics: {} }, { id: 6, parent: 5, metrics: {} }]);
  assert.deepEqual(nodes.map((n) => [n.id, n.x]), [[5, 0], [6, 1]]);
  assert.deepEqual(edges, [{ from: 5, to: 6 }]);
});

test("front points skip candidates without both metrics", () => {
  assert.deepEqual(frontPoints(rows, "cost", "score").map((p) => [p.id, p.x, p.y, p.front]),
    [[0, 0, 0.1, false], [1, 4, 0.5, true], [2, 2, 0.3, true], [3, 9, 0.9, true]]);
});

test("metric names and shown numbers", () => {
  assert.deepEqual(metricNames(rows), ["cost", "score"]);
  assert.equal(shown(0.123456), "0.123");
  assert.equal(shown(1234.5), "1230");
  assert.equal(shown(null), "-");
  assert.equal(shown(NaN), "-");
});
