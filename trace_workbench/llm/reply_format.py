"""Asking for a reply in the best shape a server accepts: a JSON schema, then a JSON object, then free text.

`ask(llm, messages, shapes)` tries the shapes in order and moves to the next one only when the
server refuses the request because of its ``response_format`` (a 404 for an unknown model, a
context-length 400, a timeout are raised as they are). What an endpoint refused is remembered for
the rest of the process, so later requests go straight to the shape it accepts.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trace_workbench.llm.errors import LLMAuthError, LLMRequestError

__all__ = ["ReplyShape", "ask", "endpoint_key", "forget_refusals", "is_response_format_error", "refused_shapes"]


@dataclass(frozen=True)
class ReplyShape:
    """One way to ask for a reply: its name ("json_schema", "json_object", "text", ...) and the
    ``response_format`` request field (None: the field is not sent)."""

    name: str
    response_format: Mapping[str, Any] | None


_ABOUT_FORMAT = re.compile(r"response_format|json_schema|json_object|schema|grammar|structured|guided|maxlength",
                           re.IGNORECASE)
_ABOUT_CONTEXT = re.compile(r"context (length|size|window)|too many tokens|maximum context", re.IGNORECASE)

_lock = threading.Lock()
_refused: dict[tuple[str, ...], set[str]] = {}


def is_response_format_error(error: BaseException) -> bool:
    """Whether the server refused a request because of its response_format (and not its model, size or key)."""
    if isinstance(error, TypeError):  # an LLM callable that takes no response_format argument
        return "response_format" in str(error)
    if not isinstance(error, LLMRequestError) or isinstance(error, LLMAuthError):
        return False
    if error.status_code not in (400, 422, 501):
        return False
    said = error.server_message or ""
    return bool(_ABOUT_FORMAT.search(said)) and not _ABOUT_CONTEXT.search(said)


def endpoint_key(llm: Any) -> tuple[str, ...]:
    """What identifies the server behind `llm` (base URL and model) for remembering what it refused."""
    config = getattr(llm, "config", None)
    if callable(config):
        try:
            resolved = config()
        except Exception:
            resolved = None
        if resolved is not None:
            return ("endpoint", str(getattr(resolved, "base_url", None)), str(getattr(resolved, "effective_model", "")))
    return ("object", str(id(llm)))


def refused_shapes(llm: Any) -> set[str]:
    """The shapes the endpoint behind `llm` refused so far in this process."""
    with _lock:
        return set(_refused.get(endpoint_key(llm), ()))


def forget_refusals() -> None:
    """Forget what every endpoint refused (e.g. after a server was upgraded)."""
    with _lock:
        _refused.clear()


def ask(llm: Any, messages: list[Mapping[str, Any]], shapes: Sequence[ReplyShape], **settings: Any) -> Any:
    """Call `llm` with the first of `shapes` its endpoint has not refused; on a refusal about the
    response_format, remember it and try the next shape. Other errors are raised as they are.

    The last shape is always tried, even if it was refused before, so a request is never left unsent.
    """
    key = endpoint_key(llm)
    with _lock:
        refused = set(_refused.get(key, ()))
    remaining = [s for s in shapes if s.name not in refused] or list(shapes[-1:])
    for shape in remaining[:-1]:
        try:
            return _call(llm, messages, shape, settings)
        except (LLMRequestError, TypeError) as error:
            if not is_response_format_error(error):
                raise
            with _lock:
                _refused.setdefault(key, set()).add(shape.name)
    return _call(llm, messages, remaining[-1], settings)


def _call(llm: Any, messages: list[Mapping[str, Any]], shape: ReplyShape, settings: dict[str, Any]) -> Any:
    extra = {} if shape.response_format is None else {"response_format": dict(shape.response_format)}
    return llm(messages=messages, **extra, **settings)
