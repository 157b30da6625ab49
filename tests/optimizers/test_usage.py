"""Token usage and cost per optimizer step (on the Proposal) and summed per optimizer."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.optimizers.conftest import reply
from tests.optimizers.graphs import foobar
from trace_workbench.llm import LLMServerError
from trace_workbench.optimizers import OptoPrime, TextGrad
from trace_workbench.testing import count_tokens
from trace_workbench.trace import node


def step_once(optimizer, x, feedback="The number needs to be larger."):
    optimizer.zero_feedback()
    optimizer.backward(foobar(x), feedback)
    return optimizer.step()


def test_each_proposal_carries_the_tokens_of_its_step(server, llm):
    answers = [reply({"float0": -2.0}), reply({"float0": -5.0}, reasoning="A longer reasoning this time.")]
    server.add_replies(*answers)
    x = node(-1.0, trainable=True)
    optimizer = OptoPrime([x], llm=llm)

    proposals = [step_once(optimizer, x) for _ in answers]

    for proposal, request, answer in zip(proposals, server.completion_requests, answers, strict=True):
        prompt_tokens = sum(count_tokens(m["content"]) for m in request.messages)
        assert (proposal.usage.calls, proposal.usage.prompt_tokens) == (1, prompt_tokens)
        assert proposal.usage.completion_tokens == count_tokens(answer)
        assert proposal.usage.cost is None
    total = optimizer.usage
    assert total.calls == 2
    assert total.prompt_tokens == sum(p.usage.prompt_tokens for p in proposals)
    assert total.completion_tokens == sum(p.usage.completion_tokens for p in proposals)
    assert [s.name for s in optimizer.usage_steps] == ["OptoPrime step 1", "OptoPrime step 2"]
    assert [s.name for s in llm.meter.steps] == ["OptoPrime step 1", "OptoPrime step 2"]


def test_cost_comes_from_the_llm_price_table(server, make_llm):
    server.add_replies(reply({"float0": -5.0}))
    x = node(-1.0, trainable=True)
    optimizer = OptoPrime([x], llm=make_llm(prices={"test-model": (2.0, 8.0)}))

    usage = step_once(optimizer, x).usage

    assert usage.cost == pytest.approx((usage.prompt_tokens * 2.0 + usage.completion_tokens * 8.0) / 1e6)
    assert optimizer.usage.cost == usage.cost


def test_all_calls_of_a_textgrad_step_are_counted(server, llm):
    server.add_replies("a", "b", "c", "d", "e", "<IMPROVED_VARIABLE>-5.0</IMPROVED_VARIABLE>")
    x = node(-1.0, trainable=True)
    optimizer = TextGrad([x], llm=llm)

    proposal = step_once(optimizer, x)

    assert proposal.usage.calls == 6 == len(server.completion_requests)
    assert optimizer.usage.completion_tokens == 5 + 1


def test_other_llms_and_failed_calls_are_not_counted(server, make_llm):
    program_llm, optimizer_llm = make_llm(), make_llm()
    server.add_replies("program output")
    program_llm(messages="Run the program.")
    server.fail(500, "Down")
    x = node(-1.0, trainable=True)
    optimizer = OptoPrime([x], llm=optimizer_llm)

    with pytest.raises(LLMServerError):
        step_once(optimizer, x)

    assert optimizer.usage.calls == 0 and len(optimizer.usage_steps) == 1
    assert program_llm.meter.summary().calls == 1


def test_an_llm_without_a_meter_gives_no_usage(server, llm):
    server.add_replies(reply({"float0": -5.0}))
    x = node(-1.0, trainable=True)
    optimizer = OptoPrime([x], llm=lambda **kwargs: llm(**kwargs))

    proposal = step_once(optimizer, x)

    assert proposal.usage is None and x.data == -5.0
    assert proposal.to_dict()["usage"] is None


def test_importing_the_optimizers_does_not_import_openai():
    code = ("import sys; import trace_workbench.optimizers as o; from trace_workbench.trace import node; "
            "o.OptoPrime([node(1.0, trainable=True)]); print('openai' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == "False"
