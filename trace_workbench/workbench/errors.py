"""The workbench's two exceptions: a request it cannot carry out now, and an interrupt it cleaned up after."""

from __future__ import annotations

__all__ = ["Cancelled", "SessionError"]


class SessionError(Exception):
    """A request the session cannot carry out in its current state; the message says what to do."""


class Cancelled(KeyboardInterrupt):
    """An interrupt stopped a propose or an optimize loop; nothing was half-applied and the history says so."""
