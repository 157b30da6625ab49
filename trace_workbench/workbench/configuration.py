"""Which optimizer and LLM a session uses, and the optimizers themselves, made on first use.

A parameter registered after the optimizer was made is added to it, so OptoPrime's memory of earlier
steps and the optimizer's revert stack are kept. Only choosing another optimizer kind or other LLM
settings makes a new optimizer (with an empty memory), which is what the person asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from trace_workbench.optimizers import OPRO, Optimizer, OptoPrime, OptoPrimeMulti, TextGrad
from trace_workbench.trace.nodes import ParameterNode
from trace_workbench.workbench.errors import SessionError

__all__ = ["LLM_SETTINGS", "OPTIMIZERS", "Configuration"]

OPTIMIZERS: dict[str, type[Optimizer]] = {"optoprime": OptoPrime, "opro": OPRO, "textgrad": TextGrad}
LLM_SETTINGS = ("model", "base_url", "timeout", "max_retries")


def check_optimizer(name: str) -> None:
    """SessionError unless `name` is one of OPTIMIZERS."""
    if name not in OPTIMIZERS:
        raise SessionError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}")


class Configuration:
    """The optimizer kind and options, the LLM settings, and the optimizers made from them."""

    def __init__(self, optimizer: str = "optoprime", llm: Any = None, **optimizer_options: Any) -> None:
        check_optimizer(optimizer)
        self.optimizer_name = optimizer
        self.optimizer_options = dict(optimizer_options)
        self.llm_settings: dict[str, Any] = {}
        self._llm = llm
        self._optimizer: Optimizer | None = None
        self._multi: OptoPrimeMulti | None = None

    @staticmethod
    def check_llm_settings(settings: Mapping[str, Any]) -> None:
        """SessionError if a name in `settings` is not an LLM setting (saying so if it looks like a key)."""
        unknown = sorted(set(settings) - set(LLM_SETTINGS))
        if unknown:
            if any("key" in name.lower() for name in unknown):
                raise SessionError("an API key is never a setting: set OPENAI_API_KEY in the environment, "
                                   "or enter it with trace_workbench.llm.prompt_api_key() (input hidden)")
            raise SessionError(f"unknown setting(s) {', '.join(unknown)}; the settings are "
                               f"{', '.join(('optimizer', 'history', *LLM_SETTINGS))}")

    def set_llm(self, **settings: Any) -> None:
        """Change LLM settings (None keeps one): the LLM and the optimizers are made again at next use."""
        self.check_llm_settings(settings)
        if settings:
            self.llm_settings.update({k: v for k, v in settings.items() if v is not None})
            self._llm = None
            self._optimizer = self._multi = None

    def use_optimizer(self, name: str) -> None:
        """Switch to another optimizer kind (made again at the next use)."""
        check_optimizer(name)
        if name != self.optimizer_name:
            self.optimizer_name = name
            self._optimizer = self._multi = None

    def settings(self) -> dict[str, Any]:
        """The optimizer and the LLM settings in effect (environment included; no key, the URL redacted)."""
        from trace_workbench.llm.config import LLMConfig, redact_url

        config = LLMConfig.resolve(**{k: self.llm_settings.get(k) for k in LLM_SETTINGS})
        return {"optimizer": self.optimizer_name, "model": config.effective_model,
                "base_url": redact_url(config.base_url), "timeout": config.timeout, "max_retries": config.max_retries}

    @property
    def llm(self) -> Any:
        """The LLM the optimizers talk to (made on first use from the settings and the environment)."""
        if self._llm is None:
            from trace_workbench.llm import LLM

            self._llm = LLM(**self.llm_settings)
        return self._llm

    def optimizer(self, parameters: Sequence[ParameterNode]) -> Optimizer:
        """The optimizer over `parameters`: made on first use, and given the ones it does not have yet."""
        if not parameters:
            raise SessionError("no trainable parameter yet: run a cell with %%trace --train NAME "
                               "(or --train-code FUNCTION), or call session.parameter()")
        if self._optimizer is None:
            self._optimizer = OPTIMIZERS[self.optimizer_name](list(parameters), llm=self.llm, **self.optimizer_options)
        else:
            _extend(self._optimizer, parameters)
        return self._optimizer

    def candidate_optimizer(self, parameters: Sequence[ParameterNode]) -> OptoPrimeMulti:
        """The OptoPrimeMulti asking for N candidates as N choices of one request, over `parameters`.

        It takes the optimizer options when the session's optimizer is OptoPrime.
        """
        if self._multi is None:
            options = self.optimizer_options if self.optimizer_name == "optoprime" else {}
            self._multi = OptoPrimeMulti(list(parameters), llm=self.llm, generation="n", **options)
        else:
            _extend(self._multi, parameters)
        return self._multi


def _extend(optimizer: Optimizer, parameters: Sequence[ParameterNode]) -> None:
    """Give `optimizer` the parameters it lacks, keeping its memory and revert stack (ValueError, and none
    added, if a new one has the name of one it has)."""
    new = [p for p in parameters if not any(p is known for known in optimizer.parameters)]
    if not new:
        return
    optimizer.parameters.extend(new)
    try:
        optimizer.parameters_by_name  # noqa: B018 -- checks that the names stay unique
    except ValueError:
        del optimizer.parameters[-len(new):]
        raise
