"""OpenTrace's trainer helpers (trace_workbench.trainer.utils) over trace_workbench.train's runner."""

from __future__ import annotations

import threading

import pytest

from trace_workbench.trace import GRAPH, bundle, node
from trace_workbench.trainer.utils import DefaultLogger, async_run


def test_async_run_passes_args_and_kwargs_and_keeps_the_order() -> None:
    def add(a, b):
        return a + b

    assert async_run([add] * 2, kwargs_list=[{"a": 1, "b": 2}, {"a": 3, "b": 4}]) == [3, 7]
    assert async_run([add] * 2, args_list=[(1, 2), (3, 4)], max_workers=1) == [3, 7]
    assert async_run([]) == []
    with pytest.raises(ValueError, match="one args and kwargs entry per run: 2 runs, 1 args"):
        async_run([add] * 2, args_list=[(1, 2)])


def test_async_run_runs_in_threads_each_in_a_copy_of_the_callers_context(capsys) -> None:
    started, names = threading.Barrier(3, timeout=10), []

    @bundle()
    def one_more(x):
        return x + 1

    def run(i):
        started.wait()  # all three are running at once
        names.append(threading.current_thread().name)
        return one_more(node(i))

    with GRAPH.scope("batch") as scope:
        outputs = async_run([run] * 3, args_list=[(i,) for i in range(3)], max_workers=3, description="Adding")
    assert [o.data for o in outputs] == [1, 2, 3] and len(set(names)) == 3
    assert all(any(n is o for n in scope.nodes) for o in outputs)  # the scope followed each run
    assert len({o.py_name for o in outputs}) == 3
    assert "Adding" in capsys.readouterr().err  # the tqdm bar


def test_async_run_raises_the_first_error() -> None:
    def fail(i):
        if i == 1:
            raise KeyError("second")
        return i

    with pytest.raises(KeyError, match="second"):
        async_run([fail] * 3, args_list=[(0,), (1,), (2,)])


def test_default_logger_prints_the_step(capsys) -> None:
    DefaultLogger().log("score", 0.5, 3)
    DefaultLogger().log("loss", 1, 4, color="green")
    assert capsys.readouterr().out == "[Step 3] score: 0.5\n[Step 4] \033[92mloss: 1\033[0m\n"
