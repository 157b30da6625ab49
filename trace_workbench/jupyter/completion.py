"""Tab completion in the %trace_* line magics: cell labels, parameter names, settings and functions.

`completions` is the pure part (what to offer after the text before the cursor); `matcher` wraps it as an
IPython completion matcher (API v2, added to `shell.Completer.custom_matchers`) over a live session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trace_workbench.workbench.session import Session

__all__ = ["completions", "matcher"]

SETTINGS = ("model", "base_url", "optimizer", "timeout", "max_retries", "history")
"""What %trace_config sets (name=value)."""

_LABEL_OPTIONS = frozenset({"--output", "-o"})
_FUNCTION_OPTIONS = frozenset({"--feedback", "-f", "--stop"})
_VALUE_OPTIONS = frozenset({"--score", "-s", "--candidate", "-k", "--candidates", "-c", "--steps", "-n", "--target"})


def completions(before: str, token: str, *, labels: Iterable[str], parameters: Iterable[str],
                optimizers: Iterable[str] = (), functions: Iterable[str] = ()) -> list[str] | None:
    """What to offer for `token` in a %trace_* line whose text before the token is `before`; None when the
    line is not one of these magics (other matchers answer)."""
    words = before.split()
    if not words or not words[0].lstrip("%").startswith("trace_"):
        return None
    magic, *args = words
    magic = magic.lstrip("%")
    previous = args[-1] if args and not before.endswith("=") else None
    positional = [w for i, w in enumerate(args) if not w.startswith("-")
                  and (i == 0 or args[i - 1] not in _VALUE_OPTIONS | _LABEL_OPTIONS | _FUNCTION_OPTIONS)]
    offered: Iterable[str] = ()
    if previous in _VALUE_OPTIONS:
        offered = ()
    elif magic == "trace_optimize" and previous in _LABEL_OPTIONS:
        offered = labels
    elif magic == "trace_optimize" and previous in _FUNCTION_OPTIONS:
        offered = functions
    elif magic in ("trace_feedback", "trace_writeback") and not positional:
        offered = labels
    elif magic == "trace_accept" or (magic == "trace_restore" and positional):
        offered = [p for p in parameters if p not in positional[1 if magic == "trace_restore" else 0:]]
    elif magic == "trace_config":
        offered = optimizers if before.endswith("optimizer=") else (
            () if before.endswith("=") else [f"{name}=" for name in SETTINGS])
    return sorted({o for o in offered if o.startswith(token)})


def matcher(session: Callable[[], Session], namespace: Mapping[str, Any]) -> Callable[[Any], dict[str, Any]]:
    """An IPython completion matcher (API v2) offering the session's labels and parameters in the %trace_*
    magics, and suppressing the other matchers when it has something to offer."""
    from IPython.core.completer import SimpleCompletion, context_matcher

    from trace_workbench.workbench.session import OPTIMIZERS

    @context_matcher()
    def trace_magics_matcher(context: Any) -> dict[str, Any]:
        token = context.token
        before = context.text_until_cursor[:len(context.text_until_cursor) - len(token)]
        current = session()
        found = completions(before, token, labels=current.outputs, parameters=current.parameters,
                            optimizers=OPTIMIZERS,
                            functions=[k for k, v in namespace.items() if callable(v) and not k.startswith("_")])
        if not found:
            return {"completions": []}
        return {"completions": [SimpleCompletion(text, type="trace") for text in found], "suppress": True}

    return trace_magics_matcher
