"""Small helpers of Trace's optimizer package, kept for Trace programs (Trace's own tests import print_color)."""

from __future__ import annotations

from typing import Any

__all__ = ["print_color"]

_COLORS = {
    "red": "\033[91m",
    "green": "\033[92m",
    "yellow": "\033[93m",
    "blue": "\033[94m",
    "magenta": "\033[95m",
    "cyan": "\033[96m",
}


def print_color(message: str, color: str | None = None, logger: Any = None) -> None:
    """Print `message` in a terminal color (red, green, yellow, blue, magenta, cyan; else plain)."""
    print(f"{_COLORS.get(color or '', '')}{message}\033[0m")
    if logger is not None:
        logger.log(message)
