"""The LLM that traced programs call (``trace.operators.call_llm``), kept apart from the optimizer's.

A program's own steps (an agent asking a model) and the optimizer rewriting that program usually
want different models and always want separate bills. The default program LLM is one module-level
``LLM`` with its own ``UsageMeter`` named "program"; it shares everything else (cache, replay,
record, retries, configuration) with the optimizer's through the same ``LLM`` class. Its model is
TRACE_WORKBENCH_PROGRAM_MODEL when set, else whatever the optimizer's would use
(TRACE_WORKBENCH_MODEL, ...), read at each call.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from trace_workbench.llm.client import LLM
from trace_workbench.llm.usage import UsageMeter

__all__ = ["ENV_PROGRAM_MODEL", "complete", "program_llm", "program_model", "set_program_llm"]

ENV_PROGRAM_MODEL = "TRACE_WORKBENCH_PROGRAM_MODEL"

_lock = threading.Lock()
_default: LLM | None = None


def program_model() -> str | None:
    """The model programs ask (TRACE_WORKBENCH_PROGRAM_MODEL), or None to use the general setting."""
    return os.environ.get(ENV_PROGRAM_MODEL, "").strip() or None


def program_llm() -> LLM:
    """The default program LLM, made at first use from the environment, metered as "program"."""
    global _default
    with _lock:
        if _default is None:
            _default = LLM(meter=UsageMeter("program"))
        return _default


def set_program_llm(llm: LLM | None) -> LLM | None:
    """Make ``llm`` the default program LLM (None: rebuild from the environment at next use); returns the old one."""
    global _default
    with _lock:
        previous, _default = _default, llm
        return previous


def complete(messages: Sequence[Mapping[str, Any]], llm: Any = None, **settings: Any) -> str:
    """Ask ``llm`` (default: the program LLM with the program model) and return the reply's text."""
    if llm is None:
        llm = program_llm()
        model = program_model()
        if model is not None:
            settings.setdefault("model", model)
    response = llm(messages=list(messages), **settings)
    return response.choices[0].message.content or ""
