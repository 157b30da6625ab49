"""The optimizer base's Trace and OpenTrace arguments: step(bypassing=True), update(), step's own arguments,
and Trace's `probelm_instance` spelling in subclasses."""

from __future__ import annotations

import pytest

from tests.optimizers.conftest import reply
from trace_workbench.optimizers import OPRO, OptoPrime, OptoPrimeMulti, TextGrad
from trace_workbench.trace import node


def fed(optimizer_class, llm, name="x", **kwargs):
    x = node(1.0, trainable=True, name=name)
    optimizer = optimizer_class([x], llm=llm, **kwargs)
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "make it bigger")
    return x, optimizer


def test_step_bypassing_proposes_without_applying_and_returns_opentrace_update_dict(server, llm):
    x, optimizer = fed(OptoPrime, llm)
    server.add_replies(reply({"x": 5.0}))
    update = optimizer.step(bypassing=True)
    assert update == {x: 5.0} and x.data == 1.0
    optimizer.update(update)
    assert x.data == 5.0
    optimizer.update({x: 1.0})  # OpenTrace restores a backup the same way
    assert x.data == 1.0


@pytest.mark.parametrize("optimizer_class", [OptoPrime, OptoPrimeMulti, OPRO, TextGrad])
def test_step_refuses_arguments_it_does_not_take_before_asking(server, llm, optimizer_class):
    x, optimizer = fed(optimizer_class, llm)
    with pytest.raises(TypeError, match=f"{optimizer_class.__name__}.step.*unexpected keyword argument 'verbos'"):
        optimizer.step(verbos=True)
    with pytest.raises(TypeError, match="too many positional arguments"):
        optimizer.step(False, None, None, None, None, None)
    assert server.requests == [] and x.data == 1.0


def test_step_takes_traces_own_arguments(server, llm, capsys):
    x, optimizer = fed(OptoPrime, llm)
    server.add_replies(reply({"x": 3.0}))
    optimizer.step(verbose=True, mask=["#Others"])
    assert "Prompt" in capsys.readouterr().out and x.data == 3.0
    y, multi = fed(OptoPrimeMulti, llm, name="y", num_responses=5)
    server.add_replies(reply({"y": 4.0}), reply({"y": 5.0}))
    multi.step(num_responses=2, selector=lambda candidates: candidates[0])
    assert y.data == 4.0 and len(multi.candidates) == 2


class EarlyTraceOptimizer(OptoPrime):
    """A subclass written for early Trace, which spelled the method `probelm_instance`."""

    def probelm_instance(self, summary, mask=None):
        problem = super().probelm_instance(summary, mask)
        problem.instruction = "Instruction from the ported subclass."
        return problem


class CurrentTraceOptimizer(OptoPrime):
    def problem_instance(self, summary, mask=None):
        problem = super().problem_instance(summary, mask)
        problem.instruction = "Instruction from the current spelling."
        return problem


@pytest.mark.parametrize(("optimizer_class", "text"), [(EarlyTraceOptimizer, "from the ported subclass"),
                                                       (CurrentTraceOptimizer, "from the current spelling")])
def test_either_spelling_of_problem_instance_overridden_shapes_the_prompt(server, llm, optimizer_class, text):
    _, optimizer = fed(optimizer_class, llm)
    server.add_replies(reply({"x": 2.0}))
    optimizer.step()
    assert f"Instruction {text}." in server.completion_requests[0].last_user_message
    summary = optimizer.summary_log[0]["summary"]
    assert optimizer.probelm_instance(summary).instruction == optimizer.problem_instance(summary).instruction
    assert f"Instruction {text}." == optimizer.summary_log[0]["problem_instance"].instruction


def test_optoprime_keeps_traces_spelling_as_the_same_method(server, llm):
    _, optimizer = fed(OptoPrime, llm)
    assert OptoPrime.probelm_instance is OptoPrime.problem_instance
    summary = optimizer.summarize()
    assert str(optimizer.probelm_instance(summary, mask=["#Others"])) == str(
        optimizer.problem_instance(summary, mask=["#Others"]))


def test_optoprime_takes_early_traces_config_list_as_its_model(server):
    x = node(1.0, trainable=True, name="x")
    optimizer = OptoPrime([x], config_list=[{"model": "listed", "base_url": server.base_url, "api_key": "k"}])
    optimizer.zero_feedback()
    optimizer.backward(x * 2, "make it bigger")
    server.add_replies(reply({"x": 2.0}))
    optimizer.step()
    assert x.data == 2.0 and server.completion_requests[0].body["model"] == "listed"
