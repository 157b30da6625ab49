"""Small helpers shared by the LLM tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import trace_workbench.llm

PROJECT_ROOT = Path(trace_workbench.llm.__file__).resolve().parents[2]


def user(text: str) -> list[dict[str, str]]:
    """A one-message conversation."""
    return [{"role": "user", "content": text}]


def run_python(code: str, *args: str, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (with ``flags``) that imports this checkout of trace_workbench."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *flags, "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
