"""Pure parts of the fake Live server: wire parsing, VAD, reply synthesis, schema filling."""

from __future__ import annotations

import base64
import enum
import json
from typing import Literal

import numpy as np
import pydantic
import pytest
from google import genai
from google.genai import _transformers as t
from google.genai import types

from googlive.fakelive import protocol as p
from googlive.fakelive import schema_fill, script, voice

from .helpers import JPEG, silence, tone


def test_audio_bytes_decode_urlsafe_and_standard_base64() -> None:
    """Bytes with '-'/'_' (the SDK's URL-safe base64) and standard base64 both decode exactly."""
    data = bytes([0xFB, 0xFF, 0xFE, 0x3E, 0x3F] * 7)
    for enc in (
        base64.urlsafe_b64encode(data).decode().rstrip("="),
        base64.b64encode(data).decode(),
    ):
        frame = json.dumps(
            {"realtime_input": {"audio": {"data": enc, "mime_type": "audio/pcm;rate=16000"}}}
        )
        (event,) = p.parse_client_frame(frame)
        assert isinstance(event, p.AudioIn) and event.pcm == data and event.rate == 16000


def test_setup_parsed_from_sdk_mixed_case_keys() -> None:
    """A setup as the SDK spells it yields model, tools, transcription, manual VAD, resumption."""
    frame = {
        "setup": {
            "model": "models/gemini-3.8-live",
            "generationConfig": {
                "responseModalities": ["AUDIO"],
                "speechConfig": {"voice_config": {"prebuilt_voice_config": {"voice_name": "Kore"}}},
            },
            "tools": [{"functionDeclarations": [{"name": "draw_diagram"}]}],
            "sessionResumption": {"handle": "h1"},
            "inputAudioTranscription": {},
            "realtimeInputConfig": {"automatic_activity_detection": {"disabled": True}},
            "contextWindowCompression": {"sliding_window": {}},
        }
    }
    (setup,) = p.parse_client_frame(json.dumps(frame))
    assert isinstance(setup, p.Setup)
    assert setup.model == "models/gemini-3.8-live" and setup.voice == "Kore"
    assert setup.has_tool("draw_diagram") and not setup.has_tool("take_picture")
    assert setup.resume_handle == "h1" and setup.resumption and setup.context_compression
    assert setup.input_transcription and not setup.output_transcription and setup.manual_activity


def test_non_jpeg_video_is_a_1007_protocol_error() -> None:
    """A PNG sent as video closes with 1007 'Invalid image'; a JPEG is accepted."""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(20)).decode()
    with pytest.raises(p.ProtocolError) as err:
        p.parse_client_frame(
            json.dumps({"realtime_input": {"video": {"data": png, "mime_type": "image/jpeg"}}})
        )
    assert err.value.code == 1007 and "Invalid image" in err.value.reason
    ok = base64.b64encode(JPEG).decode()
    (img,) = p.parse_client_frame(
        json.dumps({"realtime_input": {"mediaChunks": [{"data": ok, "mimeType": "image/jpeg"}]}})
    )
    assert isinstance(img, p.ImageIn) and img.data == JPEG


def test_garbage_client_frame_is_1007() -> None:
    """Non-JSON from the client is refused with 1007."""
    with pytest.raises(p.ProtocolError) as err:
        p.parse_client_frame(b"\x00not json")
    assert err.value.code == 1007


def test_close_reason_fits_a_close_frame() -> None:
    """The long model-not-found message is cut to 123 bytes, as a close frame requires."""
    reason = p.close_reason(p.model_not_found_reason("gemini-x", "v1beta"))
    assert len(reason.encode()) <= 123 and reason.startswith(
        "models/gemini-x is not found for API version v1beta"
    )
    assert p.close_reason("é" * 100).encode().decode() == "é" * 61


def test_go_away_duration_strings() -> None:
    """goAway carries a proto Duration string."""
    assert json.loads(p.go_away_frame(50)) == {"goAway": {"timeLeft": "50s"}}
    assert json.loads(p.go_away_frame(0.5)) == {"goAway": {"timeLeft": "0.500s"}}


def test_vad_finds_one_utterance_in_audio_time() -> None:
    """Tone then 0.6 s of silence: one start near 0.2 s and one end with the tone inside."""
    vad = voice.EnergyVad()
    events = vad.feed(silence(0.2) + tone(1.0) + silence(0.6))
    assert [type(e) for e in events] == [voice.SpeechStarted, voice.SpeechEnded]
    assert events[0].at_s == pytest.approx(0.2, abs=0.03)
    assert 1.0 <= events[1].duration_s <= 1.0 + 0.5 + 0.25
    assert vad.feed(silence(1.0)) == []


def test_vad_flush_ends_open_utterance() -> None:
    """audioStreamEnd (flush) ends an utterance that is still open."""
    vad = voice.EnergyVad()
    assert [type(e) for e in vad.feed(tone(0.5))] == [voice.SpeechStarted]
    (end,) = vad.flush()
    assert isinstance(end, voice.SpeechEnded) and end.duration_s >= 0.5


def test_spread_text_reassembles_and_finishes_early() -> None:
    """Fragments join back to the text and end by ~70 % of the chunks."""
    text = "Offline demo, turn 1: you said: hello there my friend"
    frags = voice.spread_text(text, 20)
    assert "".join(f for f in frags if f) == text
    assert all(f is None for f in frags[15:])


def test_speech_reply_is_chime_plus_the_users_voice() -> None:
    """The demo reply to speech contains the user's audio, resampled to 24 kHz."""
    user = tone(1.0, freq=440.0)
    plan = script.plan_reply(script.UserTurn("speech", 1, pcm=user), None, 0.5, 8.0)
    assert 1.3 <= plan.duration_s <= 1.45
    x = voice.pcm16_to_float(plan.audio)[int(0.5 * 24000) : int(1.0 * 24000)]
    spectrum = np.abs(np.fft.rfft(x))
    assert np.argmax(spectrum) * 24000 / x.size == pytest.approx(440.0, abs=4)
    assert "can't understand speech without Gemini" in plan.text


def test_long_requests_get_long_replies() -> None:
    """'story', 'explain' and 'long' make at least long_reply_s of audio."""
    for text in ("tell me a story", "Explain tides", "a long answer please"):
        plan = script.plan_reply(script.UserTurn("text", 3, text=text), None, 1.0, 8.0)
        assert plan.duration_s >= 8.0 and plan.text.startswith("Offline demo, turn 3: you said: ")


def test_tool_choice_needs_declaration_and_text() -> None:
    """diagram/picture words choose tools only when declared; a queued call always wins."""
    declared = {"draw_diagram", "take_picture"}
    name, args = script.choose_tool_call(
        script.UserTurn("text", 1, text="Draw a diagram"), declared, None
    )
    assert name == "draw_diagram" and args["code"].startswith("flowchart TD")
    assert (
        script.choose_tool_call(script.UserTurn("text", 1, text="take a photo"), declared, None)[0]
        == "take_picture"
    )
    assert (
        script.choose_tool_call(script.UserTurn("text", 1, text="Draw a diagram"), set(), None)
        is None
    )
    queued = ("record_answer", {"q": 1})
    assert (
        script.choose_tool_call(script.UserTurn("speech", 1, pcm=b"\0\0"), set(), queued) == queued
    )


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class Item(pydantic.BaseModel):
    question: str
    score: int = pydantic.Field(ge=1, le=5)


class Analysis(pydantic.BaseModel):
    summary: str
    mood: Mood
    kind: Literal["a", "b"]
    items: list[Item] = pydantic.Field(min_length=1, max_length=3)
    maybe: float | None = None
    flag: bool
    tags: list[str]
    short: str = pydantic.Field(max_length=10)


@pytest.mark.parametrize("dialect", ["responseSchema", "responseJsonSchema"])
def test_schema_fill_validates_against_the_model(dialect: str) -> None:
    """Filled JSON validates for both schema dialects; strings are the honest offline text."""
    if dialect == "responseSchema":
        client = genai.Client(api_key="x")
        schema = t.t_schema(client._api_client, Analysis).model_dump(
            exclude_none=True, mode="json", by_alias=True
        )
    else:
        schema = Analysis.model_json_schema()
    value = schema_fill.fill(schema, lambda path: f"Offline demo {path}")
    parsed = Analysis.model_validate(value)
    assert parsed.summary == "Offline demo summary" and parsed.mood is Mood.HAPPY
    assert 1 <= len(parsed.items) <= 2 and parsed.items[0].score in range(1, 6)
    with pytest.raises(pydantic.ValidationError):
        Analysis.model_validate(schema_fill.violate(schema))


def test_usage_grows_with_content() -> None:
    """Turn usage is a deterministic function of the content."""
    u = p.TurnUsage(prompt_audio=32, prompt_text=3, response_audio=64)
    assert (u.prompt, u.response, u.total) == (35, 64, 99)
    msg = types.LiveServerMessage.model_validate(json.loads(p.turn_complete_frame(u)))
    assert msg.usage_metadata.total_token_count == 99
