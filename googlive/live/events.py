"""Typed events that cross module boundaries.

The Live session produces them; the handler and the UI consume them. They are small,
immutable dataclasses with a closed set of kinds so that every consumer can match on them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
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
    """Token counts as the service reports them (google-genai types.UsageMetadata).

    `total_tokens` counts prompt, response, thought and tool-use prompt tokens. The
    `prompt_*_tokens` split the prompt by modality where the service says (video frames and
    images both count as video); they need not add up to `prompt_tokens`.
    """

    prompt_tokens: int = 0
    response_tokens: int = 0
    total_tokens: int = 0
    thoughts_tokens: int = 0
    tool_use_prompt_tokens: int = 0
    cached_tokens: int = 0
    prompt_audio_tokens: int = 0
    prompt_video_tokens: int = 0
    prompt_text_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Usage)))

    @property
    def input_tokens(self) -> int:
        """What is billed as input: the prompt and the tool-use prompt."""
        return self.prompt_tokens + self.tool_use_prompt_tokens

    @property
    def output_tokens(self) -> int:
        """What is billed as output: the response and the model's thoughts."""
        return self.response_tokens + self.thoughts_tokens


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
class UsageReport:
    """Usage that arrived after its turn's TurnComplete (e.g. in a message of its own with an
    empty serverContent): it belongs to `turn`, which has already completed."""

    turn: int
    usage: Usage


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
    | UsageReport
    | ToolCall
    | ToolCallCancelled
    | GoAway
    | StateChanged
    | SessionError
)
