// Pairing old and new lines for the side-by-side diff.
import assert from "node:assert/strict";
import { test } from "node:test";
import { diffRows } from "../src/diff.js";

test("changed lines pair up; extra lines are added or removed", () => {
  assert.deepEqual(diffRows("a\nb\nc", "a\nB\nc\nd").map((r) => r.kind), ["same", "changed", "same", "added"]);
  assert.deepEqual(diffRows("a\nb", "a").map((r) => [r.left, r.right, r.kind]),
    [["a", "a", "same"], ["b", null, "removed"]]);
});
