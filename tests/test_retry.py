"""Retry policy: which Live failures are retried, and how the backoff grows."""

from __future__ import annotations

import random

import pytest
from google.genai import errors
from websockets.exceptions import ConnectionClosedError

from googlive.live.retry import Backoff, classify, parse_duration


def api_error(code: int, message: str) -> errors.APIError:
    """The error exactly as the SDK raises it for a WebSocket close (reason as a string)."""
    try:
        errors.APIError.raise_error(code, message, None)
    except errors.APIError as e:
        return e
    raise AssertionError("raise_error did not raise")


@pytest.mark.parametrize(
    ("code", "message", "recoverable", "needle"),
    [
        (1007, "API key not valid. Please pass a valid API key.", False, "API key"),
        (1008, "models/nope is not found for API version v1beta", False, "'nope'"),
        (1008, "Method doesn't allow unregistered callers", False, "No valid API key"),
        (1008, "Session not found or expired", True, "fresh"),
        (1011, "Internal error", True, "reconnecting"),
        (1006, "Abnormal closure", True, "dropped"),
    ],
)
def test_close_codes_are_classified(code, message, recoverable, needle):
    """1007/1008 end the session with a clear message; 1011/1006 are retried."""
    f = classify(api_error(code, message), model="nope")
    assert f.recoverable is recoverable
    assert needle in f.message
    assert f.code == code


def test_network_errors_are_recoverable():
    """Refused connections, timeouts, raw socket closes and garbage frames are retried."""
    for exc in (
        ConnectionRefusedError(),
        TimeoutError(),
        OSError("x"),
        ValueError("bad json"),
        TypeError("x"),
        ConnectionClosedError(None, None),
    ):
        assert classify(exc, model="m").recoverable, exc


def test_message_never_echoes_server_text():
    """The user-facing message is ours, not the server's text (which could hold anything)."""
    f = classify(api_error(1011, "secret user words"), model="m")
    assert "secret" not in f.message


def test_backoff_grows_exponentially_and_is_capped():
    """Delays double per attempt up to the cap, with bounded jitter."""
    b = Backoff(base_s=0.5, cap_s=4.0, jitter=0.5, max_attempts=5)
    rng = random.Random(1)
    for attempt, raw in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (7, 4.0)]:
        d = b.delay(attempt, rng)
        assert raw * 0.5 <= d <= raw, (attempt, d)
    assert not b.exhausted(5)
    assert b.exhausted(6)


@pytest.mark.parametrize(
    ("text", "seconds"), [("50s", 50.0), ("1.5s", 1.5), ("", None), ("x", None), (None, None)]
)
def test_parse_duration(text, seconds):
    """goAway's timeLeft is a protobuf duration string."""
    assert parse_duration(text) == seconds


def test_1008_after_setup_is_resumed_but_at_setup_it_is_final():
    """The mid-session 1008 "Operation is not implemented, or supported, or enabled" (often
    during tool calls) is resumed from; the same code refusing a setup stays final."""
    text = "Operation is not implemented, or supported, or enabled."
    mid = classify(api_error(1008, text), model="m", after_setup=True)
    assert mid.recoverable and not mid.resume_rejected and mid.code == 1008
    assert "resuming" in mid.message
    for msg in (
        text,
        "models/nope is not found for API version v1beta",
        "Method doesn't allow unregistered callers",
    ):
        assert not classify(api_error(1008, msg), model="nope").recoverable, msg
    # 1007 stays final after a setup too: the same content would be refused again.
    assert not classify(
        api_error(1007, "Request contains an invalid argument."), model="m", after_setup=True
    ).recoverable


def test_a_shut_down_model_is_named_as_such():
    """A model the deprecations page lists as shut down is refused with its date."""
    f = classify(
        api_error(1008, "models/gemini-live-2.5-flash-preview is not found for API version v1beta"),
        model="gemini-live-2.5-flash-preview",
    )
    assert not f.recoverable and "shut down on 2025-12-09" in f.message
