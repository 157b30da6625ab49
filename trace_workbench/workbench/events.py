"""The session's events: one name for each, the groups views react to, and the list listeners are called from.

A listener is called as `listener(event, payload)`. `event` is an `Event`, which is also the plain
string it is named by (`event == "accepted"` holds), so listeners written for strings keep working.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from enum import Enum
from typing import Any

__all__ = ["STEP_EVENTS", "VALUE_EVENTS", "Event", "Events", "SessionListener"]


class Event(str, Enum):
    """Everything a Session tells its listeners; the comment of each says what its payload holds."""

    CELL_STARTED = "cell_started"
    """A traced cell starts running: label, scope, options."""
    CELL = "cell"
    """A traced cell ran: label, output (the node that receives feedback), scope."""
    PARAMETER = "parameter"
    """A trainable parameter was registered: name, node, cell."""
    FEEDBACK = "feedback"
    """Feedback was given: label, text, score, output."""
    PROPOSAL = "proposal"
    """A proposal waits for a decision: proposal, names ({py_name: session name})."""
    ACCEPTED = "accepted"
    """A person accepted a proposal: step, values ({name: new value}), proposal."""
    OPTIMIZED = "optimized"
    """An automatic loop applied a proposal: step, values, proposal."""
    TRAINED = "trained"
    """A training run made a step: step, values."""
    SEARCHED = "searched"
    """A search set its best candidate's values: step, values."""
    REJECTED = "rejected"
    """A proposal was refused: step, proposal."""
    UNDONE = "undone"
    """A step was taken back: step, ref (the step undone), values."""
    RESTORED = "restored"
    """Values of a history step were put back: step, ref, values, before (the values from before that step)."""
    EDITED = "edited"
    """The person changed a parameter's value in its cell: step, values."""
    CANCELLED = "cancelled"
    """A propose, an optimize loop or a training run was stopped: step, note."""

    __str__ = str.__str__  # prints and formats as its name, like the plain string
    __format__ = str.__format__


VALUE_EVENTS = frozenset({Event.ACCEPTED, Event.OPTIMIZED, Event.TRAINED, Event.SEARCHED, Event.UNDONE, Event.RESTORED,
                          Event.EDITED})
"""The events that changed parameter values (their payload's `values`)."""
STEP_EVENTS = VALUE_EVENTS | {Event.REJECTED, Event.CANCELLED}
"""The events that wrote a history step (their payload's `step`)."""

SessionListener = Callable[[Event, dict[str, Any]], None]
"""Called as listener(event, payload) for every event of a session."""


class Events:
    """The listeners of one session, called in the order they subscribed; a failing one warns, never breaks the loop."""

    def __init__(self) -> None:
        self._listeners: list[SessionListener] = []

    def subscribe(self, listener: SessionListener) -> None:
        """Call `listener(event, payload)` for every event from now on."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: SessionListener) -> None:
        """Stop calling `listener` (ValueError if it was not subscribed)."""
        self._listeners.remove(listener)

    def emit(self, event: Event | str, **payload: Any) -> None:
        """Tell every listener `event` with `payload`; a name that is no Event is a ValueError (a typo is no event)."""
        event = Event(event)
        for listener in list(self._listeners):
            try:
                listener(event, payload)
            except Exception as e:  # a broken view must not break the loop
                warnings.warn(f"session listener {listener!r} failed on {event}: {e!r}", stacklevel=3)
