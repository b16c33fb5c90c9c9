"""The local Live server's knobs (``FakeLiveConfig``) and what it records (``FakeLiveStats``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import profiles, turnpolicy


@dataclass
class FakeLiveConfig:
    """Behaviour of the fake server. Every field may be changed while the server runs."""

    # Models that setup may name (without "models/"), and accepted prefixes. A shut-down model
    # is refused like an unknown one (profiles.py has the sources). Behaviour follows the
    # model's family (profiles.PROFILES); a known name of no family gets ``default_family``.
    known_models: list[str] = field(
        default_factory=lambda: [profiles.FAMILY_38, profiles.FAMILY_31]
    )
    known_model_prefixes: list[str] = field(default_factory=lambda: [profiles.FAMILY_25 + "-"])
    shut_down_models: list[str] = field(default_factory=lambda: list(profiles.SHUT_DOWN_MODELS))
    default_family: str = profiles.FAMILY_38
    # Per family, Profile fields to replace, e.g. {"gemini-3.1-flash-live-preview":
    # {"default_turn_coverage": "TURN_INCLUDES_ONLY_ACTIVITY"}} (see the discrepancies there).
    profile_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Polite interruption (families with Profile.polite_interruption, i.e. gemini-3.8-live):
    # user speech that starts while the model talks interrupts only once it has lasted this
    # much voiced audio, and then only this much (wall clock) later; shorter speech is a
    # backchannel and the reply goes on. turnpolicy.py explains the choice and the timing.
    backchannel_max_s: float = turnpolicy.DEFAULT_BACKCHANNEL_MAX_S
    polite_interrupt_delay_s: float = turnpolicy.DEFAULT_POLITE_INTERRUPT_DELAY_S
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
    # For a turn cut by the user: turnComplete first, then interrupted (livekit's realtime_api
    # handles this order, seen from the real service).
    turn_complete_before_interrupted: bool = False
    # Usage in its own message with an empty serverContent, right after turnComplete
    # (livekit/agents PR 5238) instead of on the turnComplete message.
    usage_on_empty_server_content: bool = False
    # Usage also reports toolUsePromptTokenCount (tool responses, no longer in the prompt count)
    # and thoughtsTokenCount (google-genai UsageMetadata has both).
    usage_detail_counts: bool = False
    # Once: close 1008 "Operation is not implemented, or supported, or enabled." right after
    # this server has sent its Nth toolCall (js-genai 1236, livekit 4545); then resets to None.
    close_1008_on_tool_call: int | None = None
    # Once: the first connection set up while this is set closes with that 1008 after this many
    # seconds; then resets to None.
    close_1008_after_s: float | None = None
    # A FunctionResponse for a call issued on an earlier connection of the conversation is
    # ignored, as the real service does (pipecat PR 5497); True answers it like WHEN_IDLE.
    answer_stale_tool_responses: bool = False
    # Memory bounds.
    max_images_kept: int = 64


@dataclass
class ConnectionInfo:
    """One WebSocket connection, as the server saw it."""

    id: int
    opened_at: float
    model: str | None = None
    family: str | None = None  # the profile the model's name chose
    turn_coverage: str | None = None  # in force for this connection
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
class ToolResult:
    """What one FunctionResponse led to (FakeLiveStats.tool_results)."""

    id: str | None
    name: str | None
    scheduling: str | None  # as sent (None: unset, which means WHEN_IDLE)
    blocking: bool | None  # how the call ran; None for an unknown call id
    # "blocking" (the waiting reply used it), "silent", "speak_now", "interrupt", "queued",
    # "stale" (issued on an earlier connection: ignored), "unknown" (no such pending call)
    delivery: str
    spoken: bool = False  # a model turn spoke about it
    reply_text: str | None = None  # that turn's transcript
    turn: int | None = None  # the conversation turn number it was spoken in


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
    thoughts_tokens_sent: int = 0
    tool_use_prompt_tokens_sent: int = 0
    setups_refused: int = 0  # refused by the model's profile (1007) or as shut down (1008)
    client_content_refused: int = 0  # mid-session client content a profile refuses (1007)
    tool_results: list[ToolResult] = field(default_factory=list)
    backchannels: int = 0  # user speech during a reply that did not interrupt it
    polite_interruptions: int = 0  # user speech that interrupted after the backchannel limit
    video_frames_left_out: int = 0  # realtime frames the turn coverage kept out of context
    # Images that entered the model's context: source, resolution, tokens, bytes.
    context_images: list[dict[str, Any]] = field(default_factory=list)
    model_turn_texts: list[str] = field(default_factory=list)  # every model turn's transcript
    closes_1008_injected: int = 0
    last_setup: dict[str, Any] | None = None
    last_jpeg: bytes | None = None
    images: list[bytes] = field(default_factory=list)  # client_content and tool responses
    rest_requests: int = 0
    last_rest_request: dict[str, Any] | None = None
    connections: list[ConnectionInfo] = field(default_factory=list)

    @property
    def open_connections(self) -> int:
        return sum(1 for c in self.connections if c.closed_at is None)
