"""The API key never shows: not in reprs, errors, logs, the cache, record files or pickles."""

from __future__ import annotations

import logging
import pickle

import pytest

from trace_workbench.llm import LLM, LLMAuthError, LLMError, LLMRateLimitError
from trace_workbench.llm.config import redact_text

SENTINEL = "sk-SENTINEL-9f8e7d6c5b4a"


def test_the_key_never_leaves_the_http_request(server, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    cache, record = tmp_path / "cache.sqlite3", tmp_path / "record.jsonl"
    llm = LLM("test-model", base_url=server.base_url, api_key=SENTINEL, cache=cache, record=record,
              max_retries=1, timeout=5)
    server.add_replies("first", "second")
    server.rate_limit(retry_after=0.01)
    llm("hello")
    llm("hello")  # from the cache, recorded again
    llm("another")
    server.fail(401, f"Incorrect API key provided: {SENTINEL}")
    with pytest.raises(LLMAuthError) as auth_error:
        llm("rejected")
    server.rate_limit(retry_after=0.01, times=2, message=f"key {SENTINEL} is over its quota")
    with pytest.raises(LLMRateLimitError) as rate_error:
        llm("limited")

    headers = {k.lower(): v for k, v in server.requests[0].headers.items()}
    assert headers["authorization"] == f"Bearer {SENTINEL}"  # it did reach the server

    texts = {
        "repr": repr(llm),
        "str": str(llm),
        "config": repr(llm.config()),
        "describe": llm.config().describe(),
        "meter": repr(llm.meter),
        "auth error": str(auth_error.value) + repr(auth_error.value.args),
        "rate error": str(rate_error.value) + str(rate_error.value.server_message),
        "logs": caplog.text,
    }
    for where, text in texts.items():
        assert SENTINEL not in text, where
    assert "***" in str(auth_error.value)
    files = [cache, record, *tmp_path.glob("cache.sqlite3-*")]
    assert record.read_text().count("\n") == 3
    for path in files:
        assert SENTINEL.encode() not in path.read_bytes(), path.name
    assert SENTINEL.encode() not in pickle.dumps(llm)


URL_KEY = "sk-URLKEY-1a2b3c4d5e"


def test_a_key_in_the_base_url_never_shows(server):
    """Credentials in the base URL's user-info and query are redacted in reprs, errors and their context."""
    url = f"http://user:{URL_KEY}@127.0.0.1:{server.port}/v1?api-key={URL_KEY}"
    llm = LLM("test-model", base_url=url, api_key="other-key-123456", max_retries=0, timeout=5)
    with pytest.raises(LLMError) as error:  # the test server echoes the path, query (and key) included
        llm("hello")
    assert URL_KEY in server.requests[-1].path  # the key did reach the server
    shown = {
        "repr(config)": repr(llm.config()),
        "describe": llm.config().describe(),
        "repr(llm)": repr(llm),
        "error": str(error.value),
        "server_message": str(error.value.server_message),
        "context": repr(error.value.__context__),
        "cause": repr(error.value.__cause__),
    }
    for where, text in shown.items():
        assert URL_KEY not in text, where
    assert "http://***@127.0.0.1" in shown["repr(config)"] and "?api-key=***" in shown["repr(config)"]
    assert "Server said" in shown["error"] and "***" in shown["server_message"]


def test_a_short_key_is_redacted_as_a_whole_token_only(server):
    server.fail(400, "the test-key is wrong for this test; testing is over")
    llm = LLM("test-model", base_url=server.base_url, api_key="test", max_retries=0, timeout=5)
    with pytest.raises(LLMError) as error:
        llm("hello")
    assert 'Server said: "the test-key is wrong for this ***; testing is over"' in str(error.value)


def test_redact_text_replaces_long_secrets_anywhere():
    assert redact_text("path?k=sk-LONGSECRET99chat", ["sk-LONGSECRET99"]) == "path?k=***chat"
    assert redact_text("a bad day", ["a"]) == "*** bad day"
    assert redact_text("nothing here", []) == "nothing here"
