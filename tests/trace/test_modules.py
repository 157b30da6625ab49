"""Module and @model: parameters, nested modules, bundled methods, save/load, copies and pickles."""

from __future__ import annotations

import copy
import json
import os
import pickle
import re

import pytest

from trace_workbench.trace import Map, Module, ParameterNode, Seq, bundle, model, node, saved
from trace_workbench.trace.saved import UnsafeFileError
from trace_workbench.trace.utils import contain


@model
class Prompted:
    """A model with a prompt, a number, a plain value and a trainable method."""

    def __init__(self, prompt: str = "be brief") -> None:
        self.prompt = node(prompt, trainable=True, name="prompt")
        self.temperature = node(0.5, trainable=True, name="temperature")
        self.fixed = node("not trainable")
        self.plain = 3

    @bundle(trainable=True)
    def decorate(self, text):
        """Decorates text."""
        return f"<{text}>"

    def forward(self, text):
        return self.decorate(text)


class Pipeline(Module):
    """A Module subclass holding nested modules and containers."""

    def __init__(self) -> None:
        self.first = Prompted("first")
        self.second = Prompted("second")
        self.weight = node(2, trainable=True, name="weight")
        self.extra = Seq(node(1, trainable=True, name="seq_item"))

    def forward(self, text):
        return self.second(self.first(text))


def test_model_keeps_the_class_name_and_is_a_module() -> None:
    agent = Prompted()
    assert isinstance(agent, Module)
    assert type(agent).__name__ == "Prompted" and type(agent).__qualname__ == "Prompted"
    assert type(agent).__module__ == __name__
    assert type(agent).__doc__.startswith("A model with a prompt")


def test_parameters_and_parameters_dict() -> None:
    agent = Prompted()
    parameters = agent.parameters()
    assert all(isinstance(p, ParameterNode) for p in parameters)
    assert len(parameters) == 3
    for p in (agent.prompt, agent.temperature, agent.decorate.parameter):
        assert contain(parameters, p)
    assert not contain(parameters, agent.fixed)
    assert set(agent.parameters_dict()) == {"prompt", "temperature", "decorate"}
    assert agent.parameters_dict()["decorate"] is agent.decorate.parameter


def test_nested_modules() -> None:
    pipeline = Pipeline()
    assert set(pipeline.parameters_dict()) == {"first", "second", "weight", "extra"}
    assert len(pipeline.parameters()) == 3 + 3 + 1 + 1
    values = pipeline.parameter_values()
    assert values["first.prompt"] == "first" and values["second.prompt"] == "second"
    assert values["weight"] == 2 and values["first.decorate"].startswith("def decorate(self, text):")
    assert len(values) == 8


def test_calling_a_module_calls_forward() -> None:
    pipeline = Pipeline()
    out = pipeline(node("x"))
    assert out.data == "<<x>>"
    assert contain(out.parents, pipeline.second.decorate.parameter)
    with pytest.raises(NotImplementedError):
        Module()()


def test_bundled_methods_of_a_module_are_trainable_per_instance() -> None:
    a, b = Prompted(), Prompted()
    a.decorate.parameter._set("def decorate(self, text):\n    return text + '!'\n")
    assert a(node("x")).data == "x!" and b(node("x")).data == "<x>"


# -- save / load --------------------------------------------------------------------------------
def test_save_and_load_round_trip(tmp_path) -> None:
    source = Pipeline()
    source.first.prompt._set("changed prompt")
    source.weight._set(42)
    source.second.decorate.parameter._set("def decorate(self, text):\n    return text * 2\n")
    path = tmp_path / "sub" / "pipeline.pkl"
    source.save(path)
    target = Pipeline()
    assert target.parameter_values() != source.parameter_values()
    target.load(path)
    assert target.parameter_values() == source.parameter_values()
    assert target(node("ab")).data == "<ab><ab>"
    assert os.listdir(path.parent) == ["pipeline.pkl"]


def test_save_accepts_a_plain_string_path(tmp_path) -> None:
    agent = Prompted("saved")
    path = str(tmp_path / "agent.pkl")
    agent.save(path)
    other = Prompted("other")
    other.load(path)
    assert other.prompt.data == "saved"


def test_save_is_atomic(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    agent = Prompted("version 1")
    path = tmp_path / "agent.pkl"
    agent.save(path)
    before = path.read_bytes()
    agent.prompt._set("version 2")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    with pytest.raises(OSError, match="disk full"):
        agent.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before  # the old file is intact
    assert os.listdir(tmp_path) == ["agent.pkl"]  # and no temporary file is left
    restored = Prompted("other")
    restored.load(path)
    assert restored.prompt.data == "version 1"


def test_a_crash_on_the_first_save_leaves_nothing(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Prompted().save(tmp_path / "agent.pkl")
    assert os.listdir(tmp_path) == []


def test_load_with_a_missing_parameter_raises_and_changes_nothing(tmp_path) -> None:
    path = tmp_path / "partial.pkl"
    _write(path, {"prompt": "new prompt", "temperature": 0.9})  # "decorate" is missing
    agent = Prompted("old prompt")
    before = agent.parameter_values()
    with pytest.raises(KeyError, match="decorate"):
        agent.load(path)
    assert agent.parameter_values() == before


def test_load_with_unknown_nested_names_raises_and_changes_nothing(tmp_path) -> None:
    pipeline = Pipeline()
    values = pipeline.parameter_values()
    values["first.unknown"] = 1
    values["weight"] = 99
    path = tmp_path / "bad.pkl"
    _write(path, values)
    with pytest.raises(KeyError, match="first.unknown"):
        pipeline.load(path)
    assert pipeline.weight.data == 2


def test_load_adds_new_top_level_parameters(tmp_path) -> None:
    agent = Prompted()
    values = agent.parameter_values() | {"style": "formal"}
    path = tmp_path / "more.pkl"
    _write(path, values)
    agent.load(path)
    assert isinstance(agent.style, ParameterNode) and agent.style.data == "formal"
    assert contain(agent.parameters(), agent.style)


def test_load_never_replaces_an_attribute_that_is_not_a_parameter(tmp_path) -> None:
    agent = Prompted()
    values = agent.parameter_values() | {"forward": "not a method", "temperature": 0.9}
    path = tmp_path / "clash.pkl"
    _write(path, values)
    with pytest.raises(KeyError, match="forward"):
        agent.load(path)
    assert callable(agent.forward) and agent.temperature.data == 0.5


def test_load_of_something_else_raises(tmp_path) -> None:
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="is not a file of saved parameters"):
        Prompted().load(path)
    path.write_bytes(pickle.dumps([1, 2]))
    with pytest.warns(UserWarning, match="it can run code"), pytest.raises(ValueError, match="does not hold saved"):
        Prompted().load(path, allow_pickle=True)


def _write(path, values: dict) -> None:
    """A file of saved values in the safe format (as save() writes it), for values no module holds."""
    path.write_text(saved.dumps(values, {name for name in values if name.endswith("decorate")}))


# -- what a saved file holds, and what a hostile one cannot do -----------------------------------------
def test_the_saved_file_is_readable_json_with_code_as_text(tmp_path) -> None:
    agent = Prompted("be brief")
    agent.temperature._set(0.25)
    agent.style = node(("a", 1), trainable=True, name="style")
    path = tmp_path / "agent.json"
    agent.save(path)
    document = json.loads(path.read_text())
    assert document["format"] == "trace_workbench.parameters"
    assert document["parameters"]["prompt"] == {"kind": "str", "value": "be brief"}
    assert document["parameters"]["temperature"] == {"kind": "float", "value": 0.25}
    assert document["parameters"]["style"] == {"kind": "tuple", "literal": "('a', 1)"}
    assert document["parameters"]["decorate"]["kind"] == "code"
    source = 'def decorate(self, text):\n    """Decorates text."""\n    return f"<{text}>"'
    assert document["parameters"]["decorate"]["code"] == source
    other = Prompted("other")
    other.style = node(("b", 2), trainable=True, name="style")
    other.load(path)
    assert other.parameter_values() == agent.parameter_values() and type(other.style.data) is tuple


def test_a_pickle_is_not_loaded_unless_asked_and_then_with_a_warning(tmp_path) -> None:
    """Trace's format: a crafted pickle runs a command when loaded."""
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "agent.pkl"
    path.write_bytes(pickle.dumps({"prompt": Exploit()}))
    agent = Prompted("kept")
    with pytest.raises(UnsafeFileError, match=r"agent\.pkl is a pickle .* allow_pickle=True"):
        agent.load(path)
    assert not marker.exists() and agent.prompt.data == "kept"

    trusted = tmp_path / "trusted.pkl"
    trusted.write_bytes(pickle.dumps(Prompted("from trace").parameter_values()))
    with pytest.warns(UserWarning, match="it can run code"):
        agent.load(trusted, allow_pickle=True)
    assert agent.prompt.data == "from trace"


def test_loaded_values_are_checked_like_an_applied_proposal(tmp_path) -> None:
    agent = Prompted("kept")
    before = agent.parameter_values()
    cases = {
        "a number that is text": ({"temperature": "hot"}, "temperature: expected a number, got text 'hot'"),
        "code with a statement": ({"decorate": "import os\nos.system('x')\ndef decorate(self, text):\n    return 1"},
                                  "decorate: the suggested code runs \"os.system('x')\" at line 2 when it is loaded"),
        "code renaming the function": ({"decorate": "def other(self, text):\n    return text"}, "renames the function"),
        "invalid unicode": ({"prompt": "ok \ud800"}, "prompt: the suggested value holds invalid Unicode"),
    }
    for name, (changed, message) in cases.items():
        path = tmp_path / f"{len(name)}.json"
        _write(path, before | changed)
        with pytest.raises(ValueError, match=re.escape(message)):
            agent.load(path)
        assert agent.parameter_values() == before, name
    trusted = tmp_path / "wrong.pkl"
    trusted.write_bytes(pickle.dumps(before | {"temperature": "hot"}))
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="temperature: expected a number"):
        agent.load(trusted, allow_pickle=True)


def test_a_value_that_is_not_data_is_saved_only_as_a_pickle_when_asked(tmp_path) -> None:
    agent = Prompted()
    agent.thing = node(object(), trainable=True, name="thing")
    with pytest.raises(ValueError, match="'thing' .* is not JSON or a Python literal.* allow_pickle=True"):
        agent.save(tmp_path / "a.json")
    assert not (tmp_path / "a.json").exists()
    agent.thing = node(complex(1, 2), trainable=True, name="thing")
    agent.save(tmp_path / "a.json")
    assert json.loads((tmp_path / "a.json").read_text())["parameters"]["thing"] == {"kind": "complex",
                                                                                  "literal": "(1+2j)"}


# -- copies and pickles -------------------------------------------------------------------------
@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["deepcopy", "pickle"])
def test_copies_of_models_are_independent(duplicate) -> None:
    original = Prompted("original")
    original.decorate.parameter._set("def decorate(self, text):\n    return '[' + text + ']'\n")
    twin = duplicate(original)
    assert type(twin) is Prompted
    assert twin.parameter_values() == original.parameter_values()
    assert not any(contain(original.parameters(), p) for p in twin.parameters())
    assert twin(node("x")).data == "[x]"
    twin.prompt._set("twin")
    twin.decorate.parameter._set("def decorate(self, text):\n    return text.upper()\n")
    assert original.prompt.data == "original" and original(node("x")).data == "[x]"
    assert twin(node("x")).data == "X"
    assert twin.decorate._bound_self.data is twin


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["deepcopy", "pickle"])
def test_copies_of_nested_modules(duplicate) -> None:
    pipeline = Pipeline()
    pipeline.first.prompt._set("edited")
    twin = duplicate(pipeline)
    assert twin.parameter_values() == pipeline.parameter_values()
    assert twin(node("y")).data == "<<y>>"
    twin.first.prompt._set("again")
    assert pipeline.first.prompt.data == "edited"


@pytest.mark.parametrize("duplicate", [copy.deepcopy, lambda m: pickle.loads(pickle.dumps(m))],
                         ids=["deepcopy", "pickle"])
def test_copies_of_containers(duplicate) -> None:
    seq = Seq(node(1, trainable=True), Prompted("in a seq"), 5)
    mapping = Map({"p": node("v", trainable=True), "n": 3})
    seq_twin, map_twin = duplicate(seq), duplicate(mapping)
    assert type(seq_twin) is Seq and type(map_twin) is Map
    assert [p.data for p in seq_twin.parameters()] == [p.data for p in seq.parameters()]
    assert len(seq_twin.parameters()) == 4 and seq_twin[2] == 5
    assert [p.data for p in map_twin.parameters()] == ["v"] and map_twin["n"] == 3
    assert not contain(seq.parameters(), seq_twin.parameters()[0])


def test_modules_offers_apply_op_and_node_container_where_trace_imports_them() -> None:
    import trace_workbench.trace as trace
    from trace_workbench.trace.modules import NodeContainer, apply_op

    assert apply_op is trace.apply_op and NodeContainer is trace.NodeContainer
    from trace_workbench.trace import operators as ops

    assert apply_op(ops.add, [node(0)], [node(1)], node(2))[0].data == 3
