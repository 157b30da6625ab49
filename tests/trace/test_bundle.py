"""bundle: one traced operation per call, trainable code, methods, external dependencies, async."""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import copy
import pickle
import sys
import threading
from typing import Any

import pytest

from trace_workbench.trace import (
    GRAPH,
    ExecutionError,
    FunModule,
    MessageNode,
    Node,
    ParameterNode,
    TraceMissingInputsError,
    bundle,
    model,
    node,
    stop_tracing,
)
from trace_workbench.trace.nodes import ancestors
from trace_workbench.trace.utils import contain

SCALE = 10


def ids(nodes) -> list[int]:
    """Node identities: lists of nodes compared by identity, not by their values."""
    return [id(n) for n in nodes]


@bundle()
def add(a, b=1):
    """Adds a and b."""
    return a + b


@bundle(trainable=True)
def scale(x):
    """Scales x."""
    return x * SCALE


@model
class Agent:
    """An agent with a trainable method and a prompt."""

    def __init__(self, bonus: int = 0) -> None:
        self.prompt = node("be brief", trainable=True, name="prompt")
        self.bonus = bonus

    @bundle(trainable=True)
    def act(self, x):
        """Acts on x."""
        return x + self.bonus

    def forward(self, x):
        return self.act(x)


# -- one MessageNode per call -------------------------------------------------------------------
def test_each_call_is_one_message_node_with_the_node_inputs_as_parents() -> None:
    x, y = node(1), node(2)
    with GRAPH.scope("call") as sg:
        out = add(x, y)
    assert isinstance(out, MessageNode) and out.data == 3
    assert out.parents == (x, y)
    assert out.inputs == {"a": x, "b": y}
    assert ids(n for n in sg.nodes if isinstance(n, MessageNode)) == ids([out])
    assert out.description == "[add] Adds a and b."
    assert out.op_name == "add"


def test_plain_arguments_and_defaults_become_input_nodes() -> None:
    x = node(1)
    out = add(x)
    assert out.data == 2 and out.parents[0] is x
    assert out.inputs["b"].data == 1 and out.inputs["b"].parents == ()
    out2 = add(5, b=x)
    assert out2.inputs["a"].data == 5 and out2.inputs["b"] is x


def test_the_function_receives_plain_values() -> None:
    seen: list[Any] = []

    @bundle()
    def look(a, *rest, **options):
        seen.append((a, rest, options))
        return len(rest)

    out = look(node([1]), node(2), 3, flag=node(True))
    assert seen == [([1], (2, 3), {"flag": True})]
    assert out.data == 2 and set(out.inputs) == {"a", "args_0", "args_1", "flag"}


def test_calls_do_not_share_an_info_dict() -> None:
    first, second = add(node(1), node(2)), add(node(10), node(20))
    assert first.info is not second.info
    assert first.info["inputs"] is not second.info["inputs"]
    assert first.info["inputs"]["args"] == [1, 2] and second.info["inputs"]["args"] == [10, 20]
    assert first.info["output"] == 3 and second.info["output"] == 30
    assert add.info["inputs"] == {"args": [], "kwargs": {}}  # the bundle's own info is left alone


def test_description_must_name_the_operator() -> None:
    def f(a):
        return a

    assert bundle("[my_op] does things")(f)(node(1)).description == "[my_op] does things"
    with pytest.raises(ValueError):
        bundle("no brackets")(f)
    with pytest.raises(TypeError):
        FunModule(5)  # type: ignore[arg-type]


def test_stop_tracing_records_no_parents() -> None:
    x = node(1)
    with stop_tracing():
        out = add(x, 2)
    assert out.data == 3 and out.parents == ()


def test_a_bundled_function_passed_as_an_argument() -> None:
    @bundle()
    def apply(f, v):
        return f(v)

    out = apply(scale, node(2))
    assert out.data == 20
    assert contain(out.parents, scale.parameter)  # its code is an input
    assert isinstance(scale.parameter.data, str)


# -- trainable code -----------------------------------------------------------------------------
def test_trainable_code_is_a_parameter_and_a_parent() -> None:
    assert isinstance(scale.parameter, ParameterNode) and scale.trainable
    assert scale.parameter.data.startswith("def scale(x):")
    assert "@bundle" not in scale.parameter.data
    assert scale.parameter.constraint.startswith("The code should start with:\ndef scale(x):")
    assert '"""Scales x."""' in scale.parameter.constraint
    x = node(3)
    out = scale(x)
    assert out.data == 30
    assert ids(out.parents) == ids([x, scale.parameter])
    assert out.op_name == "eval"
    assert scale.parameters() == [scale.parameter]


def test_setting_new_code_runs_it_compiled_once_per_version(monkeypatch: pytest.MonkeyPatch) -> None:
    @bundle(trainable=True)
    def f(x):
        return x + 1

    compiled: list[str] = []
    real_compile = builtins.compile

    def counting_compile(source, filename, *args, **kwargs):
        if "trainable code" in str(filename):
            compiled.append(source)
        return real_compile(source, filename, *args, **kwargs)

    monkeypatch.setattr(builtins, "compile", counting_compile)
    assert [f(node(i)).data for i in range(3)] == [1, 2, 3]
    first = f.fun
    assert f.fun is first and len(compiled) == 1
    f.parameter._set("def f(x):\n    return x * 100\n")
    assert [f(node(i)).data for i in range(3)] == [0, 100, 200]
    assert f.fun is not first and f.fun is f.fun
    assert len(compiled) == 2 and compiled[-1].endswith("x * 100\n")
    f.parameter._set("def f(x):\n    return x * 100\n")  # the same text again: nothing to compile
    f(node(1))
    assert len(compiled) == 2


def test_new_code_sees_the_function_globals_and_closure() -> None:
    offset = 7

    @bundle(trainable=True)
    def f(x):
        return x + offset

    assert f(node(1)).data == 8
    f.parameter._set("def f(x):\n    return x * SCALE + offset\n")
    assert f(node(1)).data == SCALE + 7


def test_a_syntax_error_in_new_code_is_an_execution_error_of_the_code_parameter() -> None:
    @bundle(trainable=True)
    def f(x):
        return x

    f.parameter._set("def f(x):\n    return x +\n")
    with pytest.raises(SyntaxError) as info:
        f(node(1))
    error = info.value
    assert isinstance(error, ExecutionError)
    assert error.exception_node.parents == (f.parameter,)
    assert error.exception_node.data.startswith("(SyntaxError)")
    assert "<---" in error.exception_node.info["error_comment"]
    f.parameter._set("def f(x):\n    return x - 1\n")  # a fixed version works again
    assert f(node(1)).data == 0


def test_code_that_defines_no_function_is_rejected() -> None:
    @bundle(trainable=True)
    def f(x):
        return x

    f.parameter._set("x = 1\n")
    with pytest.raises(ExecutionError) as info:
        f(node(1))
    assert info.value.exception_node.parents == (f.parameter,)


def test_a_runtime_error_in_new_code_points_at_the_line() -> None:
    @bundle(trainable=True)
    def f(x):
        return x

    f.parameter._set("def f(x):\n    y = x + 1\n    return y / 0\n")
    x = node(1)
    with pytest.raises(ZeroDivisionError) as info:
        f(x)
    exception_node = info.value.exception_node
    assert set(map(id, exception_node.parents)) == {id(x), id(f.parameter)}
    assert "    return y / 0 <--- (ZeroDivisionError) division by zero" in exception_node.info["error_comment"]
    assert "y = x + 1 <---" not in exception_node.info["error_comment"]


def test_trainable_needs_source() -> None:
    with pytest.raises(ValueError):
        bundle(trainable=True)(len)


def test_copies_of_a_trainable_bundle_have_their_own_code() -> None:
    twin = copy.deepcopy(scale)
    assert twin.parameter is not scale.parameter and twin.parameter.data == scale.parameter.data
    twin.parameter._set("def scale(x):\n    return -x\n")
    assert twin(node(2)).data == -2 and scale(node(2)).data == 20


def test_pickling_bundled_functions() -> None:
    restored = pickle.loads(pickle.dumps(add))
    assert isinstance(restored, FunModule) and restored(node(1), node(2)).data == 3
    changed = copy.deepcopy(scale)
    changed.parameter._set("def scale(x):\n    return x + 1000\n")
    restored_scale = pickle.loads(pickle.dumps(changed))
    assert restored_scale(node(1)).data == 1001 and scale(node(1)).data == 10


def test_outputs_of_bundles_pickle() -> None:
    out = scale(add(node(1), node(2)))
    restored = pickle.loads(pickle.dumps(out))
    assert restored.data == 30 and restored.description == out.description


# -- methods ------------------------------------------------------------------------------------
class Greeter:
    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    @bundle()
    def greet(self, name):
        """Greets name."""
        return f"{self.greeting}, {name}"

    @bundle(trainable=True)
    def shout(self, name):
        return name.upper()


def test_bundled_methods_are_bound_per_instance() -> None:
    hello, hi = Greeter("hello"), Greeter("hi")
    name = node("ann")
    a, b = hello.greet(name), hi.greet(name)
    assert a.data == "hello, ann" and b.data == "hi, ann"
    assert a.parents[0].data is hello and a.parents[1] is name
    assert hello.greet is hello.greet  # bound once per instance
    assert hello.greet is not hi.greet
    assert Greeter.greet.parameter is None


def test_each_instance_has_its_own_code_parameter() -> None:
    a, b = Greeter("a"), Greeter("b")
    assert a.shout.parameter is not b.shout.parameter
    assert a.shout.parameter is not Greeter.shout.parameter
    a.shout.parameter._set("def shout(self, name):\n    return name + '!'\n")
    assert a.shout(node("x")).data == "x!" and b.shout(node("x")).data == "X"
    out = a.shout(node("y"))
    assert out.parents[-1] is a.shout.parameter


def test_model_instances_have_their_own_code_parameter() -> None:
    one, two = Agent(1), Agent(2)
    assert one(node(10)).data == 11 and two(node(10)).data == 12
    assert one.act.parameter is not two.act.parameter
    assert contain(one.parameters(), one.act.parameter) and not contain(two.parameters(), one.act.parameter)
    one.act.parameter._set("def act(self, x):\n    return x * 3 + self.bonus\n")
    assert one(node(10)).data == 31 and two(node(10)).data == 12


# -- external dependencies ----------------------------------------------------------------------
GLOBAL_NODE = node(100, name="global_node")


def test_reading_a_node_that_is_not_an_input_is_an_error_by_default() -> None:
    @bundle()
    def reads(a):
        return a + GLOBAL_NODE.data

    with pytest.raises(TraceMissingInputsError, match="global_node"):
        reads(node(1))


def test_allowed_external_dependencies_are_recorded() -> None:
    @bundle(allow_external_dependencies=True)
    def reads(a):
        return a + GLOBAL_NODE.data

    out = reads(node(1))
    assert out.data == 101
    assert ids(out.info["external_dependencies"]) == ids([GLOBAL_NODE])
    assert not contain(out.parents, GLOBAL_NODE)


def test_reading_inputs_and_nodes_made_inside_is_not_external() -> None:
    @bundle(traceable_code=True)
    def inside(a):
        made = node(5)
        return a + made.data + a.data

    out = inside(node(1))
    assert out.data == 7 and out.info["external_dependencies"] == []


def test_concurrent_async_calls_attribute_reads_to_the_right_call() -> None:
    first, second = node(1, name="first"), node(2, name="second")

    @bundle(allow_external_dependencies=True)
    async def slow_read(a, which):
        await asyncio.sleep(0.01)
        value = (first if which == 1 else second).data
        await asyncio.sleep(0.01)
        return a + value

    async def main() -> list[MessageNode]:
        return await asyncio.gather(*(slow_read(node(0), 1 + i % 2) for i in range(6)))

    outputs = asyncio.run(main())
    for i, out in enumerate(outputs):
        expected = first if i % 2 == 0 else second
        assert out.data == expected.data
        assert ids(out.info["external_dependencies"]) == ids([expected])


def test_async_bundle_errors() -> None:
    @bundle()
    async def fails(a):
        await asyncio.sleep(0)
        return 1 / a

    a = node(0)
    with pytest.raises(ZeroDivisionError) as info:
        asyncio.run(fails(a))
    assert isinstance(info.value, ExecutionError) and info.value.exception_node.parents == (a,)


# -- traceable code and recursion ---------------------------------------------------------------
def test_traceable_code_receives_nodes_and_keeps_the_inner_graph() -> None:
    weight = node(3, trainable=True, name="weight")

    @bundle(traceable_code=True)
    def weighted(a):
        assert isinstance(a, Node) and a.parents == ()  # a detached copy of the input node
        return a * weight

    x = node(2)
    out = weighted(x)
    assert out.data == 6 and out.parents == (x,)
    inner = out.info["output"]
    assert isinstance(inner, MessageNode) and inner.data == 6
    assert weight in inner.parents
    assert out.hidden_dependencies == {weight}
    assert out.expandable_dependencies == {out}


def test_recursion() -> None:
    @bundle()
    def factorial(n):
        return 1 if n <= 1 else n * factorial(n - 1)

    @bundle(overwrite_python_recursion=True)
    def factorial_plain(n):
        return 1 if n <= 1 else n * factorial_plain(n - 1)

    with GRAPH.scope("traced") as traced:
        assert factorial(5).data == 120
    with GRAPH.scope("plain") as plain:
        assert factorial_plain(5).data == 120
    assert len([n for n in traced.nodes if n.op_name.endswith(".factorial")]) == 5
    assert len([n for n in plain.nodes if n.op_name.endswith(".factorial_plain")]) == 1


def test_nested_bundles_connect_through_their_outputs() -> None:
    @bundle()
    def double(a):
        return a * 2

    x = node(1)
    out = add(double(x), 1)
    assert out.data == 3
    assert x in ancestors([out])


def test_threads_attribute_reads_to_the_right_call() -> None:
    first, second = node("first", name="first"), node("second", name="second")
    barrier = threading.Barrier(2)

    @bundle(allow_external_dependencies=True)
    def read(which):
        barrier.wait(timeout=10)  # both calls are inside the function at once
        value = (first if which == 1 else second).data
        barrier.wait(timeout=10)
        return value

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        outputs = list(pool.map(read, [1, 2]))
    assert [out.data for out in outputs] == ["first", "second"]
    assert ids(outputs[0].info["external_dependencies"]) == ids([first])
    assert ids(outputs[1].info["external_dependencies"]) == ids([second])


def test_errors_of_trainable_code_pickle() -> None:
    broken = copy.deepcopy(scale)
    broken.parameter._set("def scale(x):\n    return x +\n")
    with pytest.raises(SyntaxError) as syntax:
        broken(node(1))
    restored = pickle.loads(pickle.dumps(syntax.value))
    assert isinstance(restored, SyntaxError) and isinstance(restored, ExecutionError) and restored.lineno == 2
    broken.parameter._set("def scale(x):\n    return x / 0\n")
    with pytest.raises(ZeroDivisionError) as runtime:
        broken(node(1))
    restored = pickle.loads(pickle.dumps(runtime.value))
    assert restored.exception_node.data == "(ZeroDivisionError) division by zero"


def test_the_code_parameter_of_a_trainable_bundle_is_marked_as_code() -> None:
    @bundle(trainable=True)
    def double(x):
        return 2 * x

    assert double.parameter.info == {"trainable_code": True}
    assert node("def f(x):\n    return x", trainable=True).info is None


def test_trainable_code_may_carry_imports_and_helpers_around_the_def() -> None:
    @bundle(trainable=True)
    def f(x):
        return x

    f.parameter._set("import math\n\ndef f(x):\n    return helper(x) + OFFSET\n\n"
                     "def helper(x):\n    return math.floor(x)\n\nOFFSET = 10\n")
    assert f(node(2.7)).data == 12
    f.parameter._set("from math import ceil\n\ndef helper(x):\n    return ceil(x)\n\n"
                     "def f(x):\n    return helper(x)\n")  # the helper first: the def named f is the function
    assert f(node(2.2)).data == 3
    assert "helper" not in globals() and "ceil" not in globals()  # the context stays out of the module


FACTOR = 1
"""A module global the trainable code below reads."""


def test_code_with_context_still_reads_the_module_globals_live() -> None:
    @bundle(trainable=True)
    def f(x):
        return x * FACTOR

    global FACTOR
    FACTOR = 2
    f.parameter._set("import operator\n\ndef f(x):\n    return operator.mul(x, FACTOR)\n")
    assert f(node(3)).data == 6
    FACTOR = 5
    assert f(node(3)).data == 15


def test_a_bundled_method_with_context_around_its_code() -> None:
    class Clock:
        @bundle(trainable=True)
        def now(self):
            return 0

    clock = Clock()
    clock.now.parameter._set("import time\n\ndef now(self):\n    return time.time() > 0\n")
    assert clock.now().data is True


def test_code_whose_defs_do_not_name_the_function_is_an_execution_error() -> None:
    @bundle(trainable=True)
    def f(x):
        return x

    f.parameter._set("def g(x):\n    return x\n\ndef h(x):\n    return x\n")
    with pytest.raises(ExecutionError, match=r"must define the function 'f' with `def` \(it defines \['g', 'h'\]\)"):
        f(node(1))
    f.parameter._set("import math\n\ndef g(x):\n    return math.sqrt(x)\n")  # one def: it is the function
    assert f(node(4)).data == 2.0


def test_disable_external_dependencies_check_overrides_every_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    bundle_module = sys.modules["trace_workbench.trace.bundle"]  # the package's `bundle` is the decorator

    monkeypatch.setattr(bundle_module, "ALLOW_EXTERNAL_DEPENDENCIES", None)
    hidden = node(5)

    @bundle()
    def strict(x):
        return x + hidden.data

    @bundle(allow_external_dependencies=True)
    def lenient(x):
        return x + hidden.data

    with pytest.raises(TraceMissingInputsError):
        strict(node(1))
    bundle_module.disable_external_dependencies_check(True)
    assert bundle_module.ALLOW_EXTERNAL_DEPENDENCIES is True
    assert strict(node(1)).data == 6
    bundle_module.disable_external_dependencies_check(False)
    with pytest.raises(TraceMissingInputsError):
        lenient(node(1))
