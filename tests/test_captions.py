"""WebVTT captions from transcript lines: format, escaping, wrapping and timing."""

from __future__ import annotations

import re

from googlive.features.recording.captions import CaptionLine, webvtt
from googlive.live.events import Role

TIMING = re.compile(r"^(\d{2,}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2,}):(\d{2}):(\d{2})\.(\d{3})$")


def parse(doc: str) -> list[tuple[float, float, str]]:
    """A strict little WebVTT reader: header, then blocks of id / timing / text lines."""
    assert doc.startswith("WEBVTT\n\n")
    cues = []
    for block in doc[len("WEBVTT\n\n") :].rstrip("\n").split("\n\n"):
        if not block.strip():
            continue
        ident, timing, *text = block.split("\n")
        assert ident.isdigit() and "-->" not in ident
        m = TIMING.match(timing)
        assert m, timing
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 1000
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 1000
        assert text and all(line.strip() for line in text)
        cues.append((start, end, "\n".join(text)))
    return cues


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def test_a_document_is_valid_webvtt_with_voice_spans() -> None:
    """Header, numbered cues in start order, end > start, one voice span per cue."""
    doc = webvtt(
        [
            CaptionLine("user", "Hello, can you see me?", 1.0, 2.5),
            CaptionLine("model", "Yes, I can see you clearly.", 2.8, 4.0),
        ]
    )
    cues = parse(doc)
    assert cues == [
        (1.0, 2.5, "<v User>Hello, can you see me?</v>"),
        (2.8, 4.0, "<v Gemini>Yes, I can see you clearly.</v>"),
    ]
    assert doc.endswith("\n")


def test_hostile_text_cannot_open_tags_or_break_cues() -> None:
    """<, >, & are escaped; -->, blank lines, NUL and control characters cannot break out."""
    nasty = "a --> b\n\n00:00:00.000 --> 99:00:00.000\n<script>x</script> & <v Evil>\0\x1b[2J"
    cues = parse(webvtt([("user", nasty, 0.0, 1.0)]))
    assert len(cues) == 1
    body = cues[0][2]
    inner = body.removeprefix("<v User>").removesuffix("</v>")
    assert "<" not in inner and ">" not in inner and "-->" not in body
    assert "&lt;script&gt;" in inner and " &amp; " in inner
    assert "\0" not in inner and "\x1b" not in inner
    assert unescape(inner.replace("\n", " ")).startswith(
        "a --> b 00:00:00.000 --> 99:00:00.000 <script>"
    )


def test_long_lines_wrap_and_split_into_timed_cues() -> None:
    """No text line exceeds the width; at most two lines per cue; the parts share the time."""
    words = " ".join(f"word{i}" for i in range(60))
    cues = parse(webvtt([("model", words, 10.0, 22.0)], width=42, max_lines=2))
    assert len(cues) > 1
    for _, _, text in cues:
        lines = text.removeprefix("<v Gemini>").removesuffix("</v>").split("\n")
        assert len(lines) <= 2 and all(len(line) <= 42 for line in lines)
    assert cues[0][0] == 10.0 and cues[-1][1] == 22.0
    assert all(a[1] == b[0] for a, b in zip(cues, cues[1:], strict=False))
    joined = " ".join(
        t.removeprefix("<v Gemini>").removesuffix("</v>").replace("\n", " ") for *_, t in cues
    )
    assert joined == words
    long_word = parse(webvtt([("user", "x" * 100, 0.0, 1.0)], width=42))
    assert all(
        len(line) <= 42 + len("<v User>") + len("</v>")
        for *_, t in long_word
        for line in t.split("\n")
    )


def test_zero_length_and_missing_ends_get_a_reading_time() -> None:
    """end <= start or no end: the cue lasts by text length, cut at the speaker's next line."""
    cues = parse(
        webvtt(
            [
                ("user", "hi", 5.0, 5.0),
                ("model", "a much longer answer that takes a while to read", 6.0, None),
                ("model", "next", 7.0, 8.0),
            ]
        )
    )
    assert cues[0][:2] == (5.0, 6.0)  # minimum one second
    assert cues[1][:2] == (6.0, 7.0)  # cut where the same speaker goes on
    assert cues[2][:2] == (7.0, 8.0)


def test_overlapping_speakers_stay_overlapping_and_order_is_by_start() -> None:
    """A barge-in overlap is kept (players stack the cues); cues come out sorted by start."""
    cues = parse(
        webvtt(
            [
                ("model", "I was saying that", 3.0, 6.0),
                (Role.USER, "wait, stop", 4.5, 5.2),
                ("user", "first", 0.5, 1.0),
            ]
        )
    )
    assert [c[:2] for c in cues] == [(0.5, 1.0), (3.0, 6.0), (4.5, 5.2)]
    assert cues[2][2] == "<v User>wait, stop</v>"


def test_bad_lines_are_left_out_and_times_are_clamped() -> None:
    """Empty text and non-finite times are dropped; negative starts clamp to zero; long
    sessions get hours."""
    cues = parse(
        webvtt(
            [
                ("user", "   \n ", 1.0, 2.0),
                ("user", "nan", float("nan"), 1.0),
                ("user", "inf", 1.0, float("inf")),
                ("model", "early", -0.5, 0.5),
                ("model", "late", 3725.25, 3726.0),
                ("robot", "who", 4000.0, 4001.0),
            ]
        )
    )
    assert cues[0] == (0.0, 0.5, "<v Gemini>early</v>")
    assert cues[1] == (3725.25, 3726.0, "<v Gemini>late</v>")
    assert cues[2][2] == "<v Speaker>who</v>"
    assert len(cues) == 3


def test_objects_with_attributes_are_accepted() -> None:
    """Any object with role/text/start_s/end_s works, roles given as the events enum too."""

    class Line:
        def __init__(self) -> None:
            self.role, self.text, self.start_s, self.end_s = Role.MODEL, "ok", 1.0, 2.0

    assert parse(webvtt([Line()])) == [(1.0, 2.0, "<v Gemini>ok</v>")]
