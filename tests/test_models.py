"""The app's knowledge of Live model families, and the setup it derives from it."""

from __future__ import annotations

import pytest
from google.genai import types

from googlive.config import DEFAULT_MODEL, LIVE_MODELS
from googlive.features.tools.diagram import draw_diagram_declaration
from googlive.features.tools.picture import take_picture_declaration
from googlive.live import models

NB = types.Behavior.NON_BLOCKING


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gemini-3.8-live", models.GEMINI_3_8),
        ("models/gemini-3.8-live", models.GEMINI_3_8),
        ("gemini-3.1-flash-live-preview", models.GEMINI_3_1),
        ("gemini-2.5-flash-native-audio-preview-12-2025", models.GEMINI_2_5_NATIVE_AUDIO),
        ("gemini-live-2.5-flash-native-audio", models.GEMINI_2_5_NATIVE_AUDIO),
        ("some-custom-live-model", models.GEMINI_3_1),  # the profile that refuses least
    ],
)
def test_family_of_a_model_name(model, family):
    assert models.family_of(model) is family


def test_the_settings_offer_no_shut_down_model_and_default_to_3_8():
    """Every listed name is checked against the deprecations page; 3.8 is the default."""
    assert DEFAULT_MODEL == "gemini-3.8-live" == LIVE_MODELS[0]
    assert all(models.shut_down_on(m) is None for m in LIVE_MODELS)
    assert models.shut_down_on("gemini-live-2.5-flash-preview") == "2025-12-09"
    assert models.model_choices("gemini-live-2.5-flash-preview") == list(LIVE_MODELS)
    assert models.model_choices("my-model")[-1] == "my-model"


def test_tool_behavior_is_sent_only_to_the_family_that_honours_it():
    """3.8 gets NON_BLOCKING as declared; 3.1 (synchronous only) and 2.5 native audio get no
    behavior field; the original declarations are not changed."""
    take_picture, draw_diagram = take_picture_declaration(), draw_diagram_declaration()
    tools = (types.Tool(function_declarations=[take_picture, draw_diagram]),)
    assert take_picture.behavior is NB and draw_diagram.behavior is NB
    (t38,) = models.adapt_tools(tools, "gemini-3.8-live")
    assert [d.behavior for d in t38.function_declarations] == [NB, NB]
    for m in ("gemini-3.1-flash-live-preview", "gemini-2.5-flash-native-audio-preview-12-2025"):
        (t,) = models.adapt_tools(tools, m)
        assert [d.behavior for d in t.function_declarations] == [None, None]
        assert [d.name for d in t.function_declarations] == ["take_picture", "draw_diagram"]
    assert take_picture.behavior is NB and take_picture_declaration() is take_picture


def test_scheduling_only_where_calls_are_non_blocking():
    s = types.FunctionResponseScheduling.SILENT
    assert models.scheduling_for("gemini-3.8-live", s) is s
    assert models.scheduling_for("gemini-3.1-flash-live-preview", s) is None
    assert models.scheduling_for("gemini-2.5-flash-native-audio-preview-12-2025", s) is None


def test_setup_choices_per_family():
    """3.8: LOW stream (all video counts), still as client content at HIGH per Part. 2.5: still
    as client content at the session's HIGH (no per-Part resolution). 3.1: still as realtime
    video, so all video must count, at HIGH."""
    c38 = models.choices_for("gemini-3.8-live")
    assert c38.media_resolution is types.MediaResolution.MEDIA_RESOLUTION_LOW
    assert c38.turn_coverage is types.TurnCoverage.TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO
    assert c38.still_via_client_content
    assert c38.still_part_resolution is types.PartMediaResolutionLevel.MEDIA_RESOLUTION_HIGH
    c25 = models.choices_for("gemini-2.5-flash-native-audio-preview-12-2025")
    assert c25.still_via_client_content and c25.still_part_resolution is None
    assert c25.media_resolution is types.MediaResolution.MEDIA_RESOLUTION_HIGH
    c31 = models.choices_for("gemini-3.1-flash-live-preview")
    assert not c31.still_via_client_content
    assert c31.media_resolution is types.MediaResolution.MEDIA_RESOLUTION_HIGH
    assert c31.turn_coverage is not types.TurnCoverage.TURN_INCLUDES_ONLY_ACTIVITY
    assert models.tokens_per_minute_of_video(c38.media_resolution) == 3840
    assert models.tokens_per_minute_of_video(types.MediaResolution.MEDIA_RESOLUTION_MEDIUM) == 15360
    assert models.tokens_per_minute_of_video("MEDIA_RESOLUTION_LOW") == 3840  # a member's name


def test_the_families_name_sdk_members_that_exist():
    """The family table and the token table hold enum member names (no google-genai at import):
    each must name a real member, and choices_for hands out the members themselves."""
    for fam in (models.GEMINI_3_8, models.GEMINI_3_1, models.GEMINI_2_5_NATIVE_AUDIO):
        assert types.TurnCoverage[fam.default_turn_coverage].name == fam.default_turn_coverage
    assert models.GEMINI_3_8.default_turn_coverage == "TURN_INCLUDES_AUDIO_ACTIVITY_AND_ALL_VIDEO"
    assert models.GEMINI_2_5_NATIVE_AUDIO.default_turn_coverage == "TURN_INCLUDES_ONLY_ACTIVITY"
    assert {types.MediaResolution[n] for n in models.VIDEO_TOKENS_PER_FRAME} == {
        types.MediaResolution.MEDIA_RESOLUTION_LOW,
        types.MediaResolution.MEDIA_RESOLUTION_MEDIUM,
        types.MediaResolution.MEDIA_RESOLUTION_HIGH,
    }
    for m in models.LIVE_MODELS:
        c = models.choices_for(m)
        assert isinstance(c.turn_coverage, types.TurnCoverage)
        assert isinstance(c.media_resolution, types.MediaResolution)
