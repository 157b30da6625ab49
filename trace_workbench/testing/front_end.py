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
    """Cells by id, run with `execute`; the extension's side of the comm (unless `extension=False`)."""

    def __init__(self, client: Any, extension: bool = True) -> None:
        self.client = client
        self.extension = extension
        self.cells: dict[str, str] = {}
        self.comm_id: str | None = None
        self.tracked: list[str] = []
        self.writes: list[dict[str, Any]] = []

    def execute(self, cell_id: str, text: str | None = None, timeout: float = 60) -> str:
        """Run cell `cell_id` (with `text`, or its text now); returns what it printed (errors included)."""
        if text is not None:
            self.cells[cell_id] = text
        request = self.client.session.msg(
            "execute_request", {"code": self.cells[cell_id], "silent": False, "store_history": True,
                                "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
            metadata={"cellId": cell_id})
        self.client.shell_channel.send(request)
        printed: list[str] = []
        while True:
            msg = self.client.get_iopub_msg(timeout=timeout)
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind == "error":
                printed.append(f"{content['ename']}: {content['evalue']}")
            elif kind == "comm_open" and content.get("target_name") == TARGET:
                self.comm_id = content["comm_id"]
                if self.extension:
                    self.answer({"type": "hello", "version": 1})
            elif kind == "comm_msg" and content["comm_id"] == self.comm_id and self.extension:
                self.on_message(content["data"])
            elif (kind == "status" and content["execution_state"] == "idle"
                  and msg["parent_header"].get("msg_id") == request["header"]["msg_id"]):
                return "".join(printed)

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
        """What the extension does with a kernel's message: track a cell, or write (or refuse to)."""
        if data["type"] == "track":
            self.tracked.append(data["cell"])
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
