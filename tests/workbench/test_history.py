"""The SQLite history: steps and values round-trip, and concurrent writers (processes) never corrupt it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading

import pytest

from trace_workbench.workbench.history import (
    MAX_TEXT_CHARS,
    SCHEMA_VERSION,
    History,
    HistoryError,
    ValueChange,
    decode_value,
    encode_value,
)


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


# -- a file that cannot be used: refused when opened, with its name and what to do, never a bare sqlite3 error ----
def _filled(path, steps: int = 30) -> None:
    history = History(path)
    for i in range(steps):
        history.record("accepted", ["p"], changes=[ValueChange("p", "str", f"v{i} " + "x" * 2000, f"v{i + 1}")])
    history.close()
    for suffix in ("-wal", "-shm"):  # closing checkpointed everything into the file
        assert not os.path.exists(f"{path}{suffix}")


def test_a_file_cut_to_half_its_size_is_refused_and_left_as_it_was(tmp_path) -> None:
    path = tmp_path / "cut.sqlite"
    _filled(path)
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    damaged = path.read_bytes()
    history = History(path)
    for attempt in (history.check, lambda: history.record("accepted", ["p"]), history.steps):
        with pytest.raises(HistoryError, match=r"cut\.sqlite could not be opened: it is damaged") as error:
            attempt()
        assert "Move it aside" in str(error.value) and error.value.path == path
    assert path.read_bytes() == damaged


def test_a_file_cut_while_open_accepts_no_step(tmp_path) -> None:
    path = tmp_path / "cut.sqlite"
    history = History(path)
    for i in range(30):
        history.record("accepted", ["p"], changes=[ValueChange("p", "str", "x" * 2000, f"v{i}")])
    history._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(HistoryError, match="damaged"):
        history.record("accepted", ["p"], changes=[ValueChange("p", "str", "v29", "v30")])


def test_a_file_that_is_not_a_database_is_refused(tmp_path) -> None:
    path = tmp_path / "notes.sqlite"
    path.write_text("my notes, not a history\n" * 100)
    with pytest.raises(HistoryError, match=r"notes\.sqlite could not be opened: it is damaged or not a history file"):
        History(path).record("accepted")
    assert path.read_text() == "my notes, not a history\n" * 100


def test_a_directory_is_refused(tmp_path) -> None:
    (tmp_path / "folder").mkdir()
    with pytest.raises(HistoryError, match=r"folder is a directory\. Give the path of a file inside it"):
        History(tmp_path / "folder").steps()


def test_a_file_of_a_newer_schema_is_refused(tmp_path) -> None:
    path = tmp_path / "new.sqlite"
    History(path).record("accepted")
    connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.commit()
    connection.close()
    with pytest.raises(HistoryError, match=rf"newer trace_workbench \(history schema {SCHEMA_VERSION + 1}; this "
                                           rf"version reads up to {SCHEMA_VERSION}\)\. Upgrade"):
        History(path).record("accepted")
    assert len(sqlite3.connect(path).execute("SELECT * FROM steps").fetchall()) == 1


def test_an_older_file_is_migrated(tmp_path) -> None:
    """A file from before the schema was versioned (user_version 0), without the ref and note columns."""
    path = tmp_path / "old.sqlite"
    connection = sqlite3.connect(path)
    connection.executescript("""
        CREATE TABLE steps (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, session TEXT NOT NULL,
            notebook TEXT NOT NULL, cell TEXT, decision TEXT NOT NULL, names TEXT NOT NULL, feedback TEXT,
            score REAL, optimizer TEXT, proposal TEXT, usage TEXT);
        CREATE TABLE changes (step INTEGER NOT NULL REFERENCES steps(id), name TEXT NOT NULL, cell TEXT,
            kind TEXT NOT NULL, before TEXT, after TEXT, diff TEXT NOT NULL, PRIMARY KEY (step, name));
        INSERT INTO steps (created, session, notebook, decision, names) VALUES (1.0, 's', '', 'accepted', '["p"]');
    """)
    connection.commit()
    connection.close()
    history = History(path)
    number = history.record("undone", ["p"], ref=1, note="migrated")
    steps = [(s.decision, s.ref, s.note) for s in history.steps()]
    assert steps == [("accepted", None, None), ("undone", 1, "migrated")]
    assert number == 2
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_file_locked_by_another_program_says_so(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import trace_workbench.workbench.history as module

    path = tmp_path / "locked.sqlite"
    first = History(path)
    first.record("accepted")
    first.close()
    monkeypatch.setattr(module, "BUSY_TIMEOUT_S", 0.3)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(HistoryError, match=r"locked\.sqlite could not be opened: another program has held it "
                                               r"locked for over 0\.3 s .*Close the kernel or program that holds it"):
            History(path).record("accepted")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(History(path).steps()) == 1


def test_a_read_only_file_is_refused(tmp_path) -> None:
    path = tmp_path / "ro.sqlite"
    History(path).record("accepted")
    if os.geteuid() == 0:  # root writes through permissions: make the file immutable instead
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("chattr +i is not available to make the file read-only for root")
        undo = ["chattr", "-i", str(path)]
    else:
        path.chmod(0o444)
        undo = ["chmod", "644", str(path)]
    try:
        with pytest.raises(HistoryError, match=r"ro\.sqlite could not be opened: it is read-only .*Make the file"):
            History(path).record("accepted")
    finally:
        subprocess.run(undo, check=True)
    assert len(History(path).steps()) == 1


def test_a_huge_reply_is_stored_cut_saying_so_and_values_whole(tmp_path) -> None:
    reply = "r" * 10_000_000
    value = "v" * 150_000
    history = History(tmp_path / "big.sqlite")
    history.record("accepted", ["p"], feedback="f" * 200_000, proposal={"raw": reply, "reasoning": reply},
                   changes=[ValueChange("p", "str", "old", value)])
    (step,) = history.steps()
    assert step.proposal["cut"] == {"raw": 10_000_000, "reasoning": 10_000_000, "feedback": 200_000}
    assert step.proposal["raw"].endswith("…[cut: 9,900,000 more characters of 10,000,000]")
    assert len(step.proposal["raw"]) < MAX_TEXT_CHARS + 100 and len(step.feedback) < MAX_TEXT_CHARS + 100
    assert step.changes[0].after == value
    assert os.path.getsize(tmp_path / "big.sqlite") + os.path.getsize(tmp_path / "big.sqlite-wal") < 2_000_000
