"""What a LiveSession asks of the service: its settings (`LiveConfig`) and the setup message
they make (`connect_config`). Pure; the model family decides through googlive.live.models."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.genai import types

from googlive.live import models
from googlive.live.audioend import DEFAULT_PAUSE_S
from googlive.live.retry import Backoff


@dataclass(frozen=True)
class LiveConfig:
    model: str
    voice: str = "Puck"
    system_instruction: str | None = None
    tools: tuple[types.Tool, ...] = ()
    input_transcription: bool = True
    output_transcription: bool = True
    manual_activity: bool = False
    compression: bool = True
    compression_trigger_tokens: int = 100_000
    compression_target_tokens: int = 60_000
    setup_timeout_s: float = 10.0
    go_away_margin_s: float = 5.0
    backoff: Backoff = field(default_factory=Backoff)
    max_pending_audio_s: float = 5.0
    event_queue_size: int = 1024
    # audioStreamEnd after this long without mic frames (None: never); see googlive/live/audioend.py
    audio_stream_end_after_s: float | None = DEFAULT_PAUSE_S
    # None: googlive.live.models.choices_for(model) decides (media resolution, turn coverage, stills)
    choices: models.LiveChoices | None = None


def connect_config(
    c: LiveConfig, choices: models.LiveChoices, handle: str | None
) -> types.LiveConnectConfig:
    """The LiveConnectConfig for one connection (resuming with `handle` when set). It carries
    only what the family accepts: no proactivity (3.8 has it always on and refuses `false`;
    3.1 refuses it), no affective dialog (removed in 3.8, unsupported in 3.1), no thinking
    config (3.8 refuses it) — googlive.live.models has the sources."""
    kw: dict[str, Any] = {
        "response_modalities": [types.Modality.AUDIO],
        "speech_config": types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=c.voice)
            )
        ),
        "session_resumption": types.SessionResumptionConfig(handle=handle),
        # Set on purpose, per family (googlive.live.models.choices_for says why): what a webcam
        # frame costs, and which input counts as the user's turn.
        "media_resolution": choices.media_resolution,
    }
    if c.system_instruction:
        kw["system_instruction"] = types.Content(
            role="user", parts=[types.Part(text=c.system_instruction)]
        )
    if c.tools:
        # Declarations as this family takes them (`behavior` only where it is honoured).
        kw["tools"] = models.adapt_tools(c.tools, c.model)
    if c.input_transcription:
        kw["input_audio_transcription"] = types.AudioTranscriptionConfig()
    if c.output_transcription:
        kw["output_audio_transcription"] = types.AudioTranscriptionConfig()
    realtime: dict[str, Any] = {"turn_coverage": choices.turn_coverage}
    if c.manual_activity:
        realtime["automatic_activity_detection"] = types.AutomaticActivityDetection(disabled=True)
    kw["realtime_input_config"] = types.RealtimeInputConfig(**realtime)
    if c.compression:
        kw["context_window_compression"] = types.ContextWindowCompressionConfig(
            trigger_tokens=c.compression_trigger_tokens,
            sliding_window=types.SlidingWindow(target_tokens=c.compression_target_tokens),
        )
    return types.LiveConnectConfig(**kw)


__all__ = ["LiveConfig", "connect_config"]
