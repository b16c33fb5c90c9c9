"""Retry policy for the Live connection: which failures are worth another attempt, and when.

Pure logic, no I/O. The Live service reports most failures as WebSocket close codes, which the
SDK raises as `google.genai.errors.APIError` with `code` set to the close code.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# Close codes after which the same request fails again: reconnecting would only replay it.
# 1008 only when it refuses the setup (unknown or shut-down model, no key): after a setup the
# service accepted, it also ends sessions with 1008 "Operation is not implemented, or
# supported, or enabled", intermittently and often during tool calls (googleapis/js-genai
# issue 1236, livekit/agents issue 4545); resuming with the handle works there (pipecat's
# gemini_live llm.py reconnects on every receive error, up to a failure budget).
FATAL_CLOSE_CODES = frozenset({1007, 1008})


@dataclass(frozen=True, slots=True)
class Failure:
    """A classified connection failure. `message` is safe to show a user and to log."""

    recoverable: bool
    message: str
    code: int | None = None
    resume_rejected: bool = False


def classify(exc: BaseException, *, model: str, after_setup: bool = False) -> Failure:
    """Turn an exception from connecting to or talking with the Live service into a Failure.

    `after_setup`: the service had accepted this connection's setup (setupComplete), so a
    1008 is a mid-session close worth resuming from, not a refusal of the request."""
    from google.genai import errors
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    from googlive.live.models import shut_down_on

    if isinstance(exc, errors.APIError):
        code = exc.code
        # For close codes the SDK puts the close reason in `details` (message is None).
        text = " ".join(str(x) for x in (exc.message, exc.status, exc.details) if x)
        low = text.lower()
        if code == 1007:
            if "api key" in low:
                return Failure(
                    False,
                    "Gemini rejected the API key (API key not valid). Check the key and try again.",
                    code,
                )
            return Failure(
                False,
                "Gemini rejected the data the app sent (invalid argument). The session was ended.",
                code,
            )
        if code == 1008 and after_setup:
            return Failure(
                True,
                "Gemini closed the connection (close code 1008, operation not supported); resuming the session.",
                code,
            )
        if code == 1008:
            if "not found" in low and "session" in low:
                return Failure(
                    True,
                    "The previous session could not be resumed; starting a fresh one.",
                    code,
                    resume_rejected=True,
                )
            if "not found" in low or "not supported" in low:
                gone = shut_down_on(model)
                if gone:
                    return Failure(
                        False,
                        f"The model '{model}' was shut down on {gone}. Choose another model (e.g. gemini-3.8-live).",
                        code,
                    )
                return Failure(
                    False,
                    f"The model '{model}' was not found or does not support the Live API. Choose another model.",
                    code,
                )
            if "unregistered" in low or "api key" in low:
                return Failure(
                    False,
                    "No valid API key was sent. Enter a Gemini API key, or use the offline demo.",
                    code,
                )
            return Failure(
                False, "Gemini refused the session (policy violation, close code 1008).", code
            )
        if code == 1011:
            return Failure(
                True, "Gemini closed the connection with an internal error; reconnecting.", code
            )
        if code == 1006:
            return Failure(True, "The connection to Gemini dropped; reconnecting.", code)
        if code in (1000, 1001):
            return Failure(True, "Gemini closed the connection; reconnecting.", code)
        if isinstance(code, int) and 400 <= code < 500 and code not in (408, 429):
            return Failure(False, f"Gemini refused the request (HTTP {code}).", code)
        return Failure(True, f"Gemini reported an error (code {code}); reconnecting.", code)
    if isinstance(exc, ConnectionClosed):
        return Failure(True, "The connection to Gemini dropped; reconnecting.", 1006)
    if isinstance(exc, TimeoutError):
        return Failure(True, "Gemini did not answer in time; reconnecting.")
    if isinstance(exc, InvalidHandshake):
        return Failure(True, "The Live server refused the WebSocket handshake; retrying.")
    if isinstance(exc, ConnectionRefusedError):
        return Failure(True, "Could not reach the Live server (connection refused); retrying.")
    if isinstance(exc, OSError):
        return Failure(True, "Network error talking to Gemini; retrying.")
    if isinstance(exc, (TypeError, ValueError)):
        # The SDK raises these for frames it cannot parse (garbage or unknown-only frames).
        return Failure(True, "Gemini sent a message the app could not read; reconnecting.")
    return Failure(True, f"Unexpected error ({type(exc).__name__}); reconnecting.")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter, capped; attempts counted from 1."""

    base_s: float = 0.5
    cap_s: float = 15.0
    max_attempts: int = 8
    stable_s: float = 30.0  # a connection that lived this long resets the attempt counter
    jitter: float = 0.5  # fraction of the delay that is randomised
    # A backend never reached once (no network, wrong host, a server that never answers the
    # setup) is given this many connection attempts in all, then the call fails with
    # UNREACHED instead of retrying for minutes: it was not a dropped line to wait out.
    unreached_attempts: int = 3

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        if attempt <= 1:
            raw = self.base_s
        else:
            raw = min(self.cap_s, self.base_s * (2 ** (attempt - 1)))
        r = (rng or random).random()
        return raw * (1 - self.jitter) + raw * self.jitter * r

    def exhausted(self, attempt: int) -> bool:
        return attempt > self.max_attempts

    def unreached_exhausted(self, failures: int, *, ever_connected: bool) -> bool:
        """After `failures` failed attempts of a session that never connected: give up?"""
        return not ever_connected and failures >= self.unreached_attempts


def unreached_message(target: str, reason: str = "") -> str:
    """What the page says when `target` ("Gemini", "the offline demo") was never reached;
    `reason` is the last failure's message (without its "; retrying" tail)."""
    for tail in (".", "; retrying", "; reconnecting"):
        reason = reason.strip().removesuffix(tail)
    detail = f" ({reason})" if reason else ""
    return (
        f"Can't reach {target} — check the connection{detail}. "
        "Then press Start conversation to try again."
    )


def parse_duration(text: str | None) -> float | None:
    """Parse a protobuf duration string such as '50s' or '1.5s' into seconds."""
    if not text:
        return None
    t = text.strip()
    if t.endswith("s"):
        t = t[:-1]
    try:
        v = float(t)
    except ValueError:
        return None
    return v if v >= 0 else None
