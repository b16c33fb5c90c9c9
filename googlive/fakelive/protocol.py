"""BidiGenerateContent wire format, without I/O.

``parse_client_frame`` turns one client frame (JSON text or bytes) into typed events; the
``*_frame`` builders produce server frames as the JSON bytes the real service sends (binary
WebSocket frames, camelCase keys, standard base64 for bytes). Client frames use mixed
snake_case / camelCase keys and URL-safe base64 (the SDK's encoding); both spellings and both
base64 alphabets are accepted.

Size: over 400 lines: the BidiGenerateContent wire format in one place, both directions, next to
its sources.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

JPEG_MAGIC = b"\xff\xd8\xff"

# Close codes and reasons, as close as we know to what the real service sends. A close reason
# is at most 123 bytes on the wire; longer ones are cut by :func:`close_reason`.
CLOSE_NORMAL = 1000
CLOSE_INVALID = 1007
CLOSE_POLICY = 1008
CLOSE_INTERNAL = 1011
REASON_BAD_KEY = "API key not valid. Please pass a valid API key."
REASON_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
REASON_DEADLINE = "Deadline expired before operation could complete."
REASON_SESSION_NOT_FOUND = "Session resumption failed: session not found or expired."
REASON_SESSION_BUSY = "Session resumption failed: the session is still attached to a connection."
REASON_AV_LIMIT = "Session duration limit reached (audio+video without context compression)."


def model_not_found_reason(
    model: str, api_version: str, method: str = "bidiGenerateContent"
) -> str:
    """The service's message for an unknown model (callers cut it with :func:`close_reason`)."""
    return (
        f"models/{model} is not found for API version {api_version}, or is not supported for "
        f"{method}. Call ListModels to see the list of available models and their supported "
        "methods."
    )


def close_reason(text: str, limit: int = 123) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes, on a character boundary."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore")


class ProtocolError(Exception):
    """A client frame the server refuses; the connection closes with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = close_reason(reason)


# ---------------------------------------------------------------------------- client events


@dataclass(frozen=True, slots=True)
class FunctionDecl:
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    behavior: str | None = None  # "BLOCKING" / "NON_BLOCKING" as declared, None if unset


@dataclass(frozen=True, slots=True)
class Setup:
    """The parts of a ``setup`` message that the fake server acts on."""

    model: str
    raw: dict[str, Any]
    response_modalities: tuple[str, ...] = ("AUDIO",)
    input_transcription: bool = False
    output_transcription: bool = False
    manual_activity: bool = False
    tools: tuple[FunctionDecl, ...] = ()
    resumption: bool = False
    resume_handle: str | None = None
    context_compression: bool = False
    voice: str | None = None
    system_instruction: str = ""
    media_resolution: str | None = None  # generationConfig.mediaResolution
    initial_history_in_client_content: bool = False  # historyConfig

    def has_tool(self, name: str) -> bool:
        """Whether setup declared a function called ``name``."""
        return any(t.name == name for t in self.tools)

    def tool(self, name: str) -> FunctionDecl | None:
        """The declaration of ``name``, if setup declared it."""
        return next((t for t in self.tools if t.name == name), None)


@dataclass(frozen=True, slots=True)
class AudioIn:
    pcm: bytes
    rate: int


@dataclass(frozen=True, slots=True)
class ImageIn:
    data: bytes
    mime_type: str
    source: str  # "video", "media", "client_content", "tool_response"
    media_resolution: str | None = None  # a Part's own mediaResolution.level


@dataclass(frozen=True, slots=True)
class TextIn:
    text: str
    source: str  # "realtime_input" or "client_content"


@dataclass(frozen=True, slots=True)
class ActivityStart:
    pass


@dataclass(frozen=True, slots=True)
class ActivityEnd:
    pass


@dataclass(frozen=True, slots=True)
class AudioStreamEnd:
    pass


@dataclass(frozen=True, slots=True)
class ClientContent:
    texts: tuple[str, ...]
    images: tuple[ImageIn, ...]
    turn_complete: bool


@dataclass(frozen=True, slots=True)
class FunctionResponse:
    id: str | None
    name: str | None
    response: dict[str, Any]
    images: tuple[ImageIn, ...] = ()
    scheduling: str | None = None  # SILENT / WHEN_IDLE / INTERRUPT as sent, None if unset
    will_continue: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "response": self.response}


@dataclass(frozen=True, slots=True)
class ToolResponse:
    responses: tuple[FunctionResponse, ...]


ClientEvent = (
    Setup
    | AudioIn
    | ImageIn
    | TextIn
    | ActivityStart
    | ActivityEnd
    | AudioStreamEnd
    | ClientContent
    | ToolResponse
)


def _get(d: dict[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if name in d:
            return d[name]
    return default


def decode_bytes(value: Any) -> bytes:
    """Decode a base64 field, URL-safe or standard alphabet, padded or not."""
    if not isinstance(value, str):
        raise ProtocolError(
            CLOSE_INVALID, "Request contains an invalid argument: bytes field is not a string."
        )
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProtocolError(
            CLOSE_INVALID, "Request contains an invalid argument: invalid base64."
        ) from exc


def _blob(d: Any) -> tuple[bytes, str]:
    if not isinstance(d, dict):
        raise ProtocolError(
            CLOSE_INVALID, "Request contains an invalid argument: blob is not an object."
        )
    return decode_bytes(_get(d, "data", default="")), str(
        _get(d, "mimeType", "mime_type", default="")
    )


def _rate(mime: str, default: int = 16000) -> int:
    for part in mime.split(";"):
        key, _, value = part.strip().partition("=")
        if key == "rate" and value.isdigit():
            return int(value)
    return default


def _image(data: bytes, mime: str, source: str) -> ImageIn:
    if not data.startswith(JPEG_MAGIC):
        raise ProtocolError(
            CLOSE_INVALID,
            f"Request contains an invalid argument. Invalid image in {source}: expected JPEG bytes.",
        )
    return ImageIn(data, mime or "image/jpeg", source)


def _media(data: bytes, mime: str, source: str) -> AudioIn | ImageIn:
    if mime.startswith("audio/"):
        return AudioIn(data, _rate(mime))
    return _image(data, mime, source)


def parse_setup(body: dict[str, Any]) -> Setup:
    """Read a ``setup`` object (either key spelling) into a :class:`Setup`."""
    if not isinstance(body, dict):
        raise ProtocolError(
            CLOSE_INVALID, "Request contains an invalid argument: setup is not an object."
        )
    model = str(_get(body, "model", default="") or "")
    gen = _get(body, "generationConfig", "generation_config", default={}) or {}
    modalities = tuple(
        str(m).upper()
        for m in (_get(gen, "responseModalities", "response_modalities") or ["AUDIO"])
    )
    speech = _get(gen, "speechConfig", "speech_config", default={}) or {}
    voice_cfg = _get(speech, "voiceConfig", "voice_config", default={}) or {}
    prebuilt = _get(voice_cfg, "prebuiltVoiceConfig", "prebuilt_voice_config", default={}) or {}
    voice = _get(prebuilt, "voiceName", "voice_name")
    rt = _get(body, "realtimeInputConfig", "realtime_input_config", default={}) or {}
    aad = _get(rt, "automaticActivityDetection", "automatic_activity_detection", default={}) or {}
    tools: list[FunctionDecl] = []
    for tool in _get(body, "tools", default=[]) or []:
        if not isinstance(tool, dict):
            continue
        for decl in _get(tool, "functionDeclarations", "function_declarations", default=[]) or []:
            if isinstance(decl, dict) and decl.get("name"):
                params = (
                    _get(decl, "parameters", "parametersJsonSchema", "parameters_json_schema") or {}
                )
                behavior = decl.get("behavior")
                tools.append(
                    FunctionDecl(
                        str(decl["name"]),
                        params if isinstance(params, dict) else {},
                        str(behavior) if behavior else None,
                    )
                )
    resumption = _get(body, "sessionResumption", "session_resumption")
    handle = _get(resumption, "handle") if isinstance(resumption, dict) else None
    instruction = _get(body, "systemInstruction", "system_instruction", default={}) or {}
    instruction_text = ""
    if isinstance(instruction, dict):
        instruction_text = " ".join(
            str(p.get("text", ""))
            for p in instruction.get("parts", []) or []
            if isinstance(p, dict)
        )
    history = _get(body, "historyConfig", "history_config", default={}) or {}
    media_resolution = _get(gen, "mediaResolution", "media_resolution")
    return Setup(
        model=model,
        raw=body,
        response_modalities=modalities,
        input_transcription=_get(body, "inputAudioTranscription", "input_audio_transcription")
        is not None,
        output_transcription=_get(body, "outputAudioTranscription", "output_audio_transcription")
        is not None,
        manual_activity=bool(aad.get("disabled", False)) if isinstance(aad, dict) else False,
        tools=tuple(tools),
        resumption=resumption is not None,
        resume_handle=str(handle) if handle else None,
        context_compression=_get(body, "contextWindowCompression", "context_window_compression")
        is not None,
        voice=str(voice) if voice else None,
        system_instruction=instruction_text,
        media_resolution=str(media_resolution) if media_resolution else None,
        initial_history_in_client_content=bool(
            _get(history, "initialHistoryInClientContent", "initial_history_in_client_content")
        )
        if isinstance(history, dict)
        else False,
    )


def _part_resolution(part: dict[str, Any]) -> str | None:
    """A Part's ``mediaResolution.level`` (google-genai 2.8 ``types.Part.media_resolution``)."""
    res = _get(part, "mediaResolution", "media_resolution")
    if isinstance(res, dict):
        res = res.get("level")
    return str(res) if res else None


def _content_parts(turns: Any) -> tuple[list[str], list[ImageIn]]:
    texts: list[str] = []
    images: list[ImageIn] = []
    if isinstance(turns, dict):
        turns = [turns]
    for turn in turns or []:
        if not isinstance(turn, dict):
            continue
        if str(turn.get("role", "user")) != "user":
            continue  # prefilled model turns are context, not something to answer
        for part in turn.get("parts", []) or []:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                texts.append(part["text"])
            blob = _get(part, "inlineData", "inline_data")
            if blob is not None:
                data, mime = _blob(blob)
                if mime.startswith("image/"):
                    image = _image(data, mime, "client_content")
                    images.append(
                        ImageIn(image.data, image.mime_type, image.source, _part_resolution(part))
                    )
    return texts, images


def _function_response(d: dict[str, Any]) -> FunctionResponse:
    images: list[ImageIn] = []
    for part in d.get("parts", []) or []:
        if isinstance(part, dict):
            blob = _get(part, "inlineData", "inline_data")
            if isinstance(blob, dict):
                data, mime = _blob(blob)
                if mime.startswith("image/"):
                    images.append(_image(data, mime, "tool_response"))
    response = d.get("response") or {}
    scheduling = d.get("scheduling")
    will_continue = _get(d, "willContinue", "will_continue")
    return FunctionResponse(
        id=str(d["id"]) if d.get("id") is not None else None,
        name=str(d["name"]) if d.get("name") is not None else None,
        response=response if isinstance(response, dict) else {"output": response},
        images=tuple(images),
        scheduling=str(scheduling).upper() if scheduling else None,
        will_continue=bool(will_continue) if will_continue is not None else None,
    )


def parse_client_frame(raw: str | bytes) -> list[ClientEvent]:
    """Parse one client frame into events, in frame order.

    Raises :class:`ProtocolError` (1007) for non-JSON frames, bad base64 and non-JPEG images.
    Unknown top-level keys are ignored (a newer SDK may send fields we do not know).
    """
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(CLOSE_INVALID, "Invalid JSON payload received.") from exc
    if not isinstance(msg, dict):
        raise ProtocolError(CLOSE_INVALID, "Invalid JSON payload received: not an object.")
    events: list[ClientEvent] = []
    if "setup" in msg:
        events.append(parse_setup(msg["setup"]))
    rt = _get(msg, "realtime_input", "realtimeInput")
    if isinstance(rt, dict):
        events.extend(_realtime_events(rt))
    cc = _get(msg, "client_content", "clientContent")
    if isinstance(cc, dict):
        texts, images = _content_parts(_get(cc, "turns", default=[]))
        events.append(
            ClientContent(
                tuple(texts),
                tuple(images),
                bool(_get(cc, "turnComplete", "turn_complete", default=False)),
            )
        )
    tr = _get(msg, "tool_response", "toolResponse")
    if isinstance(tr, dict):
        responses = _get(tr, "functionResponses", "function_responses", default=[]) or []
        events.append(
            ToolResponse(tuple(_function_response(r) for r in responses if isinstance(r, dict)))
        )
    return events


def _realtime_events(rt: dict[str, Any]) -> list[ClientEvent]:
    events: list[ClientEvent] = []
    for chunk in _get(rt, "mediaChunks", "media_chunks", default=[]) or []:
        data, mime = _blob(chunk)
        events.append(_media(data, mime, "media"))
    media = rt.get("media")
    if media is not None:
        data, mime = _blob(media)
        events.append(_media(data, mime, "media"))
    if rt.get("audio") is not None:
        data, mime = _blob(rt["audio"])
        events.append(AudioIn(data, _rate(mime)))
    if rt.get("video") is not None:
        data, mime = _blob(rt["video"])
        events.append(_image(data, mime, "video"))
    if isinstance(rt.get("text"), str):
        events.append(TextIn(rt["text"], "realtime_input"))
    if _get(rt, "activityStart", "activity_start") is not None:
        events.append(ActivityStart())
    if _get(rt, "activityEnd", "activity_end") is not None:
        events.append(ActivityEnd())
    if _get(rt, "audioStreamEnd", "audio_stream_end"):
        events.append(AudioStreamEnd())
    return events


# ---------------------------------------------------------------------------- server frames


def encode(msg: dict[str, Any]) -> bytes:
    """Serialize a server message as compact UTF-8 JSON (sent as a binary frame)."""
    return json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()


def b64(data: bytes) -> str:
    """Standard base64, as proto3 JSON writes bytes."""
    return base64.b64encode(data).decode("ascii")


def setup_complete_frame() -> bytes:
    return encode({"setupComplete": {}})


def server_content_frame(
    *,
    audio: bytes | None = None,
    rate: int = 24000,
    input_text: str | None = None,
    input_finished: bool = False,
    output_text: str | None = None,
    output_finished: bool = False,
) -> bytes:
    """One ``serverContent`` message with any of: audio, input and output transcription."""
    content: dict[str, Any] = {}
    if audio is not None:
        content["modelTurn"] = {
            "parts": [{"inlineData": {"mimeType": f"audio/pcm;rate={rate}", "data": b64(audio)}}]
        }
    if input_text is not None:
        content["inputTranscription"] = {
            "text": input_text,
            **({"finished": True} if input_finished else {}),
        }
    if output_text is not None:
        content["outputTranscription"] = {
            "text": output_text,
            **({"finished": True} if output_finished else {}),
        }
    return encode({"serverContent": content})


def text_part_frame(text: str) -> bytes:
    """A model turn with a text part (for TEXT response modality)."""
    return encode({"serverContent": {"modelTurn": {"parts": [{"text": text}]}}})


def interrupted_frame() -> bytes:
    return encode({"serverContent": {"interrupted": True}})


def generation_complete_frame() -> bytes:
    return encode({"serverContent": {"generationComplete": True}})


@dataclass(frozen=True, slots=True)
class TurnUsage:
    """Token counts of one model turn (deterministic functions of the turn's content)."""

    prompt_audio: int = 0
    prompt_text: int = 0
    prompt_image: int = 0
    response_audio: int = 0
    response_text: int = 0
    # Reported only when non-zero (google-genai ``UsageMetadata`` has both fields; the total is
    # "the sum of prompt, candidates, tool_use_prompt and thoughts" token counts).
    tool_use_prompt: int = 0
    thoughts: int = 0

    @property
    def prompt(self) -> int:
        return self.prompt_audio + self.prompt_text + self.prompt_image

    @property
    def response(self) -> int:
        return self.response_audio + self.response_text

    @property
    def total(self) -> int:
        return self.prompt + self.response + self.tool_use_prompt + self.thoughts

    def as_json(self) -> dict[str, Any]:
        def details(pairs: list[tuple[str, int]]) -> list[dict[str, Any]]:
            return [{"modality": m, "tokenCount": n} for m, n in pairs if n]

        extra: dict[str, Any] = {}
        if self.tool_use_prompt:
            extra["toolUsePromptTokenCount"] = self.tool_use_prompt
        if self.thoughts:
            extra["thoughtsTokenCount"] = self.thoughts
        return {
            "promptTokenCount": self.prompt,
            "responseTokenCount": self.response,
            **extra,
            "totalTokenCount": self.total,
            "promptTokensDetails": details(
                [
                    ("AUDIO", self.prompt_audio),
                    ("TEXT", self.prompt_text),
                    ("IMAGE", self.prompt_image),
                ]
            ),
            "responseTokensDetails": details(
                [("AUDIO", self.response_audio), ("TEXT", self.response_text)]
            ),
        }


def turn_complete_frame(usage: TurnUsage | None) -> bytes:
    """``turnComplete``, with the turn's usage unless ``usage`` is None (sent apart)."""
    if usage is None:
        return encode({"serverContent": {"turnComplete": True}})
    return encode({"serverContent": {"turnComplete": True}, "usageMetadata": usage.as_json()})


def usage_only_frame(usage: TurnUsage) -> bytes:
    """Usage in a message whose ``serverContent`` is empty (seen in the field: livekit/agents
    PR 5238 and 5251 skip such messages; google-genai parses them as a LiveServerMessage)."""
    return encode({"serverContent": {}, "usageMetadata": usage.as_json()})


def tool_call_frame(calls: list[tuple[str, str, dict[str, Any]]]) -> bytes:
    """``toolCall`` with (id, name, args) function calls."""
    return encode(
        {"toolCall": {"functionCalls": [{"id": i, "name": n, "args": a} for i, n, a in calls]}}
    )


def tool_call_cancellation_frame(ids: list[str]) -> bytes:
    return encode({"toolCallCancellation": {"ids": ids}})


def go_away_frame(time_left_s: float) -> bytes:
    """``goAway`` with a proto Duration string such as ``"50s"`` or ``"0.500s"``."""
    seconds = max(0.0, time_left_s)
    text = f"{int(seconds)}s" if seconds == int(seconds) else f"{seconds:.3f}s"
    return encode({"goAway": {"timeLeft": text}})


def resumption_update_frame(handle: str, resumable: bool = True) -> bytes:
    return encode({"sessionResumptionUpdate": {"newHandle": handle, "resumable": resumable}})


def unknown_frame() -> bytes:
    """A frame with only top-level keys no SDK knows (a newer server might send such)."""
    return encode({"fakeliveUnknownField": {"note": "deliberately unknown top-level key"}})


GARBAGE_FRAME = b"\x00fakelive: this frame is deliberately not JSON\xff"
