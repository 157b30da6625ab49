"""Accepted values written into the notebook's cells, against a real kernel (jupyter_client) and a scripted
front end (trace_workbench.testing.front_end): it sends cells with their ids as JupyterLab does and answers
the comm as the JupyterLab extension does. The extension itself is driven in tests/browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trace_workbench.testing import ChatServer
from trace_workbench.testing.front_end import ScriptedFrontEnd

from .conftest import reply

CELL = ('%%trace --train prompt --name tuned\n'
        '# The prompt we tune (this comment stays)\n'
        'prompt = "Write a poem"  # the literal\n'
        'request = prompt + ", please"\n'
        'request')
ACCEPTED = CELL.replace('"Write a poem"', '"Write a haiku"')
CODE_CELL = ('%%trace --train-code shout --name loud\n'
             '@staticmethod  # a decorator line the write-back keeps\n'
             'def _unused():\n'
             '    pass\n'
             '\n'
             'def shout(text):\n'
             '    return text.upper()  # old body\n'
             '\n'
             'shout("hi")')


def start(kernel: tuple[Any, ChatServer], extension: bool = True, cell: str = CELL) -> ScriptedFrontEnd:
    front = ScriptedFrontEnd(kernel[0], extension)
    assert front.execute("load", "%load_ext trace_workbench") == ""
    assert "Error" not in front.execute("traced", cell)
    return front


def accept(front: ScriptedFrontEnd, server: ChatServer, suggestion: dict[str, Any]) -> str:
    server.add_replies(reply(suggestion))
    assert "Feedback given" in front.execute(f"fb-{len(front.cells)}", "%trace_feedback a haiku please")
    assert "proposal" in front.execute(f"propose-{len(front.cells)}", "%trace_propose")
    return front.execute(f"accept-{len(front.cells)}", "%trace_accept")


def test_accept_undo_and_restore_write_the_cell_text(kernel, tmp_path: Path) -> None:
    front = start(kernel)
    assert front.tracked == ["traced"]
    printed = accept(front, kernel[1], {"prompt0": "Write a haiku"})
    assert "Accepted" in printed and "Error" not in printed
    front.python("pass")  # the kernel reads the front end's answer between cells
    assert front.cells["traced"] == ACCEPTED  # only the literal changed: the magic line and comments stay
    assert front.writes[-1]["expected"] == CELL and front.writes[-1]["label"] == "tuned"

    assert "Undone" in front.execute("undo", "%trace_undo")
    assert front.cells["traced"] == CELL
    assert "Restored step #1" in front.execute("restore", "%trace_restore 1")
    assert front.cells["traced"] == ACCEPTED
    assert len(front.writes) == 3

    # Running the rewritten cell gives the accepted value with no history at all (a new session).
    assert "Error" not in front.python("%unload_ext trace_workbench")
    for name in ("history.sqlite", "history.sqlite-wal", "history.sqlite-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    front.execute("load")
    front.execute("traced")
    assert front.python("print(prompt)").strip() == "Write a haiku"


def test_an_edited_cell_is_not_overwritten_and_the_magic_says_so(kernel) -> None:
    front = start(kernel)
    edited = CELL.replace("this comment stays", "I changed this")
    front.edit("traced", edited)
    printed = accept(front, kernel[1], {"prompt0": "Write a haiku"})
    assert "Cell tuned was edited since it ran, so its text was not changed" in printed
    assert "%trace_writeback tuned" in printed
    front.python("pass")
    assert front.writes == [] and front.cells["traced"] == edited
    assert front.python("print(prompt)").strip() == "Write a haiku"  # the value itself is accepted


def test_an_edit_not_yet_reported_is_refused_by_the_front_end_then_the_person_chooses(kernel) -> None:
    front = start(kernel)
    edited = CELL + "\n# typed just now"
    front.edit("traced", edited, report=False)
    accept(front, kernel[1], {"prompt0": "Write a haiku"})
    front.python("pass")
    assert front.writes[-1]["expected"] == CELL and front.cells["traced"] == edited  # conflict: nothing written
    sync = "__import__('trace_workbench.jupyter', fromlist=['_LOADED'])._LOADED"
    status = front.python(f"s = next(iter({sync}.values())).sync\nprint(s.status('tuned').state)")
    assert status.strip() == "edited"
    assert front.python("s.answer('tuned', 'below')") == ''
    front.python("pass")
    assert front.cells["traced-below"] == ACCEPTED + "\n# typed just now"  # the person's text, values written
    assert front.cells["traced"] == edited
    assert "no values waiting" in front.python("s.answer('tuned', 'overwrite')")


def test_without_the_extension_the_person_is_told(kernel) -> None:
    front = start(kernel, extension=False)  # the front end closed the comm: it has no extension
    printed = accept(front, kernel[1], {"prompt0": "Write a haiku"})
    assert "this front end does not edit cells" in printed and "%trace_writeback tuned" in printed
    assert front.writes == [] and front.cells["traced"] == CELL


RUN_ALL = {"load": "%load_ext trace_workbench", "traced": CELL, "fb": "%trace_feedback a haiku please",
           "propose": "%trace_propose", "accept": "%trace_accept", "after": "print(prompt)"}


def test_run_all_writes_the_accepted_values_as_one_by_one_does(kernel) -> None:
    """Run All sends every cell at once: the extension's hello waits behind them, yet the accept is written."""
    front = ScriptedFrontEnd(kernel[0])
    front.cells.update(RUN_ALL)
    kernel[1].add_replies(reply({"prompt0": "Write a haiku"}))
    printed = front.run_all(list(RUN_ALL))
    assert "Accepted: prompt = 'Write a haiku'" in printed["accept"]
    assert "does not edit cells" not in printed["accept"] and "not running" not in printed["accept"]
    assert printed["after"].strip() == "Write a haiku"
    front.python("pass")  # the kernel reads the hello and the front end's answer
    assert front.cells["traced"] == ACCEPTED  # comments and the magic line kept
    assert front.writes[-1]["expected"] == CELL
    sync = "__import__('trace_workbench.jupyter', fromlist=['_LOADED'])._LOADED"
    assert front.python(f"print(next(iter({sync}.values())).sync.status('tuned').state)").strip() == "written"


def test_run_all_tells_once_that_values_wait_for_the_front_end(kernel) -> None:
    """Every accept of a Run All is sent before the extension's hello is read: the note says so once."""
    cells = {**RUN_ALL, "fb2": "%trace_feedback shorter", "propose2": "%trace_propose", "accept2": "%trace_accept"}
    front = ScriptedFrontEnd(kernel[0])
    front.cells.update(cells)
    kernel[1].add_replies(reply({"prompt0": "Write a haiku"}), reply({"prompt0": "A haiku"}))
    printed = front.run_all(list(cells))
    assert "were sent to the front end" in printed["accept"]
    assert "A haiku" in printed["accept2"] and "sent to the front end" not in printed["accept2"]
    front.python("pass")
    assert front.cells["traced"] == CELL.replace('"Write a poem"', '"A haiku"')


def test_run_all_without_the_extension_ends_in_a_clear_status(kernel) -> None:
    front = ScriptedFrontEnd(kernel[0], extension=False)
    front.cells.update(RUN_ALL)
    kernel[1].add_replies(reply({"prompt0": "Write a haiku"}))
    printed = front.run_all(list(RUN_ALL))
    assert "%trace_writeback tuned" in printed["accept"]  # sent, with what to do if nothing writes it
    sync = "__import__('trace_workbench.jupyter', fromlist=['_LOADED'])._LOADED"
    status = front.python(f"print(next(iter({sync}.values())).sync.status('tuned').message)")
    assert "this front end does not edit cells" in status  # the close was read: the status says so
    assert front.cells["traced"] == CELL


def test_a_trained_function_is_written_back_and_a_computed_value_is_refused(kernel) -> None:
    front = start(kernel, cell=CODE_CELL)
    accept(front, kernel[1], {"__code0": "def shout(text):\n    return text.upper() + '!'"})
    front.python("pass")
    assert front.cells["traced"] == CODE_CELL.replace("    return text.upper()  # old body",
                                                      "    return text.upper() + '!'")
    computed = "%%trace --train tone --name mood\ntone = 'calm'.upper()\ntone + '?'"
    front.execute("mood", computed)
    printed = accept(front, kernel[1], {"tone0": "WARM"})
    assert "Cell mood was not rewritten: tone is computed in the cell" in printed
    front.python("pass")
    assert front.cells["mood"] == computed


def test_every_cell_that_trains_the_name_is_rewritten(kernel) -> None:
    front = start(kernel)
    again = CELL.replace("--name tuned", "--name again")
    front.execute("copy", again)
    accept(front, kernel[1], {"prompt0": "Write a haiku"})
    front.python("pass")
    assert front.cells["traced"] == ACCEPTED
    assert front.cells["copy"] == ACCEPTED.replace("--name tuned", "--name again")
