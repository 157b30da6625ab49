"""TextGrad ("Automatic Differentiation via Text") on Trace's optimizer API.

Feedback travels backward through the trace as text: for each operation between a parameter and
an output, the model writes feedback for each input ("textual gradient"); several gradients
reaching one node are summarized into one; finally each parameter is rewritten from its
gradients, the new value sent between <IMPROVED_VARIABLE> tags. Only inputs computed from a
parameter get gradients, so constants cost no calls. With structured replies (the default) each
call asks for a JSON schema instead: {"feedback": text} for gradients and summaries,
{"improved_variable": value typed like the parameter} for rewrites; replies in tags are still read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trace_workbench.llm.reply_format import ReplyShape, ask
from trace_workbench.optimizers.optimizer import Optimizer, default_llm
from trace_workbench.optimizers.parsing import ReplyFormatError, find_json_object
from trace_workbench.optimizers.proposal import Proposal
from trace_workbench.optimizers.schema import (
    feedback_schema,
    improved_variable_schema,
    reply_shapes,
    structured_default,
)
from trace_workbench.trace.nodes import Node, ParameterNode
from trace_workbench.trace.propagators import Propagator, TraceGraph
from trace_workbench.trace.values import value_kind

__all__ = ["GradientInfo", "TextGrad", "get_short_value", "rm_node_attrs"]

GLOSSARY_TEXT = """
### Tags used in the messages you receive:
# - <LM_INPUT>: the input of an operation.
# - <LM_OUTPUT>: the output of that operation.
# - <FEEDBACK>: feedback on the variable.
# - <CONVERSATION>: the operation, with its input and output.
# - <ROLE>: the role of the variable.
# - <VARIABLE>: the value of the variable."""

OPTIMIZER_SYSTEM_PROMPT = (
    "You improve one variable of a larger system: a prompt, a solution, code, a number or any other value. "
    "You receive feedback on the variable and use it to write a better version. The feedback may be noisy: "
    "keep what is right and important. Mind the variable's role and how it is used. "
    "Reply with the improved variable between {new_variable_start_tag} and {new_variable_end_tag} tags; "
    "the text between the tags replaces the variable as it is.\n"
    f"{GLOSSARY_TEXT}"
)

BACKWARD_SYSTEM_PROMPT = (
    "You are the feedback engine of an optimization system that improves variables (prompts, solutions, code, "
    "values). Given an objective in <OBJECTIVE_FUNCTION> tags, you give the variable constructive, specific "
    "criticism: what to change and why it would serve the objective, for example 'Adding X would fix the error "
    "because ...' or 'Changing X to Y corrects ...'. Do not write a new version of the variable; another step "
    "does that. If the variable already serves the objective well, say so and give no further feedback.\n"
    "### Tags used in the messages you receive:\n"
    "# - <LM_INPUT>: the input of an operation.\n"
    "# - <LM_OUTPUT>: the output of that operation.\n"
    "# - <OBJECTIVE_FUNCTION>: the objective of the optimization.\n"
    "# - <VARIABLE>: the variable to give feedback on.\n"
    "# - <ROLE>: the role of the variable."
)

CONVERSATION_TEMPLATE = "<LM_INPUT> {prompt} </LM_INPUT>\n\n<LM_OUTPUT> {response_value} </LM_OUTPUT>\n\n"

CHAIN_BACKWARD_TEMPLATE = (
    "You will give feedback to a variable with this role: <ROLE> {variable_desc} </ROLE>. "
    "It was an input of the operation {operation}, which ran like this:\n\n{conversation}"
    "This operation is part of a larger system. Its output is used as {response_desc}.\n\n"
    "<OBJECTIVE_FUNCTION>Give feedback to the variable that addresses this feedback on the output: "
    "{response_gradient} </OBJECTIVE_FUNCTION>\n\n"
    "Give feedback on the {variable_desc}, which is this span of text:\n\n<VARIABLE> {variable_short} </VARIABLE>\n\n"
    "Say how the {variable_desc} could change to better meet the <OBJECTIVE_FUNCTION>.\n\n"
)

GRADIENT_TEMPLATE = (
    "Here is an operation that used the variable:\n\n<CONVERSATION>{context}</CONVERSATION>\n\n"
    "Its output is used as {response_desc}.\n\n"
    "Here is the feedback on {variable_desc} in that operation:\n\n<FEEDBACK>{feedback}</FEEDBACK>\n\n"
)

REDUCE_MEAN_SYSTEM_PROMPT = (
    "You are part of an optimization system that improves variables. You combine feedback from several sources "
    "into one: each source is given between <FEEDBACK> </FEEDBACK> tags. Reply with the essential feedback only, "
    "critically summarized; do not propose a new version of the variable."
)

UPDATE_TEMPLATE = (
    "Here is the role of the variable you will improve: <ROLE>{variable_desc}</ROLE>.\n\n"
    "The variable ({variable_type}) is the text within this span: <VARIABLE> {variable_value} </VARIABLE>\n\n"
    "Here is the context and the feedback we got for the variable:\n\n<CONTEXT>{variable_grad}</CONTEXT>\n\n"
    "Improve the variable ({variable_desc}) using the feedback in the <FEEDBACK> tags.\n"
)

CONSTRAINT_TEMPLATE = "You must follow these constraints:\n\n<CONSTRAINTS>{constraint_text}</CONSTRAINTS>\n\n"

UPDATE_SUFFIX = (
    "Send the improved variable in this format:\n\n{new_variable_start_tag}{{the improved variable}}"
    "{new_variable_end_tag}\n\nSend ONLY the improved variable between the {new_variable_start_tag} tags, "
    "and nothing else. {type_hint}"
)

_TYPE_HINTS = {
    "code": "The variable is Python code: send the complete function definition, with the same name and signature.",
    "bool": "The variable is a boolean: send true or false.",
    "int": "The variable is an integer: send only the number.",
    "float": "The variable is a number: send only the number.",
    "list": "The variable is a list: send it as a JSON array.",
    "tuple": "The variable is a tuple: send it as a JSON array.",
    "set": "The variable is a set: send it as a JSON array.",
    "dict": "The variable is a dict: send it as a JSON object.",
}


@dataclass
class GradientInfo:
    """A textual gradient, with the operation it came from (None for the user's own feedback)."""

    gradient: str
    gradient_context: dict[str, str] | None

    def __len__(self) -> int:
        return 1 if self.gradient_context is None else 2

    def __getitem__(self, key: int) -> Any:
        if key == 0:
            return self.gradient
        if key == 1:
            return self.gradient_context
        raise IndexError(key)


def rm_node_attrs(text: str) -> str:
    """`text` without bracketed node attributes such as "[ParameterNode]"."""
    return re.sub(r"\[.*?\]", "", text).strip()


def get_short_value(text: Any, n_words_offset: int = 10) -> str:
    """The first and last `n_words_offset` words of a long value, "(...)" between them."""
    words = str(text).split(" ")
    if len(words) <= 2 * n_words_offset:
        return str(text)
    return " ".join(words[:n_words_offset]) + " (...) " + " ".join(words[-n_words_offset:])


def construct_reduce_prompt(gradients: list[GradientInfo]) -> str:
    """The prompt that asks to combine several gradients: each between <FEEDBACK> tags."""
    return "\n".join(f"<FEEDBACK>{g.gradient}</FEEDBACK>" for g in gradients)


class TextGrad(Optimizer):
    """TextGrad: per-operation textual gradients, then one rewrite per parameter; returns a Proposal.

    structured: ask for JSON schema replies (default: on, unless TRACE_WORKBENCH_STRUCTURED=0).
    """

    log_size = 20
    """With log=True, `log` keeps the last this many prompts and replies."""

    def __init__(
        self,
        parameters: list[ParameterNode],
        llm: Any = None,
        *args: Any,
        propagator: Propagator | None = None,
        objective: str | None = None,
        max_tokens: int = 4096,
        log: bool = False,
        ignore_extraction_error: bool = True,
        structured: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(parameters, *args, propagator=propagator, **kwargs)
        self.llm = llm if llm is not None else default_llm()
        self.structured = structured_default() if structured is None else structured
        self.objective = objective
        self.ignore_extraction_error = ignore_extraction_error
        self.print_limit = 100
        self.max_tokens = max_tokens
        self.new_variable_tags = ["<IMPROVED_VARIABLE>", "</IMPROVED_VARIABLE>"]
        self.optimizer_system_prompt = OPTIMIZER_SYSTEM_PROMPT.format(
            new_variable_start_tag=self.new_variable_tags[0], new_variable_end_tag=self.new_variable_tags[1])
        if objective:
            self.optimizer_system_prompt += f"\n\nThe goal of the whole system: {objective}"
        self.log: list[dict[str, str]] | None = [] if log else None

    # -- backward through the trace, in text ----------------------------------------------------
    def _grad(self, input_node: Node, parent_nodes: list[Node], gradient_text: str,
              verbose: bool | str = False) -> list[GradientInfo]:
        """The gradient each of `parent_nodes` receives from `input_node` (one LLM call each)."""
        gradients = []
        for parent in parent_nodes:
            info = {
                "operation": rm_node_attrs(input_node.description) or input_node.py_name,
                "response_desc": rm_node_attrs(input_node.description),
                "response_value": input_node._data,
                "response_gradient": gradient_text,
                "prompt": parent._data,
                "variable_desc": rm_node_attrs(parent.description),
                "variable_short": get_short_value(parent._data),
            }
            conversation = CONVERSATION_TEMPLATE.format(**info)
            prompt = CHAIN_BACKWARD_TEMPLATE.format(conversation=conversation, **info)
            gradient = self._feedback_text(self.call_llm(system_prompt=BACKWARD_SYSTEM_PROMPT, user_prompt=prompt,
                                                         verbose=verbose, shapes=self._feedback_shapes()))
            context = {"context": conversation, "response_desc": info["response_desc"],
                       "variable_desc": info["variable_desc"]}
            gradients.append(GradientInfo(gradient, context))
        return gradients

    def _reduce_gradient_mean(self, gradients: list[GradientInfo], verbose: bool | str = False) -> GradientInfo:
        """One gradient from several (an LLM call summarizes them)."""
        if len(gradients) == 1:
            return gradients[0]
        reduced = self._feedback_text(self.call_llm(system_prompt=REDUCE_MEAN_SYSTEM_PROMPT,
                                                    user_prompt=construct_reduce_prompt(gradients), verbose=verbose,
                                                    shapes=self._feedback_shapes()))
        return GradientInfo(reduced, None)

    def _get_gradient_and_context_text(self, gradients: list[GradientInfo]) -> str:
        parts = []
        for g in gradients:
            if g.gradient_context is None:
                parts.append(f"<FEEDBACK>{g.gradient}</FEEDBACK>")
            else:
                parts.append(GRADIENT_TEMPLATE.format(feedback=g.gradient, **g.gradient_context))
        return "\n".join(parts)

    def _update_prompt(self, node: ParameterNode, gradients: list[GradientInfo]) -> str:
        """The prompt that asks for the parameter's new value, given its gradients."""
        kind = value_kind(node)
        prompt = UPDATE_TEMPLATE.format(variable_desc=rm_node_attrs(node.description), variable_type=kind,
                                        variable_value=node._data,
                                        variable_grad=self._get_gradient_and_context_text(gradients))
        if node._constraint:
            prompt += CONSTRAINT_TEMPLATE.format(constraint_text=node._constraint)
        return prompt + UPDATE_SUFFIX.format(new_variable_start_tag=self.new_variable_tags[0],
                                             new_variable_end_tag=self.new_variable_tags[1],
                                             type_hint=_TYPE_HINTS.get(kind, ""))

    def _step(self, verbose: bool | str = False) -> Proposal:
        name = type(self).__name__
        trainable = [p for p in self.parameters if p.trainable]
        received = [f for p in trainable for fs in p.feedback.values() for f in fs]
        if not received:
            return Proposal(optimizer=name, error="none of the parameters has feedback: call "
                                                  "optimizer.backward(output, feedback) before step()")
        if not all(isinstance(f, TraceGraph) for f in received):
            raise TypeError(f"{name} reads TraceGraph feedback (GraphPropagator); call optimizer.backward(...)")
        trace_graph = self.trace_graph
        ordered = [n for _, n in trace_graph.graph]
        ours = {id(p) for p in trainable}
        from_parameter: set[int] = set()
        used: set[int] = set()
        for n in ordered:
            used.update(id(p) for p in n._parents)
            if id(n) in ours or any(id(p) in from_parameter for p in n._parents):
                from_parameter.add(id(n))
        feedback = trace_graph.user_feedback
        grads: dict[int, list[GradientInfo]] = {}
        for x in reversed(ordered):
            if not x._parents:
                if id(x) in ours and id(x) not in used:  # feedback given to the parameter itself
                    grads.setdefault(id(x), []).insert(0, GradientInfo(str(feedback), None))
                continue
            if id(x) not in from_parameter:
                continue
            received_here = grads.get(id(x), [])
            if id(x) not in used:  # an output: it has the user's feedback
                received_here = [GradientInfo(str(feedback), None), *received_here]
            if not received_here:
                continue
            g = self._reduce_gradient_mean(received_here, verbose=verbose)
            parents = [p for p in x._parents if id(p) in from_parameter]
            for parent, gradient in zip(parents, self._grad(x, parents, g.gradient, verbose=verbose), strict=True):
                grads.setdefault(id(parent), []).append(gradient)
        suggestions: dict[ParameterNode, Any] = {}
        notes: dict[str, str] = {}
        rejected: dict[str, str] = {}
        replies = []
        for p in trainable:
            gradients = grads.get(id(p))
            if not gradients:
                continue
            prompt = self._update_prompt(p, gradients)
            shapes = reply_shapes("textgrad_update", improved_variable_schema(p)) if self.structured else None
            response = self.call_llm(system_prompt=self.optimizer_system_prompt, user_prompt=prompt, verbose=verbose,
                                     shapes=shapes)
            replies.append(f"[{p.py_name}]\n{response}")
            if self.log is not None:
                self.log.append({"user_prompt": prompt, "response": response})
                del self.log[:-self.log_size]
            notes[p.py_name] = "\n".join(g.gradient for g in gradients)
            value = self._improved_variable(response)
            if value is None:
                start, end = self.new_variable_tags
                rejected[p.py_name] = f"the reply has no new value between {start} and {end}"
            else:
                suggestions[p] = value.strip() if value_kind(p) == "str" and isinstance(value, str) else value
        changes, refused = self.make_changes(suggestions, notes)
        rejected.update(refused)
        error = None
        if rejected and not changes:
            error = "no usable new value: " + "; ".join(f"{k}: {v}" for k, v in rejected.items())
        return Proposal(optimizer=name, changes=changes, rejected=rejected, error=error, raw="\n\n".join(replies))

    def _feedback_shapes(self) -> list[ReplyShape] | None:
        return reply_shapes("textgrad_feedback", feedback_schema()) if self.structured else None

    @staticmethod
    def _feedback_text(response: str) -> str:
        """The feedback of a structured reply ({"feedback": text}), else the reply as it is."""
        data = _json_reply(response, "feedback")
        return str(data["feedback"]) if data is not None else response

    def _improved_variable(self, response: str) -> Any:
        """The new value: from a structured reply's "improved_variable", else between the tags; None if neither."""
        data = _json_reply(response, "improved_variable")
        if data is not None and data["improved_variable"] is not None:
            return data["improved_variable"]
        start, end = self.new_variable_tags
        first = response.find(start)
        if first == -1:
            return None
        last = response.find(end, first + len(start))
        if last == -1:
            return None
        return response[first + len(start):last].strip("\n")

    def call_llm(self, system_prompt: str, user_prompt: str, verbose: bool | str = False,
                 shapes: list[ReplyShape] | None = None) -> str:
        """Send the prompts and return the reply's text ("" when it has none); LLM errors are raised.

        `shapes`: the reply shapes to ask for, best first (see llm.reply_format); None: free text.
        """
        if verbose not in (False, "output"):
            print("Prompt\n", system_prompt + "\n\n" + user_prompt)
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_prompt}]
        response = ask(self.llm, messages, shapes or [ReplyShape("text", None)], max_tokens=self.max_tokens)
        content = response.choices[0].message.content or ""
        if verbose:
            print("LLM response:\n", content)
        return content


def _json_reply(response: str, key: str) -> dict[str, Any] | None:
    """The reply's JSON object when it is one holding `key` (a structured reply), else None."""
    if not response.lstrip().startswith("{"):
        return None
    try:
        data = find_json_object(response, (key,))
    except ReplyFormatError:
        return None
    return data if key in data else None
