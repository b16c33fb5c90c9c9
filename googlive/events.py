"""Typed events that cross module boundaries.

The Live session produces them; the handler and the UI consume them. They are small,
immutable dataclasses with a closed set of kinds so that every consumer can match on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class SessionState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


class Role(StrEnum):
    USER = "user"
    MODEL = "model"


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    response_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.response_tokens + other.response_tokens,
            self.total_tokens + other.total_tokens,
        )


@dataclass(frozen=True, slots=True)
class AudioOut:
    """A chunk of model speech: PCM16 little-endian mono at `rate` Hz."""

    pcm: bytes
    rate: int = 24000
    turn: int = 0
    received_at: float = 0.0  # time.perf_counter() when the frame came off the socket


@dataclass(frozen=True, slots=True)
class TranscriptDelta:
    """A transcript fragment; `line` is the whole stitched line so far for this turn."""

    role: Role
    text: str
    line: str
    turn: int
    final: bool = False


@dataclass(frozen=True, slots=True)
class Interrupted:
    turn: int


@dataclass(frozen=True, slots=True)
class TurnComplete:
    turn: int
    usage: Usage | None = None


@dataclass(frozen=True, slots=True)
class ToolCall:
    id: str
    name: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolCallCancelled:
    ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GoAway:
    time_left_s: float


@dataclass(frozen=True, slots=True)
class StateChanged:
    state: SessionState
    attempt: int = 0
    delay_s: float = 0.0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class SessionError:
    """A user-facing error. `message` never holds user content or keys."""

    message: str
    recoverable: bool
    code: int | None = None


LiveEvent = (
    AudioOut
    | TranscriptDelta
    | Interrupted
    | TurnComplete
    | ToolCall
    | ToolCallCancelled
    | GoAway
    | StateChanged
    | SessionError
)
