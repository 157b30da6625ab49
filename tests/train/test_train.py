"""evaluate and train through the real client and the scripted ChatServer, on the shipped dataset."""

from __future__ import annotations

import contextvars
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.train.conftest import LangAgent, Script, feedback_fn, load, metric
from trace_workbench.llm import LLM, program_llm
from trace_workbench.optimizers import OptoPrime
from trace_workbench.testing import ChatServer
from trace_workbench.trace import GRAPH
from trace_workbench.train import as_examples, evaluate, train
from trace_workbench.workbench import Session
from trace_workbench.workbench.training_runs import TrainingRuns

DATA = load()


def test_the_shipped_dataset_in_every_accepted_form() -> None:
    pairs = [(d["input"], d["info"]) for d in DATA]
    assert len(DATA) == 12 and {d["info"] for d in DATA} == {"es", "en"}
    assert as_examples(DATA) == as_examples(pairs)
    assert as_examples({"inputs": [x for x, _ in pairs], "infos": [y for _, y in pairs]}) == as_examples(pairs)
    with pytest.raises(ValueError, match="inputs"):
        as_examples({"inputs": [1], "infos": []})


def test_evaluate_scores_every_example_concurrently_in_dataset_order(server: ChatServer) -> None:
    script = Script(program_delay=0.05)
    server.responder = script
    agent = LangAgent()
    agent.instruction._set("Answer es or en")
    result = evaluate(agent, DATA, metric, num_threads=8)
    assert result.scores == [1.0] * 12 and result.mean == 1.0
    assert script.most_in_flight >= 4
    agent.instruction._set("v1")
    result = evaluate(agent, DATA, metric, num_threads=1)
    assert result.scores == [0.0, 1.0] * 6 and script.most_in_flight >= 4
    assert math.isnan(evaluate(agent, [], metric).mean)


def test_evaluate_on_a_given_executor_runs_in_copies_of_the_callers_context(server: ChatServer) -> None:
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="missing")
    marker.set("caller")
    seen: list[str] = []
    agent = LangAgent()

    def program(query: Any) -> Any:
        seen.append(marker.get())
        return agent(query)

    with ThreadPoolExecutor(4) as pool:
        result = evaluate(program, DATA[:6], metric, executor=pool)
    assert seen == ["caller"] * 6 and result.scores == [0.0] * 6


def test_a_failing_forward_pass_scores_min_score_and_keeps_its_error(server: ChatServer) -> None:
    server.fail(400, "no such model", times=1)
    result = evaluate(LangAgent(), DATA[:2], metric, num_threads=1, min_score=-1.0)
    assert result.scores == [-1.0, 0.0] and "no such model" in result.errors[0]


def run_training(server: ChatServer, num_threads: int, **options: Any) -> tuple[LangAgent, Any, Script]:
    GRAPH.clear()
    script = Script()
    server.responder = script
    agent = LangAgent()
    llm = LLM(model="optimizer-model", base_url=server.base_url, api_key="test-key", max_retries=0)
    optimizer = OptoPrime(agent.parameters(), llm=llm)
    options.setdefault("progress", False)
    result = train(agent, DATA[:8], optimizer, feedback_fn, batch_size=4, epochs=2, num_threads=num_threads,
                   validation=DATA[8:], metric=metric, **options)
    return agent, result, script


def test_training_with_threads_equals_a_serial_run(server: ChatServer, tmp_path) -> None:
    serial_session = Session(tmp_path / "serial.sqlite", notebook="t")
    threaded_session = Session(tmp_path / "threaded.sqlite", notebook="t")
    serial_agent, serial, _ = run_training(server, 1, session=serial_session)
    threaded_agent, threaded, _ = run_training(server, 8, session=threaded_session)
    assert [r.feedback for r in serial_session.steps()] == [r.feedback for r in threaded_session.steps()]
    assert serial_session.steps()[0].feedback.splitlines()[:2] == ["[0] Expected es, got unknown",
                                                                   "[1] Expected en, got unknown"]
    assert serial_agent.instruction.data == threaded_agent.instruction.data
    assert [(s.score, s.validation, s.changed) for s in serial.steps] == \
        [(s.score, s.validation, s.changed) for s in threaded.steps]
    assert serial.best_score == threaded.best_score == 1.0
    assert [s.validation for s in serial.steps] == [0.5, 1.0, 0.5, 1.0]
    assert [s.score for s in serial.steps] == [0.0, 0.5, 1.0, 0.5]
    assert serial.stopped == "completed"


def test_best_parameters_are_kept_and_restorable(server: ChatServer) -> None:
    suggestions = ["Decide the language. Answer es or en.", "Decide the language, v1.", "Decide the language."]
    GRAPH.clear()
    server.responder = Script(suggestions)
    agent = LangAgent()
    optimizer = OptoPrime(agent.parameters(), llm=LLM(model="optimizer-model", base_url=server.base_url,
                                                        api_key="test-key", max_retries=0))
    result = train(agent, DATA[:8], optimizer, feedback_fn, batch_size=4, epochs=2, validation=DATA[8:],
                   metric=metric, progress=False)
    assert [s.validation for s in result.steps] == [1.0, 0.5, 0.0, 0.0]
    assert result.best_score == 1.0 and agent.instruction.data == "Decide the language."
    assert result.restore_best() == {agent.instruction.py_name: "Decide the language. Answer es or en."}
    assert agent.instruction.data == "Decide the language. Answer es or en."


def test_early_stop_on_a_target_score(server: ChatServer) -> None:
    agent, result, script = run_training(server, 4, target=1.0)
    assert result.stopped == "target" and len(result.steps) == 2 and script.optimizer_calls == 2
    assert agent.instruction.data == "Decide the language. Answer es or en."


def test_early_stop_without_validation_uses_the_batch_score(server: ChatServer) -> None:
    GRAPH.clear()
    server.responder = script = Script()
    agent = LangAgent()
    optimizer = OptoPrime(agent.parameters(), llm=LLM(model="optimizer-model", base_url=server.base_url,
                                                        api_key="test-key", max_retries=0))
    result = train(agent, DATA[:8], optimizer, feedback_fn, batch_size=4, epochs=3, target=1.0, progress=False)
    assert [s.score for s in result.steps] == [0.0, 0.5] and result.stopped == "target"
    assert script.optimizer_calls == 2 and result.best_score == 1.0


def test_early_stop_on_a_token_budget(server: ChatServer) -> None:
    agent, result, script = run_training(server, 4, token_budget=1)
    assert result.stopped == "token budget" and len(result.steps) == 1 and script.optimizer_calls == 1
    assert result.tokens >= result.steps[0].tokens > 0
    program_tokens = sum(c.total_tokens for c in program_llm().meter.calls)
    assert 0 < program_tokens < result.tokens


def test_steps_land_in_the_session_history(server: ChatServer, tmp_path) -> None:
    session = Session(tmp_path / "history.sqlite", notebook="train.ipynb")
    agent, result, _ = run_training(server, 4, session=session)
    rows = session.steps()
    assert [r.decision for r in rows] == ["trained"] * 4
    assert [r.id for r in rows] == [s.history_step for s in result.steps]
    assert [r.score for r in rows] == [0.5, 1.0, 0.5, 1.0]
    assert rows[0].changes[0].before == "Decide the language."
    assert rows[0].changes[0].after == "Decide the language, v1."
    assert "[0] Expected es, got unknown" in rows[0].feedback


def test_a_training_step_can_be_restored_from_the_history(server: ChatServer, tmp_path) -> None:
    session = Session(tmp_path / "history.sqlite", notebook="train.ipynb")
    agent, result, _ = run_training(server, 4, session=session)
    first = result.steps[0].history_step
    assert agent.instruction.data != "Decide the language, v1."
    session.restore(first)
    assert agent.instruction.data == "Decide the language, v1."
    assert session.steps()[-1].decision == "restored" and session.steps()[-1].ref == first


def test_undo_takes_training_steps_back_one_by_one(server: ChatServer, tmp_path) -> None:
    session = Session(tmp_path / "history.sqlite", notebook="train.ipynb")
    agent, result, _ = run_training(server, 4, session=session)
    rows = session.steps()
    for row in reversed(rows):
        assert agent.instruction.data == row.changes[0].after
        session.undo()
        assert agent.instruction.data == row.changes[0].before
        assert session.steps()[-1].decision == "undone" and session.steps()[-1].ref == row.id
    assert agent.instruction.data == "Decide the language."


def test_a_subscriber_hears_every_training_step_and_the_run_state_has_its_own_table(
        server: ChatServer, tmp_path) -> None:
    session = Session(tmp_path / "history.sqlite", notebook="train.ipynb")
    heard: list[tuple[str, dict[str, Any]]] = []
    session.subscribe(lambda event, payload: heard.append((event, payload)))
    agent, result, _ = run_training(server, 4, session=session, run="lang")
    assert [event for event, _ in heard] == ["trained"] * 4
    assert [payload["step"] for _, payload in heard] == [s.history_step for s in result.steps]
    assert heard[0][1]["values"] == {"str0": "Decide the language, v1."}
    assert session.last_applied == result.steps[-1].history_step  # undo() would take the last one back
    assert all("train" not in (row.proposal or {}) for row in session.steps())  # no state hidden in a proposal
    state = TrainingRuns(session.history).last("lang")
    assert state is not None and (state.next, state.stopped) == (4, "completed")
    assert state.step == result.steps[-1].history_step
    assert state.parameters == {"str0": agent.instruction.data} and state.best_score == result.best_score
    assert TrainingRuns(session.history).last("another run") is None


def test_resume_after_an_interrupted_run(server: ChatServer, tmp_path) -> None:
    expected_agent, expected, _ = run_training(server, 4)
    history = tmp_path / "history.sqlite"

    calls = {"n": 0}

    def interrupting(output: str, info: str) -> tuple[str, float]:
        calls["n"] += 1
        if calls["n"] == 6:  # in the second step's batch
            raise KeyboardInterrupt
        return feedback_fn(output, info)

    GRAPH.clear()
    server.responder = script = Script()
    llm = LLM(model="optimizer-model", base_url=server.base_url, api_key="test-key", max_retries=0)
    agent = LangAgent()
    session = Session(history, notebook="train.ipynb")
    heard: list[str] = []
    session.subscribe(lambda event, payload: heard.append(event))
    with pytest.raises(KeyboardInterrupt):
        train(agent, DATA[:8], OptoPrime(agent.parameters(), llm=llm), interrupting, batch_size=4, epochs=2,
              validation=DATA[8:], metric=metric, session=session, progress=False)
    assert [r.decision for r in session.steps()] == ["trained", "cancelled"]
    assert heard == ["trained", "cancelled"]
    assert agent.instruction.data == "Decide the language, v1."  # nothing half-applied

    GRAPH.clear()  # a new process: new nodes, a new optimizer and session, the same history file
    agent = LangAgent()
    session = Session(history, notebook="train.ipynb")
    result = train(agent, DATA[:8], OptoPrime(agent.parameters(), llm=llm), feedback_fn, batch_size=4, epochs=2,
                   validation=DATA[8:], metric=metric, session=session, resume=True, progress=False)
    assert [s.step for s in result.steps] == [2, 3, 4] and script.optimizer_calls == 4
    assert agent.instruction.data == expected_agent.instruction.data
    assert [s.validation for s in result.steps] == [s.validation for s in expected.steps[1:]]
    assert result.best_score == expected.best_score and result.best_parameters == expected.best_parameters
    assert [r.decision for r in session.steps()] == ["trained", "cancelled", "trained", "trained", "trained"]
    again = train(agent, DATA[:8], OptoPrime(agent.parameters(), llm=llm), feedback_fn, batch_size=4, epochs=2,
                  session=session, resume=True, progress=False)
    assert again.steps == [] and again.stopped == "completed"
    other = LangAgent()  # made later, so its parameter has another name
    with pytest.raises(ValueError, match="cannot resume"):
        train(other, DATA[:8], OptoPrime(other.parameters(), llm=llm), feedback_fn, session=session, resume=True,
              progress=False)


def test_progress_bar_shows_step_score_and_tokens(server: ChatServer, capsys: pytest.CaptureFixture[str]) -> None:
    GRAPH.clear()
    agent = LangAgent()
    optimizer = OptoPrime(agent.parameters(), llm=LLM(model="optimizer-model", base_url=server.base_url,
                                                        api_key="test-key", max_retries=0))
    train(agent, DATA[:4], optimizer, feedback_fn, batch_size=4, epochs=1, progress=True)
    err = capsys.readouterr().err
    assert "train train" in err and "score=" in err and "tokens=" in err and "1/1" in err


def test_bad_arguments_are_refused(server: ChatServer) -> None:
    agent = LangAgent()
    optimizer = OptoPrime(agent.parameters(), llm=LLM(model="m"))
    with pytest.raises(ValueError, match="batch_size"):
        train(agent, DATA, optimizer, feedback_fn, batch_size=0)
    with pytest.raises(ValueError, match="session"):
        train(agent, DATA, optimizer, feedback_fn, resume=True)
