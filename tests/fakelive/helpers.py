"""Signals and a turn collector shared by the fakelive tests."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
from google.genai import types

T = 1.0  # scales every test timeout
RATE_IN = 16000
MODEL = "gemini-3.8-live"  # the default family
MODEL_31 = "gemini-3.1-flash-live-preview"  # blocking tools, immediate interruption
MODEL_25 = "gemini-2.5-flash-native-audio-preview-12-2025"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(64)) + b"\xff\xd9"


def tone(seconds: float, freq: float = 300.0, amp: float = 0.3, rate: int = RATE_IN) -> bytes:
    """A loud sine (PCM16), well above the server's VAD threshold."""
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2").tobytes()


def silence(seconds: float, rate: int = RATE_IN) -> bytes:
    return np.zeros(int(seconds * rate), dtype="<i2").tobytes()


async def send_audio(session: object, pcm: bytes, chunk_ms: int = 100) -> None:
    """Send PCM16 16 kHz in chunks (unpaced: the server's VAD runs on audio time)."""
    step = RATE_IN * chunk_ms // 1000 * 2
    for i in range(0, len(pcm), step):
        await session.send_realtime_input(  # type: ignore[attr-defined]
            audio=types.Blob(data=pcm[i : i + step], mime_type="audio/pcm;rate=16000")
        )


async def say(session: object, seconds: float = 1.0) -> None:
    """One spoken utterance: loud tone, then enough silence to end the turn."""
    await send_audio(session, tone(seconds) + silence(0.7))


@dataclass
class Turn:
    """Everything one ``session.receive()`` pass yielded."""

    audio: bytearray = field(default_factory=bytearray)
    audio_msgs: int = 0
    input_text: str = ""
    output_text: str = ""
    input_finished: bool = False
    generation_complete: bool = False
    interrupted: bool = False
    turn_complete: bool = False
    usage: types.UsageMetadata | None = None
    tool_calls: list[types.FunctionCall] = field(default_factory=list)
    cancellations: list[str] = field(default_factory=list)
    handles: list[str] = field(default_factory=list)
    go_away: types.LiveServerGoAway | None = None
    audio_after_interrupted: int = 0
    order: list[str] = field(default_factory=list)

    @property
    def audio_s(self) -> float:
        return len(self.audio) / 2 / 24000


async def collect(session: object, timeout: float = 10 * T, on_message: object = None) -> Turn:
    """Read one turn (until turnComplete); ``on_message(msg, turn)`` may act on each message."""
    turn = Turn()
    async with asyncio.timeout(timeout):
        async for msg in session.receive():  # type: ignore[attr-defined]
            sc = msg.server_content
            if msg.data:
                turn.audio.extend(msg.data)
                turn.audio_msgs += 1
                turn.order.append("audio")
                if turn.interrupted:
                    turn.audio_after_interrupted += 1
            if sc is not None:
                if sc.input_transcription and sc.input_transcription.text:
                    turn.input_text += sc.input_transcription.text
                    turn.input_finished = bool(sc.input_transcription.finished)
                if sc.output_transcription and sc.output_transcription.text:
                    turn.output_text += sc.output_transcription.text
                if sc.generation_complete:
                    turn.generation_complete = True
                    turn.order.append("generation_complete")
                if sc.interrupted:
                    turn.interrupted = True
                    turn.order.append("interrupted")
                if sc.turn_complete:
                    turn.turn_complete = True
                    turn.usage = msg.usage_metadata
                    turn.order.append("turn_complete")
            if msg.tool_call:
                turn.tool_calls.extend(msg.tool_call.function_calls or [])
                turn.order.append("tool_call")
            if msg.tool_call_cancellation:
                turn.cancellations.extend(msg.tool_call_cancellation.ids or [])
                turn.order.append("cancellation")
            if msg.session_resumption_update and msg.session_resumption_update.new_handle:
                turn.handles.append(msg.session_resumption_update.new_handle)
            if msg.go_away:
                turn.go_away = msg.go_away
                turn.order.append("go_away")
            if on_message is not None:
                await on_message(msg, turn)  # type: ignore[operator]
    return turn


def live_config(**kw: object) -> types.LiveConnectConfig:
    """Audio replies with both transcriptions, plus any extra fields."""
    base: dict[str, object] = {
        "response_modalities": ["AUDIO"],
        "input_audio_transcription": {},
        "output_audio_transcription": {},
    }
    base.update(kw)
    return types.LiveConnectConfig(**base)


DIAGRAM_TOOLS = [
    types.Tool(
        function_declarations=[
            types.FunctionDeclaration(
                name="draw_diagram",
                description="Draw a Mermaid diagram",
                parameters={
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "title": {"type": "string"}},
                    "required": ["code"],
                },
            ),
            types.FunctionDeclaration(
                name="take_picture",
                description="Take a picture with the camera",
                parameters={"type": "object", "properties": {"reason": {"type": "string"}}},
            ),
        ]
    )
]
