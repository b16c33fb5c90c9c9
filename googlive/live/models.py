"""What the app knows about each Live model family, and the choices it makes from that.

One small pure module so that no other part of the app guesses from a model name. Sources
(read December 2026; the local Live server models the same families, googlive/fakelive):
- gemini-3.8-live: ai.google.dev/gemini-api/docs/models/gemini-3.8-live ("Migrating from Gemini
  3.1 Flash Live"): function calls NON_BLOCKING by default (BLOCKING on request), FunctionResponse
  scheduling SILENT / WHEN_IDLE / INTERRUPT; send_client_content allowed for the whole session
  (turn_complete=true interrupts, without it the server waits); proactive audio always on
  (`proactive_audio: false` is an error); affective dialog removed; no thinking_level /
  thinking_config; turn coverage TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO by default. Vertex
  "Gemini 3.8 Live developer guide": polite interruption, media_resolution LOW/MEDIUM/HIGH.
- gemini-3.1-flash-live-preview: ai.google.dev Live tools page ("Function calling: supported
  (synchronous only)"); livekit/agents PRs 5251 / 5262: send_client_content after the start is
  refused with close 1007, only realtime input works mid-session; "Proactive audio and
  affective dialog are not supported yet: remove their configuration" (3.1 model page). Its
  turn coverage default is TURN_INCLUDES_ONLY_ACTIVITY in google-genai 2.8's TurnCoverage
  docstring (a later model page says audio activity and all video): the app sets it explicitly.
- gemini-2.5-flash-native-audio-preview-*: blocking function calls (asynchronous calls were only
  for half-cascade audio: livekit/agents issue 2367), affective dialog and proactivity exist
  (v1alpha), thinking budget; per-Part media_resolution is Gemini 3 only
  (ai.google.dev/gemini-api/docs/media-resolution); default turn coverage activity only.
- Shut down (ai.google.dev/gemini-api/docs/deprecations, "Live API models"):
  gemini-live-2.5-flash-preview and gemini-2.0-flash-live-001 on 2025-12-09.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Imported where a value is built (choices_for), never at import: building and serving the
    # page does not load google-genai (googlive/live/preload.py).
    from google.genai import types

# ---- what each family accepts and does ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelFamily:
    """A Live model family's behaviour as documented (see the module docstring)."""

    name: str
    non_blocking_tools: bool  # tools run while the model goes on talking (3.8: by default)
    behavior_field: bool  # the setup may carry FunctionDeclaration.behavior
    client_content_mid_session: bool  # send_client_content accepted after the first turn
    per_part_media_resolution: bool  # Part.media_resolution honoured (Gemini 3)
    default_turn_coverage: str  # a types.TurnCoverage member's name (choices_for resolves it)
    polite_interruption: bool  # waits while the user speaks; backchannels do not interrupt
    proactivity_field: bool  # the setup may carry `proactivity`
    affective_dialog_field: bool  # the setup may carry `enable_affective_dialog`
    thinking_config_field: bool  # the setup may carry `thinking_config`


GEMINI_3_8 = ModelFamily(
    name="gemini-3.8-live",
    non_blocking_tools=True,
    behavior_field=True,
    client_content_mid_session=True,
    per_part_media_resolution=True,
    default_turn_coverage="TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO",
    polite_interruption=True,
    proactivity_field=False,  # always on; only `true` is accepted, so the app sends none
    affective_dialog_field=False,
    thinking_config_field=False,
)
GEMINI_3_1 = ModelFamily(
    name="gemini-3.1-flash-live",
    non_blocking_tools=False,
    behavior_field=False,  # synchronous only: nothing to ask for
    client_content_mid_session=False,
    per_part_media_resolution=True,
    default_turn_coverage="TURN_INCLUDES_ONLY_ACTIVITY",
    polite_interruption=False,
    proactivity_field=False,
    affective_dialog_field=False,
    thinking_config_field=True,  # thinkingLevel
)
GEMINI_2_5_NATIVE_AUDIO = ModelFamily(
    name="gemini-2.5-flash-native-audio",
    non_blocking_tools=False,
    behavior_field=False,  # native audio runs calls blocking; the app asks for nothing else
    client_content_mid_session=True,
    per_part_media_resolution=False,
    default_turn_coverage="TURN_INCLUDES_ONLY_ACTIVITY",
    polite_interruption=False,
    proactivity_field=True,
    affective_dialog_field=True,
    thinking_config_field=True,  # thinkingBudget
)

_PREFIXES: tuple[tuple[str, ModelFamily], ...] = (
    ("gemini-3.8-live", GEMINI_3_8),
    ("gemini-3.1-flash-live", GEMINI_3_1),
    ("gemini-2.5-flash-native-audio", GEMINI_2_5_NATIVE_AUDIO),
    ("gemini-live-2.5-flash-native-audio", GEMINI_2_5_NATIVE_AUDIO),  # Vertex's GA name
)

SHUT_DOWN = {
    "gemini-live-2.5-flash-preview": "2025-12-09",
    "gemini-2.0-flash-live-001": "2025-12-09",
}

# The models the settings offer (newest first). Each is checked against the deprecations page.
LIVE_MODELS = (
    "gemini-3.8-live",
    "gemini-3.1-flash-live-preview",
    "gemini-2.5-flash-native-audio-preview-12-2025",
)


def family_of(model: str) -> ModelFamily:
    """The family of `model` ("models/" prefix allowed). An unknown name gets the 3.1 profile:
    what it refuses least (no behavior, proactivity, affective or thinking fields; stills as
    realtime video), so a custom name the service knows still connects."""
    bare = model.removeprefix("models/")
    for prefix, fam in _PREFIXES:
        if bare.startswith(prefix):
            return fam
    return GEMINI_3_1


def shut_down_on(model: str) -> str | None:
    """The shutdown date of a retired Live model, or None."""
    return SHUT_DOWN.get(model.removeprefix("models/"))


def model_choices(current: str) -> list[str]:
    """The settings' model dropdown: the app's list (newest first) and the configured model,
    without any model that was shut down."""
    return [m for m in dict.fromkeys((*LIVE_MODELS, current)) if m and not shut_down_on(m)]


# ---- the app's choices per family -----------------------------------------------------------

# Video from the webcam goes out at 1 frame/s. Tokens per frame by media_resolution (google-genai
# MediaResolution: LOW 64, MEDIUM 256, HIGH "zoomed reframing with 256"), i.e. per minute. Keyed
# by the members' names, so that the table needs no google-genai at import.
VIDEO_TOKENS_PER_FRAME = {
    "MEDIA_RESOLUTION_LOW": 64,
    "MEDIA_RESOLUTION_MEDIUM": 256,
    "MEDIA_RESOLUTION_HIGH": 256,
}


@dataclass(frozen=True, slots=True)
class LiveChoices:
    """How the app sets up a session and shows the model a still, for one family."""

    media_resolution: types.MediaResolution
    turn_coverage: types.TurnCoverage
    still_via_client_content: bool  # else: a realtime video frame
    still_part_resolution: types.PartMediaResolutionLevel | None  # per-Part detail of the still
    why: str


def choices_for(model: str) -> LiveChoices:
    """The app's setup choices for `model` (each one's reason is in `why`).

    The webcam stream (640 px, 1 frame/s) is there for "what is the user doing"; a closer look
    is take_picture, whose full-resolution still must reach the context at more detail than a
    stream frame. google-genai MediaResolution: LOW 64 tokens, MEDIUM 256, HIGH "zoomed
    reframing with 256 tokens": HIGH costs what MEDIUM costs, and its zoom only gains from a
    source with more pixels than the stream's, i.e. from the still.
    """
    from google.genai import types

    fam = family_of(model)
    if fam.client_content_mid_session and fam.per_part_media_resolution:
        # 3.8: every stream frame is in the context (its default coverage, kept). At LOW that
        # is 64 x 60 = 3,840 tokens a minute instead of 15,360 at MEDIUM/HIGH, so the 128k
        # window (compressed from 100k) holds ~25 minutes of video, not ~6. The still goes in
        # as client content with its own Part.media_resolution HIGH (Gemini 3 only).
        return LiveChoices(
            types.MediaResolution.MEDIA_RESOLUTION_LOW,
            types.TurnCoverage[fam.default_turn_coverage],
            True,
            types.PartMediaResolutionLevel.MEDIA_RESOLUTION_HIGH,
            "LOW stream (3.8k tokens/min, all video in context); still as client content at HIGH",
        )
    if fam.client_content_mid_session:
        # 2.5 native audio: no per-Part resolution, so the session's is the still's: HIGH.
        # Activity-only coverage keeps the stream cheap (frames count only while the user
        # speaks: at most 15k tokens a minute of speech), and the still, as client content,
        # enters the context whatever the coverage.
        return LiveChoices(
            types.MediaResolution.MEDIA_RESOLUTION_HIGH,
            types.TurnCoverage.TURN_INCLUDES_ONLY_ACTIVITY,
            True,
            None,
            "HIGH (256 tokens/frame), stream counted only during speech; still as client content",
        )
    # 3.1 (and unknown names): client content is refused mid-session, so the still is a
    # realtime frame. It must count although the user is silent during the call: audio
    # activity and ALL video (also 3.1's documented default, set explicitly because the SDK's
    # TurnCoverage docstring says otherwise). Every stream frame then counts too, at the
    # session's resolution: HIGH, so the still is read in detail, for 15,360 tokens a minute.
    return LiveChoices(
        types.MediaResolution.MEDIA_RESOLUTION_HIGH,
        types.TurnCoverage.TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO,
        False,
        None,
        "HIGH (15k tokens/min), all video in context so the still sent during the call counts",
    )


def tokens_per_minute_of_video(resolution: types.MediaResolution | str, fps: float = 1.0) -> int:
    """Prompt tokens a minute of webcam video costs at `resolution` (documented per frame): a
    types.MediaResolution member or its name."""
    name = getattr(resolution, "name", resolution)
    return int(VIDEO_TOKENS_PER_FRAME.get(name, 256) * fps * 60)


def adapt_tools(tools: tuple[types.Tool, ...], model: str) -> list[types.Tool]:
    """The tool declarations as this family accepts them: `behavior` only where honoured."""
    fam = family_of(model)
    if fam.behavior_field:
        return list(tools)
    out = []
    for tool in tools:
        decls = tool.function_declarations
        if decls and any(d.behavior is not None for d in decls):
            tool = tool.model_copy(
                update={
                    "function_declarations": [
                        d.model_copy(update={"behavior": None}) for d in decls
                    ]
                }
            )
        out.append(tool)
    return out


def scheduling_for(
    model: str, scheduling: types.FunctionResponseScheduling | None
) -> types.FunctionResponseScheduling | None:
    """A response's scheduling where it means something (NON_BLOCKING calls), else None."""
    return scheduling if family_of(model).non_blocking_tools else None


__all__ = [
    "GEMINI_2_5_NATIVE_AUDIO",
    "GEMINI_3_1",
    "GEMINI_3_8",
    "LIVE_MODELS",
    "SHUT_DOWN",
    "LiveChoices",
    "ModelFamily",
    "adapt_tools",
    "choices_for",
    "family_of",
    "model_choices",
    "scheduling_for",
    "shut_down_on",
    "tokens_per_minute_of_video",
]
