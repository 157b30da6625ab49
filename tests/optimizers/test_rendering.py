"""One rendering of a proposal: text and HTML from the same rows, under the person's names, and what
IPython's display formatter shows when a Proposal is a cell's value."""

from __future__ import annotations

from IPython.core.interactiveshell import InteractiveShell

from tests.optimizers.conftest import reply
from trace_workbench.llm import LLM
from trace_workbench.optimizers import OptoPrime, OptoPrimeMulti, Proposal
from trace_workbench.optimizers.rendering import as_html, as_text, proposal_view, renamed
from trace_workbench.testing import ChatServer
from trace_workbench.trace import bundle, node


def shout(text):
    """Make the text loud."""
    return text.upper()


def proposed(server: ChatServer, llm: LLM, suggestion: dict, optimizer: type = OptoPrime, **kwargs) -> Proposal:
    """A real OptoPrime step over `instruction` (a string) and `n` (an int), answered with `suggestion`."""
    instruction = node("Say hi", name="instruction", trainable=True)
    n = node(2, name="n", trainable=True)
    out = instruction * n
    server.add_replies(*([reply(suggestion)] * kwargs.get("num_responses", 1)))
    opt = optimizer([instruction, n], llm=llm, **kwargs)
    opt.zero_feedback()
    opt.backward(out, "Say hello, three times.")
    return opt.propose()


def test_diffs_and_messages_show_the_persons_names(server: ChatServer, llm: LLM) -> None:
    proposal = proposed(server, llm, {"instruction0": "Say hello", "n0": "three"})
    assert list(proposal.changes) == ["instruction0"] and "n0" in proposal.rejected
    text = str(proposal)
    assert "--- instruction (str)" in text and "--- instruction (old)" in text and "+++ instruction (new)" in text
    assert "Not usable, n: " in text and "(parameter n is an int)" in text
    assert "instruction0" not in text and "n0" not in text
    page = proposal._repr_html_()
    assert "instruction (str)" in page and "-Say hi" in page and "+Say hello" in page and "instruction0" not in page


def test_text_and_html_come_from_the_same_rows(server: ChatServer, llm: LLM) -> None:
    proposal = proposed(server, llm, {"instruction0": "Say <hello>", "n0": 3})
    view = proposal_view(proposal)
    assert [(r.key, r.name, r.before, r.after) for r in view.rows] == [("instruction0", "instruction", "Say hi",
                                                                      "Say <hello>"), ("n0", "n", "2", "3")]
    text, page = as_text(view), as_html(view)
    for row in view.rows:
        assert row.diff.rstrip("\n") in text
    assert "Say &lt;hello&gt;" in page and "<hello>" not in page  # escaped, never markup from a reply
    assert "Because of the feedback." in text and "Because of the feedback." in page


def test_a_trained_functions_code_is_shown_under_the_functions_name(server: ChatServer, llm: LLM) -> None:
    loud = bundle(trainable=True)(shout)
    out = loud(node("hi"))
    code = loud.parameter.data
    server.add_replies(reply({"__code0": code.replace("upper()", "upper() + '!'")}))
    optimizer = OptoPrime([loud.parameter], llm=llm)
    optimizer.zero_feedback()
    optimizer.backward(out, "Add an exclamation mark.")
    text = str(optimizer.propose())
    assert "--- shout (code)" in text and "+    return text.upper() + '!'" in text and "__code0" not in text


def test_a_proposal_as_a_cells_value_is_its_diff_in_html_and_one_line_of_text(server: ChatServer, llm: LLM) -> None:
    proposal = proposed(server, llm, {"instruction0": "Say hello"})
    shell = InteractiveShell.instance()
    try:
        data, _ = shell.display_formatter.format(proposal)
    finally:
        InteractiveShell.clear_instance()
    assert data["text/plain"] == "<Proposal of OptoPrime, step 1: instruction>"
    assert "+Say hello" in data["text/html"] and "instruction (str)" in data["text/html"]


def test_candidates_render_each_candidate_with_its_score(server: ChatServer, llm: LLM) -> None:
    proposal = proposed(server, llm, {"instruction0": "Say hello"}, OptoPrimeMulti, num_responses=2,
                        generation="n", selector=lambda candidates: 0)
    text = as_text(proposal_view(proposal, hint=True))
    assert "2 candidates" in text and "=== Candidate 0 (the default choice)" in text and "=== Candidate 1" in text
    assert text.count("--- instruction (str)") == 2 and "%trace_accept --candidate K" in text
    assert repr(proposal) == "<2 Candidates of OptoPrimeMulti, step 1: 0 chosen>"


def test_a_given_name_of_wins_over_the_optimizers_labels(server: ChatServer, llm: LLM) -> None:
    names = {"instruction0": "prompt"}
    proposal = proposed(server, llm, {"instruction0": "Say hello"})
    text = as_text(proposal_view(proposal, lambda key: names.get(key, key)))
    assert "--- prompt (str)" in text and "--- prompt (old)" in text and "instruction" not in text


def test_a_message_names_the_persons_parameters_and_leaves_other_words_alone() -> None:
    names = {"n0": "n", "prompt0": "prompt"}.get
    text = renamed("n0: expected an integer (parameter n0 is an int); prompt00 and xn0 stay", ["n0", "prompt0"],
                   lambda key: names(key, key))
    assert text == "n: expected an integer (parameter n is an int); prompt00 and xn0 stay"
