"""evaluate and train on a local process pool: the same scores and steps as threads, graphs back as data."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import cloudpickle
import pytest

from tests.train import conftest
from tests.train.conftest import LangAgent, Script, feedback_fn, load, metric
from trace_workbench.llm import LLM, program_llm
from trace_workbench.optimizers import OptoPrime, run_batch
from trace_workbench.testing import ChatServer
from trace_workbench.trace import GRAPH, ExecutionError, bundle, node
from trace_workbench.train import evaluate, run_concurrently, train
from trace_workbench.utils.executors import ProcessExecutor, WorkerLost
from trace_workbench.workbench import Session

DATA = load()
# The workers cannot import the test modules (pytest's importlib mode): their code travels by value,
# as a notebook's does.
cloudpickle.register_pickle_by_value(sys.modules[__name__])
cloudpickle.register_pickle_by_value(conftest)


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessExecutor]:
    with ProcessExecutor(2) as executor:
        yield executor


def trained(server: ChatServer, tmp_path: Path, label: str, **options: Any) -> tuple[LangAgent, Any, Session, list]:
    """A two-epoch run on 8 examples (validated on 4) and the optimizer's prompts it sent."""
    GRAPH.clear()
    server.responder = Script()
    before = len(server.completion_requests)
    agent = LangAgent()
    session = Session(tmp_path / f"{label}.sqlite", notebook="t")
    llm = LLM(model="optimizer-model", base_url=server.base_url, api_key="test-key", max_retries=0)
    result = train(agent, DATA[:8], OptoPrime(agent.parameters(), llm=llm), feedback_fn, batch_size=4, epochs=2,
                   validation=DATA[8:], metric=metric, session=session, progress=False, **options)
    prompts = [r.last_user_message for r in server.completion_requests[before:] if r.body["model"] == "optimizer-model"]
    return agent, result, session, prompts


def test_evaluate_on_processes_scores_as_threads(server: ChatServer, pool: ProcessExecutor) -> None:
    agent = LangAgent()
    meter = program_llm().meter
    for instruction in ("Answer es or en", "v1", "Decide."):
        agent.instruction._set(instruction)  # the workers get the driver's current value at each call
        before = meter.summary()
        threads = evaluate(agent, DATA, metric, num_threads=4)
        between = meter.summary()
        processes = evaluate(agent, DATA, metric, executor=pool)
        assert processes.scores == threads.scores and processes.errors == threads.errors
        after = meter.summary()  # the workers' calls are counted here, as the threads' are
        assert after.calls - between.calls == between.calls - before.calls == len(DATA)
        assert after.total_tokens - between.total_tokens == between.total_tokens - before.total_tokens > 0
    assert evaluate(agent, DATA[:2], metric, executor=pool).scores == [0.0, 0.0]


def test_training_on_processes_takes_the_steps_of_a_serial_run(server: ChatServer, pool: ProcessExecutor,
                                                               tmp_path: Path) -> None:
    serial_agent, serial, serial_session, serial_prompts = trained(server, tmp_path, "serial", num_threads=1)
    agent, result, session, prompts = trained(server, tmp_path, "processes", executor=pool)
    assert [(s.score, s.validation, s.changed) for s in result.steps] == \
        [(s.score, s.validation, s.changed) for s in serial.steps] == [
            (0.0, 0.5, ["str0"]), (0.5, 1.0, ["str0"]), (1.0, 0.5, ["str0"]),
            (0.5, 1.0, ["str0"])]
    assert agent.instruction.data == serial_agent.instruction.data
    assert [r.feedback for r in session.steps()] == [r.feedback for r in serial_session.steps()]
    assert prompts == serial_prompts and len(prompts) == 4  # the optimizer saw the same graphs


x = node(3, trainable=True, name="x")


@bundle(trainable=True)
def double(value):
    """Double the value."""
    return value * 2


def program(value):
    return double(x * value), os.getpid()


def test_a_workers_graph_comes_back_on_the_drivers_parameters(pool: ProcessExecutor) -> None:
    double.parameter._set("def double(value):\n    return value * 10\n")  # trained code travels too
    try:
        results = run_concurrently(program, [1, 2, 3], executor=pool)
    finally:
        double.parameter._set(double.info["source"])
    assert [output.data for output, _ in results] == [30, 60, 90]
    assert os.getpid() not in {pid for _, pid in results}
    output = results[1][0]
    used = output.parameter_dependencies
    assert len(used) == 2 and all(any(p is q for q in used) for p in (x, double.parameter))  # the live ones
    output.backward("too small")
    assert list(x.feedback) and list(double.parameter.feedback)
    x.zero_feedback()
    double.parameter.zero_feedback()


def divide(value):
    return 1 / value


zero = node(0, trainable=True, name="zero")


def traced_divide(value):
    return node(value) / zero


def test_failures_are_raised_or_returned_in_place(pool: ProcessExecutor) -> None:
    with pytest.raises(ZeroDivisionError):
        run_batch(divide, [1, 0, 2], executor=pool)
    results = run_batch(divide, [1, 0, 2], executor=pool, return_exceptions=True)
    assert results[0] == 1.0 and isinstance(results[1], ZeroDivisionError) and results[2] == 0.5
    assert run_batch(divide, [], executor="process") == []
    (error,) = run_batch(traced_divide, [1], executor=pool, return_exceptions=True)
    assert isinstance(error, ExecutionError) and isinstance(error, ZeroDivisionError)
    assert any(p is zero for p in error.exception_node.parents)  # its graph reaches the live parameter
    error.exception_node.backward("do not divide by zero")
    assert list(zero.feedback)
    zero.zero_feedback()


def test_a_process_pool_executor_is_refused_with_the_way_to_run_on_processes() -> None:
    with ProcessPoolExecutor(1) as executor, pytest.raises(TypeError, match='executor="process"'):
        run_batch(divide, [1], executor=executor)


def killed_once(marks: Path, agent: LangAgent):
    """`agent`, except that on its third example, the first time, it announces its pid and waits to be killed."""

    def run(query: Any) -> Any:
        if query == DATA[2]["input"] and not (marks / "killed").exists():
            (marks / "pid").write_text(str(os.getpid()))
            time.sleep(60)
        return agent(query)

    return run


def kill_when_announced(marks: Path) -> threading.Thread:
    """A thread that kills the process whose pid the program announces, then marks it killed."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while not (marks / "pid").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int((marks / "pid").read_text())
        (marks / "killed").touch()
        os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_killed_worker_is_retried(server: ChatServer, tmp_path: Path) -> None:
    expected = evaluate(LangAgent(), DATA[:6], metric, num_threads=2).scores
    watcher = kill_when_announced(tmp_path)
    with ProcessExecutor(2, retries=1) as executor:
        result = evaluate(killed_once(tmp_path, LangAgent()), DATA[:6], metric, executor=executor)
    watcher.join()
    assert (tmp_path / "killed").exists() and result.scores == expected


def test_a_killed_worker_without_retries_fails_the_step_and_nothing_is_applied(server: ChatServer,
                                                                                tmp_path: Path) -> None:
    GRAPH.clear()
    server.responder = script = Script()
    agent = LangAgent()
    program = killed_once(tmp_path, agent)
    session = Session(tmp_path / "history.sqlite", notebook="t")
    llm = LLM(model="optimizer-model", base_url=server.base_url, api_key="test-key", max_retries=0)
    watcher = kill_when_announced(tmp_path)
    with ProcessExecutor(2, retries=0) as executor, pytest.raises(WorkerLost, match="Nothing was applied"):
        train(program, DATA[:4], OptoPrime(agent.parameters(), llm=llm), feedback_fn, batch_size=4,
              executor=executor, session=session, progress=False)
    watcher.join()
    assert agent.instruction.data == "Decide the language." and script.optimizer_calls == 0
    assert session.steps() == []
