"""%trace_search in a real kernel (jupyter_client), its optimizer answering from the scripted tree of
proposals of tests/train/test_search.py: start, status, prune, promote, diff, stop, resume, bad input."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.train.test_search import TreeScript
from trace_workbench.testing import ChatServer
from trace_workbench.testing.front_end import ScriptedFrontEnd, running_kernel
from trace_workbench.workbench.history import History

SETUP = """import os, time
from trace_workbench.llm import LLM
from trace_workbench.optimizers import OptoPrime
from trace_workbench.trace import node
x = node(0, trainable=True)
opt = OptoPrime([x], llm=LLM(model="optimizer-model"))
DATA = [(1, 11), (2, 12), (3, 13), (4, 14)]
def program(inp):
    return x + inp
def feedback(out, target):
    return f"got {out}, wanted {target}", 1 - abs(out - target) / 10
def slow_feedback(out, target):
    time.sleep(0.05)
    return feedback(out, target)
"""


@pytest.fixture
def front(tmp_path: Path) -> Iterator[tuple[ScriptedFrontEnd, TreeScript]]:
    script = TreeScript()
    with ChatServer(responder=script) as server:
        env = {**os.environ, **server.env(), "OPENAI_API_KEY": "test-key", "TRACE_WORKBENCH_TIMEOUT": "10",
               "TRACE_WORKBENCH_HISTORY": str(tmp_path / "history.sqlite")}
        for name in ("TRACE_WORKBENCH_REPLAY", "TRACE_WORKBENCH_RECORD", "TRACE_WORKBENCH_CACHE", "JPY_SESSION_NAME",
                     "TRACE_WORKBENCH_MODEL"):
            env.pop(name, None)
        with running_kernel(env, tmp_path) as client:
            front_end = ScriptedFrontEnd(client, extension=False)
            assert front_end.execute("load", "%load_ext trace_workbench") == ""
            assert front_end.execute("setup", SETUP) == ""
            yield front_end, script


def rows(table: str) -> dict[int, list[str]]:
    """The status table's rows by candidate number."""
    found = {}
    for line in table.splitlines():
        match = re.match(r"#(\d+)\s+(.*)", line)
        if match:
            found[int(match.group(1))] = match.group(2).split()
    return found


def test_start_status_steer_and_diff(front, tmp_path: Path) -> None:
    front_end, script = front
    printed = front_end.execute("start", "%trace_search start program DATA feedback --optimizer opt --strategy beam "
                                         "--beam-width 1 --rounds 1 --ucb-rollouts 0 --no-widget --wait")
    table = rows(printed)
    assert "finished (completed)" in printed
    assert sorted(table) == [0, 1, 2]
    assert table[1][0] == "#0" and table[2][0] == "#0"  # both children of the start
    assert "best" in table[1]  # x = 4 beats x = 2
    assert front_end.python("print(x.data)").strip() == "4"

    assert "pruned" in front_end.execute("prune", "%trace_search prune 1")
    assert "promoted" in front_end.execute("promote", "%trace_search promote 2")
    diff = front_end.execute("diff", "%trace_search diff 2")
    assert "-0" in diff and "+2" in diff

    front_end.execute("more", "%trace_search start program DATA feedback --optimizer opt --strategy beam "
                              "--beam-width 1 --rounds 2 --ucb-rollouts 0 --no-widget --wait --resume")
    status = rows(front_end.execute("status", "%trace_search status"))
    assert status[1][1] == "pruned"
    assert sorted(status) == [0, 1, 2, 3, 4] and status[3][0] == "#2" and status[4][0] == "#2"
    assert 4 not in script.asked  # the pruned candidate (x = 4) was never expanded

    history = History(tmp_path / "history.sqlite")
    notes = [s.note or "" for s in history.steps(all_notebooks=True)]
    assert any("candidate #1 pruned by a person" in n for n in notes)
    assert any("candidate #2 promoted by a person" in n for n in notes)


def test_stop_and_resume_a_background_search(front) -> None:
    front_end, _ = front
    started = front_end.execute("start", "%trace_search start program DATA slow_feedback --optimizer opt "
                                         "--rounds 40 --name long --no-widget")
    assert "started in the background" in started
    assert "stopped after the work under way" in front_end.execute("stop", "%trace_search stop")
    status = front_end.execute("status", "%trace_search status long")
    assert "stopped (stopped)" in status
    round_then = int(re.search(r"round (\d+)/40", status).group(1))
    assert round_then < 40
    assert "resumed" in front_end.execute("resume", "%trace_search resume long")
    assert "stopped after" in front_end.execute("stop2", "%trace_search stop")
    after = rows(front_end.execute("status2", "%trace_search status"))
    before = rows(status)
    assert set(before) <= set(after)  # what was made before is kept, nothing made again
    assert all(after[i][0] == before[i][0] for i in before)


@pytest.mark.parametrize(("line", "message"), [
    ("%trace_search", "COMMAND: one of start"),
    ("%trace_search frobnicate", "COMMAND: one of start"),
    ("%trace_search status", "no search None"),
    ("%trace_search start nothing DATA feedback", "PROGRAM 'nothing': no variable"),
    ("%trace_search start program DATA feedback --optimizer x", "--optimizer 'x' is a ParameterNode"),
    ("%trace_search start program DATA feedback --rounds many", "invalid int value"),
    ("%trace_search start program DATA feedback --optimizer opt --strategy sideways", "invalid choice"),
    ("%trace_search start program DATA feedback --optimizer opt --objective score=high", "not a number"),
])
def test_bad_input_is_a_usage_error(front, line: str, message: str) -> None:
    front_end, _ = front
    printed = front_end.execute("bad", line)
    assert "UsageError" in printed and message in printed


def test_bad_candidate_numbers_are_usage_errors(front) -> None:
    front_end, _ = front
    front_end.execute("start", "%trace_search start program DATA feedback --optimizer opt --rounds 1 "
                               "--ucb-rollouts 0 --no-widget --wait")
    for line, message in [("%trace_search promote x", "N is a candidate's number"),
                          ("%trace_search prune 99", "no candidate 99"),
                          ("%trace_search prune 0", "starting point"),
                          ("%trace_search stop now", "takes no argument")]:
        printed: Any = front_end.execute("bad", line)
        assert "UsageError" in printed and message in printed, printed
