"""OPRO ("Large Language Models as Optimizers"): no graph, only earlier values and their feedback.

Each step shows the model every (variables, feedback) pair seen so far, this step's included, and
asks for new values. Same API as OptoPrime, so switching is one line.
"""

from __future__ import annotations

from textwrap import dedent
from typing import Any

from trace_workbench.optimizers.optoprime import FunctionFeedback, OptoPrime
from trace_workbench.optimizers.schema import opro_schema

__all__ = ["OPRO"]


class OPRO(OptoPrime):
    """OPRO on Trace's optimizer API: the prompt lists earlier variables with their feedback.

    max_examples keeps only the most recent pairs in the prompt (None: all of them, as in Trace).
    """

    user_prompt_template = dedent(
        """
        Below are values the variables have had, each with the feedback it received.

        {examples}

        ================================

        {instruction}
        """
    )

    output_format_prompt = dedent(
        """
        Output_format: reply with one JSON object and nothing else:

        {
        "suggestion": {
            <variable_1>: <suggested_value_1>,
            <variable_2>: <suggested_value_2>
        }
        }

        In "suggestion", map the name of each variable you change to its new value, written as JSON of the
        variable's current type. When a variable holds Python code, the new value is a string with the complete
        new function definition: valid Python, one function, with the same name and signature. If nothing needs
        to change, give "suggestion": {}.
        """
    )

    default_objective = "Come up with new values for the variables, following the feedback."

    def __init__(self, *args: Any, max_examples: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_examples = max_examples
        self.buffer: list[tuple[dict[str, Any], Any]] = []

    def construct_prompt(self, summary: FunctionFeedback, mask: list[str] | None = None, *args: Any,
                         **kwargs: Any) -> tuple[str, str]:
        """The (system prompt, user prompt): the output format, then the examples and the objective."""
        pairs = [*self.buffer, (summary.variables, summary.user_feedback)]
        if self.max_examples is not None:
            pairs = pairs[-self.max_examples:]
        user_prompt = self.user_prompt_template.format(examples=self._examples(pairs), instruction=self.objective)
        return self.output_format_prompt, user_prompt

    def reply_schema(self, summary: FunctionFeedback) -> dict[str, Any]:
        """The JSON schema of OPRO's reply: one suggestion per variable shown."""
        return opro_schema({name: summary.nodes[name] for name in summary.variables})

    def remember(self, variables: dict[str, Any], feedback: Any) -> None:
        """Add (variables, feedback) to the examples of later steps."""
        self.buffer.append((variables, feedback))
