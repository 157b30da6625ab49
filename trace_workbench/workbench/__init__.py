"""The workbench: the human-in-the-loop Session (feedback, propose, accept, undo, restore) and its SQLite history.

No Jupyter here: the IPython extension (trace_workbench.jupyter) drives a Session, and scripts can too.
"""

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
    "Cancelled",
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
