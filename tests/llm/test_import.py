"""Importing the LLM layer and the test server stays cheap: no openai, httpx or pytest."""

from __future__ import annotations

from .support import run_python

HEAVY = {"openai", "httpx", "httpx2", "pytest", "pydantic"}


def test_importing_the_llm_layer_does_not_import_openai_or_httpx():
    result = run_python(
        "import sys, trace_workbench.llm, trace_workbench.testing\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in set(sys.argv[1:])))",
        *sorted(HEAVY),
        flags=("-X", "importtime"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    imported = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert "trace_workbench" in imported
    assert not imported & HEAVY
