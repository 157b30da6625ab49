"""Request keys: canonical JSON of (model, messages, settings), hashed with sha256.

The same key addresses the response cache and the replay files, so a request is recognised
whatever the order of its dict keys.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "request_key", "to_plain"]


def _plain(obj: Any) -> Any:
    if hasattr(obj, "model_dump"):  # pydantic models, e.g. a message returned by an earlier call
        return obj.model_dump(mode="json", exclude_unset=True)
    raise TypeError(
        f"{type(obj).__name__} is not JSON-serializable, so this request cannot be cached, "
        "recorded or replayed; pass plain dicts, lists, strings and numbers"
    )


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal requests give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)


def to_plain(value: Any) -> Any:
    """The value as plain JSON data (dicts, lists, str, numbers), e.g. for writing to a file."""
    return json.loads(canonical_json(value))


def request_key(model: str | None, messages: Any, settings: dict[str, Any]) -> str:
    """The sha256 hex digest of the canonical request; ``model=None`` gives a model-free key."""
    text = canonical_json({"model": model, "messages": messages, "settings": settings})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
