"""The Results page's pure parts: survey answers reconciled from record_answer and the
analysis, Past sessions labels in the browser's time zone, and the recording's poster frame
(PyAV on real WebM files)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from googlive.features.results import survey_view
from googlive.features.results.archive import SessionArchive
from googlive.features.results.archive_owner import list_sessions
from googlive.features.results.archive_records import TranscriptLine
from googlive.features.results.past import (
    PastRow,
    browser_zone,
    duration_label,
    filter_rows,
    past_row,
    pick_update,
    when_label,
)
from googlive.features.results.poster import POSTER_FILE, has_content, pick_frame, poster_for

T0 = 1_800_000_000.0  # wall clock at session time 0

SURVEY = {
    "id": "s1",
    "title": "Product <b>feedback</b>",
    "sections": [
        {
            "id": "a",
            "title": "Usage",
            "questions": [
                {
                    "id": "q1",
                    "text": "How often do you use it?",
                    "kind": "single_choice",
                    "required": True,
                    "options": ["Every day", "Rarely"],
                },
                {"id": "q2", "text": "What for?", "kind": "open", "required": True},
            ],
        },
        {
            "id": "b",
            "title": "Extra",
            "questions": [
                {"id": "q3", "text": "Anything else?", "kind": "open", "required": False},
            ],
        },
    ],
    "answers": {
        "survey_id": "s1",
        "answers": [
            {
                "question_id": "q1",
                "question": "How often do you use it?",
                "answer": "Every day, mostly",
                "value": "Every day",
                "confidence": 0.9,
                "at": T0 + 12.4,
            },
            {
                "question_id": "q2",
                "question": "What for?",
                "answer": None,
                "value": None,
                "confidence": None,
                "at": None,
            },
            {
                "question_id": "q3",
                "question": "Anything else?",
                "answer": None,
                "value": None,
                "confidence": None,
                "at": None,
            },
        ],
    },
}

TRANSCRIPT = [
    TranscriptLine("model", "How often do you use it?", 1.0, 0),
    TranscriptLine("user", "I would say every day, mostly <i>mornings</i>", 10.0, 1),
    TranscriptLine("model", "Thanks. What do you use it for?", 12.0, 1),
    TranscriptLine("user", "For reports, I guess", 20.0, 2),
]


def analysis(answers: list[dict]) -> dict:
    return {
        "ok": True,
        "analysis": {
            "summary": "",
            "key_points": [],
            "decisions": [],
            "action_items": [],
            "open_questions": [],
            "survey_answers": answers,
        },
    }


def test_recorded_answers_win_and_the_analysis_fills_the_gaps() -> None:
    res = survey_view.reconcile(
        SURVEY,
        analysis(
            [
                {
                    "question_id": "q1",
                    "question": "?",
                    "answer": "Daily",
                    "confidence": 0.5,
                    "evidence": [{"quote": "every day, mostly", "time": "00:10"}],
                },
                {
                    "question_id": "q2",
                    "question": "?",
                    "answer": "For reports",
                    "confidence": 0.7,
                    "evidence": [{"quote": "For reports, I guess", "time": "00:20"}],
                },
                {
                    "question_id": "nope",
                    "question": "?",
                    "answer": "ignored",
                    "confidence": 1.0,
                    "evidence": [],
                },
            ]
        ),
        TRANSCRIPT,
        T0,
    )
    assert res is not None and [q.question_id for q in res.questions] == ["q1", "q2", "q3"]
    q1, q2, q3 = res.questions
    # q1: the interview recorded it; its evidence is the respondent's line at the time of the call.
    assert (q1.state, q1.answer, q1.value, q1.confidence) == (
        "recorded",
        "Every day, mostly",
        "Every day",
        0.9,
    )
    assert q1.evidence[0].clock == "00:10" and q1.evidence[0].source == "recorded"
    assert "mornings" in q1.evidence[0].quote
    assert q1.analysis_answer == "Daily"  # differs, so shown beside it
    assert [e.source for e in q1.evidence] == ["recorded", "analysis"]
    # q2: nothing recorded, the analysis found it.
    assert (q2.state, q2.answer, q2.confidence) == ("analysis", "For reports", 0.7)
    assert q2.evidence[0].clock == "00:20"
    # q3: neither; optional.
    assert q3.state == "unanswered" and not q3.required and q3.evidence == ()
    assert (res.answered, res.total, len(res.missing_required)) == (2, 3, 0)


def test_without_the_analysis_the_recorded_answers_stand_alone() -> None:
    res = survey_view.reconcile(SURVEY, None, TRANSCRIPT, T0)
    assert [q.state for q in res.questions] == ["recorded", "unanswered", "unanswered"]
    assert (
        survey_view.summary_line(res)
        == "1 of 3 questions answered · 1 required question still unanswered"
    )
    html = survey_view.render_html(res)
    assert html.count('data-state="unanswered"') == 2 and html.count('data-state="recorded"') == 1
    assert "not answered · required" in html and "(optional)" in html
    # Survey text and answers are untrusted: escaped.
    assert "<b>" not in html and "<i>" not in html and "&lt;b&gt;feedback&lt;/b&gt;" in html
    assert survey_view.reconcile(None, None) is None and survey_view.render_html(None) == ""


def test_a_failed_analysis_is_not_used_and_plurals_read_right() -> None:
    res = survey_view.reconcile(SURVEY, {"ok": False, "analysis": None}, TRANSCRIPT, T0)
    assert res.answered == 1
    one = survey_view.SurveyResults("x", res.questions[:1])
    assert survey_view.summary_line(one) == "1 of 1 question answered · complete"


def test_answer_evidence_prefers_the_line_that_shares_words() -> None:
    lines = [
        TranscriptLine("user", "Blue, definitely", 3.0, 0),
        TranscriptLine("user", "hmm, wait", 4.0, 1),
    ]
    res = survey_view.reconcile(
        {
            "title": "t",
            "sections": [
                {"title": "", "questions": [{"id": "q", "text": "Colour?", "kind": "open"}]}
            ],
            "answers": {"answers": [{"question_id": "q", "answer": "blue", "at": T0 + 4.2}]},
        },
        None,
        lines,
        T0,
    )
    assert res.questions[0].evidence[0].quote == "Blue, definitely"


# --------------------------------------------------------------------------- past sessions

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset_h", "tz", "expected"),
    [
        (-1, "Europe/Berlin", "today 12:00"),  # 11:00 UTC is 12:00 in Berlin (CET)
        (-26, "Europe/Berlin", "yesterday 11:00"),
        (-24 * 3, "UTC", "Sat 12:00"),
        (-24 * 20, "America/New_York", "18 Feb 07:00"),
        (-24 * 400, "UTC", "3 Feb 2025 12:00"),
        (-1, "Not/AZone", "today 11:00 UTC"),
        (-1, "", "today 11:00 UTC"),
    ],
)
def test_when_label_is_local_and_relative(offset_h: int, tz: str, expected: str) -> None:
    assert when_label(NOW.timestamp() + offset_h * 3600, tz, NOW) == expected


def test_bad_zone_names_fall_back_to_utc() -> None:
    for name in ("../../etc/passwd", "x" * 100, None, "Europe/Nowhere"):
        assert browser_zone(name) == (UTC, False)
    assert browser_zone("Asia/Tokyo")[1] is True


def test_duration_labels() -> None:
    assert [duration_label(x) for x in (0, 9.6, 65, 600, 3 * 3600 + 300, None, -1)] == [
        "0 s",
        "10 s",
        "1 min 05 s",
        "10 min",
        "3 h 05 min",
        "unknown length",
        "unknown length",
    ]


def test_past_rows_are_titled_by_words_and_searchable(tmp_path: Path) -> None:
    spoken = SessionArchive.create(tmp_path, "alice", now=datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    spoken.append_transcript("user", "[offline demo heard 1.2 s of speech]", 1.0, 0)
    spoken.append_transcript("model", "Offline demo, turn 1", 2.0, 0)
    spoken.append_transcript("user", "[offline demo heard 0.8 s of speech]", 5.0, 1)
    spoken.close()
    typed = SessionArchive.create(tmp_path, "alice", now=datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
    typed.append_transcript("user", "Plan   the garden\nparty", 1.0, 0)
    typed.close()
    rows = [past_row(s, "Europe/Berlin", NOW) for s in list_sessions(tmp_path, "alice")]
    assert [r.title for r in rows] == ["Plan the garden party", "Spoken conversation"]
    assert rows[0].label.startswith("Plan the garden party — today 11:00 · ")
    assert "2 turns" in rows[1].label and "1 turn ·" not in rows[1].label
    assert [r.id for r in filter_rows(rows, "GARDEN")] == [typed.session_id]
    assert [r.id for r in filter_rows(rows, "spoken today")] == [spoken.session_id]
    assert filter_rows(rows, "") == rows and filter_rows(rows, "nothing-like-it") == []
    assert isinstance(rows[0], PastRow)


# --------------------------------------------------------------------------- poster frame


def write_webm(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libvpx", rate=fps)
        stream.width, stream.height, stream.pix_fmt = (
            frames[0].shape[1],
            frames[0].shape[0],
            "yuv420p",
        )
        stream.time_base = Fraction(1, fps)
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def write_audio_webm(path: Path) -> Path:
    with av.open(str(path), "w", format="webm") as out:
        stream = out.add_stream("libopus", rate=48000, layout="mono")
        pcm = (np.sin(np.arange(48000) / 10) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = 48000
        for packet in stream.encode(frame):
            out.mux(packet)
        out.mux(stream.encode(None))
    return path


def scene(shade: int) -> np.ndarray:
    img = np.zeros((96, 128, 3), np.uint8)
    img[20:70, 30:100] = (shade, 200, 40)  # a bright box on black: content
    return img


def test_the_poster_is_the_first_frame_with_content(tmp_path: Path) -> None:
    black = [np.zeros((96, 128, 3), np.uint8)] * 12
    rec = write_webm(tmp_path / "recording.webm", [*black, scene(220), scene(90)])
    img = pick_frame(rec)
    assert img is not None
    px = np.asarray(img.convert("RGB"))
    assert px[45, 65, 1] > 150 and px[5, 5].max() < 40  # the box is there, the border black
    assert pick_frame(write_webm(tmp_path / "dark.webm", black)) is None
    assert not has_content(np.zeros((8, 8), np.uint8)) and not has_content(
        np.full((8, 8), 200, np.uint8)
    )


def test_poster_for_caches_and_falls_back_to_a_snapshot_or_a_card(tmp_path: Path) -> None:
    session = tmp_path / "s"
    session.mkdir()
    rec = write_webm(
        session / "recording.webm", [np.zeros((96, 128, 3), np.uint8)] * 3 + [scene(200)]
    )
    poster = poster_for(session, rec)
    assert poster == session / POSTER_FILE and Image.open(poster).size == (128, 96)
    stamp = poster.stat().st_mtime_ns
    assert poster_for(session, rec) == poster and poster.stat().st_mtime_ns == stamp  # cached
    # A camera that showed nothing: the first snapshot stands in.
    other = tmp_path / "o"
    other.mkdir()
    dark = write_webm(other / "recording.webm", [np.zeros((96, 128, 3), np.uint8)] * 3)
    snap = other / "snap.jpg"
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (250, 10, 10)).save(buf, format="JPEG")
    snap.write_bytes(buf.getvalue())
    assert Image.open(poster_for(other, dark, [snap])).size == (64, 48)
    # No video at all and no snapshot: a card that says it is audio only.
    audio = tmp_path / "a"
    audio.mkdir()
    aud = write_audio_webm(audio / "recording.webm")
    card = poster_for(audio, aud, video=False)
    assert card is not None and Image.open(card).size == (640, 360)
    # Nothing fits: no poster rather than a black one.
    none = tmp_path / "n"
    none.mkdir()
    assert (
        poster_for(
            none, write_webm(none / "recording.webm", [np.zeros((96, 128, 3), np.uint8)] * 2)
        )
        is None
    )


def test_a_listing_keeps_a_pick_still_shown_clears_one_gone_and_never_clobbers_a_late_one():
    shown = {"a", "b"}
    assert pick_update("a", shown) == {"value": "a"}
    assert pick_update("gone", shown) == {"value": None}  # deleted, or hidden by the search
    # Nothing picked when the listing was asked for: no value at all, so a pick made while
    # it was on its way is not reset to "nothing".
    assert pick_update(None, shown) == {} and pick_update("", shown) == {}
