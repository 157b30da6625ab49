"""write_back: accepted values go into the cell's source by syntax-tree positions, nothing else moves."""

from __future__ import annotations

import ast

import pytest

from trace_workbench.jupyter.writeback import WritebackError, literal, write_back


def test_only_the_literal_changes_comments_and_layout_stay() -> None:
    cell = ('%%trace --train prompt,n\n'
            '# the instruction\n'
            'prompt = "Write a poem"   # keep it short\n'
            '\n'
            'n = 2  # lines\n'
            'f"{prompt} in {n} lines"\n')
    new = write_back(cell, {"prompt": "Write a haiku", "n": 3})
    assert new == ('%%trace --train prompt,n\n'
                   '# the instruction\n'
                   'prompt = "Write a haiku"   # keep it short\n'
                   '\n'
                   'n = 3  # lines\n'
                   'f"{prompt} in {n} lines"\n')


def test_blank_lines_before_the_magic_line_and_crlf_line_ends_stay() -> None:
    cell = '\n\n%%trace --train tone\r\ntone = "calm"  # mood\r\ntone.upper()\r\n'
    assert write_back(cell, {"tone": "warm"}) == '\n\n%%trace --train tone\r\ntone = "warm"  # mood\r\ntone.upper()\r\n'


def test_the_last_of_several_assignments_is_rewritten() -> None:
    cell = "x = 1\nx = 2\ny = x + 1\n"
    assert write_back(cell, {"x": 5}) == "x = 1\nx = 5\ny = x + 1\n"


def test_multi_line_strings_become_triple_quoted_and_keep_their_quotes() -> None:
    cell = "system = 'Be brief.'\nq = 1\n"
    new = write_back(cell, {"system": "Be brief.\nAnswer in French."})
    assert new == "system = '''Be brief.\nAnswer in French.'''\nq = 1\n"
    assert ast.literal_eval(new.split(" = ", 1)[1].rsplit("\nq", 1)[0]) == "Be brief.\nAnswer in French."


def test_a_multi_line_literal_is_replaced_whole() -> None:
    cell = 'p = """one\ntwo\nthree"""\nprint(p)\n'
    assert write_back(cell, {"p": "four"}) == 'p = "four"\nprint(p)\n'


def test_tabs_and_text_before_the_literal_with_non_ascii_characters() -> None:
    cell = "if True:\n\tpass\nnote = 'café' ; x = 'é'\n"
    assert write_back(cell, {"x": "ü"}) == "if True:\n\tpass\nnote = 'café' ; x = 'ü'\n"


def test_a_function_is_redefined_with_its_decorators_and_neighbours_kept() -> None:
    cell = ("import functools\n"
            "\n"
            "@functools.lru_cache()\n"
            "def strange_sort_list(lst):  # to fix\n"
            "    return sorted(lst)\n"
            "\n"
            "strange_sort_list([3, 1, 2])\n")
    code = ("@bundle(trainable=True)\n"
            "def strange_sort_list(lst):\n"
            "    out = []\n"
            "    return out\n")
    assert write_back(cell, functions={"strange_sort_list": code}) == (
        "import functools\n"
        "\n"
        "@functools.lru_cache()\n"
        "def strange_sort_list(lst):\n"
        "    out = []\n"
        "    return out\n"
        "\n"
        "strange_sort_list([3, 1, 2])\n")


def test_values_that_cannot_be_written_are_refused_with_a_reason() -> None:
    with pytest.raises(WritebackError, match="computed in the cell"):
        write_back("x = 1 + 2\n", {"x": 4})
    with pytest.raises(WritebackError, match="not assigned"):
        write_back("y = 1\n", {"x": 4})
    with pytest.raises(WritebackError, match="no Python literal"):
        write_back("x = 1\n", {"x": object()})
    with pytest.raises(WritebackError, match="does not define"):
        write_back("def f():\n    pass\n", functions={"f": "def g():\n    pass\n"})
    with pytest.raises(WritebackError, match="does not parse"):
        write_back("x = (\n", {"x": 1})


@pytest.mark.parametrize("value", ["plain", 'with "double" quotes', "it's", "back\\slash", "tab\there",
                                   "multi\nline", 'ends with quote"', "", 3, -2.5, True, None, [1, "a"],
                                   {"k": (1, 2)}])
def test_literals_round_trip(value) -> None:
    for like in (None, "'x'", '"x"'):
        text = literal(value, like)
        assert ast.literal_eval(text) == value and type(ast.literal_eval(text)) is type(value)


def test_a_cell_with_notebook_syntax_is_written_back_through_ipython_s_transformations() -> None:
    from IPython.core.inputtransformer2 import TransformerManager

    cell = "%%trace --train prompt\n!echo hi\nprompt = 'old'  # keep\n%time len(prompt)\nprompt?\n"
    with pytest.raises(WritebackError, match="does not parse"):
        write_back(cell, {"prompt": "new"})
    new = write_back(cell, {"prompt": "new"}, to_python=TransformerManager().transform_cell)
    assert new == cell.replace("'old'", "'new'")  # the IPython lines stay as the person wrote them
