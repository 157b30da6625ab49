"""A notebook front end in a script, for tests and benchmarks of the write-back into cells.

`ScriptedFrontEnd` runs cells in a real kernel (jupyter_client) with their ids, as JupyterLab sends
them, and answers the cell comm as the trace_workbench JupyterLab extension (js/src/labextension.js)
does, on texts it holds. `running_kernel` starts and always stops a python3 kernel.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from trace_workbench.jupyter.cell_sync import TARGET

__all__ = ["ScriptedFrontEnd", "running_kernel"]


@contextmanager
def running_kernel(env: Mapping[str, str], cwd: str | os.PathLike[str]) -> Iterator[Any]:
    """A python3 kernel started with `env` in `cwd`; yields its blocking client, shuts it down after."""
    from jupyter_client.manager import KernelManager

    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(env=dict(env), cwd=str(cwd))
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


class ScriptedFrontEnd:
    """Cells by id, run with `execute` or `run_all`; the extension's side of the comm (`extension=False`: a
    JupyterLab without the extension, which closes the comm)."""

    def __init__(self, client: Any, extension: bool = True) -> None:
        self.client = client
        self.extension = extension
        self.cells: dict[str, str] = {}
        self.comm_id: str | None = None
        self.tracked: list[str] = []
        self.writes: list[dict[str, Any]] = []
        self.numbers: dict[str, int] = {}
        """Each cell's In[N] number, as the kernel announced it (execute_input)."""
        self.runs: list[str] = []
        """The cells the kernel asked to run ("Re-run the cell" in the widget), for the test to run."""

    def execute(self, cell_id: str, text: str | None = None, timeout: float = 60) -> str:
        """Run cell `cell_id` (with `text`, or its text now); returns what it printed (errors included)."""
        if text is not None:
            self.cells[cell_id] = text
        return self.run_all([cell_id], timeout)[cell_id]

    def run_all(self, cell_ids: list[str], timeout: float = 60) -> dict[str, str]:
        """Send every cell's execute request at once, as JupyterLab's Run All does (the answers to the comm
        then wait in the kernel's queue behind the cells); returns what each cell printed."""
        requests = {}
        for cell_id in cell_ids:
            request = self.client.session.msg(
                "execute_request", {"code": self.cells[cell_id], "silent": False, "store_history": True,
                                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
                metadata={"cellId": cell_id})
            self.client.shell_channel.send(request)
            requests[request["header"]["msg_id"]] = cell_id
        printed: dict[str, list[str]] = {cell_id: [] for cell_id in cell_ids}
        waiting = set(requests)
        while waiting:
            msg = self.client.get_iopub_msg(timeout=timeout)
            kind, content = msg["msg_type"], msg["content"]
            cell_id = requests.get(msg["parent_header"].get("msg_id"))
            if kind == "execute_input" and cell_id is not None:
                self.numbers[cell_id] = content["execution_count"]
            elif kind == "stream" and cell_id is not None:
                printed[cell_id].append(content["text"])
            elif kind == "error" and cell_id is not None:
                printed[cell_id].append(f"{content['ename']}: {content['evalue']}")
            elif kind == "comm_open" and content.get("target_name") == TARGET:
                self.comm_id = content["comm_id"]
                if self.extension:
                    self.answer({"type": "hello", "version": 2})
                else:  # JupyterLab closes a comm whose target no extension registered
                    self.client.shell_channel.send(self.client.session.msg("comm_close", {"comm_id": self.comm_id}))
            elif kind == "comm_msg" and content["comm_id"] == self.comm_id and self.extension:
                self.on_message(content["data"])
            elif kind == "status" and content["execution_state"] == "idle" and cell_id is not None:
                waiting.discard(msg["parent_header"]["msg_id"])
        return {cell_id: "".join(text) for cell_id, text in printed.items()}

    def python(self, code: str) -> str:
        """Run `code` in a new scratch cell; returns what it printed."""
        return self.execute(f"scratch-{len(self.cells)}", code)

    def interrupt(self) -> None:
        """Interrupt the kernel as JupyterLab's stop button does (SIGINT, through its kernel manager)."""
        self.client.parent.interrupt_kernel()

    def answer(self, data: dict[str, Any]) -> None:
        """Send `data` to the kernel on the cell comm (the kernel reads it before the next cell)."""
        self.client.shell_channel.send(self.client.session.msg("comm_msg", {"comm_id": self.comm_id, "data": data}))

    def on_message(self, data: dict[str, Any]) -> None:
        """What the extension does with a kernel's message: track a cell, take a cell to run (or say it is gone),
        or write (or refuse to)."""
        if data["type"] == "track":
            self.tracked.append(data["cell"])
            return
        if data["type"] == "run":
            known = data["cell"] in self.cells
            if known:
                self.runs.append(data["cell"])
            self.answer({"type": "ran", "cell": data["cell"], "status": "running" if known else "missing"})
            return
        self.writes.append(data)
        cell = data["cell"]
        if cell not in self.cells:
            self.answer({"type": "written", "id": data["id"], "cell": cell, "status": "missing"})
        elif data["mode"] == "below":
            self.cells[f"{cell}-below"] = data["source"]
            self.answer({"type": "written", "id": data["id"], "cell": cell, "status": "inserted"})
        elif self.cells[cell] != data["expected"]:
            self.answer({"type": "written", "id": data["id"], "cell": cell, "status": "conflict",
                         "source": self.cells[cell]})
        else:
            self.cells[cell] = data["source"]
            self.answer({"type": "written", "id": data["id"], "cell": cell, "status": "written"})

    def edit(self, cell_id: str, text: str, report: bool = True) -> None:
        """The person types in the cell; the extension reports the tracked cell's new text (unless not yet)."""
        self.cells[cell_id] = text
        if report:
            self.answer({"type": "edited", "cell": cell_id, "source": text})
