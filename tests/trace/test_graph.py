"""The graph registry: scopes, listeners, threads and asyncio tasks, tracing on/off, and memory
(GRAPH holds no node alive)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import threading
import weakref
from typing import Any

import pytest

from trace_workbench.trace import GRAPH, Node, Scope, bundle, node, stop_tracing


def ids(nodes) -> list[int]:
    """Node identities: lists of nodes compared by identity, not by their values."""
    return [id(n) for n in nodes]


class Recorder:
    """A listener that records (event, node, payload) and what the node looked like at that moment."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Node, Any]] = []
        self.parents_seen: list[tuple[Node, ...]] = []
        self.data_seen: list[Any] = []

    def __call__(self, event: str, n: Node, payload: Any) -> None:
        self.events.append((event, n, payload))
        self.parents_seen.append(tuple(n.parents))  # a copy: what the parents were at that moment
        self.data_seen.append(n._data)

    def of(self, event: str) -> list[Node]:
        return [n for e, n, _ in self.events if e == event]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


# -- scopes -------------------------------------------------------------------------------------
def test_a_scope_collects_the_nodes_created_inside() -> None:
    before = node(0)
    with GRAPH.scope("cell") as sg:
        a = node(1)
        b = a + before
    after = node(2)
    assert isinstance(sg, Scope) and sg.label == "cell"
    assert ids(sg.nodes) == ids([a, b])  # `before` feeds the scope but was made outside it
    assert all(n is not before and n is not after for n in sg.nodes)
    assert len(sg) == len(sg.nodes) and list(sg) == sg.nodes
    assert "cell" in repr(sg)


def test_constants_made_by_an_operation_belong_to_the_scope() -> None:
    with GRAPH.scope("cell") as sg:
        a = node(1)
        b = a + 5
    five = b.parents[1]
    assert ids(sg.nodes) == ids([a, five, b])


def test_nested_scopes_both_collect() -> None:
    with GRAPH.scope("outer") as outer:
        a = node(1)
        with GRAPH.scope("inner") as inner:
            b = node(2)
        c = node(3)
    assert ids(outer.nodes) == ids([a, b, c])
    assert ids(inner.nodes) == ids([b])


def test_scope_parameters_reach_outside() -> None:
    p = node("prompt", trainable=True)
    with GRAPH.scope("cell") as sg:
        out = p + "!"
        q = node(1, trainable=True)
    assert ids(sg.parameters()) == ids([p, q])
    assert id(out) in ids(sg.nodes)


def test_a_scope_ends_even_when_the_block_raises() -> None:
    with pytest.raises(ZeroDivisionError):
        with GRAPH.scope("failing") as sg:
            node(1) / 0
    outside = node(2)
    assert all(n is not outside for n in sg.nodes)
    assert any(n.op_name == "exception" for n in sg.nodes)


def test_scopes_in_threads_do_not_mix() -> None:
    barrier = threading.Barrier(2)
    scopes: dict[str, Scope] = {}
    errors: list[BaseException] = []

    def work(label: str) -> None:
        try:
            with GRAPH.scope(label) as sg:
                for i in range(40):
                    barrier.wait(timeout=10)  # both threads create each node at the same moment
                    node(i, name=label) + 1
            scopes[label] = sg
        except BaseException as e:  # reported below, in the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(label,)) for label in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    for label, other in (("left", "right"), ("right", "left")):
        roots = [n for n in scopes[label].nodes if n.name.split(":")[0] in ("left", "right")]
        assert len(roots) == 40 and all(n.name.startswith(f"{label}:") for n in roots)
        assert not set(ids(scopes[label].nodes)) & set(ids(scopes[other].nodes))
        assert len(scopes[label].nodes) == 40 * 3


def test_scopes_in_asyncio_tasks_do_not_mix() -> None:
    async def task(label: str) -> Scope:
        with GRAPH.scope(label) as sg:
            for i in range(20):
                node(i, name=label)
                await asyncio.sleep(0)
        return sg

    async def main() -> list[Scope]:
        return await asyncio.gather(task("first"), task("second"), task("third"))

    for sg in asyncio.run(main()):
        assert len(sg.nodes) == 20 and all(n.name.startswith(f"{sg.label}:") for n in sg.nodes)


def test_tracing_switch_is_per_thread() -> None:
    entered, release = threading.Event(), threading.Event()
    seen: list[bool] = []

    def untraced() -> None:
        with stop_tracing():
            entered.set()
            release.wait(timeout=10)
            seen.append(GRAPH.TRACE)

    t = threading.Thread(target=untraced)
    t.start()
    entered.wait(timeout=10)
    x = node(1)
    y = x + 1  # traced here while the other thread has tracing off
    release.set()
    t.join(timeout=10)
    assert seen == [False] and y.parents[0] is x and GRAPH.TRACE is True


# -- listeners ----------------------------------------------------------------------------------
def test_node_events_come_after_the_node_is_built(recorder: Recorder) -> None:
    x = node(1)
    with GRAPH.scope("cell", recorder):
        y = x + 2

        @bundle()
        def double(a):
            return a * 2

        z = double(y)
    created = recorder.of("node")
    assert ids(created) == ids([y.parents[1], y, z])
    assert recorder.parents_seen == [(), (x, y.parents[1]), (y,)]  # parents were already set
    assert recorder.data_seen == [2, 3, 6]
    assert all(payload is None for _, _, payload in recorder.events)


def test_feedback_events_come_when_backward_runs_later(recorder: Recorder) -> None:
    p = node(1, trainable=True)
    with GRAPH.scope("cell", recorder) as sg:
        y = p + 1
        z = y * 2
    recorder.events.clear()
    z.backward("later")  # after the block
    got = recorder.of("feedback")
    assert got[0] is z and id(y) in ids(got) and set(ids(got)) <= set(ids(sg.nodes))
    assert id(p) not in ids(got)  # p is not a node of this scope
    payloads = [payload for e, _, payload in recorder.events if e == "feedback"]
    assert all(f.user_feedback == "later" for f in payloads)


def test_data_events(recorder: Recorder) -> None:
    with GRAPH.scope("cell", recorder):
        p = node("old", trainable=True)
    p._set("new")
    event, changed, payload = recorder.events[-1]
    assert event == "data" and changed is p and payload == "new"


def test_scope_add_and_remove_listener(recorder: Recorder) -> None:
    with GRAPH.scope("cell") as sg:
        sg.add_listener(recorder)
        a = node(1)
        sg.remove_listener(recorder)
        node(2)
    assert ids(recorder.of("node")) == ids([a])


def test_global_listener_sees_every_thread(recorder: Recorder) -> None:
    GRAPH.add_listener(recorder)
    try:
        here = node(1, name="here")
        there: list[Node] = []
        t = threading.Thread(target=lambda: there.append(node(2, name="there")))
        t.start()
        t.join()
    finally:
        GRAPH.remove_listener(recorder)
    after = node(3)
    created = recorder.of("node")
    assert id(here) in ids(created) and id(there[0]) in ids(created) and id(after) not in ids(created)


def test_a_failing_listener_only_warns() -> None:
    def broken(event: str, n: Node, payload: Any) -> None:
        raise RuntimeError("view crashed")

    with pytest.warns(UserWarning, match="view crashed"):
        with GRAPH.scope("cell", broken):
            result = node(1) + 1
    assert result.data == 2
    GRAPH.add_listener(broken)
    try:
        with pytest.warns(UserWarning, match="view crashed"):
            assert (node(2) * 2).data == 4
    finally:
        GRAPH.remove_listener(broken)


# -- registry and memory ------------------------------------------------------------------------
def test_names_lookup_roots_and_clear() -> None:
    x = node(1, name="lookup_me")
    assert GRAPH.get(x.name) is x
    with pytest.raises(KeyError):
        GRAPH.get("no_such_node:0")
    y = x + 1
    roots = GRAPH.roots
    assert any(r is x for r in roots) and not any(r is y for r in roots)
    assert "live nodes" in str(GRAPH)


def test_graph_holds_no_node_alive() -> None:
    gc.collect()
    before = len(GRAPH)
    nodes = [node(i) for i in range(10_000)]
    refs = [weakref.ref(n) for n in nodes]
    assert len(GRAPH) >= before + 10_000
    del nodes
    gc.collect()
    assert all(r() is None for r in refs)
    assert len(GRAPH) <= before + 10


def test_a_long_lived_parameter_does_not_keep_each_iteration_alive() -> None:
    p = node(1, trainable=True, name="long_lived")
    gc.collect()
    before = len(GRAPH)
    refs = []
    for i in range(2_000):
        out = (p + i) * 2
        out.backward("feedback")
        refs.append(weakref.ref(out))
        p.zero_feedback()
    del out
    gc.collect()
    assert all(r() is None for r in refs)
    assert len(GRAPH) <= before + 10
    assert p.children == [] and len(p._children or ()) < 200  # dead child references are pruned


def test_feedback_keeps_the_graph_until_zeroed() -> None:
    p = node(1, trainable=True)
    out = p + 1
    ref = weakref.ref(out)
    out.backward("f")
    del out
    gc.collect()
    assert ref() is not None  # the parameter's feedback refers to the graph it came through
    p.zero_feedback()
    gc.collect()
    assert ref() is None


def test_clear_restarts_the_numbering_and_forgets_older_nodes() -> None:
    old = node(1, name="numbered")
    GRAPH.clear()
    new = node(2, name="numbered")
    assert new.name == "numbered:0"
    assert GRAPH.get("numbered:0") is new
    assert (old + 1).data == 2  # older nodes stay usable
    assert not any(n is old for n in GRAPH.roots)


def test_work_run_in_a_copy_of_the_context_joins_the_scope() -> None:
    """An Executor given a copy of the submitting context (as train/ does) records into the open scope."""
    with GRAPH.scope("cell") as sg, concurrent.futures.ThreadPoolExecutor(2) as pool:
        context = contextvars.copy_context()
        futures = [pool.submit(context.copy().run, lambda i=i: node(i, name="worker") + 1) for i in range(4)]
        results = [f.result() for f in futures]
        plain = pool.submit(lambda: node(9, name="elsewhere")).result()  # no context given: not in the scope
    assert set(ids(results)) <= set(ids(sg.nodes)) and len(sg.nodes) == 12
    assert id(plain) not in ids(sg.nodes)
