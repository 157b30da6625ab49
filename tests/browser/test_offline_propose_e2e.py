"""A newcomer without a key, in real JupyterLab and Chromium: the notebook replays recorded replies, and
feedback typed in the widget (which no recording holds) is answered by the tiny local model, which the
widget says in words."""

from __future__ import annotations

import json
import time
from typing import Any

from .conftest import ARTIFACTS, Lab, notebook, only_local_requests, open_notebook, run_all

OFFLINE_SETUP = """import os
for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TRACE_WORKBENCH_MODEL"):
    os.environ.pop(name, None)  # no key, as for a newcomer
open("offline-replies.jsonl", "w").close()  # a recording that holds none of this notebook's requests
os.environ["TRACE_WORKBENCH_REPLAY"] = os.path.abspath("offline-replies.jsonl")
os.environ["TRACE_WORKBENCH_REPLAY_MISS"] = "local"
%load_ext trace_workbench"""


def test_propose_on_feedback_not_recorded_is_answered_by_the_local_model(page: Any, lab: Lab) -> None:
    (lab.root / "offline.ipynb").write_text(json.dumps(notebook(
        OFFLINE_SETUP, '%%trace --train greeting --name hello\ngreeting = "Hello"\ngreeting + ", world"')))
    open_notebook(page, lab, "offline.ipynb")
    run_all(page)
    widget = page.locator(".tw-root")
    widget.wait_for(timeout=90_000)
    page.wait_for_selector(".tw-output code:has-text('Hello, world')")

    widget.locator(".tw-feedback").fill("The greeting must be in French: use Bonjour instead of Hello.")
    started = time.perf_counter()
    widget.locator(".tw-propose").click()
    page.wait_for_selector(".tw-root .tw-local-note:not([hidden]), .tw-root .tw-error:not(:empty)", timeout=600_000)
    print(f"offline Propose answered in {time.perf_counter() - started:.1f} s")

    assert widget.locator(".tw-error").inner_text() == ""
    note = widget.locator(".tw-local-note").inner_text()
    assert "tiny local model" in note and "OPENAI_API_KEY" in note
    assert widget.locator(".tw-change[data-name='greeting'] .tw-diff").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    widget.screenshot(path=str(ARTIFACTS / "offline-local-model.png"))
    only_local_requests(page, lab)
