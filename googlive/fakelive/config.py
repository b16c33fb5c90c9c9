"""The local Live server's knobs (``FakeLiveConfig``) and what it records (``FakeLiveStats``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeLiveConfig:
    """Behaviour of the fake server. Every field may be changed while the server runs."""

    # Models that setup may name (without "models/"), and accepted prefixes.
    known_models: list[str] = field(
        default_factory=lambda: [
            "gemini-3.8-live",
            "gemini-3.1-flash-live-preview",
            "gemini-live-2.5-flash-preview",
        ]
    )
    known_model_prefixes: list[str] = field(
        default_factory=lambda: ["gemini-2.5-flash-native-audio-preview-"]
    )
    # REST generateContent models: None accepts any name starting with "gemini-".
    rest_models: list[str] | None = None
    # Voice activity detection (automatic mode) on the 16 kHz input.
    vad_threshold: float = 500.0  # RMS in int16 units (about -36 dBFS)
    vad_silence_s: float = 0.5
    # Replies.
    speed: float = 3.0  # send audio this many times faster than real time (<= 0: no pacing)
    chunk_ms: int = 80
    min_reply_s: float = 1.5
    long_reply_s: float = 8.5
    reply_delay_s: float = 0.0  # wait before the first reply chunk (latency tests)
    tool_response_timeout_s: float = 60.0
    # Connection lifetime: goAway ``go_away_lead_s`` before the end, then close 1011.
    connection_lifetime_s: float = 600.0
    go_away_lead_s: float = 60.0
    # Without contextWindowCompression, a session that received video ends after this long.
    max_av_session_s: float | None = 120.0
    # Faults.
    setup_delay_s: float = 0.0
    never_answer_setup: bool = False
    drop_after_reply_chunks: int | None = None  # once: abort TCP after N chunks of a reply
    send_unknown_frame: bool = False  # after setupComplete, a frame with only unknown keys
    send_garbage: bool = False  # after setupComplete, a non-JSON frame
    rest_bad_responses: int = 0  # the next N REST answers violate the schema
    rest_error_status: int | None = None  # REST answers this HTTP error while set ...
    rest_error_count: int | None = None  # ... or only for the next N requests if this is set
    # Memory bounds.
    max_images_kept: int = 64


@dataclass
class ConnectionInfo:
    """One WebSocket connection, as the server saw it."""

    id: int
    opened_at: float
    model: str | None = None
    api_version: str = ""
    session_id: str | None = None
    resumed: bool = False
    setup_done: bool = False
    audio_bytes: int = 0
    video_frames: int = 0
    turns_completed: int = 0
    closed_at: float | None = None
    close_code: int | None = None
    close_reason: str | None = None
    close_by: str | None = None  # "server", "client" or "drop"


@dataclass
class FakeLiveStats:
    """Counters and records for tests. Texts and images are kept in memory, never logged."""

    connections_opened: int = 0
    setups: int = 0
    resumes: int = 0
    audio_bytes_received: int = 0
    audio_chunks_received: int = 0
    video_frames_received: int = 0
    non_jpeg_rejects: int = 0
    texts_received: list[str] = field(default_factory=list)
    tool_calls_sent: list[dict[str, Any]] = field(default_factory=list)
    tool_responses: list[dict[str, Any]] = field(default_factory=list)
    tool_cancellations_sent: list[str] = field(default_factory=list)
    activity_starts: int = 0
    activity_ends: int = 0
    speech_turns: int = 0
    text_turns: int = 0
    interrupted_sent: int = 0
    turns_completed: int = 0
    reply_chunks_sent: int = 0
    reply_audio_bytes_sent: int = 0
    prompt_tokens_sent: int = 0
    response_tokens_sent: int = 0
    go_aways_sent: int = 0
    resumption_updates_sent: int = 0
    last_setup: dict[str, Any] | None = None
    last_jpeg: bytes | None = None
    images: list[bytes] = field(default_factory=list)  # client_content and tool responses
    rest_requests: int = 0
    last_rest_request: dict[str, Any] | None = None
    connections: list[ConnectionInfo] = field(default_factory=list)

    @property
    def open_connections(self) -> int:
        return sum(1 for c in self.connections if c.closed_at is None)
