"""Pure parts of the model profiles: the profile table, setup refusals, delivery, vision."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from googlive.fakelive import profiles as pr
from googlive.fakelive import turnpolicy as tp
from googlive.fakelive import vision, voice
from googlive.fakelive.conversation import Conversation
from googlive.fakelive.turnpolicy import Delivery

from .helpers import silence, tone


def test_family_of_model_names() -> None:
    """Exact names pick 3.8 and 3.1; every 2.5 native-audio preview shares one family."""
    assert pr.family_of("models/gemini-3.8-live") == pr.FAMILY_38
    assert pr.family_of("gemini-3.1-flash-live-preview") == pr.FAMILY_31
    assert pr.family_of("gemini-2.5-flash-native-audio-preview-12-2025") == pr.FAMILY_25
    assert pr.family_of("gemini-live-2.5-flash-preview") is None
    assert pr.profile_for("my-test-model").family == pr.FAMILY_38
    assert pr.profile_for("my-test-model", pr.FAMILY_31).family == pr.FAMILY_31


def test_tool_behaviour_per_family() -> None:
    """3.8: non-blocking unless BLOCKING; 3.1: always blocking; 2.5: blocking unless NON_BLOCKING."""
    p38, p31, p25 = (pr.PROFILES[f] for f in (pr.FAMILY_38, pr.FAMILY_31, pr.FAMILY_25))
    assert [p38.call_is_blocking(b) for b in (None, "BLOCKING", "NON_BLOCKING")] == [
        False,
        True,
        False,
    ]
    assert [p31.call_is_blocking(b) for b in (None, "BLOCKING", "NON_BLOCKING")] == [True] * 3
    assert [p25.call_is_blocking(b) for b in (None, "BLOCKING", "NON_BLOCKING")] == [
        True,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("family", "setup", "refused"),
    [
        (pr.FAMILY_38, {"proactivity": {"proactive_audio": False}}, True),
        (pr.FAMILY_38, {"proactivity": {"proactiveAudio": True}}, False),
        (pr.FAMILY_38, {"generationConfig": {"enableAffectiveDialog": False}}, True),
        (pr.FAMILY_38, {"generationConfig": {"thinkingConfig": {"thinking_level": "LOW"}}}, True),
        (pr.FAMILY_38, {"generationConfig": {"responseModalities": ["TEXT"]}}, True),
        (pr.FAMILY_38, {"generationConfig": {"responseModalities": ["AUDIO"]}}, False),
        (pr.FAMILY_31, {"generationConfig": {"enableAffectiveDialog": True}}, True),
        (pr.FAMILY_31, {"proactivity": {"proactive_audio": True}}, True),
        (pr.FAMILY_31, {"generationConfig": {"thinkingConfig": {"thinking_level": "LOW"}}}, False),
        (pr.FAMILY_25, {"generationConfig": {"enableAffectiveDialog": True}}, False),
        (pr.FAMILY_25, {"realtimeInputConfig": {"turn_coverage": "NOT_A_VALUE"}}, True),
    ],
)
def test_setup_refusals(family: str, setup: dict, refused: bool) -> None:
    """A setup the service refuses for that family gets the generic 1007 reason."""
    reason = pr.setup_refusal(pr.PROFILES[family], setup)
    assert (reason == pr.REASON_INVALID_ARGUMENT) if refused else reason is None


def test_turn_coverage_default_and_override() -> None:
    """Setup's turnCoverage wins; otherwise 3.8 and 3.1 include all video, 2.5 only activity."""
    p38, p31, p25 = (pr.PROFILES[f] for f in (pr.FAMILY_38, pr.FAMILY_31, pr.FAMILY_25))
    assert pr.turn_coverage(p38, {}) == pr.turn_coverage(p31, {}) == pr.ACTIVITY_AND_ALL_VIDEO
    assert pr.turn_coverage(p25, {}) == pr.ONLY_ACTIVITY
    override = {"realtimeInputConfig": {"turn_coverage": pr.ONLY_ACTIVITY}}
    assert pr.turn_coverage(p38, override) == pr.ONLY_ACTIVITY
    assert pr.admits_video(pr.ONLY_ACTIVITY, user_active=True)
    assert not pr.admits_video(pr.ONLY_ACTIVITY, user_active=False)
    assert pr.admits_video(pr.ACTIVITY_AND_ALL_VIDEO, user_active=False)
    pinned = pr.profile_for(
        pr.FAMILY_31, overrides={pr.FAMILY_31: {"default_turn_coverage": pr.ONLY_ACTIVITY}}
    )
    assert pinned.default_turn_coverage == pr.ONLY_ACTIVITY


@pytest.mark.parametrize(
    ("scheduling", "model", "user", "waits", "expected"),
    [
        ("SILENT", True, True, True, Delivery.SILENT),
        (None, False, False, True, Delivery.SPEAK_NOW),
        ("SCHEDULING_UNSPECIFIED", True, False, True, Delivery.QUEUE),
        ("WHEN_IDLE", False, True, True, Delivery.QUEUE),
        ("INTERRUPT", True, False, True, Delivery.INTERRUPT),
        ("INTERRUPT", False, False, True, Delivery.SPEAK_NOW),
        ("INTERRUPT", False, True, True, Delivery.QUEUE),  # 3.8 waits for the user
        ("INTERRUPT", False, True, False, Delivery.SPEAK_NOW),  # 2.5 speaks over the user
    ],
)
def test_delivery_by_scheduling(
    scheduling: str | None, model: bool, user: bool, waits: bool, expected: Delivery
) -> None:
    """What a non-blocking response does follows its scheduling and who is talking."""
    got = tp.deliver(
        scheduling, model_speaking=model, user_speaking=user, interrupt_waits_for_user=waits
    )
    assert got is expected


def test_polite_watch_and_voiced_time() -> None:
    """A 0.3 s burst reads ~0.3 s voiced (not its 0.8 s with the trailing silence) and stays a
    backchannel; 1 s of speech passes the 0.6 s limit exactly once."""
    vad = voice.EnergyVad()
    watch = tp.PoliteWatch(tp.DEFAULT_BACKCHANNEL_MAX_S)
    fired = []
    ended = []
    for i in range(0, len(tone(0.3) + silence(0.7)), 3200):
        chunk = (tone(0.3) + silence(0.7))[i : i + 3200]
        ended += [e for e in vad.feed(chunk) if isinstance(e, voice.SpeechEnded)]
        fired.append(watch.update(vad.voiced_s))
    assert not any(fired) and watch.is_backchannel
    assert len(ended) == 1 and 0.25 <= ended[0].voiced_s <= 0.35 < ended[0].duration_s
    vad, watch = voice.EnergyVad(), tp.PoliteWatch(0.6)
    fired = []
    for i in range(0, len(tone(1.0)), 3200):
        vad.feed(tone(1.0)[i : i + 3200])
        fired.append(watch.update(vad.voiced_s))
    assert fired.count(True) == 1 and not watch.is_backchannel


def test_texts_are_exact() -> None:
    """The transcripts tests rely on."""
    assert (
        tp.filler_text(2, "draw_diagram")
        == "Offline demo, turn 2: one moment, I am using draw_diagram."
    )
    assert (
        tp.result_text(2, [tp.result_sentence("take_picture", "ok", "I see red, code 5 3 1.")])
        == "Offline demo, turn 2 (tool result): The take_picture tool answered ok. I see red, code 5 3 1."
    )
    assert tp.result_sentence("x", "error") == "The x tool reported an error."
    assert tp.backchannel_text(0.34) == "[offline demo heard a 0.3 s backchannel]"


def _stream_frame(jpeg: bytes) -> bytes:
    """The app's 1 fps frame of a camera frame: 640 px long side, quality 60 (video.py)."""
    img = Image.open(io.BytesIO(jpeg))
    img.thumbnail((640, 640), Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=60)
    return buf.getvalue()


def test_vision_reads_colour_at_any_detail_and_code_only_from_a_high_still() -> None:
    """Default marker on a 1280x720 frame: the colour always reads; the code only from the
    full still at HIGH, never from the 640 px stream frame nor at LOW/MEDIUM."""
    still = vision.marker_jpeg((1280, 720), "red", (5, 3, 1))
    stream = _stream_frame(still)
    high = vision.read(still, vision.HIGH)
    assert high is not None and high.sentence() == "I see red, code 5 3 1."
    for data, res in [(still, vision.LOW), (still, vision.MEDIUM), (stream, vision.HIGH)]:
        sight = vision.read(data, res)
        assert sight is not None and sight.colour == "red" and sight.code_present
        assert sight.code is None
        assert sight.sentence() == "I see red, and a code too fine to read at this detail."
    coarse = vision.marker_jpeg((1280, 720), "blue", (0, 7, 2), period=8)
    low = vision.read(_stream_frame(coarse), vision.LOW)
    assert low is not None and low.code == (0, 7, 2) and low.colour == "blue"
    plain = vision.read(vision.marker_jpeg((320, 240), "green"))
    assert plain is not None and plain.sentence() == "I see green." and not plain.code_present
    assert vision.read(b"\xff\xd8\xff not a jpeg") is None


def test_vision_tokens_and_bad_markers() -> None:
    """Tokens per image follow google-genai MediaResolution; bad marker arguments are refused."""
    assert [vision.tokens_for(r) for r in ("MEDIA_RESOLUTION_LOW", "MEDIUM", "HIGH", None)] == [
        64,
        256,
        256,
        258,
    ]
    assert (
        vision.detail_side("LOW", 1920, 1080) == 384 and vision.detail_side(None, 640, 480) == 640
    )
    with pytest.raises(ValueError, match="unknown colour"):
        vision.draw_marker((64, 64), "teal")
    with pytest.raises(ValueError, match="3 digits"):
        vision.draw_marker((64, 64), "red", (8, 0, 0))


def test_conversation_context_images() -> None:
    """Admitted images are bounded, billed once, and the newest after a call is found."""
    conv = Conversation(id="c", started_at=0.0, max_images=2)
    first = conv.admit_image(b"a", "video", "MEDIA_RESOLUTION_LOW")
    assert conv.newest_image_after(0) is first and conv.newest_image_after(first.seq) is None
    conv.admit_image(b"b", "client_content", None)
    conv.admit_image(b"c", "video", "MEDIA_RESOLUTION_HIGH")
    assert [i.data for i in conv.images] == [b"b", b"c"]
    assert conv.take_image_tokens() == 64 + 258 + 256 and conv.take_image_tokens() == 0
