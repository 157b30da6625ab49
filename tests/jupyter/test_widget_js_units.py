"""The widget front end's unit tests (js/test/, node's own test runner) run with the Python suite, so CI
sees them: every module's pure logic, the graph store and the collapsing of repeats."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

JS = Path(__file__).resolve().parents[2] / "js"


def test_the_front_end_unit_tests_pass() -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed for the front end's tests (scripts/test.sh installs it)"
    assert (JS / "node_modules" / "cytoscape").is_dir(), "run `npm ci` in js/ first (scripts/test.sh does)"
    result = subprocess.run([node, "--test", "test/"], cwd=JS, capture_output=True, text=True, timeout=300)
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-4000:]
    passed = re.search(r"^# pass (\d+)$", report, re.MULTILINE)
    failed = re.search(r"^# fail (\d+)$", report, re.MULTILINE)
    assert passed and int(passed.group(1)) >= len(list((JS / "test").glob("*.test.js"))), report[-2000:]
    assert failed and int(failed.group(1)) == 0
