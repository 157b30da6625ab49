"""Minibatches: forward passes run concurrently by run_batch, feedback combined before one step."""

from __future__ import annotations

import threading
import time

import pytest

from tests.optimizers.conftest import reply
from trace_workbench.optimizers import OptoPrime, run_batch
from trace_workbench.trace import GRAPH, bundle, node, stop_tracing


def test_results_keep_the_input_order_and_run_concurrently():
    all_started = threading.Barrier(4, timeout=5)  # breaks unless the four calls run at the same time
    threads = set()

    def slow_square(value):
        threads.add(threading.current_thread().name)
        all_started.wait()
        time.sleep(0.02 * (4 - value))
        return value * value

    assert run_batch(slow_square, [1, 2, 3, 4], num_threads=4) == [1, 4, 9, 16]
    assert len(threads) == 4 and all(name.startswith("trace-batch") for name in threads)


def test_each_task_runs_in_a_copy_of_the_callers_context():
    x = node(2.0, trainable=True)
    with GRAPH.scope("cell") as scope:
        outputs = run_batch(lambda v: x * v, [1, 2, 3], num_threads=3)
    assert [o.data for o in outputs] == [2.0, 4.0, 6.0]
    assert all(any(o is n for n in scope.nodes) for o in outputs)
    assert all(o.parents[0] is x for o in outputs)

    with stop_tracing():
        untraced = run_batch(lambda v: x * v, [1, 2], num_threads=2)
    assert [len(o.parents) for o in untraced] == [0, 0]


def test_the_first_failure_is_raised_or_each_returned():
    with pytest.raises(ZeroDivisionError):
        run_batch(lambda v: 1 / v, [1, 0, 2], num_threads=2)
    results = run_batch(lambda v: 1 / v, [1, 0, 2], num_threads=2, return_exceptions=True)
    assert results[0] == 1.0 and isinstance(results[1], ZeroDivisionError) and results[2] == 0.5
    assert run_batch(lambda v: v, []) == []
    with pytest.raises(ValueError, match="num_threads must be at least 1"):
        run_batch(lambda v: v, [1], num_threads=0)


@bundle()
def answer(question, instruction):
    """Answer the question following the instruction."""
    return f"{instruction} {question}".upper() if "shout" in instruction else f"{instruction} {question}"


def test_minibatch_feedback_is_combined_into_one_step(server, llm):
    server.add_replies(reply({"instruction0": "Please shout:"}))
    instruction = node("Please say:", trainable=True, name="instruction")
    optimizer = OptoPrime([instruction], llm=llm)
    questions = ["hi", "bye", "why", "how"]

    outputs = run_batch(lambda q: answer(q, instruction), questions, num_threads=4)
    optimizer.zero_feedback()
    for question, output in zip(questions, outputs, strict=True):
        optimizer.backward(output, f"The answer to {question!r} should be in capitals.")
    optimizer.step()

    (request,) = server.completion_requests
    prompt = request.last_user_message
    feedback = prompt.split("#Feedback\n")[1].split("\n\n")[0]
    assert feedback.split("\n") == [f"The answer to {q!r} should be in capitals." for q in questions]
    outputs_section = prompt.split("#Outputs\n")[1].split("\n\n")[0]
    assert outputs_section.split("\n") == [f"(str) answer{i}=Please say: {q}" for i, q in enumerate(questions)]
    assert [o.data for o in run_batch(lambda q: answer(q, instruction), questions)] == [
        "PLEASE SHOUT: HI", "PLEASE SHOUT: BYE", "PLEASE SHOUT: WHY", "PLEASE SHOUT: HOW"]
