"""The journal's one transaction: values set and the step recorded, or neither."""

from __future__ import annotations

import pytest

from trace_workbench.trace.nodes import ParameterNode
from trace_workbench.workbench import Event, History, HistoryError, Session, ValueChange
from trace_workbench.workbench.journal import Journal


def test_values_are_put_back_when_the_step_cannot_be_recorded(tmp_path) -> None:
    (tmp_path / "taken").mkdir()
    journal = Journal(History(tmp_path / "taken"))  # a directory: every record fails
    a, b = ParameterNode(1, name="a"), ParameterNode("x", name="b")
    changes = [ValueChange("a", "int", 1, 2), ValueChange("b", "str", "x", "y")]
    with pytest.raises(HistoryError, match="is a directory"):
        journal.assign(Event.RESTORED, {"a": a, "b": b}, changes)
    assert (a.data, b.data) == (1, "x") and journal.applied == [] and journal.last_applied is None


def test_a_failing_history_leaves_undo_and_restore_as_they_were(tmp_path) -> None:
    session = Session(tmp_path / "h.sqlite")
    node = session.parameter("n", 1, source="1")
    session.parameter("n", 2, source="2")  # the person's edit: a step to restore from
    edited = session.steps()[-1].id
    assert session.restore(edited, before=True) == {"n": 1} and session.last_applied is not None
    (tmp_path / "d").mkdir()
    session.journal.history = History(tmp_path / "d")
    restored = session.last_applied
    with pytest.raises(HistoryError):
        session.undo()
    assert node.data == 1 and session.last_applied == restored  # nothing changed: undo can be tried again
    session.journal.history = History(tmp_path / "h.sqlite")
    assert session.undo() == {"n": 2} and node.data == 2
