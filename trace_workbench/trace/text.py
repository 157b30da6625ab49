"""Shortening text for display and for prompts: the one helper every layer uses.

A cut is always visible: a mark ("…" by default) stands where characters were left out, and it may
say how many (`{cut}`) of how many (`{total}`).
"""

from __future__ import annotations

__all__ = ["shorten"]


def shorten(text: str, limit: int | None, *, tail: int = 0, mark: str = "…") -> str:
    """`text` when it has at most `limit` characters (or `limit` is None); else its first `limit - tail`
    characters, `mark` (formatted with `cut` and `total`), and its last `tail` characters."""
    if limit is None or len(text) <= limit:
        return text
    tail = min(tail, limit)
    shown = mark.format(cut=len(text) - limit, total=len(text)) if "{" in mark else mark
    return text[:limit - tail] + shown + (text[len(text) - tail:] if tail else "")
