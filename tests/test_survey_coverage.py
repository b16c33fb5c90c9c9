"""SurveyProgress: record_answer validation, summary, and safe progress panels."""

from __future__ import annotations

import re

import pytest

from googlive.features.survey import SurveyProgress, add_question, update_question, update_survey
from googlive.features.survey.examples import example_survey


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def _progress(survey=None) -> SurveyProgress:
    return SurveyProgress(survey or example_survey(), clock=FakeClock())


def test_record_stores_answer_value_and_time():
    """A valid answer is stored with its normalised value and the clock's time."""
    p = _progress()
    r = p.record("q2", "about three cups", "3", 0.9)
    assert r["ok"] is True and r["value"] == 3 and r["updated"] is False
    assert r["answered"] == 1 and r["total"] == 5 and r["next_question_id"] == "q1"
    a = p.answers["q2"]
    assert (a.answer, a.value, a.confidence, a.at) == ("about three cups", 3, 0.9, 1001.0)


def test_unknown_id_lists_valid_ids():
    """An unknown id is an error result the model can act on."""
    r = _progress().record("q99", "yes")
    assert r["ok"] is False
    assert r["error"].startswith("question_id: unknown question 'q99'")
    assert r["valid_question_ids"] == ["q1", "q2", "q3", "q4", "q5"]


@pytest.mark.parametrize(
    ("qid", "value", "message"),
    [
        ("q2", "9", r"value: 9 is out of bounds; must be from 0 to 8"),
        ("q2", -1, r"value: -1 is out of bounds"),
        ("q2", "two", r"value: must be a whole number from 0 to 8"),
        ("q2", 2.5, r"value: must be a whole number"),
        ("q1", "maybe", r'value: must be "yes" or "no"'),
        (
            "q3",
            "Mocha",
            r"value: not one of the options; must be exactly one of: Espresso; Latte; Tea",
        ),
        ("q4", "Milk; Honey", r"value: 'Honey' is not one of the options"),
    ],
)
def test_value_is_validated_against_the_kind(qid: str, value: object, message: str):
    """Out-of-bounds scales and choices not in the options are errors naming the issue."""
    p = _progress()
    r = p.record(qid, "some answer", value)
    assert r["ok"] is False and re.search(message, r["error"]), r
    assert qid not in p.answers


def test_values_are_normalised():
    """Case and spacing are forgiven; choices come back spelled as listed, in option order."""
    p = _progress()
    assert p.record("q1", "Yes I do", "YES")["value"] == "yes"
    assert p.record("q3", "a latte", "  latte ")["value"] == "Latte"
    assert p.record("q4", "oat milk and sugar", "oat milk; sugar")["value"] == ["Sugar", "Oat milk"]
    assert p.record("q4", "milk", ["milk"])["value"] == ["Milk"]
    assert p.record("q2", "none", 0)["value"] == 0


def test_confidence_and_answer_are_checked():
    """Confidence must be within 0..1 and the answer non-empty text."""
    p = _progress()
    assert p.record("q5", "x", confidence=1.5)["error"].startswith("confidence:")
    assert p.record("q5", "x", confidence=float("nan"))["error"].startswith("confidence:")
    assert p.record("q5", "   ")["error"].startswith("answer:")
    assert p.record("q5", None)["error"].startswith("answer:")


def test_record_from_args_tolerates_bad_arguments():
    """Raw tool-call args are checked without exceptions."""
    p = _progress()
    assert p.record_from_args("junk")["ok"] is False
    assert p.record_from_args({"question_id": "q1", "answer": "yes", "extra": 1})[
        "error"
    ].startswith("extra: unknown argument")
    assert p.record_from_args({"question_id": 7, "answer": "yes"})["ok"] is False
    assert (
        p.record_from_args({"question_id": "q1", "answer": "yes", "value": True})["value"] == "yes"
    )


def test_summary_tracks_required_missing_and_completion():
    """The summary counts answers and names the required questions still missing."""
    p = _progress()
    s = p.summary()
    assert (s.answered, s.total, s.required_total, s.complete) == (0, 5, 4, False)
    assert s.missing_required == ("q1", "q2", "q3", "q4")
    for qid, value in [("q1", "yes"), ("q2", "2"), ("q3", "Tea"), ("q4", "Milk")]:
        p.record(qid, "answer", value)
    s = p.summary()
    assert s.missing_required == () and s.next_question_id == "q5" and not s.complete
    r = p.record("q5", "nothing")
    assert r["next_question_id"] is None and "note_done" in r
    assert p.summary().complete
    again = p.record("q5", "actually, more milk please")
    assert again["updated"] is True and p.summary().answered == 5
    assert p.forget("q5") and p.summary().answered == 4


def test_export_lists_answers_in_survey_order():
    """export() gives one row per question in order, JSON-ready."""
    p = _progress()
    p.record("q4", "milk", "Milk")
    rows = p.export()["answers"]
    assert [r["question_id"] for r in rows] == ["q1", "q2", "q3", "q4", "q5"]
    assert rows[3]["value"] == ["Milk"] and rows[0]["answer"] is None


HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[x](javascript:alert(1))",
    "![i](javascript:alert(1))",
    "**bold** `code` # heading",
]


def _hostile_progress(text: str) -> SurveyProgress:
    s = update_survey(example_survey(), title=text)
    s = update_question(s, "q5", text=text)
    s = add_question(s, "s2", text, "single_choice", options=[text, "safe"], question_id="qh")
    p = _progress(s)
    p.record("q5", text + " and\n<b>more</b>", text)
    p.record("qh", text, text)
    return p


@pytest.mark.parametrize("text", HOSTILE)
def test_html_panel_escapes_hostile_text(text: str):
    """No survey or answer text reaches the HTML panel unescaped."""
    html = _hostile_progress(text).render_html()
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert 'onerror="' not in html
    tags = set(re.findall(r"</?([a-z0-9]+)", html))
    assert tags <= {"div", "strong", "span", "progress", "h4", "ul", "li", "code"}
    assert "&#60;" in html or "<" not in text
    assert "&amp;#" not in html and "&&" not in html
    assert "](" not in html and "javascript:" not in html


@pytest.mark.parametrize("text", HOSTILE)
def test_markdown_panel_escapes_hostile_text(text: str):
    """The Markdown panel has no raw HTML, links, images or code spans from survey text."""
    md = _hostile_progress(text).render_markdown()
    assert "<" not in md.replace("&lt;", "")
    assert "](" not in md
    assert "javascript:" not in md
    assert "`" not in md.replace("\\`", "")
    assert "\n#" not in md
