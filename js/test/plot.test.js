// The score chart's geometry: ticks, axes and points.
import assert from "node:assert/strict";
import { test } from "node:test";
import { niceTicks, plotModel, tickIndices } from "../src/plot.js";

test("ticks are round numbers covering the scores", () => {
  assert.deepEqual(niceTicks(0, 1), { lo: 0, hi: 1, ticks: [0, 0.5, 1] });
  const { lo, hi, ticks } = niceTicks(0.3, 0.3); // one score: a small range around it, no float dust
  assert.ok(lo < 0.3 && hi > 0.3 && ticks.includes(0.3));
  assert.ok(ticks.every((t) => String(t).length <= 4));
  assert.deepEqual(niceTicks(3, 47).ticks, [0, 20, 40, 60]);
});

test("x ticks label every step when few, a spread with the first and last when many", () => {
  assert.deepEqual(tickIndices(3), [0, 1, 2]);
  const many = tickIndices(40);
  assert.ok(many.length <= 7 && many[0] === 0 && many[many.length - 1] === 39);
});

test("no scored step, no chart; one step is a labelled point inside the axes", () => {
  assert.equal(plotModel([{ id: 1, score: null }]), null);
  const m = plotModel([{ id: 7, score: 0.3 }, { id: 8, score: null }]);
  assert.equal(m.points.length, 1);
  assert.deepEqual(m.xTicks.map((t) => t.text), ["#7"]);
  assert.ok(m.yTicks.length >= 2);
  const [p] = m.points;
  assert.ok(p.x > m.left && p.x < m.right && p.y > m.top && p.y < m.bottom);
});

test("a higher score is drawn higher, and y ticks run bottom to top", () => {
  const m = plotModel([{ id: 1, score: 0.2 }, { id: 2, score: 0.9 }]);
  assert.ok(m.points[1].y < m.points[0].y && m.points[0].x < m.points[1].x);
  const ys = m.yTicks.map((t) => t.y);
  assert.deepEqual([...ys].sort((a, b) => b - a), ys);
  assert.ok(ys[0] <= m.bottom && ys[ys.length - 1] >= m.top);
});
