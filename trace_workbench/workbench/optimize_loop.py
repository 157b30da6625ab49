"""The automatic loop (`Session.optimize`): feedback from a function, propose, apply, re-run, until it succeeds.

It drives a Session through its public loop (feedback, propose, accept as "optimized"), so every
change is a history step that `undo()` takes back and every listener hears of it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from trace_workbench.trace.nodes import Node
from trace_workbench.workbench.errors import Cancelled, SessionError
from trace_workbench.workbench.events import Event

if TYPE_CHECKING:
    from trace_workbench.workbench.session import Session

__all__ = ["OptimizeStep", "as_feedback", "default_success", "optimize"]

_SUCCESS = re.compile(r"\b(success|successful|succeeded|correct)\b", re.IGNORECASE)
_NEGATED = re.compile(r"\b(not|isn't|is not|un)\s*(success|successful|correct)", re.IGNORECASE)


@dataclass(frozen=True)
class OptimizeStep:
    """One round of an automatic loop: the feedback on the output, and what changed (step number)."""

    index: int
    value: Any
    feedback: str
    score: float | None
    success: bool
    changed: tuple[str, ...] = ()
    step: int | None = None
    error: str | None = None


def default_success(text: str, score: float | None, target: float | None = None) -> bool:
    """The default success rule: the feedback says "success"/"correct" (not negated), or score >= target."""
    if target is not None and score is not None and score >= target:
        return True
    return bool(text) and bool(_SUCCESS.search(text)) and not _NEGATED.search(text)


def as_feedback(result: Any) -> tuple[str, float | None]:
    """A feedback function's result as (text, score): a text, a score, a bool, or a (text, score)
    pair either way round (an optimizer needs words, so a bare score also becomes a text)."""
    if isinstance(result, Node):
        result = result._data
    if isinstance(result, bool):
        return ("Correct" if result else "Incorrect"), float(result)
    if isinstance(result, (int, float)):
        return f"Score: {result}", float(result)
    if isinstance(result, str):
        return result, None
    if isinstance(result, tuple) and len(result) == 2:
        first, second = result
        if isinstance(first, (int, float)) and not isinstance(first, bool) and isinstance(second, str):
            first, second = second, first
        return str(first), None if second is None else float(second)
    raise TypeError(f"a feedback function must return a text, a score or a (text, score) pair, not {result!r}")


def optimize(session: Session, feedback_fn: Callable[[Any], Any], steps: int = 5, *,
             output: str | Node | None = None, rerun: Callable[[], Node | None] | None = None,
             success: Callable[[str, float | None], bool] | None = None, target: float | None = None,
             progress: Callable[[OptimizeStep], None] | None = None,
             stop: threading.Event | None = None) -> list[OptimizeStep]:
    """Feedback, propose and apply up to `steps` times on `session` (see `Session.optimize`)."""
    if steps < 1:
        raise SessionError("steps must be at least 1")
    if stop is not None and not isinstance(stop, threading.Event):
        raise TypeError("stop is a threading.Event that ends the loop when set; the rule saying when the feedback "
                        "is good enough is success=FUNCTION(text, score)")
    label, node = session.output(output)
    rounds: list[OptimizeStep] = []

    def report(round_: OptimizeStep) -> None:
        rounds.append(round_)
        if progress is not None:
            progress(round_)

    try:
        for index in range(steps + 1):
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
            text, score = as_feedback(feedback_fn(node._data))
            succeeded = success(text, score) if success is not None else default_success(text, score, target)
            if succeeded or index == steps:
                report(OptimizeStep(index, node._data, text, score, succeeded))
                break
            session.clear_feedback()
            session.feedback(label, text, score)
            proposal = session.propose(stop)
            changed: tuple[str, ...] = ()
            step = None
            if proposal.changes:
                changed = tuple(session.accept(decision=Event.OPTIMIZED))
                step = session.last_applied
            report(OptimizeStep(index, node._data, text, score, False, changed, step, proposal.error))
            if rerun is not None and changed:
                rerun_output = rerun()
                label, node = session.output(rerun_output if rerun_output is not None else label)
    except KeyboardInterrupt as e:
        session.clear_feedback()
        stopped = stop is not None and stop.is_set()
        if isinstance(e, Cancelled) and not stopped:
            raise  # an interrupt while proposing: propose() recorded it
        how = "stopped" if stopped else "interrupted"
        note = f"optimize loop {how} after {len(rounds)} round(s); every applied step is complete"
        session.cancel(note)
        raise Cancelled(note) from e
    return rounds
