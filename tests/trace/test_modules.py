"""Module and @model: parameters, nested modules, bundled methods, save/load, copies and pickles."""

from __future__ import annotations

import copy
import os
import pickle

import pytest

from trace_workbench.trace import Map, Module, ParameterNode, Seq, bundle, model, node
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

    monkeypatch.setattr(pickle, "dump", crash)
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

    monkeypatch.setattr(pickle, "dump", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Prompted().save(tmp_path / "agent.pkl")
    assert os.listdir(tmp_path) == []


def test_load_with_a_missing_parameter_raises_and_changes_nothing(tmp_path) -> None:
    path = tmp_path / "partial.pkl"
    with open(path, "wb") as f:
        pickle.dump({"prompt": "new prompt", "temperature": 0.9}, f)  # "decorate" is missing
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
    with open(path, "wb") as f:
        pickle.dump(values, f)
    with pytest.raises(KeyError, match="first.unknown"):
        pipeline.load(path)
    assert pipeline.weight.data == 2


def test_load_adds_new_top_level_parameters(tmp_path) -> None:
    agent = Prompted()
    values = agent.parameter_values() | {"style": "formal"}
    path = tmp_path / "more.pkl"
    with open(path, "wb") as f:
        pickle.dump(values, f)
    agent.load(path)
    assert isinstance(agent.style, ParameterNode) and agent.style.data == "formal"
    assert contain(agent.parameters(), agent.style)


def test_load_never_replaces_an_attribute_that_is_not_a_parameter(tmp_path) -> None:
    agent = Prompted()
    values = agent.parameter_values() | {"forward": "not a method", "temperature": 0.9}
    path = tmp_path / "clash.pkl"
    with open(path, "wb") as f:
        pickle.dump(values, f)
    with pytest.raises(KeyError, match="forward"):
        agent.load(path)
    assert callable(agent.forward) and agent.temperature.data == 0.5


def test_load_of_something_else_raises(tmp_path) -> None:
    path = tmp_path / "list.pkl"
    with open(path, "wb") as f:
        pickle.dump([1, 2], f)
    with pytest.raises(ValueError):
        Prompted().load(path)


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
