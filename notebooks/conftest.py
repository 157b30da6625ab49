"""pytest settings for the notebooks: nbval sanitises volatile output with nbval_sanitize.cfg unless told otherwise.

Run with ``pytest notebooks --nbval-lax``: every cell must run without error, and the cells marked
``# NBVAL_CHECK_OUTPUT`` must print what the saved notebook shows. The notebooks stay on their recorded
replies: a request the recording lacks fails instead of going to the local model (the kernels inherit
TRACE_WORKBENCH_REPLAY_MISS=off).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Use this directory's sanitiser file when nbval is active and none was given; keep the replays strict."""
    os.environ.setdefault("TRACE_WORKBENCH_REPLAY_MISS", "off")
    if config.pluginmanager.hasplugin("nbval") and getattr(config.option, "nbval_sanitize_with", None) is None:
        config.option.nbval_sanitize_with = str(Path(__file__).with_name("nbval_sanitize.cfg"))
