"""FIFOBuffer: the last `size` items, for an optimizer's memory of earlier steps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["FIFOBuffer"]


class FIFOBuffer:
    """Keeps the `size` most recent items added (none when size is 0)."""

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError(f"a buffer's size cannot be negative, got {size}")
        self.size = size
        self.buffer: list[Any] = []

    def add(self, item: Any) -> None:
        """Append `item`, dropping the oldest beyond `size`."""
        if self.size > 0:
            self.buffer.append(item)
            del self.buffer[: -self.size]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.buffer)

    def __len__(self) -> int:
        return len(self.buffer)
