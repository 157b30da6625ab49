"""%%trace: plain Python recorded as one subgraph per cell, parameters from --train/--train-code, outputs, errors."""

from __future__ import annotations

import re

import pytest

from trace_workbench.testing.front_end import ScriptedFrontEnd
from trace_workbench.trace import ExceptionNode, FunModule, MessageNode, Node, ParameterNode
from trace_workbench.trace.nodes import ancestors
from trace_workbench.workbench import get_session

from .conftest import run

CELL = '''%%trace --train prompt,n
prompt = "Say hi"
n = 3
def shout(s):
    """Make the text loud."""
    return s.upper() + "!"
message = f"{prompt} to {n} people"
shout(message)
'''


def test_a_traced_cell_records_its_operations_and_shows_the_plain_value(shell) -> None:
    result = run(shell, CELL)
    assert result.success and result.result == "SAY HI TO 3 PEOPLE!"
    session = get_session()
    label = str(result.execution_count)
    assert session.last_label == label
    output = session.outputs[label]
    assert isinstance(output, MessageNode) and output.data == "SAY HI TO 3 PEOPLE!"
    assert output.description == "[shout] Make the text loud."
    assert {p.py_name for p in output.parameter_dependencies} == {"prompt0", "n0"}
    scope = session.scopes[label]
    assert scope.output is output and output in scope.nodes
    assert {n.op_name for n in scope.nodes} >= {"format", "shout", "ParameterNode"}
    names = [n["name"] for n in scope.to_dict()["nodes"]]
    assert "prompt:0" in names and "shout:0" in names
    assert isinstance(session.parameters["prompt"], ParameterNode)
    plain = run(shell, "type(prompt).__name__, type(message).__name__, n + 1")
    assert plain.result == ("str", "str", 4)  # untraced cells see plain values


def test_operators_attributes_methods_and_control_flow_are_traced(shell) -> None:
    cell = '''%%trace --train words,limit
words = ["alpha", "beta", "gamma"]
limit = 4
kept = []
for w in words:
    if len(w) > limit:
        kept.append(w.upper())
text = " ".join(kept)
size = text.__len__()
info = {"n": size}
(text.lower(), info["n"] * 2, text.upper)
'''
    result = run(shell, cell)
    assert result.success, result.error_in_exec
    value = result.result
    assert value[0] == "alpha gamma" and value[1] == 22 and value[2]() == "ALPHA GAMMA"
    session = get_session()
    output = session.outputs[str(result.execution_count)]
    assert output.op_name == "output" and value == output.data
    ops = {n.op_name for n in ancestors([output])}
    assert ops >= {"upper", "join", "__len__", "lower", "getitem", "multiply", "node_getattr"}
    assert {n.op_name for n in session.scopes[str(result.execution_count)]} >= {"len", "gt"}  # the `if` tests
    # `limit` acts through control flow only, which runs as plain Python: no data edge, as in Trace
    assert {p.py_name for p in output.parameter_dependencies} == {"words0"}


def test_output_option_chooses_the_value_that_receives_feedback(shell) -> None:
    result = run(shell, '%%trace --train x --output "y * 10"\nx = 2\ny = x + 1\n"ignored"\n')
    assert result.result == 30
    output = get_session().outputs[str(result.execution_count)]
    assert output.data == 30 and output.parameter_dependencies == {get_session().parameters["x"]}


def test_name_option_labels_the_cell(shell) -> None:
    result = run(shell, "%%trace --name greet --train g\ng = 'hi'\ng + '!'")
    assert result.result == "hi!" and "greet" in get_session().outputs


def test_a_later_traced_cell_reaches_back_to_earlier_parameters(shell) -> None:
    cell = "%%trace --name a --train prompt\nprompt = 'Tell a joke'\nintro = prompt + ' about'\nintro"
    assert run(shell, cell).success
    assert run(shell, "intro").result == "Tell a joke about"  # plain in between
    assert run(shell, "topic = 'cats'").success
    result = run(shell, "%%trace --name b\nintro + ' ' + topic")
    assert result.result == "Tell a joke about cats"
    session = get_session()
    output = session.outputs["b"]
    assert session.parameters["prompt"] in ancestors([output])
    assert session.outputs["a"] in ancestors([output])  # the earlier cell's result itself, not a copy
    assert run(shell, "type(intro).__name__").result == "str"


def test_rebinding_a_name_in_a_plain_cell_wins_over_the_node(shell) -> None:
    run(shell, "%%trace --train p\np = 'x'\np")
    run(shell, "p = 'replaced'")
    result = run(shell, "%%trace\np + '!'")
    assert result.result == "replaced!"
    assert get_session().parameters["p"] not in ancestors([get_session().outputs[str(result.execution_count)]])


def test_train_code_makes_the_function_trainable(shell) -> None:
    cell = '''%%trace --train-code double
def double(x):
    """Double x."""
    return x * 2
double(21)
'''
    result = run(shell, cell)
    assert result.result == 42
    session = get_session()
    module = session.functions["double"]
    assert isinstance(module, FunModule) and module.trainable
    assert session.parameters["double"] is module.parameter
    assert module.parameter.data.startswith("def double(x):")
    assert module.parameter in ancestors([session.outputs[str(result.execution_count)]])
    assert run(shell, "double(5)").result == 10  # a plain function outside traced cells
    assert not isinstance(shell.user_ns["double"], FunModule)
    module.parameter._set("def double(x):\n    return x * 3")  # as if a proposal was accepted
    assert run(shell, cell).result == 63  # re-run: the accepted code stays
    assert run(shell, cell.replace("x * 2", "x + x")).result == 42  # the person edited the def: it wins
    step = session.history.steps()[-1]
    assert step.decision == "edited" and step.names == ["double"] and "x + x" in step.changes[0].after


def test_rerun_keeps_the_accepted_value_unless_the_literal_was_edited(shell) -> None:
    cell = "%%trace --train prompt\nprompt = 'Hello'\nprompt + '!'"
    run(shell, cell)
    session = get_session()
    session.parameters["prompt"]._set("Accepted")
    assert run(shell, cell).result == "Accepted!"
    assert run(shell, cell.replace("Hello", "Bonjour")).result == "Bonjour!"
    step = session.history.steps()[-1]
    assert step.decision == "edited" and (step.changes[0].before, step.changes[0].after) == ("Accepted", "Bonjour")


def test_a_rerun_cell_s_own_parameters_are_its_own_not_from_an_earlier_cell(shell) -> None:
    cell = ("%%trace --name own --train prompt --train-code loud\n"
            "prompt = 'Hi'\ndef loud(s):\n    return s.upper()\nloud(prompt)")
    run(shell, cell)
    assert run(shell, cell).result == "HI"  # the same parameter nodes, made by the first run
    session = get_session()
    external = {n["name"]: n["external"] for n in session.scopes["own"].to_dict()["nodes"]}
    assert external["prompt:0"] is False and external["__code:0"] is False
    run(shell, "%%trace --name later\nprompt + '!'")  # a cell that only uses it: from an earlier cell
    later = {n["name"]: n["external"] for n in session.scopes["later"].to_dict()["nodes"]}
    assert later["prompt:0"] is True


def test_an_error_shows_the_persons_line_and_becomes_an_exception_node(shell, capsys) -> None:
    result = run(shell, "%%trace --train n\nn = 0\ntotal = 10\nratio = total / n\nratio")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    shown = capsys.readouterr().out
    assert "ratio = total / n" in shown and "ZeroDivisionError" in shown
    assert "operators.py" not in shown and "cell_runtime.py" not in shown
    output = get_session().outputs[str(result.execution_count)]
    assert isinstance(output, ExceptionNode) and "division by zero" in output.data
    assert get_session().parameters["n"] in output.parents
    assert run(shell, "type(n).__name__").result == "int"


def test_a_plain_python_error_is_recorded_with_the_cells_parameters(shell) -> None:
    result = run(shell, "%%trace --train limit\nlimit = 3\nraise ValueError('too big')")
    assert isinstance(result.error_in_exec, ValueError)
    output = get_session().outputs[str(result.execution_count)]
    assert isinstance(output, ExceptionNode) and output.data == "(ValueError) too big"
    assert get_session().parameters["limit"] in output.parents


def test_a_syntax_error_is_shown_the_ipython_way(shell, capsys) -> None:
    result = run(shell, "%%trace\nx = 1\ny = (\n")
    assert isinstance(result.error_in_exec, SyntaxError) and not result.success
    shown = capsys.readouterr().out
    assert "SyntaxError" in shown and re.search(r"(:3|line 3)", shown) and "y = (" in shown
    assert "Traceback" not in shown and "magics.py" not in shown


@pytest.mark.parametrize("cell, message", [
    ("%%trace --bogus\n1", "unrecognized arguments: --bogus"),
    ("%%trace --optimizer adam\n1", "invalid choice: 'adam'"),
    ("%%trace --train missing\nx = 1", "--train missing: the cell never assigns"),
    ("%%trace --train-code f\nx = 1", "--train-code f: the cell defines no function"),
    ("%%trace --train 'a b'\na = 1", "is not a variable name"),
    ("%%trace --output 'a b'\na = 1", "is not a Python expression"),
])
def test_bad_options_give_a_usage_error(shell, capsys, cell: str, message: str) -> None:
    result = run(shell, cell)
    assert not result.success
    shown = capsys.readouterr()
    assert "UsageError" in shown.err + shown.out and message in shown.err + shown.out
    assert "Traceback" not in shown.err + shown.out


def test_optimizer_and_no_widget_options_are_recorded(shell) -> None:
    result = run(shell, "%%trace --optimizer textgrad --no-widget --train a\na = 1\na")
    assert result.result == 1
    session = get_session()
    assert session.optimizer_name == "textgrad"
    magics = shell.magics_manager.registry["TraceMagics"]
    assert magics.cells.cells[str(result.execution_count)].options.widget is False
    assert isinstance(session.outputs[str(result.execution_count)], Node)


def test_nodes_work_as_keys_and_members_of_plain_containers(shell, capsys) -> None:
    cell = '''%%trace --train letter
letter = "b"
table = {"a": 1, "b": 2}
seen = []
seen.append(letter)
print(letter)
(table[letter], table.get(letter), letter in table, "z" not in table, seen[0] is letter)
'''
    result = run(shell, cell)
    assert result.result == (2, 2, True, True, True)
    assert "b\n" in capsys.readouterr().out  # print shows the plain value
    output = get_session().outputs[str(result.execution_count)]
    assert get_session().parameters["letter"] in ancestors([output])


def test_an_error_inside_a_function_of_the_cell_shows_both_lines(shell, capsys) -> None:
    cell = "%%trace --train word\nword = 'abc'\ndef pick(w):\n    return w[10]\npick(word)"
    result = run(shell, cell)
    assert isinstance(result.error_in_exec, IndexError)
    shown = capsys.readouterr().out
    assert "pick(word)" in shown and "return w[10]" in shown and "cell_runtime.py" not in shown
    output = get_session().outputs[str(result.execution_count)]
    assert isinstance(output, ExceptionNode) and output.parents == (get_session().parameters["word"],)


def test_labels_are_the_in_numbers_the_front_end_shows(kernel) -> None:
    """IPython 9 counts execution_count up before a cell runs, IPython 8 after: the label is In[N] in both."""
    front = ScriptedFrontEnd(kernel[0])
    front.execute("load", "%load_ext trace_workbench")
    front.execute("other", "1 + 1")
    front.execute("traced", "%%trace --train x --no-widget\nx = 1\nx + 1")
    number = front.numbers["traced"]
    printed = front.execute("fb", f"%trace_feedback {number} bigger")
    assert printed.startswith(f"Feedback given to cell {number}.")
    session = "__import__('trace_workbench.workbench', fromlist=['get_session']).get_session()"
    given = front.python(f"g = {session}.given_feedback[-1]\nprint(g.label, '|', g.text)")
    assert given.strip() == f"{number} | bigger"  # the number named the cell; only the words are feedback


NOTEBOOK_SYNTAX = '''%%trace --train greeting --no-widget
import asyncio
!echo shell-says-hi
%time _ = 1 + 1
greeting = "hi"
greeting?

async def louder(text):
    await asyncio.sleep(0.01)
    return text.upper()

shout = await louder(greeting + " there")
shout + "!"'''


def test_notebook_syntax_and_top_level_await_run_in_a_traced_cell(kernel) -> None:
    front = ScriptedFrontEnd(kernel[0])
    front.execute("load", "%load_ext trace_workbench")
    printed = front.execute("traced", NOTEBOOK_SYNTAX)
    assert "Error" not in printed, printed
    assert "shell-says-hi" in printed and "Wall time" in printed  # !cmd and %time ran, as IPython runs them
    check = ("from trace_workbench.trace.nodes import ancestors\n"
             "s = __import__('trace_workbench.workbench', fromlist=['get_session']).get_session()\n"
             "out = s.outputs[s.last_label]\n"
             "print(out.data, s.parameters['greeting'] in ancestors([out]), type(shout).__name__)")
    assert front.python(check).strip() == "HI THERE! True str"  # the trace goes through the await


def test_ipython_syntax_keeps_the_person_s_line_numbers(shell, capsys) -> None:
    result = run(shell, "%%trace\n\n!true\nx = 1\ny = (\n")
    assert isinstance(result.error_in_exec, SyntaxError)
    shown = capsys.readouterr().out
    assert re.search(r"(:5|line 5)", shown) and "y = (" in shown


def test_top_level_await_outside_a_kernel_uses_ipython_s_loop_runner(shell) -> None:
    result = run(shell, "%%trace --train n --no-widget\nimport asyncio\nn = 2\nawait asyncio.sleep(0)\nn * 21")
    assert result.success and result.result == 42
