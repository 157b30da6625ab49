"""A history Step and a History as a notebook cell's value: their diffs in HTML, one line of text/plain,
through a real IPython display formatter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from trace_workbench.workbench.history import History, ValueChange


@pytest.fixture
def formatter() -> Iterator[object]:
    shell = InteractiveShell.instance()
    try:
        yield shell.display_formatter
    finally:
        InteractiveShell.clear_instance()


@pytest.fixture
def history(tmp_path) -> Iterator[History]:
    book = History(tmp_path / "history.sqlite", notebook="book.ipynb")
    book.record("accepted", ["instruction"], cell="3", optimizer="OptoPrime", feedback="friendlier",
                proposal={"reasoning": "A greeting should be warm."},
                changes=[ValueChange("instruction", "str", "Say hi", "Say hello warmly", "3")])
    book.record("rejected", ["n"], cell="3", optimizer="OptoPrime", note="too many")
    yield book
    book.close()


def test_a_step_shows_its_diff_and_reasoning(history: History, formatter) -> None:
    step = history.steps()[0]
    data, _ = formatter.format(step)
    assert data["text/plain"] == f"<Step {step.summary()}>" and "\n" not in data["text/plain"]
    page = data["text/html"]
    assert "instruction (str)" in page and "-Say hi" in page and "+Say hello warmly" in page
    assert "A greeting should be warm." in page and "accepted" in page


def test_a_history_lists_this_notebooks_steps_with_their_diffs(history: History, formatter) -> None:
    data, _ = formatter.format(history)
    page = data["text/html"]
    assert "2 step(s) of this notebook" in page
    assert page.index("accepted") < page.index("rejected") and "+Say hello warmly" in page and "too many" in page
    assert data["text/plain"].startswith("History(")
