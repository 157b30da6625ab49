// What the details pane shows of a node.
import assert from "node:assert/strict";
import { test } from "node:test";
import { nodeFields, nodeTitle } from "../src/details.js";

const labels = (rows) => rows.map((row) => row.label);

test("a node without code, type or description shows no such rows (and never the word null)", () => {
  const rows = nodeFields({ name: "add:0", kind: "operation", type: null, description: null, data: "3", code: null,
    feedback: [] });
  assert.deepEqual(labels(rows), ["Kind", "Value", "Feedback"]);
  assert.ok(rows.every((row) => row.value !== "null" && row.value !== "undefined"));
  assert.deepEqual(rows[2], { label: "Feedback", value: "none yet", pre: false });
});

test("a trainable parameter with code and feedback shows them all", () => {
  const rows = nodeFields({ name: "f:0", kind: "parameter", trainable: true, output: true, external: true,
    type: "str", description: "the function", data: "def f(): ...", code: "def f():\n    return 1",
    feedback: ["too slow", "wrong"] });
  assert.deepEqual(labels(rows), ["Kind", "Type", "Description", "Value", "Code", "Feedback that reached it"]);
  assert.equal(rows[0].value, "parameter, trainable, output, from an earlier cell");
  assert.equal(rows[4].pre, true);
  assert.equal(rows[5].value, "too slow\n———\nwrong");
});

test("a value of 0 or false is shown, an empty one is not", () => {
  assert.equal(nodeFields({ name: "n", kind: "value", data: 0 }).find((r) => r.label === "Value").value, "0");
  assert.equal(nodeFields({ name: "n", kind: "value", data: "" }).some((r) => r.label === "Value"), false);
});

test("a collapsed group is titled with its count and has no feedback row", () => {
  const group = { name: "add", group: true, members: ["1", "2", "3"], description: "3 repeated", data: "" };
  assert.equal(nodeTitle(group), "add ×3");
  assert.equal(nodeTitle({ name: "x:0" }), "x:0");
  assert.deepEqual(labels(nodeFields(group)), ["Kind", "Description"]);
});
