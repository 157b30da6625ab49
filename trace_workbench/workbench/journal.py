"""Changing parameter values as history steps: set them, record the step, put them back if recording fails.

Every change the session makes (accept, optimize, undo, restore, a person's edit, a training step)
goes through `Journal.commit`, so values and history never disagree. The journal also keeps the
steps of this session that `undo()` can take back, newest last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from trace_workbench.optimizers.optimizer import assign_all
from trace_workbench.trace.nodes import ParameterNode
from trace_workbench.workbench.events import Event
from trace_workbench.workbench.history import History, ValueChange

__all__ = ["Journal"]


class Journal:
    """The history file a session writes to and the session's undoable steps."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.applied: list[tuple[int, list[ValueChange]]] = []
        """(step, changes) of each applied step `undo()` can take back, oldest first."""

    def commit(self, decision: Event, change: Callable[[], list[ValueChange]],
               rollback: Callable[[list[ValueChange]], None], *, names: Iterable[str] | None = None,
               undoable: bool = True, **fields: Any) -> tuple[int, list[ValueChange]]:
        """Make `change()` (it sets values and says what changed), then record it as one step of `decision`.

        If recording fails, `rollback(changes)` puts the values back and the error is raised: nothing is
        half-done. `fields` go to `History.record`. Returns (step number, changes).
        """
        changes = change()
        try:
            step = self.history.record(decision.value, [c.name for c in changes] if names is None else names,
                                       changes=changes, **fields)
        except BaseException:
            rollback(changes)
            raise
        if undoable and changes:
            self.applied.append((step, changes))
        return step, changes

    def assign(self, decision: Event, nodes: Mapping[str, ParameterNode], changes: list[ValueChange],
               **options: Any) -> int:
        """Set each changed parameter (`nodes[change.name]`) to its `after` value and record the step: all or none."""

        def change() -> list[ValueChange]:
            assign_all((nodes[c.name], c.after) for c in changes)
            return changes

        def rollback(done: list[ValueChange]) -> None:
            assign_all((nodes[c.name], c.before) for c in reversed(done))

        return self.commit(decision, change, rollback, **options)[0]

    @property
    def last_applied(self) -> int | None:
        """The step `undo()` would take back, if any."""
        return self.applied[-1][0] if self.applied else None
