"""Live coverage of a survey: which questions have answers, validated as the model records them.

`SurveyProgress` is pure apart from an injectable clock. Its `record` results are meant to be
sent back to the model as the `record_answer` tool response, so errors say what to fix in words
the model can act on. The panels escape every survey and answer string: both the survey file
and the model's tool arguments are untrusted.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from googlive.features.survey.model import Question, Survey, _option_key

MAX_ANSWER_CHARS = 2000
_PANEL_ANSWER_CHARS = 200

Value = int | str | tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class RecordedAnswer:
    question_id: str
    answer: str
    value: Value
    confidence: float | None
    at: float


@dataclass(frozen=True, slots=True)
class ProgressSummary:
    answered: int
    total: int
    required_answered: int
    required_total: int
    missing_required: tuple[str, ...]
    next_question_id: str | None
    complete: bool

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["missing_required"] = list(self.missing_required)
        return data


class SurveyProgress:
    """Answers recorded so far for one survey run."""

    def __init__(self, survey: Survey, *, clock: Callable[[], float] = time.time) -> None:
        self.survey = survey
        self._clock = clock
        self._questions: dict[str, Question] = {q.id: q for q in survey.questions()}
        self._answers: dict[str, RecordedAnswer] = {}

    @property
    def answers(self) -> Mapping[str, RecordedAnswer]:
        """Recorded answers by question id, in the order they were first recorded."""
        return dict(self._answers)

    def record(
        self,
        question_id: Any,
        answer: Any,
        value: Any = None,
        confidence: Any = None,
    ) -> dict[str, Any]:
        """Validate and store one answer; returns the tool result for the model.

        On success: `{"ok": True, "question_id", "value", "updated", "answered", "total",
        "next_question_id", "missing_required"}`. On failure: `{"ok": False, "error": ...}`
        with the field named, plus `valid_question_ids` when the id is unknown.
        """
        if not isinstance(question_id, str) or question_id not in self._questions:
            shown = question_id if isinstance(question_id, str) else type(question_id).__name__
            return {
                "ok": False,
                "error": f"question_id: unknown question {str(shown)[:60]!r}; use one of the "
                "valid ids",
                "valid_question_ids": list(self._questions),
            }
        question = self._questions[question_id]
        if not isinstance(answer, str) or not answer.strip():
            return _error(question_id, "answer: give the respondent's answer as non-empty text")
        text = " ".join(answer.split())
        truncated = len(text) > MAX_ANSWER_CHARS
        text = text[:MAX_ANSWER_CHARS]
        checked_confidence, problem = _check_confidence(confidence)
        if problem:
            return _error(question_id, problem)
        normalised, problem = normalise_value(question, value)
        if problem:
            return _error(question_id, problem)
        updated = question_id in self._answers
        self._answers[question_id] = RecordedAnswer(
            question_id, text, normalised, checked_confidence, float(self._clock())
        )
        summary = self.summary()
        result: dict[str, Any] = {
            "ok": True,
            "question_id": question_id,
            "value": list(normalised) if isinstance(normalised, tuple) else normalised,
            "updated": updated,
            "answered": summary.answered,
            "total": summary.total,
            "next_question_id": summary.next_question_id,
            "missing_required": list(summary.missing_required),
        }
        if truncated:
            result["note"] = f"answer was cut to {MAX_ANSWER_CHARS} characters"
        if summary.complete:
            result["note_done"] = "all questions answered: thank the respondent and close"
        return result

    def record_from_args(self, args: Mapping[str, Any] | Any) -> dict[str, Any]:
        """`record` from raw tool-call arguments, tolerating missing or ill-typed ones."""
        if not isinstance(args, Mapping):
            return {
                "ok": False,
                "error": "arguments: expected an object with question_id and answer",
            }
        unknown = sorted(str(k)[:40] for k in args if k not in _ARG_NAMES)
        if unknown:
            return {
                "ok": False,
                "error": f"{unknown[0]}: unknown argument; use " + ", ".join(_ARG_NAMES),
            }
        return self.record(
            args.get("question_id"), args.get("answer"), args.get("value"), args.get("confidence")
        )

    def forget(self, question_id: str) -> bool:
        """Drop a recorded answer (e.g. the interviewer undoes it); True if there was one."""
        return self._answers.pop(question_id, None) is not None

    def summary(self) -> ProgressSummary:
        questions = self.survey.questions()
        required = [q for q in questions if q.required]
        missing = tuple(q.id for q in required if q.id not in self._answers)
        upcoming = next((q.id for q in questions if q.id not in self._answers), None)
        return ProgressSummary(
            answered=sum(1 for q in questions if q.id in self._answers),
            total=len(questions),
            required_answered=len(required) - len(missing),
            required_total=len(required),
            missing_required=missing,
            next_question_id=upcoming,
            complete=upcoming is None,
        )

    def export(self) -> dict[str, Any]:
        """Answers in survey order, JSON-ready, for saving or post-call analysis."""
        rows = []
        for q in self.survey.questions():
            a = self._answers.get(q.id)
            rows.append(
                {
                    "question_id": q.id,
                    "question": q.text,
                    "kind": q.kind,
                    "required": q.required,
                    "answer": a.answer if a else None,
                    "value": (list(a.value) if isinstance(a.value, tuple) else a.value)
                    if a
                    else None,
                    "confidence": a.confidence if a else None,
                    "at": a.at if a else None,
                }
            )
        return {"survey_id": self.survey.id, "summary": self.summary().to_dict(), "answers": rows}

    def render_markdown(self) -> str:
        """A progress panel as Markdown; all survey and answer text is escaped."""
        s = self.summary()
        out = [
            f"**{escape_markdown(self.survey.title)}** \u2014 {s.answered}/{s.total} answered"
            f", {s.required_total - s.required_answered} required missing",
            "",
        ]
        for section in self.survey.sections:
            out.append(f"**{escape_markdown(section.title)}**")
            out.append("")
            for q in section.questions:
                a = self._answers.get(q.id)
                mark = "\u2705" if a else ("\u2b1c" if q.required else "\u25ab\ufe0f")
                need = "" if q.required else " _(optional)_"
                line = f"- {mark} {escape_markdown(q.text)}{need}"
                if a:
                    line += f" \u2014 {escape_markdown(_short(a.answer))}"
                    if a.value is not None:
                        line += f" \\[{escape_markdown(_value_text(a.value))}\\]"
                out.append(line)
            out.append("")
        return "\n".join(out).rstrip() + "\n"

    def render_html(self) -> str:
        """A progress panel as an HTML fragment; all survey and answer text is escaped."""
        s = self.summary()
        e = _escape_html
        parts = [
            '<div class="survey-progress">',
            f'<div class="survey-progress-head"><strong>{e(self.survey.title)}</strong> '
            f'<span class="survey-progress-count">{s.answered}/{s.total} answered, '
            f"{s.required_total - s.required_answered} required missing</span></div>",
            f'<progress max="{max(s.total, 1)}" value="{s.answered}"></progress>',
        ]
        for section in self.survey.sections:
            parts.append(f'<div class="survey-section"><h4>{e(section.title)}</h4><ul>')
            for q in section.questions:
                a = self._answers.get(q.id)
                state = "answered" if a else ("missing" if q.required else "optional")
                item = f'<li class="survey-q survey-q-{state}"><span>{e(q.text)}</span>'
                if a:
                    item += f' <span class="survey-answer">{e(_short(a.answer))}</span>'
                    if a.value is not None:
                        item += f' <code class="survey-value">{e(_value_text(a.value))}</code>'
                parts.append(item + "</li>")
            parts.append("</ul></div>")
        parts.append("</div>")
        return "\n".join(parts) + "\n"


_ARG_NAMES = ("question_id", "answer", "value", "confidence")


def _error(question_id: str, message: str) -> dict[str, Any]:
    return {"ok": False, "question_id": question_id, "error": message}


def _check_confidence(confidence: Any) -> tuple[float | None, str | None]:
    if confidence is None:
        return None, None
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        if isinstance(confidence, str):
            try:
                confidence = float(confidence)
            except ValueError:
                return None, "confidence: must be a number from 0 to 1"
        else:
            return None, "confidence: must be a number from 0 to 1"
    c = float(confidence)
    if not math.isfinite(c) or not 0.0 <= c <= 1.0:
        return None, "confidence: must be a number from 0 to 1"
    return c, None


_INT_TEXT = re.compile(r"^[+-]?\d{1,7}(\.0*)?$")
_YES = frozenset({"yes", "y", "true"})
_NO = frozenset({"no", "n", "false"})


def normalise_value(question: Question, value: Any) -> tuple[Value, str | None]:
    """Check `value` against the question's kind; returns (normalised value, error or None).

    Scale values become ints, yes/no becomes "yes"/"no", choices are matched to the listed
    options ignoring case and spacing and come back spelled as listed.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    kind = question.kind
    if kind == "open":
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return str(value)[:MAX_ANSWER_CHARS], None
        return None, "value: leave value out for open questions"
    if kind == "yes_no":
        if isinstance(value, bool):
            return ("yes" if value else "no"), None
        if isinstance(value, str) and value.strip().casefold() in _YES | _NO:
            return ("yes" if value.strip().casefold() in _YES else "no"), None
        return None, 'value: must be "yes" or "no" for this yes/no question'
    if kind == "scale":
        assert question.scale is not None  # guaranteed by Question's validator
        lo, hi = question.scale.min, question.scale.max
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, float) and value.is_integer():
            number = int(value)
        elif isinstance(value, str) and _INT_TEXT.match(value.strip()):
            number = int(float(value.strip()))
        if number is None:
            return None, f"value: must be a whole number from {lo} to {hi}"
        if not lo <= number <= hi:
            return None, f"value: {number} is out of bounds; must be from {lo} to {hi}"
        return number, None
    # choices
    by_key = {_option_key(o): o for o in question.options}
    listed = "; ".join(question.options)
    if kind == "single_choice":
        if isinstance(value, list | tuple) and len(value) == 1:
            value = value[0]
        if isinstance(value, str) and _option_key(value) in by_key:
            return by_key[_option_key(value)], None
        return None, f"value: not one of the options; must be exactly one of: {listed}"
    if isinstance(value, str):
        items = [value] if _option_key(value) in by_key else value.split(";")
        items = [i.strip() for i in items if i.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = []
    chosen: list[str] = []
    for item in items:
        if not isinstance(item, str) or _option_key(item) not in by_key:
            return None, (
                f"value: {str(item)[:60]!r} is not one of the options; choose from: {listed} "
                '(separate several with "; ")'
            )
        option = by_key[_option_key(item)]
        if option not in chosen:
            chosen.append(option)
    if not chosen:
        return None, f"value: choose one or more of: {listed}"
    # report choices in the survey's option order, so equal answers compare equal
    return tuple(o for o in question.options if o in chosen), None


def _value_text(value: Value) -> str:
    if isinstance(value, tuple):
        return "; ".join(value)
    return str(value)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _PANEL_ANSWER_CHARS else text[: _PANEL_ANSWER_CHARS - 1] + "\u2026"


# One pass over every character, so no entity gets escaped twice. Besides the HTML specials,
# Markdown punctuation becomes entities too: it renders the same in HTML and keeps the fragment
# inert if a UI ever passes it through a Markdown renderer (no links, images or emphasis).
_HTML_ESCAPES = str.maketrans({c: f"&#{ord(c)};" for c in "&<>\"'[]()`*_!#:\\|~"})


def _escape_html(text: str) -> str:
    return " ".join(text.split()).translate(_HTML_ESCAPES)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:])")


def escape_markdown(text: str) -> str:
    """Text that renders literally in Markdown (also inside Gradio's HTML-capable renderer).

    Collapses whitespace (no new blocks), turns `& < >` into entities (no raw HTML), and
    backslash-escapes Markdown punctuation (no links, images, emphasis or autolinked schemes).
    """
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = text.replace('"', "&quot;")
    return _MD_SPECIAL.sub(r"\\\1", text)
