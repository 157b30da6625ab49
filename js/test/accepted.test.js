// The accepted box's title and the write-back question's answers.
import assert from "node:assert/strict";
import { test } from "node:test";
import { acceptedTitle, writebackAnswers } from "../src/accepted.js";

test("the title says accepted, or in effect after an undo or restore; nothing without values", () => {
  assert.equal(acceptedTitle({ step: 4, decision: "accepted", values: { n: "3" } }), "Accepted (step #4)");
  assert.equal(acceptedTitle({ step: 6, decision: "restored", values: { n: "2" } }), "Now in effect (step #6)");
  assert.equal(acceptedTitle({ step: 6, decision: "accepted", values: {} }), null);
  assert.equal(acceptedTitle({}), null);
});

test("only an edited cell asks what to do, with three answers", () => {
  assert.deepEqual(writebackAnswers({ state: "edited" }).map(([answer]) => answer), ["overwrite", "below", "keep"]);
  assert.deepEqual(writebackAnswers({ state: "written" }), []);
  assert.deepEqual(writebackAnswers(null), []);
});
