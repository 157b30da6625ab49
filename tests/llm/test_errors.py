"""Retries through the SDK's own machinery, then one clear LLMError; bad requests fail at once."""

from __future__ import annotations

import logging

import pytest

from trace_workbench.llm import (
    LLMAuthError,
    LLMConnectionError,
    LLMError,
    LLMRateLimitError,
    LLMRequestError,
    LLMResponseError,
    LLMServerError,
    LLMTimeoutError,
    LLMUnavailableError,
)


def test_rate_limits_are_retried_honouring_retry_after(server, make_llm, caplog):
    server.add_replies("warm up", "finally")
    llm = make_llm(max_retries=3)
    llm("warm up")
    server.rate_limit(retry_after=0.05, times=3)
    caplog.set_level(logging.INFO, logger="openai._base_client")
    reply = llm("hi")
    assert reply.choices[0].message.content == "finally"
    assert len(server.requests) == 5
    # The SDK says how long it waits before each retry: without Retry-After it would be 0.375-0.5, 0.75-1, 1.5-2 s.
    waits = [r.args[0] for r in caplog.records if r.getMessage().startswith("Retrying request in")]
    assert waits == [0.05, 0.05, 0.05]


def test_rate_limit_until_the_retries_run_out(server, make_llm):
    server.rate_limit(retry_after=0.01, times=10, message="Rate limit reached for requests per minute")
    with pytest.raises(LLMRateLimitError) as caught:
        make_llm(max_retries=2)("hi")
    err = caught.value
    assert isinstance(err, LLMUnavailableError) and isinstance(err, LLMError)
    assert (err.attempts, err.status_code) == (3, 429)
    assert err.server_message == "Rate limit reached for requests per minute"
    assert "after 3 attempts" in str(err)
    assert "Rate limit reached for requests per minute" in str(err)
    assert "'test-model'" in str(err) and server.base_url in str(err)
    assert len(server.requests) == 3


def test_server_errors_are_retried(server, make_llm):
    server.add_replies("recovered")
    server.fail(502, "bad gateway", headers={"Retry-After": "0.01"})
    server.fail(500, "oops", headers={"Retry-After": "0.01"})
    assert make_llm()("hi").choices[0].message.content == "recovered"
    assert len(server.requests) == 3


def test_server_errors_until_the_retries_run_out(server, make_llm):
    server.fail(503, "overloaded", times=5, headers={"Retry-After": "0.01"})
    with pytest.raises(LLMServerError) as caught:
        make_llm(max_retries=1)("hi")
    assert (caught.value.attempts, caught.value.status_code) == (2, 503)
    assert "HTTP 503" in str(caught.value) and "after 2 attempts" in str(caught.value)
    assert "overloaded" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(400, LLMRequestError), (401, LLMAuthError), (403, LLMAuthError), (404, LLMRequestError),
     (422, LLMRequestError)],
)
def test_bad_requests_fail_at_once_with_the_server_message(server, make_llm, status, error_type):
    server.fail(status, f"server explains {status}", times=5)
    with pytest.raises(error_type) as caught:
        make_llm(max_retries=3)("hi")
    err = caught.value
    assert isinstance(err, LLMRequestError) and not isinstance(err, LLMUnavailableError)
    assert (err.attempts, err.status_code) == (1, status)
    assert f"server explains {status}" in str(err) and f"HTTP {status}" in str(err)
    assert len(server.requests) == 1


def test_authentication_error_says_which_key_to_check(server, make_llm):
    server.fail(401, "Incorrect API key provided")
    with pytest.raises(LLMAuthError, match="OPENAI_API_KEY"):
        make_llm()("hi")


def test_a_timeout_is_retried_and_the_retry_succeeds(server, make_llm):
    server.add_replies("on time")
    server.slow(3.0)
    assert make_llm(timeout=0.3, max_retries=1)("hi").choices[0].message.content == "on time"
    assert len(server.requests) == 2


def test_timeouts_until_the_retries_run_out(server, make_llm):
    server.slow(3.0, times=2)
    with pytest.raises(LLMTimeoutError) as caught:
        make_llm(timeout=0.2, max_retries=1)("hi")
    assert isinstance(caught.value, LLMConnectionError)
    assert caught.value.attempts == 2
    assert "timed out after 2 attempts" in str(caught.value)
    assert "timeout 0.2 s" in str(caught.value)


def test_per_call_timeout(server, make_llm):
    server.slow(3.0)
    with pytest.raises(LLMTimeoutError, match="timed out after 1 attempt "):
        make_llm(timeout=10.0, max_retries=0)("hi", timeout=0.2)


def test_a_dropped_connection_is_retried(server, make_llm):
    server.add_replies("reconnected")
    server.drop()
    assert make_llm()("hi").choices[0].message.content == "reconnected"
    assert len(server.requests) == 2


def test_dropped_connections_until_the_retries_run_out(server, make_llm):
    server.drop(times=5)
    with pytest.raises(LLMConnectionError) as caught:
        make_llm(max_retries=1)("hi")
    assert not isinstance(caught.value, LLMTimeoutError)
    assert caught.value.attempts == 2
    assert "connection failed after 2 attempts" in str(caught.value)


def test_an_unreachable_server_is_a_connection_error(make_llm):
    with pytest.raises(LLMConnectionError, match="127.0.0.1:9"):
        make_llm(base_url="http://127.0.0.1:9/v1", max_retries=0)("hi")


def test_a_malformed_body_is_a_response_error(server, make_llm):
    server.malformed()
    with pytest.raises(LLMResponseError, match="not valid JSON"):
        make_llm()("hi")


def test_a_response_without_choices_is_a_response_error(server, make_llm):
    server.add_replies({"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []})
    with pytest.raises(LLMResponseError, match="no choices"):
        make_llm()("hi")


def test_a_failed_call_is_not_metered(server, make_llm):
    server.fail(400, "nope")
    llm = make_llm()
    with pytest.raises(LLMRequestError):
        llm("hi")
    assert llm.meter.calls == []


def test_a_trickling_reply_times_out_by_one_deadline(server, make_llm):
    """A body sent one byte every 0.05 s would take minutes; the whole attempt ends by the timeout."""
    server.trickle(0.05, times=2)
    llm = make_llm(timeout=1.0, max_retries=1)
    with pytest.raises(LLMTimeoutError, match="timed out after 2 attempts"):  # read whole, it would be no error
        llm("hello")
    assert len(server.completion_requests) == 2


def test_a_trickle_shorter_than_the_timeout_is_read_whole(server, make_llm):
    server.trickle(0.0005, content="slowly")
    assert make_llm(timeout=10.0).create(messages="hi").choices[0].message.content == "slowly"


def test_a_long_retry_after_is_reported_with_the_wait_asked_for(server, make_llm):
    server.rate_limit(retry_after=3600)
    with pytest.raises(LLMRateLimitError) as error:
        make_llm(max_retries=2)("hello")
    assert len(server.completion_requests) == 1
    assert "asked to wait 1 h before trying again (Retry-After: 3600)" in str(error.value)
    assert "did not retry" in str(error.value)
