"""A survey session's answers on the Results page: what `record_answer` recorded, reconciled
with what the analysis read from the transcript (pure, no I/O).

Two sources describe the same questions:

- survey.json in the archive: the survey as it ran and, at close, `answers` (the export of
  `SurveyProgress`: per question the recorded answer text, normalised value, confidence and
  the wall-clock time `at` it was recorded);
- analysis.json: `survey_answers` per question id with an answer, a confidence and quoted
  evidence (time ``mm:ss`` + quote), from the model or from the offline analysis.

`reconcile` joins them per question, in survey order: a recorded answer is the answer (it is
what the interview captured); an analysis answer fills a question nothing was recorded for, and
is shown beside a recorded one when it reads differently. Evidence is the analysis' quotes plus,
for a recorded answer, the respondent's transcript line at the time it was recorded. A question
with neither is unanswered. `render_html` escapes every string: survey text, answers and quotes
are untrusted (the survey file, the model and the visitor wrote them).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from googlive.features.results.analysis_offline import answer_line

QUOTE_CHARS = 240
MAX_EVIDENCE = 4

State = Literal["recorded", "analysis", "unanswered"]


@dataclass(frozen=True, slots=True)
class Evidence:
    clock: str  # "mm:ss" or "--:--"
    quote: str
    source: Literal["recorded", "analysis"]


@dataclass(frozen=True, slots=True)
class QuestionResult:
    question_id: str
    section: str
    text: str
    kind: str
    required: bool
    state: State
    answer: str | None = None  # the recorded answer text, else the analysis' answer
    value: str | None = None  # the recorded normalised value (choice, scale number, yes/no)
    confidence: float | None = None
    analysis_answer: str | None = None  # shown too when it differs from the recorded one
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True, slots=True)
class SurveyResults:
    title: str
    questions: tuple[QuestionResult, ...] = field(default_factory=tuple)

    @property
    def total(self) -> int:
        return len(self.questions)

    @property
    def answered(self) -> int:
        return sum(1 for q in self.questions if q.state != "unanswered")

    @property
    def unanswered(self) -> list[QuestionResult]:
        return [q for q in self.questions if q.state == "unanswered"]

    @property
    def missing_required(self) -> list[QuestionResult]:
        return [q for q in self.unanswered if q.required]


def clock(t_s: float | None) -> str:
    if t_s is None or t_s != t_s or t_s < 0:
        return "--:--"
    total = int(t_s)
    return f"{total // 60:02d}:{total % 60:02d}"


def _text(value: Any) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def _short(text: str, n: int = QUOTE_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _value_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple):
        items = [str(v) for v in value if str(v).strip()]
        return "; ".join(items) or None
    return str(value)


def _questions(survey: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    out: list[tuple[str, Mapping[str, Any]]] = []
    for section in survey.get("sections") or []:
        if not isinstance(section, Mapping):
            continue
        title = _text(section.get("title"))
        for q in section.get("questions") or []:
            if isinstance(q, Mapping) and isinstance(q.get("id"), str):
                out.append((title, q))
    return out


def _recorded(survey: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    answers = survey.get("answers")
    rows = answers.get("answers") if isinstance(answers, Mapping) else None
    out: dict[str, Mapping[str, Any]] = {}
    for row in rows or []:
        if (
            isinstance(row, Mapping)
            and isinstance(row.get("question_id"), str)
            and _text(row.get("answer"))
        ):
            out[row["question_id"]] = row
    return out


def _analysed(analysis: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    if not isinstance(analysis, Mapping) or not analysis.get("ok"):
        return {}
    body = analysis.get("analysis")
    rows = body.get("survey_answers") if isinstance(body, Mapping) else None
    out: dict[str, Mapping[str, Any]] = {}
    for row in rows or []:
        if isinstance(row, Mapping) and isinstance(row.get("question_id"), str):
            out.setdefault(row["question_id"], row)
    return out


def reconcile(
    survey: Mapping[str, Any] | None,
    analysis: Mapping[str, Any] | None,
    transcript: Sequence[Any] = (),
    t0_unix: float | None = None,
) -> SurveyResults | None:
    """Join the recorded answers and the analysis per survey question (see the module doc).

    `transcript` holds lines with role/text/t_s (archive_records.TranscriptLine); `t0_unix` is
    the wall clock at session time 0 (ArchivedSession.t0_unix), to place a recorded answer's
    wall-clock time on the transcript.
    None when the session ran no survey.
    """
    if not isinstance(survey, Mapping):
        return None
    recorded = _recorded(survey)
    analysed = _analysed(analysis)
    results: list[QuestionResult] = []
    for section, q in _questions(survey):
        qid = q["id"]
        rec = recorded.get(qid)
        ana = analysed.get(qid)
        ana_answer = _text(ana.get("answer")) if ana else ""
        evidence: list[Evidence] = []
        seen: set[str] = set()
        answer: str | None = None
        value = confidence = None
        if rec is not None:
            answer = _text(rec.get("answer"))
            value = _value_text(rec.get("value"))
            conf = rec.get("confidence")
            confidence = (
                float(conf)
                if isinstance(conf, int | float) and not isinstance(conf, bool)
                else None
            )
            at = rec.get("at")
            if isinstance(at, int | float) and isinstance(t0_unix, int | float):
                line = answer_line(transcript, float(at) - float(t0_unix), answer)
                if line is not None:
                    quote = _short(_text(line.text))
                    evidence.append(Evidence(clock(line.t_s), quote, "recorded"))
                    seen.add(_norm(quote))
        if ana is not None:
            for ev in ana.get("evidence") or []:
                if not isinstance(ev, Mapping):
                    continue
                quote = _short(_text(ev.get("quote")))
                if not quote or _norm(quote) in seen:
                    continue
                seen.add(_norm(quote))
                t = ev.get("time")
                evidence.append(
                    Evidence(
                        t if isinstance(t, str) and re.fullmatch(r"\d{1,4}:\d\d", t) else "--:--",
                        quote,
                        "analysis",
                    )
                )
        if answer:
            state: State = "recorded"
            other = ana_answer if ana_answer and _norm(ana_answer) != _norm(answer) else None
        elif ana_answer:
            state, answer, other = "analysis", ana_answer, None
            conf = ana.get("confidence") if ana else None
            confidence = (
                float(conf)
                if isinstance(conf, int | float) and not isinstance(conf, bool)
                else None
            )
        else:
            state, other = "unanswered", None
        results.append(
            QuestionResult(
                question_id=qid,
                section=section,
                text=_text(q.get("text")) or qid,
                kind=_text(q.get("kind")) or "open",
                required=bool(q.get("required", True)),
                state=state,
                answer=answer,
                value=value,
                confidence=confidence,
                analysis_answer=other,
                evidence=tuple(evidence[:MAX_EVIDENCE]),
            )
        )
    return SurveyResults(_text(survey.get("title")) or "Survey", tuple(results))


# --------------------------------------------------------------------------- rendering


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def summary_line(res: SurveyResults) -> str:
    parts = [f"{res.answered} of {plural(res.total, 'question')} answered"]
    missing = len(res.missing_required)
    if missing:
        parts.append(f"{plural(missing, 'required question')} still unanswered")
    elif res.unanswered:
        parts.append("every required question answered")
    else:
        parts.append("complete")
    return " · ".join(parts)


_STATE_LABEL = {
    "recorded": "Recorded during the interview",
    "analysis": "Found by the analysis (not recorded during the interview)",
    "unanswered": "Not answered",
}


def _question_html(n: int, q: QuestionResult) -> str:
    out = [
        f'<li class="sv-q sv-{q.state}" data-qid="{_e(q.question_id)}" data-state="{q.state}">',
        f'<div class="sv-qt"><span class="sv-n">{n}.</span> {_e(q.text)}'
        + ("" if q.required else ' <span class="sv-opt">(optional)</span>'),
    ]
    if not q.answer:
        out.append(
            f' <span class="sv-none">{_e(_STATE_LABEL["unanswered"].lower())}'
            + (" · required" if q.required else "")
            + "</span>"
        )
    out.append("</div>")
    if q.answer:
        val = (
            f' <span class="sv-val">{_e(q.value)}</span>'
            if q.value and _norm(q.value) != _norm(q.answer)
            else ""
        )
        conf = f" · confidence {q.confidence:.0%}" if q.confidence is not None else ""
        out.append(
            f'<div class="sv-a">{_e(q.answer)}{val}</div>'
            f'<div class="sv-src">{_e(_STATE_LABEL[q.state] + conf)}</div>'
        )
        if q.analysis_answer:
            out.append(
                f'<div class="sv-alt">The analysis reads it as: {_e(q.analysis_answer)}</div>'
            )
    if q.evidence:
        items = "".join(
            f'<li data-source="{ev.source}"><span class="t">{_e(ev.clock)}</span> '
            f"<q>{_e(ev.quote)}</q></li>"
            for ev in q.evidence
        )
        out.append(f'<ul class="sv-ev" aria-label="Evidence from the transcript">{items}</ul>')
    out.append("</li>")
    return "".join(out)


def render_html(res: SurveyResults | None) -> str:
    """The Survey answers panel; '' without a survey."""
    if res is None:
        return ""
    out = [
        f'<div class="sv" data-answered="{res.answered}" data-total="{res.total}">',
        f"<h4>Survey answers · {_e(res.title)}</h4>",
        f'<p class="sv-sum">{_e(summary_line(res))}</p>',
    ]
    if not res.questions:
        out.append('<p class="sv-none">This survey has no questions.</p></div>')
        return "".join(out)
    n = 0
    for section in _sections(res.questions):
        out.append(
            f'<div class="sv-sec"><h5>{_e(section[0] or "Questions")}</h5><ol class="sv-list">'
        )
        for q in section[1]:
            n += 1
            out.append(_question_html(n, q))
        out.append("</ol></div>")
    out.append("</div>")
    return "".join(out)


def _sections(questions: Iterable[QuestionResult]) -> list[tuple[str, list[QuestionResult]]]:
    out: list[tuple[str, list[QuestionResult]]] = []
    for q in questions:
        if not out or out[-1][0] != q.section:
            out.append((q.section, []))
        out[-1][1].append(q)
    return out
