"""The API key never shows: not in reprs, errors, logs, the cache, record files or pickles."""

from __future__ import annotations

import logging
import pickle

import pytest

from trace_workbench.llm import LLM, LLMAuthError, LLMRateLimitError

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
