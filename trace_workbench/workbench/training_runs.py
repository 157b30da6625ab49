"""What resuming a training run needs, kept in the history's file (table `training_runs`), one row per run.

`train(..., session=, run=NAME)` saves the state after each completed step, in one transaction of
its own, and `resume=True` reads it back. The steps themselves are ordinary "trained" history steps.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from trace_workbench.workbench.history import History, decode_value, encode_value

__all__ = ["TrainingRuns", "TrainingState"]


@dataclass(frozen=True)
class TrainingState:
    """Where a run stands after a completed step: the next step's index, tokens used, why it stopped
    (None while it goes on), the best score so far, and the parameter values now and at the best score."""

    next: int
    tokens: int
    stopped: str | None
    best_score: float | None
    parameters: dict[str, Any]
    best_parameters: dict[str, Any]
    step: int | None = None
    """The history step that completed it."""


class TrainingRuns:
    """The training runs of one notebook in a history file, by run name."""

    def __init__(self, history: History) -> None:
        self.history = history

    def save(self, run: str, state: TrainingState) -> None:
        """Keep `state` as run `run`'s (replacing the one before), in one transaction."""
        with self.history.connection(f"could not save the state of training run {run!r}", write=True) as connection:
            connection.execute(
                "INSERT OR REPLACE INTO training_runs (notebook, run, step, updated, next, tokens, stopped, "
                "best_score, parameters, best_parameters) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (self.history.notebook, run, state.step, time.time(), state.next, state.tokens, state.stopped,
                 state.best_score, _encode(state.parameters), _encode(state.best_parameters)))

    def last(self, run: str) -> TrainingState | None:
        """The state saved after run `run`'s last completed step, if it has one."""
        with self.history.connection(f"could not read the state of training run {run!r}") as connection:
            row = connection.execute("SELECT * FROM training_runs WHERE notebook = ? AND run = ?",
                                     (self.history.notebook, run)).fetchone()
        if row is None:
            return None
        return TrainingState(next=row["next"], tokens=row["tokens"], stopped=row["stopped"],
                             best_score=row["best_score"], parameters=_decode(row["parameters"]),
                             best_parameters=_decode(row["best_parameters"]), step=row["step"])


def _encode(values: dict[str, Any]) -> str:
    return json.dumps({name: encode_value(value) for name, value in values.items()})


def _decode(text: str) -> dict[str, Any]:
    return {name: decode_value(value) for name, value in json.loads(text).items()}
