"""Record real responses to a JSON Lines file and answer from it later, offline.

One line per request, readable in review: ``key``, ``model``, ``messages``, ``settings``,
``content`` (a string, or a list when n > 1), ``finish_reason`` and ``usage``; plus the full
``response`` when a choice carries more than text (tool calls, refusals).
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from trace_workbench.llm.errors import LLMConfigError, ReplayMissError
from trace_workbench.llm.keys import request_key, to_plain
from trace_workbench.trace.text import shorten

__all__ = ["Recorder", "ReplayFile", "entry_for", "last_user_preview", "response_for"]

_path_locks: dict[str, threading.Lock] = {}
_path_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _path_locks_guard:
        return _path_locks.setdefault(str(path.resolve()), threading.Lock())


def last_user_preview(messages: list[Any], limit: int = 60) -> str:
    """A one-line preview of the last user message, at most ``limit`` characters."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            text = " ".join(str(content or "").split())
            return shorten(text, limit - 1)
    return ""


_RICH_FIELDS = ("refusal", "audio", "function_call", "tool_calls")


def _one_or_list(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values


def entry_for(
    key: str, model: str, messages: Any, settings: dict[str, Any], response: dict[str, Any],
) -> dict[str, Any]:
    """The replay-file line (as a dict) for a request and its response JSON."""
    choices = response.get("choices") or []
    entry: dict[str, Any] = {
        "key": key,
        "model": model,
        "messages": to_plain(messages),
        "settings": to_plain(settings),
        "content": _one_or_list([(c.get("message") or {}).get("content") for c in choices]),
        "finish_reason": _one_or_list([c.get("finish_reason") for c in choices]),
        "usage": response.get("usage"),
    }
    if any((c.get("message") or {}).get(name) for c in choices for name in _RICH_FIELDS):
        entry["response"] = response
    return entry


def response_for(entry: dict[str, Any]) -> dict[str, Any]:
    """Chat Completions JSON rebuilt from a replay-file line."""
    if "response" in entry:
        return entry["response"]
    contents = entry["content"] if isinstance(entry["content"], list) else [entry["content"]]
    reasons = entry.get("finish_reason", "stop")
    reasons = reasons if isinstance(reasons, list) else [reasons] * len(contents)
    return {
        "id": f"replay-{entry.get('key', '')[:16]}",
        "object": "chat.completion",
        "created": 0,
        "model": entry["model"],
        "choices": [
            {"index": i, "message": {"role": "assistant", "content": c}, "finish_reason": r}
            for i, (c, r) in enumerate(zip(contents, reasons, strict=True))
        ],
        "usage": entry.get("usage"),
    }


class Recorder:
    """Appends one JSON line per response to a file; safe from several threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()

    def append(self, entry: dict[str, Any]) -> None:
        """Write ``entry`` as one line, in a single write."""
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _lock_for(self.path), open(self.path, "a", encoding="utf-8") as f:
            f.write(line)

    def __repr__(self) -> str:
        return f"Recorder({str(self.path)!r})"


class ReplayFile:
    """Answers requests from a recorded file, never from a server.

    Requests are matched by model, messages and settings (the model is ignored when none is set).
    Repeated identical requests get the recorded responses in file order, then the last one again.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser()
        self._lock = threading.Lock()
        self._entries: dict[str, list[dict[str, Any]]] | None = None
        self._served: dict[str, int] = defaultdict(int)

    def _load(self) -> dict[str, list[dict[str, Any]]]:
        entries: dict[str, list[dict[str, Any]]] = defaultdict(list)
        if not self.path.exists():
            return entries
        with open(self.path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    entry = json.loads(line)
                    model, messages, settings = entry["model"], entry["messages"], entry.get("settings", {})
                    if "content" not in entry and "response" not in entry:
                        raise KeyError("content")
                except (ValueError, KeyError, TypeError) as exc:
                    raise LLMConfigError(
                        f"Replay file {self.path} line {number} is not a recorded response ({exc!r}); "
                        "each line must be JSON with model, messages, settings and content."
                    ) from None
                entries[request_key(model, messages, settings)].append(entry)
                entries[request_key(None, messages, settings)].append(entry)
        return entries

    def lookup(self, model: str | None, messages: Any, settings: dict[str, Any]) -> dict[str, Any]:
        """The recorded line answering this request, or ReplayMissError."""
        key = request_key(model, messages, settings)
        with self._lock:
            if self._entries is None:
                self._entries = self._load()
            found = self._entries.get(key)
            if found:
                index = min(self._served[key], len(found) - 1)
                self._served[key] += 1
                return found[index]
        exists = "" if self.path.exists() else " (the file does not exist)"
        model_text = f"model {model!r}" if model else "any model"
        preview = last_user_preview(to_plain(messages))
        raise ReplayMissError(
            f"No recorded response in replay file {self.path}{exists} for {model_text} and the request whose "
            f"last user message is {preview!r}. Record it by running once against a model with "
            "TRACE_WORKBENCH_RECORD (or LLM(record=...)) pointing at this file.",
            path=str(self.path),
            preview=preview,
        )

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])

    def __repr__(self) -> str:
        return f"ReplayFile({str(self.path)!r})"
