// The graph pane's keys.
import assert from "node:assert/strict";
import { test } from "node:test";
import { keyAction } from "../src/graph-pane.js";

test("keys on the canvas step through nodes, fit, zoom and clear the selection", () => {
  assert.deepEqual(keyAction("n"), { step: 1 });
  assert.deepEqual(keyAction("p"), { step: -1 });
  assert.deepEqual(keyAction("f"), { request: "fit" });
  assert.deepEqual(keyAction("+"), keyAction("="));
  assert.deepEqual(keyAction("-"), { request: "zoom", factor: 0.8 });
  assert.deepEqual(keyAction("Escape"), { clear: true });
  assert.equal(keyAction("x"), null);
});
