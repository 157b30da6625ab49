"""OptoPrimeMulti against the scripted ChatServer: candidates from a spread of temperatures or from
``n`` choices, selection by a callable or by evaluating each candidate, nothing left applied."""

from __future__ import annotations

import pytest

from tests.optimizers.conftest import reply
from trace_workbench.llm import LLM
from trace_workbench.optimizers import Candidate, Candidates, OptoPrimeMulti
from trace_workbench.testing import ChatServer
from trace_workbench.trace import bundle, node


def problem():
    """x (trainable) -> square(x); feedback asks for an output of 16."""
    x = node(2, trainable=True)

    @bundle()
    def square(v):
        """Square v."""
        return v * v

    out = square(x)
    return x, square, out


def prepared(llm: LLM, **kwargs) -> tuple[object, OptoPrimeMulti]:
    x, square, out = problem()
    optimizer = OptoPrimeMulti([x], llm=llm, **kwargs)
    optimizer.zero_feedback()
    optimizer.backward(out, "The output should be 16.")
    return x, optimizer


def test_a_spread_of_temperatures_gives_one_candidate_per_request(server: ChatServer, llm: LLM) -> None:
    server.add_replies(reply({"int0": 3}), reply({"int0": 4}), reply({"int0": 5}))
    x, optimizer = prepared(llm, num_responses=3, temperature_range=[1.0, 0.0])
    proposal = optimizer.propose()
    temperatures = [r.body["temperature"] for r in server.completion_requests]
    assert temperatures == [1.0, 0.5, 0.0]
    assert all(r.body.get("n") is None for r in server.completion_requests)
    assert isinstance(proposal, Candidates) and type(proposal.chosen) is Candidate
    assert proposal.index == 2  # Trace's default: the last candidate
    assert [c.changes["int0"].new for c in proposal.candidates] == [3, 4, 5]
    assert [c.temperature for c in optimizer.candidates] == [1.0, 0.5, 0.0]
    assert x.data == 2  # proposing changes nothing
    assert proposal.usage is not None and proposal.usage.calls == 3


def test_n_choices_in_one_request_and_a_callable_selector(server: ChatServer, llm: LLM) -> None:
    server.add_replies(reply({"int0": 3}), reply({"int0": 4}), reply({"int0": 5}))
    x, optimizer = prepared(llm, num_responses=3, generation="n",
                            selector=lambda cands: min(cands, key=lambda c: abs(c.changes["int0"].new - 4)))
    proposal = optimizer.step()
    assert len(server.completion_requests) == 1 and server.completion_requests[0].body["n"] == 3
    assert proposal.index == 1 and x.data == 4
    assert len(proposal) == 3 and proposal.chosen is proposal.candidates[1] is proposal[1]


def test_selector_may_return_an_index_and_must_return_a_candidate(server: ChatServer, llm: LLM) -> None:
    server.add_replies(*[reply({"int0": v}) for v in (3, 4, 3, 4)])
    _, optimizer = prepared(llm, num_responses=2, selector=lambda cands: 0)
    assert optimizer.propose().index == 0
    optimizer.selector = lambda cands: "neither"
    with pytest.raises(TypeError, match="one of the candidates or its index"):
        optimizer.propose()


def test_evaluating_each_candidate_scores_all_and_leaves_nothing_applied(server: ChatServer, llm: LLM) -> None:
    server.add_replies(reply({"int0": 3}), "no json at all", reply({"int0": 4}), reply({"int0": 5}))
    seen: list[int] = []
    x, square, _ = problem()

    def evaluator() -> float:
        value = square(x).data
        seen.append(x.data)
        return -abs(value - 16)

    optimizer = OptoPrimeMulti([x], llm=llm, num_responses=4, evaluator=evaluator)
    optimizer.zero_feedback()
    optimizer.backward(square(x), "The output should be 16.")
    proposal = optimizer.propose()
    assert seen == [3, 4, 5]  # the unusable reply is not evaluated
    assert [c.score for c in proposal.candidates] == [-7.0, None, 0.0, -9.0]
    assert proposal.candidates[1].evaluation_error and "JSON" in proposal.candidates[1].evaluation_error
    assert proposal.index == 2 and proposal.score == 0.0
    assert x.data == 2  # every candidate was reverted
    optimizer.apply(proposal)
    assert x.data == 4
    data = proposal.to_dict()
    assert [c["score"] for c in data["candidates"]] == [-7.0, None, 0.0, -9.0] and data["index"] == 2


def test_an_evaluator_that_fails_scores_none_and_the_candidate_is_reverted(server: ChatServer, llm: LLM) -> None:
    server.add_replies(reply({"int0": 3}), reply({"int0": 4}))
    x, optimizer = prepared(llm, num_responses=2)

    def evaluator() -> float:
        if x.data == 4:
            raise ValueError("the program crashed")
        return 1.0

    proposal = optimizer.propose(evaluator=evaluator)
    assert [c.score for c in proposal.candidates] == [1.0, None]
    assert "the program crashed" in proposal.candidates[1].evaluation_error
    assert proposal.index == 0 and x.data == 2


def test_a_keyboard_interrupt_while_evaluating_reverts_the_candidate(server: ChatServer, llm: LLM) -> None:
    server.add_replies(reply({"int0": 3}), reply({"int0": 4}))

    def evaluator() -> float:
        raise KeyboardInterrupt

    x, optimizer = prepared(llm, num_responses=2, evaluator=evaluator)
    with pytest.raises(KeyboardInterrupt):
        optimizer.propose()
    assert x.data == 2


def test_bad_arguments_are_refused(llm: LLM) -> None:
    x = node(1, trainable=True)
    with pytest.raises(ValueError, match="num_responses"):
        OptoPrimeMulti([x], llm=llm, num_responses=0)
    with pytest.raises(ValueError, match="generation"):
        OptoPrimeMulti([x], llm=llm, generation="beam")
