// The history's words and its restore messages.
import assert from "node:assert/strict";
import { test } from "node:test";
import { historyTitle, restoreMessage, stepHead } from "../src/history.js";

test("the title counts steps in words that agree", () => {
  assert.equal(historyTitle([]), "History (0 steps)");
  assert.equal(historyTitle([{}]), "History (1 step)");
  assert.equal(historyTitle([{}, {}]), "History (2 steps)");
});

test("a step's head has its number, time, decision, names and score", () => {
  assert.equal(stepHead({ id: 5, decision: "accepted", names: ["prompt", "n"], score: 0.5 }, "10:00"),
    "#5 10:00 accepted prompt, n · score 0.5");
  assert.equal(stepHead({ id: 6, decision: "rejected", names: [], score: null }, "10:01"), "#6 10:01 rejected");
});

test("restoring asks for the values before or after the step", () => {
  assert.deepEqual(restoreMessage({ id: 3 }, true), { type: "restore", step: 3, before: true });
  assert.deepEqual(restoreMessage({ id: 3 }, false), { type: "restore", step: 3, before: false });
});
