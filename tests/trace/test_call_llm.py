"""call_llm: a traced chat call through the real openai client against the scripted ChatServer.

Covers call_llm alone, inside bundles and modules, the program LLM kept apart from the optimizer's
(argument, TRACE_WORKBENCH_PROGRAM_MODEL, separate usage), a trainable prompt reaching OptoPrime
through call_llm, and Trace's greeting agent (examples/greeting.py) ported by changing imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from trace_workbench import trace
from trace_workbench.llm import ENV_PROGRAM_MODEL, LLM, program_llm, set_program_llm
from trace_workbench.optimizers import OptoPrime
from trace_workbench.testing import ChatServer
from trace_workbench.trace import GRAPH, ExecutionError, MessageNode, Module, bundle, node
from trace_workbench.trace.operators import call_llm

ENV_NAMES = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "TRACE_WORKBENCH_MODEL", "TRACE_WORKBENCH_CACHE",
             "TRACE_WORKBENCH_REPLAY", "TRACE_WORKBENCH_RECORD", ENV_PROGRAM_MODEL)
OPTIMIZER_MARK = "#Variables"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, tmp_path) -> Iterator[ChatServer]:
    """A ChatServer that the environment (hence the default program LLM) points at."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    GRAPH.clear()
    with ChatServer() as chat_server:
        for name, value in chat_server.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        set_program_llm(None)
        yield chat_server
    set_program_llm(None)


def optimizer_llm(server: ChatServer) -> LLM:
    return LLM(model="optimizer-model", base_url=server.base_url, api_key="test-key", max_retries=0)


def test_call_llm_sends_system_then_user_messages_and_returns_the_reply(server: ChatServer) -> None:
    server.add_replies("Bonjour")
    out = call_llm("You translate.", "Hello", "into French", temperature=0)
    assert isinstance(out, MessageNode) and out.data == "Bonjour"
    body = server.completion_requests[-1].body
    assert body["messages"] == [{"role": "system", "content": "You translate."},
                                {"role": "user", "content": "Hello"}, {"role": "user", "content": "into French"}]
    assert body["temperature"] == 0 and body["model"] == "test-model"
    assert [p.data for p in out.parents] == ["You translate.", "Hello", "into French"]


def test_program_model_from_environment_and_usage_apart_from_the_optimizer(
        server: ChatServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PROGRAM_MODEL, "small-model")
    server.add_replies("one", "two")
    call_llm("sys", "q")
    optimizer = optimizer_llm(server)
    optimizer(messages="hi")
    assert [r.body["model"] for r in server.completion_requests] == ["small-model", "optimizer-model"]
    assert program_llm().meter.name == "program"
    assert [c.model for c in program_llm().meter.calls] == ["small-model"]
    assert [c.model for c in optimizer.meter.calls] == ["optimizer-model"]


def test_llm_argument_overrides_the_program_llm(server: ChatServer) -> None:
    server.add_replies("from the given llm")
    given = LLM(model="given-model", base_url=server.base_url, api_key="test-key")
    assert call_llm("sys", "q", llm=given).data == "from the given llm"
    assert server.completion_requests[-1].body["model"] == "given-model"
    assert len(given.meter.calls) == 1 and program_llm().meter.calls == []


def test_a_failing_call_is_an_execution_error(server: ChatServer) -> None:
    server.fail(400, "bad request")
    with pytest.raises(ExecutionError) as info:
        call_llm("sys", "q")
    assert "bad request" in str(info.value.exception_node.data)


def test_call_llm_inside_a_traceable_bundle_and_a_module(server: ChatServer) -> None:
    server.responder = lambda body: body["messages"][-1]["content"].upper()

    @bundle(traceable_code=True)
    def shout(prompt, text):
        """Ask the model to shout the text."""
        return call_llm(prompt, text)

    class Shouter(Module):
        def __init__(self) -> None:
            self.prompt = node("Repeat loudly.", trainable=True)

        def forward(self, text: Any) -> MessageNode:
            return shout(self.prompt, text)

    agent = Shouter()
    out = agent("quiet words")
    assert out.data == "QUIET WORDS"
    assert agent.prompt in out.parents
    assert server.completion_requests[-1].messages[0]["content"] == "Repeat loudly."


def test_call_llm_inside_a_plain_bundle_is_one_operation_of_the_bundle(server: ChatServer) -> None:
    server.responder = lambda body: "reply to " + body["messages"][0]["content"]

    @bundle()
    def ask(prompt):
        """Ask the model with this system prompt."""
        return call_llm(prompt, "question")

    prompt = node("Be brief.", trainable=True)
    out = ask(prompt)
    assert out.data == "reply to Be brief." and out.parents == (prompt,)


def test_a_trainable_prompt_reaches_the_optimizer_through_call_llm(server: ChatServer) -> None:
    prompt = node("Answer in one word.", trainable=True)
    server.responder = lambda body: (json.dumps({"reasoning": "r", "answer": "",
                                                 "suggestion": {prompt.py_name: "Answer in French."}})
                                     if OPTIMIZER_MARK in json.dumps(body) else "Hello")
    answer = call_llm(prompt, "Say hi")
    optimizer = OptoPrime([prompt], llm=optimizer_llm(server))
    optimizer.zero_feedback()
    optimizer.backward(answer, "The answer should be in French.")
    optimizer.step()
    request = server.completion_requests[-1]
    assert request.body["model"] == "optimizer-model"
    user_prompt = request.last_user_message
    assert f"(str) {prompt.py_name}=Answer in one word." in user_prompt
    assert "call_llm" in user_prompt and "Say hi" in user_prompt
    assert prompt.data == "Answer in French."


# -- Trace's examples/greeting.py, ported by changing the imports ------------------------------------
@trace.model
class Agent:

    def __init__(self, system_prompt):
        self.system_prompt = system_prompt
        self.instruct1 = trace.node("Decide the language", trainable=True)
        self.instruct2 = trace.node("Extract name if it's there", trainable=True)

    def __call__(self, user_query):
        response = trace.operators.call_llm(self.system_prompt,
                                            self.instruct1, user_query)
        en_or_es = self.decide_lang(response)

        user_name = trace.operators.call_llm(self.system_prompt,
                                             self.instruct2, user_query)
        greeting = self.greet(en_or_es, user_name)

        return greeting

    @trace.bundle(trainable=True)
    def decide_lang(self, response):
        """Map the language into a variable"""
        return

    @trace.bundle(trainable=True)
    def greet(self, lang, user_name):
        """Produce a greeting based on the language"""
        greeting = "Hola"
        return f"{greeting}, {user_name}!"


def feedback_fn(generated_response, gold_label='en'):
    if gold_label == 'en' and 'Hello' in generated_response:
        return "Correct"
    elif gold_label == 'es' and 'Hola' in generated_response:
        return "Correct"
    else:
        return "Incorrect"


DECIDE_LANG = '''def decide_lang(self, response):
    """Map the language into a variable"""
    return 'es' if 'spanish' in response.lower() else 'en'
'''
GREET = '''def greet(self, lang, user_name):
    """Produce a greeting based on the language"""
    greeting = "Hola" if lang == "es" else "Hello"
    return f"{greeting}, {user_name}!"
'''


def test_greeting_agent_improves_from_scripted_feedback(server: ChatServer) -> None:
    agent = Agent("You are a sales assistant.")
    code = {p.data.split("(")[0].removeprefix("def "): p.py_name for p in agent.parameters() if "def " in p.data}
    suggestion = {code["decide_lang"]: DECIDE_LANG, code["greet"]: GREET}

    def respond(body: dict[str, Any]) -> str:
        messages = body["messages"]
        if messages[0]["content"] == "You are a sales assistant.":  # the agent's own calls
            instruction, query = messages[1]["content"], messages[2]["content"]
            if instruction.startswith("Decide the language"):
                return "The language is Spanish." if "Hola" in query else "The language is English."
            return "Juan"
        return json.dumps({"reasoning": "greet always says Hola; map the language and use it.",
                           "answer": "", "suggestion": suggestion})

    server.responder = respond
    optimizer = OptoPrime(agent.parameters(), llm=optimizer_llm(server))
    feedbacks = []
    for _ in range(3):  # Trace's train() loop
        try:
            greeting = agent("Hello, I'm Juan.")
            feedback = feedback_fn(greeting.data, 'en')
        except ExecutionError as e:
            greeting = e.exception_node
            feedback = greeting.data
        feedbacks.append(feedback)
        if feedback == 'Correct':
            break
        optimizer.zero_feedback()
        optimizer.backward(greeting, feedback)
        optimizer.step()

    assert feedbacks == ["Incorrect", "Correct"]
    assert agent("Hola, soy Juan.").data == "Hola, Juan!"
    optimizer_requests = [r for r in server.completion_requests if r.body["model"] == "optimizer-model"]
    assert len(optimizer_requests) == 1
    prompt = optimizer_requests[0].last_user_message
    assert "Decide the language" in prompt and "def greet(self, lang, user_name)" in prompt
    assert len(program_llm().meter.calls) == 6 and len(optimizer.llm.meter.calls) == 1
