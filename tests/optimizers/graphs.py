"""Known graphs for the optimizer tests (Trace's own examples), built fresh by each call."""

from __future__ import annotations

from typing import Any

from trace_workbench.trace import FunModule, Node, bundle, node


def blackbox(x: Any) -> Any:
    return -x * 2


@bundle()
def bar(x):
    "This is a test function, which does negative scaling."
    return blackbox(x)


@bundle()
def total(*args):
    """Sum of the values."""
    return sum(args)


def foo(x: Any) -> Any:
    y = x + 1
    return x * y


def foobar(x: Any) -> Node:
    """Trace's README / test_optimizer example: foo(bar(x)) = (-2x) * (-2x + 1)."""
    return foo(bar(x))


def number_feedback(value: float) -> str:
    """Trace's feedback for foobar: the output should reach 50."""
    return "The number needs to be larger." if value < 50 else "Success."


def make_strange_sort_list() -> FunModule:
    """Trace's README example: a trainable function whose first version only sorts."""

    @bundle(trainable=True)
    def strange_sort_list(lst):
        '''
        Given list of integers, return list in strange order.
        Strange sorting, is when you start with the minimum value,
        then maximum of the remaining integers, then minimum and so on.
        '''
        lst = sorted(lst)
        return lst

    return strange_sort_list


STRANGE_SORT_FIXED = '''def strange_sort_list(lst):
    """Minimum, then maximum of the rest, then minimum, and so on."""
    rest = sorted(lst)
    result = []
    while rest:
        result.append(rest.pop(0))
        if rest:
            result.append(rest.pop())
    return result'''


def make_scale() -> FunModule:
    """A small trainable function: scale(x) = 2 * x."""

    @bundle(trainable=True)
    def scale(x):
        """Scale x."""
        return x * 2

    return scale


@bundle()
def combine(value, flag, items, prompt, count, config, tags):
    """Combine everything into one report."""
    return f"{value} {flag} {items} {prompt} {count} {config} {tags}"


def mixed_parameters() -> dict[str, Any]:
    """One parameter of each kind an optimizer converts, all reaching one output with feedback."""
    scale = make_scale()
    params = {
        "float0": node(-1.0, trainable=True),
        "flag0": node(True, trainable=True, name="flag"),
        "items0": node([1, 2], trainable=True, name="items"),
        "prompt0": node("Be brief.", trainable=True, name="prompt", description="the greeting prompt"),
        "count0": node(3, trainable=True, name="count"),
        "config0": node({"k": 1}, trainable=True, name="config"),
        "tags0": node(("a", "b"), trainable=True, name="tags"),
    }
    output = combine(scale(params["float0"]), params["flag0"], params["items0"], params["prompt0"],
                     params["count0"], params["config0"], params["tags0"])
    params["__code0"] = scale.parameter
    return {"params": params, "output": output, "scale": scale}
