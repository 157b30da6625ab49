"""The workbench: the human-in-the-loop Session (feedback, propose, accept, undo, restore) and its SQLite history.

No Jupyter here: the IPython extension (trace_workbench.jupyter) drives a Session, and scripts can too.
Read session.py first: the Session is the public object, and its docstring names the module of each part.
"""

from trace_workbench.workbench.events import STEP_EVENTS, VALUE_EVENTS, Event
from trace_workbench.workbench.history import History, HistoryError, Step, ValueChange
from trace_workbench.workbench.session import (
    OPTIMIZERS,
    Cancelled,
    Feedback,
    OptimizeStep,
    Session,
    SessionError,
    default_success,
    get_session,
    set_session,
)

__all__ = [
    "OPTIMIZERS",
    "STEP_EVENTS",
    "VALUE_EVENTS",
    "Cancelled",
    "Event",
    "Feedback",
    "History",
    "HistoryError",
    "OptimizeStep",
    "Session",
    "SessionError",
    "Step",
    "ValueChange",
    "default_success",
    "get_session",
    "set_session",
]
