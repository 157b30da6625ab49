"""evaluate and train on a real two-node Ray cluster on 127.0.0.1, started and stopped by these tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
import ray

from tests.train.conftest import LangAgent, Script, metric
from tests.train.test_executors import DATA, kill_when_announced, killed_once, trained
from trace_workbench.testing import ChatServer
from trace_workbench.train import evaluate
from trace_workbench.utils.executors import RayExecutor, WorkerLost

cloudpickle.register_pickle_by_value(sys.modules[__name__])
RAY = str(Path(sys.executable).with_name("ray"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _started_in(directories: list[str]) -> list[int]:
    """The pids of the processes whose command line names one of these Ray temp dirs, and their children."""
    parents: dict[int, int] = {}
    ours: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().decode(errors="replace")
            parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if any(d in command for d in directories) and int(entry.name) != os.getpid():
            ours.add(int(entry.name))
    grown = True
    while grown:
        children = {pid for pid, parent in parents.items() if parent in ours} - ours
        grown = bool(children)
        ours |= children
    return sorted(ours)


def _stop(directories: list[str]) -> None:
    """`ray stop` for these nodes only (it has no --temp-dir: it would stop every Ray on the machine)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _started_in(directories):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(2)


def _warm_up() -> None:
    """One task pinned to each node, waited for: both nodes have a worker before the tests, so Ray's
    best-effort spreading is not undone by a node still starting its first worker on a loaded machine."""
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    @ray.remote(num_cpus=1)
    def node_id() -> str:
        return ray.get_runtime_context().get_node_id()

    alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
    pinned = [node_id.options(scheduling_strategy=NodeAffinitySchedulingStrategy(n, soft=False)).remote()
              for n in alive]
    assert sorted(ray.get(pinned, timeout=180)) == sorted(alive)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A head and a second node, one CPU each, on 127.0.0.1; yields the head's address."""
    port = _free_port()
    directories = [tempfile.mkdtemp(prefix="rayhead", dir="/tmp"), tempfile.mkdtemp(prefix="raynode", dir="/tmp")]
    # no token auth: a ~/.ray/auth_token left by another Ray would otherwise switch it on for the head only
    settings = {"RAY_DISABLE_USAGE_STATS": "1", "RAY_AUTH_MODE": "disabled"}
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)  # for this process's ray.init too
    env = dict(os.environ)
    common = ["--num-cpus=1", "--node-ip-address=127.0.0.1", "--disable-usage-stats"]
    try:
        nodes = [(directories[0], ["--head", f"--port={port}", "--include-dashboard=false"]),
                 (directories[1], [f"--address=127.0.0.1:{port}"])]
        for directory, options in nodes:
            command = [RAY, "start", *options, f"--temp-dir={directory}", *common]
            for _ in range(2):  # Ray gives a node 30 s to register: a loaded machine may need a second try
                started = subprocess.run(command, env=env, capture_output=True, text=True)
                if started.returncode == 0:
                    break
                _stop([directory])
            assert started.returncode == 0, f"{' '.join(command)} failed:\n{started.stdout}\n{started.stderr}"
        ray.init(address=f"127.0.0.1:{port}", log_to_driver=False)
        deadline = time.monotonic() + 60
        while sum(n["Alive"] for n in ray.nodes()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        _warm_up()
        yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        _stop(directories)
        for directory in directories:
            shutil.rmtree(directory, ignore_errors=True)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def on_node(marks: Path, agent: LangAgent):
    """`agent`, noting the Ray node each call ran on."""

    def run(query: Any) -> Any:
        (marks / ray.get_runtime_context().get_node_id()).touch()
        return agent(query)

    return run


def test_evaluate_on_ray_scores_as_threads_on_both_nodes(server: ChatServer, cluster: str, tmp_path: Path) -> None:
    server.responder = Script(program_delay=0.1)
    agent = LangAgent()
    agent.instruction._set("v1")
    threads = evaluate(agent, DATA, metric, num_threads=4)
    result = evaluate(on_node(tmp_path, agent), DATA, metric, executor=RayExecutor(cluster))
    assert result.scores == threads.scores == [0.0, 1.0] * 6
    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2 and {p.name for p in tmp_path.iterdir()} == nodes


def test_training_on_ray_takes_the_steps_of_a_serial_run(server: ChatServer, cluster: str, tmp_path: Path) -> None:
    serial_agent, serial, _, serial_prompts = trained(server, tmp_path, "serial", num_threads=1)
    agent, result, _, prompts = trained(server, tmp_path, "ray", executor="ray")
    assert [(s.score, s.validation, s.changed) for s in result.steps] == \
        [(s.score, s.validation, s.changed) for s in serial.steps]
    assert agent.instruction.data == serial_agent.instruction.data and prompts == serial_prompts


def test_a_killed_ray_worker_is_retried(server: ChatServer, cluster: str, tmp_path: Path) -> None:
    expected = evaluate(LangAgent(), DATA[:6], metric, num_threads=2).scores
    watcher = kill_when_announced(tmp_path)
    result = evaluate(killed_once(tmp_path, LangAgent()), DATA[:6], metric, executor=RayExecutor(cluster, retries=1))
    watcher.join()
    assert (tmp_path / "killed").exists() and result.scores == expected


def test_a_killed_ray_worker_without_retries_is_reported(server: ChatServer, cluster: str, tmp_path: Path) -> None:
    watcher = kill_when_announced(tmp_path)
    with pytest.raises(WorkerLost, match="1 of 6 tasks were lost: a Ray worker died"):
        evaluate(killed_once(tmp_path, LangAgent()), DATA[:6], metric, executor=RayExecutor(cluster, retries=0))
    watcher.join()
