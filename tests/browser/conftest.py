"""Fixtures for the browser end-to-end tests: the scripted model server, a real `jupyter lab` (and, for
tests marked `front_ends("jupyterlab", "notebook7")`, a real Notebook 7 too) on 127.0.0.1, kernels pointed
at that server, and Debian's Chromium driven headless by playwright."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from trace_workbench.testing import ChatServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).parent / "artifacts"
PROPOSED = "Write a haiku about the sea"
WRITEBACK_CELL = ('%%trace --train prompt --name tuned\n'
                  '# The prompt we tune (this comment stays)\n'
                  'prompt = "Write a poem"  # the literal the workbench rewrites\n'
                  'request = prompt + ", please"\n'
                  'request')


def free_port() -> int:
    """A TCP port nobody listens on (bound and released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def notebook(*cells: str) -> dict[str, Any]:
    """An nbformat-4 notebook with these code cells and the python3 kernel."""
    return {"nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                       "source": source} for i, source in enumerate(cells)]}


def optoprime_reply(_body: dict[str, Any]) -> str:
    """Every request gets the same well-formed OptoPrime reply: a new prompt."""
    return json.dumps({"reasoning": "The person asked for a haiku about the sea.", "answer": "",
                       "suggestion": {"prompt0": PROPOSED}})


FRONT_ENDS = {"jupyterlab": "jupyterlab", "notebook7": "notebook"}
"""Each front end the tests can run in, and the Python module that serves it."""


@dataclass
class Lab:
    """A running JupyterLab or Notebook 7 (`app`): its base URL, token and notebook folder."""

    url: str
    token: str
    root: Path
    app: str = "jupyterlab"

    def artifact(self, name: str) -> Path:
        """Where to save a screenshot called `name` taken in this front end (tests/browser/artifacts/)."""
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        return path if self.app == "jupyterlab" else path.with_stem(f"{path.stem}-{self.app}")

    def open_url(self, path: str) -> str:
        if self.app == "notebook7":
            return f"{self.url}/notebooks/{path}?token={self.token}"
        return f"{self.url}/lab/tree/{path}?token={self.token}&reset"


KERNEL_IDLE = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session && panel.sessionContext.session.kernel;
  return Boolean(kernel && kernel.connectionStatus === "connected" && kernel.status === "idle");
}"""


def open_notebook(page: Any, lab: Lab, name: str) -> None:
    page.goto(lab.open_url(name))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)


def run_all(page: Any) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")


def run_cell(page: Any, index: int) -> None:
    page.evaluate("""(index) => {
      const panel = window.jupyterapp.shell.currentWidget;
      panel.content.activeCellIndex = index;
      return window.jupyterapp.commands.execute('notebook:run-cell');
    }""", index)


def cell_output(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea")


def set_theme(page: Any, theme: str, light: bool) -> None:
    page.evaluate("(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme)
    page.wait_for_selector(f'body[data-jp-theme-light="{str(light).lower()}"]', state="attached")


def only_local_requests(page: Any, lab: Lab) -> None:
    here = urlparse(lab.url).netloc
    outside = [url for url in page.requests if urlparse(url).scheme in ("http", "https", "ws", "wss")
               and urlparse(url).netloc != here]
    assert outside == [], f"the front end reached the network: {outside[:5]}"


@pytest.fixture(scope="session")
def chat_server() -> Iterator[ChatServer]:
    with ChatServer(responder=optoprime_reply) as server:
        yield server


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "front_ends(*names): run the test in each of these front ends "
                                       f"({', '.join(FRONT_ENDS)}); unmarked tests run in JupyterLab")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("front_ends")
    if marker is not None and "lab" in metafunc.fixturenames:
        metafunc.parametrize("lab", marker.args, indirect=True)


def demo_notebooks(closed_port: int) -> dict[str, dict[str, Any]]:
    """The notebooks every server starts with, by file name."""
    return {
        "workbench.ipynb": notebook(
            "%load_ext trace_workbench",
            '%%trace --train prompt --name poem\nprompt = "Write a poem"\nrequest = prompt + ", please"\nrequest',
            'print("PROMPT=" + prompt)'),
        "candidates.ipynb": notebook(
            "%load_ext trace_workbench",
            '%%trace --train tone --name pick\ntone = "calm"\ntone + "!"',
            'print("TONE=" + tone)'),
        "big.ipynb": notebook(
            "%load_ext trace_workbench",
            "%%trace --train a --name big\na = 1\nx = 0\nfor i in range(600):\n    x = x + a\nx"),
        "writeback.ipynb": notebook(
            "%load_ext trace_workbench\n%trace_config history=writeback-history.sqlite",
            WRITEBACK_CELL,
            'print("PROMPT=" + prompt)'),
        "runall.ipynb": notebook(
            "%load_ext trace_workbench\n%trace_config history=runall-history.sqlite",
            WRITEBACK_CELL,
            "%trace_feedback tuned I wanted a haiku about the sea",
            "%trace_propose",
            "%trace_accept",
            'print("PROMPT=" + prompt)'),
        "fromkernel.ipynb": notebook(
            "%load_ext trace_workbench",
            '%%trace --train tone --name served\ntone = "calm"\ntone + " sea"'),
        "down.ipynb": notebook(
            "%load_ext trace_workbench",
            f"%trace_config base_url=http://127.0.0.1:{closed_port}/v1 max_retries=0 timeout=3",
            '%%trace --train tone --name down\ntone = "calm"\ntone.upper()'),
    }


@contextmanager
def serving(app: str, chat_server: ChatServer, root: Path) -> Iterator[Lab]:
    """`app` (a key of FRONT_ENDS) serving `root`, with the demo notebooks; always terminated."""
    settings = root / ".settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    for name, content in demo_notebooks(free_port()).items():
        (root / name).write_text(json.dumps(content))
    token = secrets.token_hex(16)
    port = free_port()
    env = {**os.environ, **chat_server.env(), "OPENAI_API_KEY": "test-key", "TRACE_WORKBENCH_TIMEOUT": "10",
           "JUPYTERLAB_SETTINGS_DIR": str(settings), "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
           "TRACE_WORKBENCH_HISTORY": str(root / "history.sqlite")}
    expose = "--LabApp.expose_app_in_browser=True" if app == "jupyterlab" else (
        "--JupyterNotebookApp.expose_app_in_browser=True")
    log_file = root / "jupyter.log"
    log = log_file.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", FRONT_ENDS[app], "--allow-root", "--no-browser", f"--ServerApp.token={token}",
         "--ServerApp.ip=127.0.0.1", f"--port={port}", expose, f"--ServerApp.root_dir={root}",
         "--ServerApp.open_browser=False"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start: {log_file.read_text()[-3000:]}")
            time.sleep(0.3)
        yield Lab(url, token, root, app)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="session")
def jupyterlab_server(chat_server: ChatServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """`jupyter lab` in a temporary folder with the demo notebooks."""
    with serving("jupyterlab", chat_server, tmp_path_factory.mktemp("lab")) as server:
        yield server


@pytest.fixture(scope="session")
def notebook7_server(chat_server: ChatServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """Notebook 7 (`python -m notebook`, the same labextension) in a temporary folder with the demo notebooks."""
    with serving("notebook7", chat_server, tmp_path_factory.mktemp("notebook7")) as server:
        yield server


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Lab:
    """The front end a test runs in: JupyterLab, or each of those its `front_ends` marker names."""
    app = getattr(request, "param", "jupyterlab")
    return request.getfixturevalue(f"{app}_server")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one test module: playwright's sync API keeps an event loop running while it is open,
    so it is closed before other tests (which call asyncio.run) run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any, lab: Lab) -> Iterator[Any]:
    """A fresh page; every request it makes is recorded (the widget must not reach the network)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    try:
        yield page
    finally:
        context.close()
