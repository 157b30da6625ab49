// The proposal's decisions: what Accept / Apply choices send, candidate titles, what is worth showing.
import assert from "node:assert/strict";
import { test } from "node:test";
import { candidateHead, decisionMessage, isUsable } from "../src/proposal.js";

const changes = [{ key: "prompt0", new_text: "Write a haiku" }, { key: "n0", new_text: "3" }];

test("accepting sends the chosen names and only the values the person edited", () => {
  const edited = new Map([["prompt0", "Write a haiku"], ["n0", "4"]]);
  assert.deepEqual(decisionMessage(changes, edited), { type: "accept", names: ["prompt0", "n0"], edits: { n0: "4" } });
  assert.deepEqual(decisionMessage(changes.slice(0, 1), edited, 2),
    { type: "accept", names: ["prompt0"], edits: {}, candidate: 2 });
});

test("choosing nothing rejects", () => {
  assert.deepEqual(decisionMessage([], new Map(), 1), { type: "reject", reason: null });
});

test("a candidate's title has its score and says which is the default", () => {
  assert.equal(candidateHead({ index: 0, score: 0.5 }, 2), "Candidate 0 · score 0.5");
  assert.equal(candidateHead({ index: 2, score: null }, 2), "Candidate 2 (default)");
});

test("a proposal is shown when it changes, explains or refuses something", () => {
  assert.equal(isUsable({}), false);
  assert.equal(isUsable({ changes: [], reasoning: "", rejected: {} }), false);
  assert.equal(isUsable({ reasoning: "why" }), true);
  assert.equal(isUsable({ rejected: { n: "not an int" } }), true);
  assert.equal(isUsable({ changes }), true);
});
