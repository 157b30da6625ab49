"""The SQLite history: steps and values round-trip, and concurrent writers (processes) never corrupt it."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

from trace_workbench.workbench.history import History, ValueChange, decode_value, encode_value


def test_values_round_trip_with_their_types() -> None:
    for value in ["text\nwith lines", 3, 2.5, (1, "a"), {"k": [1, 2]}, {1, 2}, None, True]:
        assert decode_value(encode_value(value)) == value
        assert type(decode_value(encode_value(value))) is type(value)


def test_a_step_keeps_feedback_proposal_decision_values_and_usage(tmp_path) -> None:
    history = History(tmp_path / "h.sqlite", notebook="/nb/a.ipynb", session="s1")
    number = history.record("accepted", ["prompt"], cell="3", feedback="too long", score=0.5, optimizer="OptoPrime",
                            proposal={"reasoning": "shorter is better"}, usage={"total_tokens": 42},
                            changes=[ValueChange("prompt", "str", "a long prompt", "short", "3")])
    history.record("rejected", ["n"], cell="4")
    other = History(tmp_path / "h.sqlite", notebook="/nb/b.ipynb", session="s2")
    other.record("accepted", ["x"])
    steps = History(tmp_path / "h.sqlite", notebook="/nb/a.ipynb").steps()
    assert [s.decision for s in steps] == ["accepted", "rejected"]
    step = steps[0]
    assert step.id == number and step.cell == "3" and step.feedback == "too long" and step.score == 0.5
    assert step.reasoning == "shorter is better" and step.tokens == 42
    assert step.changes == [ValueChange("prompt", "str", "a long prompt", "short", "3")]
    assert "-a long prompt" in step.changes[0].diff and "+short" in step.changes[0].diff
    assert "accepted" in step.summary() and "too long" in step.summary()
    assert len(other.steps(all_notebooks=True)) == 3
    assert other.step(number).notebook == "/nb/a.ipynb"


def test_the_file_uses_wal_and_a_busy_timeout(tmp_path) -> None:
    history = History(tmp_path / "h.sqlite")
    history.record("accepted")
    connection = history._connect()
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000


def test_a_failed_step_writes_nothing(tmp_path) -> None:
    history = History(tmp_path / "h.sqlite")
    bad = ValueChange("x", "int", 1, 2)
    try:
        history.record("accepted", ["x"], changes=[bad, bad])  # the same name twice breaks the primary key
    except sqlite3.IntegrityError:
        pass
    assert history.steps() == []


def _writer(path: str, name: str, count: int) -> None:
    history = History(path, notebook=name, session=name)
    for i in range(count):
        history.record("accepted", ["v"], changes=[ValueChange("v", "int", i, i + 1)], feedback=f"{name} {i}")
    history.close()


WRITER = """
import sys
from trace_workbench.workbench.history import History, ValueChange
path, name = sys.argv[1], sys.argv[2]
history = History(path, notebook=name, session=name)
for i in range(40):
    history.record("accepted", ["v"], changes=[ValueChange("v", "int", i, i + 1)], feedback=f"{name} {i}")
"""


def test_two_processes_write_the_same_file_at_once(tmp_path) -> None:
    path = str(tmp_path / "shared.sqlite")
    History(path).record("created")  # the schema exists before the race
    workers = [subprocess.Popen([sys.executable, "-c", WRITER, path, f"kernel{k}"]) for k in range(2)]
    for worker in workers:
        assert worker.wait(60) == 0
    history = History(path)
    steps = history.steps(all_notebooks=True)
    assert len(steps) == 81
    for k in range(2):
        mine = [s for s in steps if s.notebook == f"kernel{k}"]
        assert [s.changes[0].after for s in mine] == list(range(1, 41))
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_two_connections_in_threads_interleave_whole_steps(tmp_path) -> None:
    path = tmp_path / "shared.sqlite"
    threads = [threading.Thread(target=_writer, args=(path, f"t{k}", 30)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    steps = History(path).steps(all_notebooks=True)
    assert len(steps) == 60 and all(len(s.changes) == 1 for s in steps)
