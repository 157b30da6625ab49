// The header and toolbar's logic: status words, the node count, and Find.
import assert from "node:assert/strict";
import { test } from "node:test";
import { countText, findNode, isBusy, statusText } from "../src/header.js";

test("statuses read as words; idle says nothing; unknown ones are shown as they are", () => {
  assert.equal(statusText("idle"), "");
  assert.equal(statusText("proposing"), "the model is working…");
  assert.equal(statusText("paused"), "paused");
  assert.deepEqual(["idle", "running", "proposing", "applying", "error"].map(isBusy),
    [false, true, true, true, false]);
});

test("the count says how many nodes, and how many are drawn when collapsed", () => {
  assert.equal(countText(1, 1, false), "1 node");
  assert.equal(countText(503, 503, false), "503 nodes");
  assert.equal(countText(503, 4, true), "503 nodes (4 drawn, repeats collapsed)");
  assert.equal(countText(3, 3, true), "3 nodes"); // nothing to collapse
});

test("Find prefers an exact name, then a part of a name, then an operator", () => {
  const nodes = [{ id: "1", name: "a:10", op: "a" }, { id: "2", name: "a:1", op: "a" },
    { id: "3", name: "add:0", op: "add" }, { id: "4", name: "x:0", op: "concat" }];
  assert.equal(findNode(nodes, "A:1").id, "2");
  assert.equal(findNode(nodes, "dd:").id, "3");
  assert.equal(findNode(nodes, "concat").id, "4");
  assert.equal(findNode(nodes, "  "), null);
  assert.equal(findNode(nodes, "nothing"), null);
  assert.equal(findNode(new Map(nodes.map((n) => [n.id, n])).values(), "x:0").id, "4"); // any iterable
});
