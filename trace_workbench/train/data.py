"""Datasets as the loops see them: a list of (input, info) examples.

Accepted forms: Trace's ``{"inputs": [...], "infos": [...]}``, a sequence of (input, info) pairs,
or a sequence of dicts with "input" and "info" keys (as read from a JSON-lines file).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

__all__ = ["Example", "as_examples"]


class Example(NamedTuple):
    """One example: what the program is called with, and what the metric or feedback function compares to."""

    input: Any
    info: Any


def as_examples(dataset: Any) -> list[Example]:
    """The dataset as a list of Examples (see the module's notes for the accepted forms)."""
    if isinstance(dataset, Mapping):
        if "inputs" not in dataset or "infos" not in dataset:
            raise ValueError("a dataset dict needs 'inputs' and 'infos' lists (Trace's form)")
        inputs, infos = list(dataset["inputs"]), list(dataset["infos"])
        if len(inputs) != len(infos):
            raise ValueError(f"the dataset has {len(inputs)} inputs but {len(infos)} infos")
        return [Example(x, y) for x, y in zip(inputs, infos, strict=True)]
    if not isinstance(dataset, Sequence) or isinstance(dataset, str):
        raise TypeError(f"a dataset is a dict of 'inputs'/'infos' or a sequence of examples, not {type(dataset)}")
    examples = []
    for item in dataset:
        if isinstance(item, Mapping) and "input" in item:
            examples.append(Example(item["input"], item.get("info")))
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            examples.append(Example(item[0], item[1]))
        else:
            raise TypeError(f"an example is an (input, info) pair or a dict with 'input' and 'info', not {item!r}")
    return examples
