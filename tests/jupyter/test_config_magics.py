"""The magics' settings as traitlets (%config TraceMagics.x = ..., ipython_config.py, %trace_config), bad values
as one-line errors, and Tab completion of labels and parameter names: in IPython shells and a real kernel."""

from __future__ import annotations

from typing import Any

from IPython.core.completer import provisionalcompleter
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from trace_workbench.jupyter.completion import completions
from trace_workbench.testing.front_end import ScriptedFrontEnd
from trace_workbench.workbench import get_session

from .conftest import run

CELL = "%%trace --train prompt,n --name poem\nprompt = 'Write a poem'\nn = 2\nf'{prompt} in {n} lines'"


def output_of(capsys) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


def magics_of(shell: Any) -> Any:
    return shell.magics_manager.registry["TraceMagics"]


def complete(shell: Any, line: str) -> list[str]:
    with provisionalcompleter():
        return [c.text for c in shell.Completer.completions(line, len(line))]


def test_config_magic_sets_the_sessions_settings(shell, capsys) -> None:
    assert run(shell, '%config TraceMagics.model = "config-model"').success
    assert run(shell, "%config TraceMagics.optimizer = 'textgrad'").success
    assert run(shell, "%config TraceMagics.timeout = 7").success
    session = get_session()
    assert (session.settings["model"], session.optimizer_name, session.settings["timeout"]) == (
        "config-model", "textgrad", 7.0)
    assert run(shell, "%config TraceMagics.model").result == "config-model"
    assert run(shell, "%config TraceMagics").success
    assert "TraceMagics.max_retries" in output_of(capsys)  # the settings are listed with their help


def test_a_bad_value_is_one_clear_line_and_changes_nothing(shell, capsys, caplog) -> None:
    run(shell, "%config TraceMagics.optimizer = 'nope'")  # %config logs what went wrong, as one line
    run(shell, "%config TraceMagics.max_retries = -1")
    assert [r.getMessage() for r in caplog.records] == ["optimizer 'nope' is not one of optoprime, opro, textgrad",
                                                        "max_retries must be 0 or more, not -1"]
    assert "Traceback" not in output_of(capsys)
    magics = magics_of(shell)
    assert magics.optimizer is None and magics.max_retries is None and get_session().optimizer_name == "optoprime"
    for line, message in (("%trace_config optimizer=nope", "is not one of"),
                          ("%trace_config timeout=soon", "timeout must be a number"),
                          ("%trace_config timeout=0", "above 0"), ("%trace_config colour=red", "unknown setting")):
        result = run(shell, line)
        shown = output_of(capsys)
        assert not result.success and "UsageError" in shown and message in shown and "Traceback" not in shown, line


def test_trace_config_and_the_traits_agree(shell, capsys) -> None:
    assert run(shell, "%trace_config model=typed-model max_retries=4").success
    magics = magics_of(shell)
    assert (magics.model, magics.max_retries) == ("typed-model", 4)
    assert run(shell, "%config TraceMagics.model = 'typed-model'").success  # the same value again
    assert get_session().settings["model"] == "typed-model"
    output_of(capsys)
    assert run(shell, "%trace_config").success and "model = typed-model" in output_of(capsys)


def test_ipython_config_reaches_the_session_when_the_extension_loads(tmp_path) -> None:
    config = Config()
    config.TraceMagics.model = "from-ipython-config"
    config.TraceMagics.history = str(tmp_path / "configured.sqlite")
    shell = InteractiveShell(config=config)
    try:
        assert run(shell, "%load_ext trace_workbench").success
        settings = get_session().settings
        assert settings["model"] == "from-ipython-config" and settings["history"] == str(tmp_path / "configured.sqlite")
        magics = magics_of(shell)
        shell.run_line_magic("unload_ext", "trace_workbench")  # unloading takes its traits and completions away
        assert magics not in shell.configurables and magics._matcher not in shell.Completer.custom_matchers
    finally:
        InteractiveShell.clear_instance()


def test_a_bad_value_in_ipython_config_fails_the_load_in_one_line(capsys) -> None:
    config = Config()
    config.TraceMagics.optimizer = "nope"
    shell = InteractiveShell(config=config)
    try:
        assert not run(shell, "%load_ext trace_workbench").success
        shown = output_of(capsys)
        assert "UsageError" in shown and "optimizer 'nope' is not one of" in shown and "Traceback" not in shown
    finally:
        InteractiveShell.clear_instance()


def test_tab_completes_labels_and_parameter_names(shell) -> None:
    assert run(shell, CELL).success
    assert complete(shell, "%trace_feedback po") == ["poem"]
    assert complete(shell, "%trace_writeback ") == ["poem"]
    assert complete(shell, "%trace_optimize --feedback judge --output p") == ["poem"]
    assert complete(shell, "%trace_accept ") == ["n", "prompt"]
    assert complete(shell, "%trace_accept prompt ") == ["n"]
    assert complete(shell, "%trace_restore 3 pr") == ["prompt"]
    assert complete(shell, "%trace_config optimizer=te") == ["textgrad"]
    assert complete(shell, "%trace_config max") == ["max_retries="]
    assert "prompt" not in complete(shell, "%trace_feedback poem too lo")  # feedback words are the person's
    assert complete(shell, "print(pro") != ["prompt="]  # other lines are IPython's to complete


def test_completions_after_options_that_take_values() -> None:
    names = {"labels": ["3", "poem"], "parameters": ["n", "prompt"]}
    assert completions("%trace_accept --candidate ", "", **names) == []
    assert completions("%trace_feedback --score 0.5 ", "", **names) == ["3", "poem"]
    assert completions("%trace_optimize --stop ", "", **names, functions=["done"]) == ["done"]
    assert completions("x = ", "", **names) is None


def test_a_kernel_completes_labels_for_the_front_end(kernel) -> None:
    client, _ = kernel
    front = ScriptedFrontEnd(client)
    front.execute("load", "%load_ext trace_workbench")
    front.execute("traced", "%%trace --train tone --name mood\ntone = 'calm'\ntone.upper()")
    code = "%trace_feedback mo"
    asked = client.complete(code, len(code))
    reply = client.get_shell_msg(timeout=30)
    while reply["parent_header"].get("msg_id") != asked:
        reply = client.get_shell_msg(timeout=30)
    assert reply["content"]["status"] == "ok" and reply["content"]["matches"] == ["mood"]
    front.execute("config", "%config TraceMagics.model = 'kernel-model'")
    assert "kernel-model" in front.python("print(get_ipython().magics_manager.registry['TraceMagics'].session."
                                          "settings['model'])")
