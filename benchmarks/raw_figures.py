"""Where every benchmark keeps its raw figures: benchmarks/results/KIND-YYYYmmdd-HHMMSS[-TAG...].json
(gitignored), one file a run."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def save(kind: str, document: dict[str, Any], tags: Iterable[str] = (), path: Path | None = None) -> Path:
    """Write `document` as JSON (at `path`, or a new file named by `kind`, the time and `tags` such as
    "quick"), say where, and return the path."""
    if path is None:
        name = "-".join([kind, _dt.datetime.now().strftime("%Y%m%d-%H%M%S"), *tags])
        path = RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str))
    print(f"raw figures: {path}")
    return path
