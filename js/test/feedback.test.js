// The feedback box's messages and the token line.
import assert from "node:assert/strict";
import { test } from "node:test";
import { proposeMessage, usageText } from "../src/feedback.js";

test("the propose message carries the trimmed text, the score and at least one candidate", () => {
  assert.deepEqual(proposeMessage("  shorter \n", "0.25", "3"),
    { type: "propose", text: "shorter", score: 0.25, candidates: 3 });
  assert.deepEqual(proposeMessage("", "", ""), { type: "propose", text: "", score: null, candidates: 1 });
  assert.equal(proposeMessage("x", "0", "1").score, 0); // a zero score is a score
  assert.equal(proposeMessage("x", "abc", "0").score, null);
  assert.equal(proposeMessage("x", "", "2.6").candidates, 3);
  assert.equal(proposeMessage("x", "", "-4").candidates, 1);
});

test("token use reads as a sentence part, with the cost when known", () => {
  assert.equal(usageText(null), "");
  assert.equal(usageText({ total_tokens: 0 }), "");
  assert.equal(usageText({ total_tokens: 120, prompt_tokens: 100, completion_tokens: 20 }),
    "120 tokens (100 in, 20 out)");
  assert.equal(usageText({ total_tokens: 5, cost: 0.00012 }), "5 tokens (0 in, 0 out, about $0.0001)");
});
