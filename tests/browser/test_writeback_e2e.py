"""End to end in real JupyterLab and Chromium: accepted values are written into the %%trace cell's own
text by the trace_workbench JupyterLab extension (comments kept), undo writes the old value back, a cell
the person edited is not overwritten until they say so in the widget, and after saving, deleting the
history file, restarting the kernel and running all, the notebook gives the accepted behaviour; and a
notebook whose cells accept a proposal gets its %%trace cell rewritten by Run All and by Restart Kernel and
Run All, exactly as when its cells run one by one."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import (
    KERNEL_IDLE,
    PROPOSED,
    WRITEBACK_CELL,
    Lab,
    cell_output,
    only_local_requests,
    open_notebook,
    run_all,
)

CELL_TEXT = "(index) => window.jupyterapp.shell.currentWidget.content.widgets[index].model.sharedModel.getSource()"
EXECUTE = """(code) => new Promise((resolve) => {
  const future = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.requestExecute({ code });
  let printed = "";
  future.onIOPub = (msg) => { if (msg.header.msg_type === "stream") printed += msg.content.text; };
  future.done.then(() => resolve(printed));
})"""
KNOWN_TEXT = ("import trace_workbench.jupyter as j\n"
              "sync = next(iter(j._LOADED.values())).sync\n"
              "print(repr(next(c.current for c in sync.cells.values() if c.label == 'tuned')))")


def cell_text(page: Any, index: int) -> str:
    return page.evaluate(CELL_TEXT, index)


def wait_for_cell_text(page: Any, index: int, text: str) -> None:
    page.wait_for_function(f"(text) => ({CELL_TEXT})({index}) === text", arg=text, timeout=30_000)


def propose_and_accept(widget: Any, feedback: str) -> None:
    widget.locator(".tw-feedback").fill(feedback)
    widget.locator(".tw-propose").click()
    widget.locator(".tw-change[data-name='prompt'] .tw-diff").wait_for(timeout=60_000)
    widget.locator(".tw-accept-all").click()


@pytest.mark.front_ends("jupyterlab", "notebook7")
def test_accepted_values_live_in_the_notebook(page: Any, lab: Lab) -> None:
    open_notebook(page, lab, "writeback.ipynb")
    assert page.evaluate("() => window.jupyterapp.isPluginActivated('trace-workbench:cells')"), (
        "JupyterLab did not load the trace_workbench extension: run `python scripts/link_labextension.py`")
    run_all(page)
    widget = page.locator(".tw-root")
    widget.wait_for(timeout=90_000)
    page.wait_for_selector(".tw-output code:has-text('Write a poem, please')")
    accepted = WRITEBACK_CELL.replace('"Write a poem"', f'"{PROPOSED}"')

    propose_and_accept(widget, "I wanted a haiku about the sea")
    wait_for_cell_text(page, 1, accepted)  # only the literal changed: the magic line and comments stay
    widget.locator(".tw-writeback-written").wait_for()

    page.evaluate(EXECUTE, "%trace_undo")
    wait_for_cell_text(page, 1, WRITEBACK_CELL)

    # The person edits the cell by typing; accepting again does not overwrite it: the widget asks.
    editor = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+End")
    page.keyboard.type("\n# edited by hand")
    edited = WRITEBACK_CELL + "\n# edited by hand"
    wait_for_cell_text(page, 1, edited)
    page.wait_for_timeout(500)  # the extension reports the edit to the kernel after 200 ms
    assert page.evaluate(EXECUTE, KNOWN_TEXT).strip() == repr(edited)
    propose_and_accept(widget, "a haiku, please")
    widget.locator(".tw-writeback-edited .tw-writeback-overwrite").wait_for(timeout=30_000)
    assert cell_text(page, 1) == edited
    page.locator(".jp-Notebook .jp-Cell").nth(1).screenshot(path=str(lab.artifact("workbench-edited-cell.png")))
    widget.locator(".tw-writeback-overwrite").click()
    wait_for_cell_text(page, 1, accepted + "\n# edited by hand")  # their edit kept, the value written in

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
    history = lab.root / "writeback-history.sqlite"
    assert history.exists()
    page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.restart()")
    for suffix in ("", "-wal", "-shm"):
        history.with_name(history.name + suffix).unlink(missing_ok=True)
    page.wait_for_function(KERNEL_IDLE, timeout=90_000)
    for index in range(3):
        cell_output(page, index).evaluate("(el) => { el.textContent = ''; }")
    run_all(page)
    cell_output(page, 2).locator(f"text=PROMPT={PROPOSED}").wait_for(timeout=90_000)
    page.wait_for_selector(f".tw-output code:has-text('{PROPOSED}, please')")
    assert cell_text(page, 1) == accepted + "\n# edited by hand"
    only_local_requests(page, lab)


@pytest.mark.front_ends("jupyterlab", "notebook7")
def test_run_all_and_restart_and_run_all_write_the_accepted_values(page: Any, lab: Lab) -> None:
    open_notebook(page, lab, "runall.ipynb")
    accepted = WRITEBACK_CELL.replace('"Write a poem"', f'"{PROPOSED}"')
    run_all(page)
    cell_output(page, 5).locator(f"text=PROMPT={PROPOSED}").wait_for(timeout=90_000)
    wait_for_cell_text(page, 1, accepted)  # the comments, the magic line and the other lines stay
    accept_output = cell_output(page, 4).inner_text()
    assert "Accepted: prompt" in accept_output
    assert "does not edit cells" not in accept_output and "not running" not in accept_output
    page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".tw-writeback-written").wait_for(timeout=30_000)
    widget_files = [url for url in page.requests if "/lab/extensions/trace-workbench/static/widget." in url]
    assert widget_files, "the widget's front end did not come from the JupyterLab extension"

    # Back to the old literal, then Restart Kernel and Run All (JupyterLab's command, its dialog accepted).
    page.evaluate("""(text) => window.jupyterapp.shell.currentWidget.content.widgets[1].model.sharedModel
      .setSource(text)""", WRITEBACK_CELL)
    history = lab.root / "runall-history.sqlite"
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:restart-run-all'); }")  # not awaited:
    # the command's promise ends after its dialog, which is answered below
    page.locator(".jp-Dialog .jp-mod-accept").click()
    for suffix in ("", "-wal", "-shm"):
        history.with_name(history.name + suffix).unlink(missing_ok=True)
    cell_output(page, 5).locator(f"text=PROMPT={PROPOSED}").wait_for(timeout=90_000)
    wait_for_cell_text(page, 1, accepted)
    assert "does not edit cells" not in cell_output(page, 4).inner_text()
    only_local_requests(page, lab)


def test_a_front_end_without_the_extension_gets_the_widget_from_the_kernel(page: Any, lab: Lab) -> None:
    open_notebook(page, lab, "fromkernel.ipynb")
    page.evaluate("() => { delete globalThis.__traceWorkbenchStatic; globalThis.__traceWorkbenchWidgets?.clear(); }")
    run_all(page)
    page.locator(".tw-root").wait_for(timeout=90_000)
    page.wait_for_selector(".tw-output code:has-text('calm sea')")
    page.locator(".tw-graph canvas, .tw-graph svg").first.wait_for()  # the graph is drawn
    assert not [url for url in page.requests if "/trace-workbench/static/widget." in url]
    only_local_requests(page, lab)
