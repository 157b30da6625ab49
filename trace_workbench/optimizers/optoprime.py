"""OptoPrime (the Trace paper's optimizer): one LLM call reads the whole propagated trace.

The problem is built from the TraceGraph the parameters received, in one pass over its nodes:
#Instruction, #Code (one line per operation), #Documentation, #Variables (what may change),
#Constraints, #Inputs, #Others (intermediate values), #Outputs and #Feedback. The model answers
with JSON {"reasoning", "answer", "suggestion": {variable: new value}}, asked for as a strict JSON
schema built from the step's parameters (see schema.py; ``structured=False`` asks for free text);
each value is converted back to its parameter's type (see values.py) and the step returns a Proposal.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import operator
import re
import warnings
from dataclasses import dataclass, field
from textwrap import dedent
from typing import Any, NamedTuple

from trace_workbench.llm.reply_format import ReplyShape, ask
from trace_workbench.optimizers.buffers import FIFOBuffer
from trace_workbench.optimizers.optimizer import Optimizer, default_llm
from trace_workbench.optimizers.parsing import (
    AmbiguousReplyError,
    ReplyFormatError,
    empty_reply_reason,
    find_json_object,
    is_terminate,
    loads_relaxed,
)
from trace_workbench.optimizers.proposal import Proposal
from trace_workbench.optimizers.schema import REASONING_CHARS, optoprime_schema, reply_shapes, structured_default
from trace_workbench.trace.nodes import MessageNode, Node, ParameterNode
from trace_workbench.trace.propagators import Propagator, TraceGraph
from trace_workbench.trace.text import shorten
from trace_workbench.trace.values import (
    ValueConversionError,
    function_name,
    is_code_parameter,
    to_jsonable,
)

__all__ = [
    "FunctionFeedback",
    "OptoPrime",
    "ProblemInstance",
    "Reply",
    "get_fun_name",
    "node_to_function_feedback",
    "repr_function_call",
    "truncate",
]

_MISSING = object()


class Reply(NamedTuple):
    """One reply of the model: its text, why it ended ("stop", "length" ...) and, when it is empty, why."""

    text: str
    finish_reason: str | None = None
    empty_reason: str | None = None

_TYPE_PREFIX = re.compile(r"^\((\w+)\)\s*")


def get_fun_name(node: MessageNode) -> str:
    """The name of the operation that computed `node` (a bundle's function name, or the operator's)."""
    info = node.info
    if isinstance(info, dict) and "fun_name" in info:
        return info["fun_name"]
    return node.name.split(":")[0]


def repr_function_call(child: MessageNode) -> str:
    """`child` as one line of #Code, e.g. "add0 = add(x=float0, y=int0)"."""
    arguments = ", ".join(f"{k}={v.py_name}" for k, v in child._inputs.items())
    return f"{child.py_name} = {get_fun_name(child)}({arguments})"


@dataclass
class FunctionFeedback:
    """A TraceGraph read as a program: its code lines, documentation, values and the user's feedback.

    roots, others and output map names to (value, constraint); after OptoPrime.summarize(), the
    roots are split into `variables` (the parameters being optimized) and `inputs`.
    """

    graph: list[tuple[int, str]]
    documentation: dict[str, str]
    others: dict[str, Any]
    roots: dict[str, Any]
    output: dict[str, Any]
    user_feedback: Any
    variables: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict, repr=False)
    code: set[str] = field(default_factory=set)
    """Names of the nodes that hold a bundle's code (shown as "(code) name:source")."""


def node_to_function_feedback(node_feedback: TraceGraph) -> FunctionFeedback:
    """Read a TraceGraph in one pass: roots (and blanket nodes whose parents are outside) are inputs,
    the other nodes are code lines whose values are outputs (nothing in the graph uses them) or others."""
    ordered = node_feedback.graph
    in_graph = {id(n) for _, n in ordered}
    used: set[int] = set()
    for _, n in ordered:
        for p in n._parents:
            used.add(id(p))
    graph: list[tuple[int, str]] = []
    documentation: dict[str, str] = {}
    others: dict[str, Any] = {}
    roots: dict[str, Any] = {}
    output: dict[str, Any] = {}
    nodes: dict[str, Node] = {}
    code: set[str] = set()
    for level, n in ordered:
        name = n.py_name
        nodes[name] = n
        entry = (n._data, n._constraint)
        if not n._parents or not all(id(p) in in_graph for p in n._parents):
            roots[name] = entry
            continue
        code_input = n._inputs.get("__code")
        if code_input is not None:
            code.add(code_input.py_name)
        documentation[get_fun_name(n)] = n.description
        graph.append((level, repr_function_call(n)))
        (others if id(n) in used else output)[name] = entry
    return FunctionFeedback(graph=graph, documentation=documentation, others=others, roots=roots, output=output,
                            user_feedback=node_feedback.user_feedback, nodes=nodes, code=code)


def truncate(text: str, limit: int | None) -> str:
    """`text` cut to about `limit` characters, keeping head and tail, with a visible mark of what was cut."""
    tail = 0 if limit is None else limit - limit * 2 // 3
    return shorten(text, limit, tail=tail, mark="…[{cut:,} characters omitted]…")


def _cap(items: list[str], limit: int | None, what: str) -> list[str]:
    """The first and last of `items` when there are more than `limit`, with a mark of how many are left out."""
    if limit is None or len(items) <= limit:
        return items
    head = (limit + 1) // 2
    tail = limit - head
    return [*items[:head], f"…[{len(items) - limit:,} more {what} omitted]…", *items[len(items) - tail:]]


_SECTIONS = ("instruction", "code", "documentation", "variables", "constraints", "inputs", "others", "outputs",
             "feedback")


@dataclass
class ProblemInstance:
    """The problem OptoPrime shows the model; str() renders it section by section."""

    instruction: str
    code: str
    documentation: str
    variables: str
    inputs: str
    others: str
    outputs: str
    feedback: str
    constraints: str
    symbols: dict[str, str] = field(default_factory=lambda: dict(OptoPrime.default_prompt_symbols), repr=False)

    def __repr__(self) -> str:
        return "\n\n".join(f"{self.symbols[s]}\n{getattr(self, s)}" for s in _SECTIONS) + "\n"


class OptoPrime(Optimizer):
    """The Trace paper's optimizer: one LLM call with the whole trace, returning a Proposal.

    llm: a trace_workbench.llm.LLM (default: LLM(), configured from the environment at the first
    call). objective: the #Instruction. memory_size: how many earlier (variables, feedback) pairs
    to show. max_value_chars / max_section_items keep the prompt small: longer values in #Inputs,
    #Others and #Outputs (and longer #Code lines) are cut with a visible mark, and sections with more
    entries keep their first and last ones; #Variables are always shown whole. structured: ask for
    the reply as a JSON schema of this step's parameters (default: on, unless TRACE_WORKBENCH_STRUCTURED=0);
    a server that refuses it is asked for a JSON object, then free text. max_reasoning_chars bounds
    the reasoning of a structured reply.
    """

    representation_prompt = dedent(
        """
        You are optimizing a program. You will see what to do, the code that ran, the documentation of the
        functions it calls, the values it used and produced, and feedback on its result.

        The problem comes in these parts:
        - #Instruction: what you need to do, or the question you should answer.
        - #Code: the operations that ran, one per line, as "<result> = <function>(<argument>=<variable>, ...)".
        - #Documentation: what each function used in #Code does. It may be incomplete: the values in
          #Others show how the functions behaved.
        - #Variables: the variables you may change.
        - #Constraints: conditions on the values of #Variables.
        - #Inputs: the other inputs of the code; you cannot change them.
        - #Others: intermediate values computed while the code ran.
        - #Outputs: what the code produced.
        - #Feedback: feedback on the outputs.

        In #Variables, #Inputs, #Others and #Outputs each line reads:

        (<data_type>) <variable_name>=<value>

        A variable of data type (code) holds the Python source of a function, written (code) <variable_name>:<source>.
        Very long values are shortened, and the cut is marked like …[1,234 characters omitted]….
        """
    )

    default_objective = ("Change the values of the variables in #Variables to improve the outputs according to "
                         "#Feedback.")

    output_format_prompt = dedent(
        """
        Output_format: reply with one JSON object and nothing else:

        {
        "reasoning": <your reasoning>,
        "answer": <your answer>,
        "suggestion": {
            <variable_1>: <suggested_value_1>,
            <variable_2>: <suggested_value_2>
        }
        }

        In "reasoning", explain: 1. what #Instruction asks; 2. what #Feedback on #Outputs means for #Variables,
        given how #Variables are used in #Code and what #Documentation, #Inputs and #Others show; 3. which
        changes to #Variables you suggest, if any, and the result you expect.

        If #Instruction asks for an answer, write it in "answer".

        In "suggestion", map the name of each variable you change, exactly as written in #Variables, to its new
        value. Only #Variables can change. Write each value as JSON of the variable's type: a number for (int)
        and (float), true or false for (bool), an array for (list), an object for (dict), a string for (str).
        For a variable of type (code), the value is a string holding the complete new function definition:
        valid Python, one function, with the same name and signature.

        If nothing needs to change, give "suggestion": {}.
        """
    )

    example_problem_template = dedent(
        """
        Here is an example of a problem and a response:

        ================================
        {example_problem}
        ================================

        Response:
        {example_response}
        """
    )

    user_prompt_template = dedent(
        """
        Now solve this problem:

        ================================
        {problem_instance}
        ================================
        """
    )

    example_prompt = dedent(
        """
        Here are some feasible but not optimal solutions for this problem; use them as hints.

        ================================
        {examples}
        ================================
        """
    )

    memory_prompt = dedent(
        """
        Earlier values of the variables and the feedback they received:

        {examples}
        """
    )

    final_prompt = dedent(
        """
        Your response:
        """
    )

    default_prompt_symbols = {
        "variables": "#Variables",
        "constraints": "#Constraints",
        "inputs": "#Inputs",
        "outputs": "#Outputs",
        "others": "#Others",
        "feedback": "#Feedback",
        "instruction": "#Instruction",
        "code": "#Code",
        "documentation": "#Documentation",
    }

    reply_keys = ("suggestion", "reasoning", "answer")
    """Keys that mark the reply's JSON object among other objects in the text."""

    log_size = 20
    """With log=True, `log` and `summary_log` keep the last this many steps (Trace kept every one, and
    every step's graph with it): a long training loop holds a bounded log and no graph."""

    def __init__(
        self,
        parameters: list[ParameterNode],
        llm: Any = None,
        *args: Any,
        propagator: Propagator | None = None,
        objective: str | None = None,
        ignore_extraction_error: bool = True,
        include_example: bool = False,
        memory_size: int = 0,
        max_tokens: int = 4096,
        log: bool = True,
        prompt_symbols: dict[str, str] | None = None,
        max_value_chars: int | None = 1000,
        max_section_items: int | None = 200,
        config_list: list[dict[str, Any]] | None = None,
        structured: bool | None = None,
        max_reasoning_chars: int = REASONING_CHARS,
        **kwargs: Any,
    ) -> None:
        super().__init__(parameters, *args, propagator=propagator, **kwargs)
        if llm is None and config_list is not None:  # early Trace named the model by an OAI_CONFIG_LIST
            from trace_workbench.utils.llm import AutoGenLLM

            llm = AutoGenLLM(config_list=config_list)
        self.llm = llm if llm is not None else default_llm()
        self.structured = structured_default() if structured is None else structured
        self.max_reasoning_chars = max_reasoning_chars
        self._shapes: list[ReplyShape] = [ReplyShape("text", None)]
        self.ignore_extraction_error = ignore_extraction_error
        self.objective = objective or self.default_objective
        self.include_example = include_example
        self.max_tokens = max_tokens
        self.max_value_chars = max_value_chars
        self.max_section_items = max_section_items
        self.log: list[dict[str, Any]] | None = [] if log else None
        self.summary_log: list[dict[str, Any]] | None = [] if log else None
        self.memory = FIFOBuffer(memory_size)
        self.prompt_symbols = copy.deepcopy(self.default_prompt_symbols)
        if prompt_symbols is not None:
            unknown = sorted(set(prompt_symbols) - set(self.default_prompt_symbols))
            if unknown:
                sections = list(self.default_prompt_symbols)
                raise ValueError(f"unknown prompt_symbols {unknown}; the sections are {sections}")
            self.prompt_symbols.update(prompt_symbols)
        self.example_problem = ProblemInstance(
            instruction=self.default_objective,
            code="y = add(x=a, y=b)\nz = subtract(x=y, y=c)",
            documentation="add: add x and y\nsubtract: subtract y from x",
            variables="(int) a=5",
            constraints="(int) a: a > 0",
            outputs="(int) z=1",
            others="(int) y=6",
            inputs="(int) b=1\n(int) c=5",
            feedback="The result of the code is not as expected. The result should be 10, but the code returns 1.",
            symbols=self.prompt_symbols,
        )
        self.example_response = json.dumps(
            {"reasoning": "z = a + b - c, so z is 10 when a = 14; a > 0 still holds.", "answer": "",
             "suggestion": {"a": 14}}, indent=1)

    # -- the summary and the prompt -----------------------------------------------------------
    def summarize(self) -> FunctionFeedback:
        """The trace all trainable parameters received, as one FunctionFeedback (built in one pass).

        Roots that are parameters of this optimizer become `variables`, the other roots `inputs`.
        """
        trainable = [p for p in self.parameters if p.trainable]
        received = [f for p in trainable for fs in p.feedback.values() for f in fs]
        if not received:
            return FunctionFeedback(graph=[], documentation={}, others={}, roots={}, output={}, user_feedback=None)
        odd = [type(f).__name__ for f in received if not isinstance(f, TraceGraph)]
        if odd:
            raise TypeError(f"{type(self).__name__} reads TraceGraph feedback (GraphPropagator), but the parameters "
                            f"received {sorted(set(odd))}; call optimizer.backward(output, feedback)")
        summary = node_to_function_feedback(functools.reduce(operator.add, received))
        ours = {id(p) for p in trainable}
        summary.variables = {name: value for name, value in summary.roots.items() if id(summary.nodes[name]) in ours}
        for p in trainable:  # parameters reached only inside a traceable bundle are not roots of the graph
            if p.feedback and p.py_name not in summary.variables:
                summary.variables[p.py_name] = (p._data, p._constraint)
                summary.nodes[p.py_name] = p
        summary.inputs = {name: value for name, value in summary.roots.items() if name not in summary.variables}
        summary.code |= {name for name in summary.variables if is_code_parameter(summary.nodes[name])}
        return summary

    def repr_node_value(self, node_dict: dict[str, Any], code_names: set[str] | None = None,
                        limit: int | None = None) -> str:
        """Lines "(type) name=value" ("(code) name:source" for code), values cut at `limit` characters."""
        return "\n".join(self._value_lines(node_dict, code_names, limit))

    def _value_lines(self, node_dict: dict[str, Any], code_names: set[str] | None, limit: int | None) -> list[str]:
        if code_names is None:
            code_names = {p.py_name for p in self.parameters if is_code_parameter(p)}
        lines = []
        for name, (value, _) in node_dict.items():
            if name in code_names:
                lines.append(f"(code) {name}:{truncate(str(value), limit)}")
            else:
                lines.append(f"({type(value).__name__}) {name}={truncate(str(value), limit)}")
        return lines

    def repr_node_constraint(self, node_dict: dict[str, Any], code_names: set[str] | None = None) -> str:
        """Lines "(type) name: constraint" for the entries that have a constraint."""
        if code_names is None:
            code_names = {p.py_name for p in self.parameters if is_code_parameter(p)}
        lines = []
        for name, (value, constraint) in node_dict.items():
            if constraint is not None:
                kind = "code" if name in code_names else type(value).__name__
                lines.append(f"({kind}) {name}: {constraint}")
        return "\n".join(lines)

    def problem_instance(self, summary: FunctionFeedback, mask: list[str] | None = None) -> ProblemInstance:
        """The problem for `summary`; sections named in `mask` (e.g. ["#Others"]) are left empty."""
        mask = mask or []
        limit, items = self.max_value_chars, self.max_section_items

        def shown(symbol: str, render: Any) -> str:
            return "" if symbol in mask else render()

        def values(entries: dict[str, Any]) -> str:
            return "\n".join(_cap(self._value_lines(entries, summary.code, limit), items, "values"))

        feedback = summary.user_feedback
        return ProblemInstance(
            instruction=shown("#Instruction", lambda: self.replace_symbols(self.objective, self.prompt_symbols)),
            code=shown("#Code", lambda: "\n".join(_cap([truncate(line, limit) for _, line in summary.graph], items,
                                                        "lines"))),
            documentation=shown("#Documentation", lambda: "\n".join(_cap(list(summary.documentation.values()), items,
                                                                         "functions"))),
            variables=shown("#Variables", lambda: self.repr_node_value(summary.variables, summary.code)),
            constraints=shown("#Constraints", lambda: self.repr_node_constraint(summary.variables, summary.code)),
            inputs=shown("#Inputs", lambda: values(summary.inputs)),
            others=shown("#Others", lambda: values(summary.others)),
            outputs=shown("#Outputs", lambda: values(summary.output)),
            feedback=shown("#Feedback", lambda: "" if feedback is None else str(feedback)),
            symbols=self.prompt_symbols,
        )

    probelm_instance = problem_instance
    """Trace's first spelling of problem_instance: a subclass may override either name (see __init_subclass__)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Keep both spellings one method: a subclass overriding only `probelm_instance` (as code written for
        early Trace does) or only `problem_instance` has the override under both names."""
        super().__init_subclass__(**kwargs)
        own = vars(cls)
        if "probelm_instance" in own and "problem_instance" not in own:
            cls.problem_instance = own["probelm_instance"]
        elif "problem_instance" in own and "probelm_instance" not in own:
            cls.probelm_instance = own["problem_instance"]

    def construct_prompt(self, summary: FunctionFeedback, mask: list[str] | None = None, *args: Any,
                         **kwargs: Any) -> tuple[str, str]:
        """The (system prompt, user prompt) for `summary`, with the memory of earlier steps."""
        system_prompt = self.replace_symbols(self.representation_prompt + self.output_format_prompt,
                                             self.prompt_symbols)
        user_prompt = self.user_prompt_template.format(problem_instance=str(self.problem_instance(summary, mask)))
        if self.include_example:
            example = self.example_problem_template.format(example_problem=str(self.example_problem),
                                                           example_response=self.example_response)
            user_prompt = example + user_prompt
        if len(self.memory) > 0:
            user_prompt += self.memory_prompt.format(examples=self._examples(self.memory))
        return system_prompt, user_prompt + self.final_prompt

    def _examples(self, pairs: Any) -> str:
        """Earlier (variables, feedback) pairs as JSON, values cut like the prompt's."""
        limit = self.max_value_chars
        examples = []
        for variables, feedback in pairs:
            shown = {k: truncate(v[0], limit) if isinstance(v[0], str) else to_jsonable(v[0])
                     for k, v in variables.items()}
            examples.append(json.dumps({"variables": shown, "feedback": to_jsonable(feedback)}, indent=4))
        return "\n".join(examples)

    def replace_symbols(self, text: str, symbols: dict[str, str]) -> str:
        """`text` with each default section name replaced by the one in `symbols`."""
        for key, symbol in symbols.items():
            default = self.default_prompt_symbols[key]
            if symbol != default:
                text = text.replace(default, symbol)
        return text

    # -- one step ---------------------------------------------------------------------------
    def _step(self, verbose: bool | str = False, mask: list[str] | None = None) -> Proposal:
        summary = self.summarize()
        if not summary.variables:
            return Proposal(optimizer=type(self).__name__,
                            error="none of the parameters has feedback: call optimizer.backward(output, feedback) "
                                  "before step() (and zero_feedback() before each backward)")
        system_prompt, user_prompt = self.construct_prompt(summary, mask=mask)
        self._shapes = self.reply_shapes(summary)
        reply = self.ask_llm(system_prompt, user_prompt, verbose=verbose, max_tokens=self.max_tokens)
        proposal = self.proposal_from_reply(reply.text, reply)
        self.remember(summary.variables, summary.user_feedback)
        self.log_step({"system_prompt": system_prompt, "user_prompt": user_prompt, "response": reply.text}, summary)
        return proposal

    def log_step(self, entry: dict[str, Any], summary: FunctionFeedback) -> None:
        """Append a step to `log` and `summary_log` (when log=True), keeping the last `log_size`.

        The summary is kept without its nodes (so no graph stays alive through the log) and with the
        values of #Inputs, #Others and #Outputs cut as the prompt showed them.
        """
        if self.log is None or self.summary_log is None:
            return
        limit = self.max_value_chars
        kept = dataclasses.replace(
            summary, nodes={}, roots=_shown_values(summary.roots, summary.variables, limit),
            inputs=_shown_values(summary.inputs, {}, limit), others=_shown_values(summary.others, {}, limit),
            output=_shown_values(summary.output, {}, limit))
        self.log.append(entry)
        self.summary_log.append({"problem_instance": self.problem_instance(summary), "summary": kept})
        for log in (self.log, self.summary_log):
            del log[:-self.log_size]

    def reply_schema(self, summary: FunctionFeedback) -> dict[str, Any]:
        """The JSON schema of this step's reply: reasoning, answer and one suggestion per variable shown."""
        return optoprime_schema({name: summary.nodes[name] for name in summary.variables}, self.max_reasoning_chars)

    def reply_shapes(self, summary: FunctionFeedback) -> list[ReplyShape]:
        """The reply shapes to ask for, best first (only free text when structured replies are off)."""
        if not self.structured:
            return [ReplyShape("text", None)]
        return reply_shapes(type(self).__name__.lower(), self.reply_schema(summary))

    def remember(self, variables: dict[str, Any], feedback: Any) -> None:
        """Keep (variables, feedback) for the prompts of later steps (the last memory_size pairs)."""
        self.memory.add((variables, feedback))

    def reject(self, proposal: Proposal, reason: str | None = None) -> None:
        """Remember that a person rejected the proposed values, and why (shown in later prompts)."""
        if proposal.changes:
            variables = {name: (change.new, getattr(self.parameters_by_name.get(name), "_constraint", None))
                         for name, change in proposal.changes.items()}
            because = f": {reason}" if reason else "."
            self.remember(variables, f"These values were proposed and rejected by a person{because}")

    def call_llm(self, system_prompt: str, user_prompt: str, verbose: bool | str = False,
                 max_tokens: int = 4096) -> str:
        """Send the prompts and return the reply's text ("" when it has none): Trace's, see ask_llm."""
        return self.ask_llm(system_prompt, user_prompt, verbose=verbose, max_tokens=max_tokens).text

    def ask_llm(self, system_prompt: str, user_prompt: str, verbose: bool | str = False,
                max_tokens: int = 4096) -> Reply:
        """Send the prompts and return the Reply (its text, "" when it has none, and why it ended).

        Asks for this step's reply shapes (reply_shapes: a JSON schema, then a JSON object, then free
        text, as the server accepts). Errors of the LLM layer are raised as they are.
        """
        if verbose not in (False, "output"):
            print("Prompt\n", system_prompt + user_prompt)
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prompt}]
        response = ask(self.llm, messages, self._shapes, max_tokens=max_tokens)
        try:
            choice = response.choices[0]
        except (AttributeError, IndexError, TypeError):
            raise TypeError(f"the LLM returned {type(response).__name__}, not a chat completion with choices") from None
        reply = reply_of(choice)
        if verbose:
            print("LLM response:\n", reply.text)
        return reply

    # -- reading the reply ------------------------------------------------------------------
    def proposal_from_reply(self, response: str, reply: Reply | None = None) -> Proposal:
        """The Proposal a reply's text makes: its usable suggestions as changes, and why the rest was refused
        (`reply` says why the reply ended, to explain a cut or empty one)."""
        name = type(self).__name__
        if is_terminate(response):
            return Proposal(optimizer=name, raw=response)
        try:
            data = find_json_object(response, self.reply_keys)
        except ReplyFormatError as e:
            cut = reply is not None and reply.finish_reason == "length"
            hint = f" (the reply was cut off at max_tokens={self.max_tokens}; raise max_tokens)" if cut else ""
            empty = reply.empty_reason if reply is not None else None
            said = empty if not response.strip() and empty else str(e)
            return Proposal(optimizer=name, raw=response, error=f"{said}{hint}")
        reasoning = _field(data, "reasoning")
        answer = _field(data, "answer")
        reasoning = "" if reasoning is _MISSING or reasoning is None else (
            reasoning if isinstance(reasoning, str) else json.dumps(to_jsonable(reasoning)))
        answer = None if answer is _MISSING else answer
        suggestion, problem = self._suggestion(data, answer)
        if problem is not None:
            return Proposal(optimizer=name, raw=response, reasoning=reasoning, answer=answer, error=problem)
        resolved, rejected = self._resolve(suggestion)
        changes, refused = self.make_changes(resolved)
        rejected.update(refused)
        error = None
        if rejected and not changes:
            error = "no suggestion in the reply could be used: " + "; ".join(f"{k}: {v}" for k, v in rejected.items())
        return Proposal(optimizer=name, changes=changes, reasoning=reasoning, answer=answer, rejected=rejected,
                        error=error, raw=response)

    def _suggestion(self, data: dict[str, Any], answer: Any) -> tuple[dict[Any, Any], str | None]:
        """The reply's {variable: value} map, or why there is none."""
        given = [k for k in data if isinstance(k, str) and k.lower() in ("suggestion", "suggestions")]
        if len({json.dumps(to_jsonable(data[k]), sort_keys=True) for k in given}) > 1:
            return {}, f"the reply is ambiguous: it gives two different suggestions ({', '.join(map(repr, given))})"
        value = _field(data, "suggestion", "suggestions")
        if value is _MISSING:
            top = {k: v for k, v in data.items() if self._find_parameter(k)[0] is not None}
            if top or answer not in (None, ""):
                return top, None
            return {}, f'the reply has no "suggestion" (its keys are {list(data)[:10]})'
        if value is None:
            return {}, None
        if isinstance(value, str):
            if not value.strip() or is_terminate(value):
                return {}, None
            try:
                value = loads_relaxed(value)
            except AmbiguousReplyError as e:
                return {}, str(e)
            except ValueError:
                return {}, f'"suggestion" must be an object mapping variable names to values, not text {value[:80]!r}'
        if isinstance(value, list) and all(isinstance(v, dict) and len(v) == 1 for v in value):
            value = {k: v for item in value for k, v in item.items()}
        if not isinstance(value, dict):
            kind = {list: "an array", str: "text"}.get(type(value), f"a {type(value).__name__}")
            return {}, f'"suggestion" must be an object mapping variable names to values, not {kind}'
        return {k: v for k, v in value.items() if v is not None}, None  # null: leave the variable as it is

    def _find_parameter(self, key: Any) -> tuple[ParameterNode | None, str]:
        """The trainable parameter a suggestion's key names (py_name, name, description or function name)."""
        if not isinstance(key, str):
            return None, f"{key!r} is not a variable name"
        text = _TYPE_PREFIX.sub("", key.strip().strip("`'\"").strip()).strip()
        params = [p for p in self.parameters if p.trainable]
        tests = (
            lambda p: p.py_name == text,
            lambda p: p.name == text or p.py_name == text.replace(":", ""),
            lambda p: p.py_name.lower() == text.lower(),
            lambda p: p.name.split(":")[0] == text,
            lambda p: _plain(p.description) == _plain(text),
            lambda p: is_code_parameter(p) and function_name(str(p._data)) == text.removesuffix("()"),
        )
        for test in tests:
            found = [p for p in params if test(p)]
            if len(found) == 1:
                return found[0], ""
            if len(found) > 1:
                return None, f"{key!r} could mean any of {[p.py_name for p in found]}; use the exact name"
        names = [p.py_name for p in params]
        return None, f"{key!r} is not a variable that can change (the variables are {names})"

    def _resolve(self, suggestion: dict[Any, Any]) -> tuple[dict[ParameterNode, Any], dict[str, str]]:
        resolved: dict[ParameterNode, Any] = {}
        rejected: dict[str, str] = {}
        for key, value in suggestion.items():
            node, why = self._find_parameter(key)
            if node is None:
                rejected[str(key)] = why
            elif node in resolved and resolved[node] != value:
                rejected[str(key)] = f"a second, different suggestion for {node.py_name}"
            else:
                resolved[node] = value
        return resolved, rejected

    # -- Trace's helpers, kept for programs that call them -----------------------------------
    def extract_llm_suggestion(self, response: str) -> dict[str, Any]:
        """The reply's suggestion as {variable name: value as written}; {} when there is none."""
        if is_terminate(response):
            return {}
        try:
            data = find_json_object(response, self.reply_keys)
        except ReplyFormatError:
            return {}
        suggestion, problem = self._suggestion(data, _field(data, "answer"))
        return {} if problem else {str(k): v for k, v in suggestion.items()}

    def construct_update_dict(self, suggestion: dict[str, Any]) -> dict[ParameterNode, Any]:
        """{parameter: converted value} for a suggestion, found and converted as propose() does; unusable
        entries are warned about and skipped (raised as ValueConversionError with ignore_extraction_error=False)."""
        resolved, rejected = self._resolve(suggestion)
        update: dict[ParameterNode, Any] = {}
        for node, value in resolved.items():
            try:
                update[node] = self._converted(node, value)
            except ValueConversionError as e:
                rejected[node.py_name] = str(e)
        for key, why in rejected.items():
            if not self.ignore_extraction_error:
                raise ValueConversionError(why)
            warnings.warn(f"Cannot use the suggestion for {key}: {why}", stacklevel=2)
        return update


def reply_of(choice: Any) -> Reply:
    """The Reply of one choice of a chat completion."""
    message = getattr(choice, "message", None)
    content = getattr(message, "content", None) or ""
    return Reply(content, getattr(choice, "finish_reason", None), None if content else empty_reply_reason(message))


def _shown_values(entries: dict[str, Any], keep: dict[str, Any], limit: int | None) -> dict[str, Any]:
    """{name: (value, constraint)} with each value longer than `limit` as text replaced by its cut text
    (names in `keep`, the variables, stay whole: the parameters hold them anyway)."""
    shown = {}
    for name, (value, constraint) in entries.items():
        if name not in keep and limit is not None and not isinstance(value, (bool, int, float, type(None))):
            text = str(value)
            if len(text) > limit:
                value = truncate(text, limit)
        shown[name] = (value, constraint)
    return shown


def _field(data: dict[str, Any], *names: str) -> Any:
    """data[name] for the first of `names` present, ignoring case; _MISSING if none is."""
    lowered = {k.lower(): k for k in data if isinstance(k, str)}
    for name in names:
        if name in lowered:
            return data[lowered[name]]
    return _MISSING


def _plain(text: str) -> str:
    text = re.sub(r"^\[[^\]]*\]\s*", "", text)
    return " ".join(text.lower().rstrip(".").split())
