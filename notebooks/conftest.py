"""pytest settings for the notebooks: nbval sanitises volatile output with nbval_sanitize.cfg unless told otherwise.

Run with ``pytest notebooks --nbval-lax``: every cell must run without error, and the cells marked
``# NBVAL_CHECK_OUTPUT`` must print what the saved notebook shows.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Use this directory's sanitiser file when nbval is active and none was given."""
    if config.pluginmanager.hasplugin("nbval") and getattr(config.option, "nbval_sanitize_with", None) is None:
        config.option.nbval_sanitize_with = str(Path(__file__).with_name("nbval_sanitize.cfg"))
