"""How each Gemini Live model family behaves, as a pure table (no I/O).

The local server picks a :class:`Profile` from the setup's model name (``profile_for``) and
checks the setup against it (``setup_refusal``) before it sends ``setupComplete``. Everything
else in the server asks the profile instead of testing model names. Read December 2026; the
sources decide behaviour and are named beside each row.

| behaviour | gemini-3.8-live (default) | gemini-3.1-flash-live-preview | gemini-2.5-flash-native-audio-preview-* | source |
|---|---|---|---|---|
| function calls | NON_BLOCKING by default; ``behavior: BLOCKING`` in the declaration gives a synchronous call | synchronous only (``behavior`` ignored) | BLOCKING by default; NON_BLOCKING when declared | 3.8 model page "Migrating from Gemini 3.1 Flash Live"; 3.1 model page "Asynchronous function calling: not yet supported"; ai.google.dev Live tools page; Vertex "Migrate from 2.5 ... to 3.8 Live" ("2.5 ... allows asynchronous tool calls") |
| ``FunctionResponse.scheduling`` | SILENT / WHEN_IDLE / INTERRUPT, WHEN_IDLE when unset; INTERRUPT while the *user* speaks waits for the user to finish | ignored (calls are blocking) | as 3.8, but INTERRUPT while the user speaks interrupts at once | google-genai types.py ``FunctionResponseScheduling`` ("Only applicable to NON_BLOCKING function calls ... Defaults to WHEN_IDLE"); Vertex migration table "scheduling=interrupt" |
| new input during a BLOCKING call | a new user turn (speech onset, text, client content turn) cancels it: ``toolCallCancellation``, ``interrupted``; a video frame does not | same (the user's barge-in) | same | Vertex migration guide ("If new input is received during the execution of the blocking function call, the Live API server cancels the current function call"); Vertex 3.8 Live developer guide ("auto-cancel blocking") |
| interruption | polite: speech shorter than a backchannel (``FakeLiveConfig.backchannel_max_s`` of voiced audio) does not interrupt; longer speech interrupts after ``polite_interrupt_delay_s`` (turnpolicy.py); ``activityStart`` (manual detection) interrupts at once | at once on the speech onset | at once on the speech onset | Vertex 3.8 Live developer guide, docs.cloud.google.com/gemini-enterprise-agent-platform/models/guides/gemini-3-8-live ("polite interruption downgrade (waits while the user is speaking)" vs 2.5 "immediate interruption"); issue 13 (a backchannel or cough does not interrupt) |
| default turn coverage | ``TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO`` | ``TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO`` (see the discrepancy below) | ``TURN_INCLUDES_ONLY_ACTIVITY`` | 3.8 model page; 3.1 model page "Turn coverage: Defaults to ..._AND_ALL_VIDEO instead of TURN_INCLUDES_ONLY_ACTIVITY"; google-genai types.py ``TurnCoverage`` ("If unspecified, the default behavior is TURN_INCLUDES_ONLY_ACTIVITY") |
| ``send_client_content`` mid-session | accepted for the whole session; ``turnComplete: true`` interrupts generation; without it the server waits for more | refused: close 1007 "Request contains an invalid argument." (only initial history with ``historyConfig.initialHistoryInClientContent``) | accepted | 3.8 model page; livekit/agents PR 5251 and 5262 (minimal script: client content -> 1007), google/adk-python issue 5018 |
| proactive audio | always on: ``proactivity.proactiveAudio: false`` is refused (1007) | not supported: a truthy setting is refused (1007) | accepted | 3.8 model page ("Setting proactive_audio: false returns an error"); 3.1 model page ("remove any configuration of these features") |
| affective dialog | removed: any ``enableAffectiveDialog`` is refused (1007) | not supported: true is refused (1007) | accepted | same pages |
| thinking config | not supported: ``thinkingConfig`` is refused (1007) | accepted (``thinkingLevel``) | accepted | 3.8 model page ("Omit thinking_level (or thinking_config)"); 3.1 model page |
| response modalities | AUDIO only (TEXT is refused, 1007) | AUDIO or TEXT | AUDIO or TEXT | 3.8 model page ("Response modality: audio") |
| a tool call pending across a resume | a ``FunctionResponse`` for a call issued on an earlier connection is accepted and ignored (no reply); send the result as conversation instead | same | same | pipecat-ai/pipecat PR 5497 (verified on 2.5-12-2025 and 3.1: "the reconnected session won't act on a FunctionResponse for a call it didn't issue") |

Discrepancies found and how they are modelled:

- 3.1 turn coverage. Issue 13 (and google-genai's ``TurnCoverage`` enum docstring, which is not
  model specific) say 2.5 and 3.1 default to ``TURN_INCLUDES_ONLY_ACTIVITY``. The 3.1 model
  page's migration note (the most specific source) says 3.1 defaults to
  ``TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO`` "instead of TURN_INCLUDES_ONLY_ACTIVITY" (the
  2.5 default). The profile follows the model page; ``FakeLiveConfig.profile_overrides`` can
  pin ``{"gemini-3.1-flash-live-preview": {"default_turn_coverage": ONLY_ACTIVITY}}``.
- 3.1 client content. The current 3.1 model page says ``send_client_content`` is supported for
  the whole session, but field reports made against the service in March 2026 (livekit PRs
  5251/5262, adk-python 5018) got close 1007 for any mid-session client content. The profile
  follows the field reports (a client built against it works either way); override
  ``client_content_mid_session`` to relax it.
- Affective dialog on 3.8. The Vertex 3.8 Live developer guide lists it "enabled by default";
  the Gemini API model page says it was removed and ``enable_affective_dialog`` must go. This
  server is the Gemini API endpoint, so it follows the model page.
- Close reasons of refused setups are not documented; the server uses the service's generic
  1007 text, "Request contains an invalid argument.".

Shut-down models (``gemini-live-2.5-flash-preview`` and ``gemini-2.0-flash-live-001``, shut down
2025-12-09 per ai.google.dev/gemini-api/docs/deprecations and the changelog) are refused like an
unknown model: close 1008 "models/X is not found for API version v1beta, or is not supported
for bidiGenerateContent. ...".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

ONLY_ACTIVITY = "TURN_INCLUDES_ONLY_ACTIVITY"
ALL_INPUT = "TURN_INCLUDES_ALL_INPUT"
ACTIVITY_AND_ALL_VIDEO = "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"
TURN_COVERAGES = (ONLY_ACTIVITY, ALL_INPUT, ACTIVITY_AND_ALL_VIDEO)

FAMILY_38 = "gemini-3.8-live"
FAMILY_31 = "gemini-3.1-flash-live-preview"
FAMILY_25 = "gemini-2.5-flash-native-audio-preview"

REASON_INVALID_ARGUMENT = "Request contains an invalid argument."
# googleapis/js-genai issue 1236, livekit/agents issue 4545: the mid-session close, often during
# tool calls, after which resuming with the handle works (pipecat reconnects on it).
REASON_NOT_IMPLEMENTED = "Operation is not implemented, or supported, or enabled."

# ai.google.dev/gemini-api/docs/deprecations ("Live API models"), changelog 2025-12-09.
SHUT_DOWN_MODELS = ("gemini-live-2.5-flash-preview", "gemini-2.0-flash-live-001")

Tristate = Literal["always", "optional", "unsupported", "removed"]


@dataclass(frozen=True, slots=True)
class Profile:
    """What one model family does; see the module docstring for the sources."""

    family: str
    non_blocking_by_default: bool
    non_blocking_declarable: bool  # a declaration's ``behavior`` is honoured
    interrupt_waits_for_user: bool  # scheduling=INTERRUPT while the user speaks waits
    polite_interruption: bool
    default_turn_coverage: str
    client_content_mid_session: bool
    proactive_audio: Tristate
    affective_dialog: Tristate
    thinking_config_allowed: bool
    text_modality_allowed: bool

    def call_is_blocking(self, declared_behavior: str | None) -> bool:
        """Whether a call to a function declared with ``declared_behavior`` blocks the model."""
        if not self.non_blocking_declarable:
            return True
        behavior = (declared_behavior or "").upper()
        if behavior == "BLOCKING":
            return True
        if behavior == "NON_BLOCKING":
            return False
        return not self.non_blocking_by_default


PROFILES: dict[str, Profile] = {
    FAMILY_38: Profile(
        family=FAMILY_38,
        non_blocking_by_default=True,
        non_blocking_declarable=True,
        interrupt_waits_for_user=True,
        polite_interruption=True,
        default_turn_coverage=ACTIVITY_AND_ALL_VIDEO,
        client_content_mid_session=True,
        proactive_audio="always",
        affective_dialog="removed",
        thinking_config_allowed=False,
        text_modality_allowed=False,
    ),
    FAMILY_31: Profile(
        family=FAMILY_31,
        non_blocking_by_default=False,
        non_blocking_declarable=False,
        interrupt_waits_for_user=False,
        polite_interruption=False,
        default_turn_coverage=ACTIVITY_AND_ALL_VIDEO,
        client_content_mid_session=False,
        proactive_audio="unsupported",
        affective_dialog="unsupported",
        thinking_config_allowed=True,
        text_modality_allowed=True,
    ),
    FAMILY_25: Profile(
        family=FAMILY_25,
        non_blocking_by_default=False,
        non_blocking_declarable=True,
        interrupt_waits_for_user=False,
        polite_interruption=False,
        default_turn_coverage=ONLY_ACTIVITY,
        client_content_mid_session=True,
        proactive_audio="optional",
        affective_dialog="optional",
        thinking_config_allowed=True,
        text_modality_allowed=True,
    ),
}


def family_of(model: str) -> str | None:
    """The family a model name belongs to (``models/`` prefix allowed), or None if none."""
    name = model.removeprefix("models/")
    if name == FAMILY_38:
        return FAMILY_38
    if name == FAMILY_31:
        return FAMILY_31
    if name.startswith(FAMILY_25 + "-"):
        return FAMILY_25
    return None


def profile_for(
    model: str,
    default_family: str = FAMILY_38,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Profile:
    """The profile for ``model``; a name of no known family (a test's own model) gets
    ``default_family``. ``overrides`` maps a family to field replacements."""
    family = family_of(model) or default_family
    profile = PROFILES[family]
    extra = (overrides or {}).get(family)
    if extra:
        profile = dataclasses.replace(profile, **dict(extra))
    return profile


def _get(d: Any, *names: str) -> Any:
    if not isinstance(d, Mapping):
        return None
    for name in names:
        if name in d:
            return d[name]
    return None


def setup_refusal(profile: Profile, setup: Mapping[str, Any]) -> str | None:
    """The close reason (code 1007) if the service refuses this setup for ``profile``."""
    gen = _get(setup, "generationConfig", "generation_config") or {}
    proactive = _get(_get(setup, "proactivity"), "proactiveAudio", "proactive_audio")
    if profile.proactive_audio == "always" and proactive is False:
        # 3.8 model page: "Proactive audio is now permanently enabled. Setting proactive_audio:
        # false returns an error."
        return REASON_INVALID_ARGUMENT
    if profile.proactive_audio == "unsupported" and proactive:
        return REASON_INVALID_ARGUMENT
    affective = _get(gen, "enableAffectiveDialog", "enable_affective_dialog")
    if affective is None:
        affective = _get(setup, "enableAffectiveDialog", "enable_affective_dialog")
    if profile.affective_dialog == "removed" and affective is not None:
        return REASON_INVALID_ARGUMENT
    if profile.affective_dialog == "unsupported" and affective:
        return REASON_INVALID_ARGUMENT
    if not profile.thinking_config_allowed and _get(gen, "thinkingConfig", "thinking_config"):
        return REASON_INVALID_ARGUMENT
    modalities = _get(gen, "responseModalities", "response_modalities") or []
    if not profile.text_modality_allowed and any(str(m).upper() == "TEXT" for m in modalities):
        return REASON_INVALID_ARGUMENT
    coverage = _get(
        _get(setup, "realtimeInputConfig", "realtime_input_config"), "turnCoverage", "turn_coverage"
    )
    if coverage is not None and str(coverage) not in (*TURN_COVERAGES, "TURN_COVERAGE_UNSPECIFIED"):
        return REASON_INVALID_ARGUMENT
    return None


def turn_coverage(profile: Profile, setup: Mapping[str, Any]) -> str:
    """The turn coverage in force: the setup's ``realtimeInputConfig.turnCoverage`` if set,
    else the profile's default."""
    coverage = _get(
        _get(setup, "realtimeInputConfig", "realtime_input_config"), "turnCoverage", "turn_coverage"
    )
    if coverage in TURN_COVERAGES:
        return str(coverage)
    return profile.default_turn_coverage


def admits_video(coverage: str, user_active: bool) -> bool:
    """Whether a realtime video frame enters the model's context under ``coverage``.

    google-genai ``TurnCoverage``: ONLY_ACTIVITY "excludes inactivity", so a frame sent while
    the user is silent is left out of the turn; the two other values include all video.
    """
    return user_active or coverage != ONLY_ACTIVITY
