"""The analysis of an offline-demo session, computed from its transcript (pure, no I/O).

In the offline demo no model can read the conversation, so instead of asking the local server
for schema-shaped filler, the Results page gets what the archive shows, counted: how long the
session lasted, how many turns each side took (typed and spoken), how fast the replies came,
the lines the user typed, the snapshots and diagrams, and the survey answers `record_answer`
recorded, each with the transcript line it came from. The result has the shape of
`AnalysisResult.to_dict()` (so analysis.json, the zip and the Results page treat it alike)
plus ``"offline": true``; nothing in it is invented, and nothing appears twice.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

MAX_TYPED = 20
MAX_LINE_CHARS = 300

# What the offline server puts in the input transcription of a spoken turn, since it has no
# speech recognition: googlive/fakelive/script.py `input_transcript` ("[offline demo heard",
# " {seconds:.1f} s of speech]"), stitched into one line by the handler.
SPOKEN_LINE = re.compile(r"^\[offline demo heard\s+(\d+(?:\.\d+)?) s of speech\]$")


def plural(n: int, one: str, many: str | None = None) -> str:
    """ "1 turn", "2 turns", "0 turns" ("no" is left to the caller)."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def clock(t_s: float | None) -> str:
    if t_s is None or t_s != t_s or t_s < 0:
        return "--:--"
    total = int(t_s)
    return f"{total // 60:02d}:{total % 60:02d}"


def _get(obj: Any, name: str, default: Any = None) -> Any:
    return obj.get(name, default) if isinstance(obj, Mapping) else getattr(obj, name, default)


def _norm(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def _one_line(text: Any) -> str:
    return " ".join(text.split()) if isinstance(text, str) else ""


def _short(text: str, n: int = MAX_LINE_CHARS) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def spoken_seconds(text: str) -> float | None:
    """Seconds of speech of an offline spoken turn's placeholder line, else None (typed)."""
    m = SPOKEN_LINE.match(_one_line(text))
    return float(m.group(1)) if m else None


def answer_line(transcript: Sequence[Any], t_s: float, answer: str) -> Any | None:
    """The respondent's line a recorded answer came from: the last user line that started at or
    before `t_s` (the moment `record_answer` ran, +0.5 s for clock skew between the two
    writers), preferring, among the last three, one that shares words with the answer."""
    before = [
        ln
        for ln in transcript
        if _get(ln, "role") == "user"
        and _one_line(_get(ln, "text"))
        and float(_get(ln, "t_s", 0.0) or 0.0) <= t_s + 0.5
    ]
    if not before:
        return None
    words = set(_norm(answer).split())

    def overlap(ln: Any) -> int:
        return len(words & set(_norm(_one_line(_get(ln, "text"))).split()))

    best = max(before[-3:], key=lambda ln: (overlap(ln), float(_get(ln, "t_s", 0.0) or 0.0)))
    return best if overlap(best) else before[-1]


def recorded_answers(survey: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The answered rows of survey.json's `answers` export, in survey order."""
    answers = survey.get("answers") if isinstance(survey, Mapping) else None
    rows = answers.get("answers") if isinstance(answers, Mapping) else None
    return [
        r
        for r in rows or []
        if isinstance(r, Mapping)
        and isinstance(r.get("question_id"), str)
        and _one_line(r.get("answer"))
    ]


def _question_count(survey: Mapping[str, Any]) -> int:
    return sum(
        len(s.get("questions") or [])
        for s in survey.get("sections") or []
        if isinstance(s, Mapping)
    )


def _answer_text(row: Mapping[str, Any]) -> str:
    answer = _one_line(row.get("answer"))
    value = row.get("value")
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    if value not in (None, "") and _norm(str(value)) not in _norm(answer):
        answer += f" [{value}]"
    return answer


def offline_analysis(
    transcript: Iterable[Any],
    survey: Mapping[str, Any] | None = None,
    *,
    duration_s: float | None = None,
    snapshots: int = 0,
    diagrams: int = 0,
    t0_unix: float | None = None,
) -> dict[str, Any]:
    """The offline analysis of one archived session (see the module docstring).

    `transcript` holds lines with role, text, t_s (and latency_ms when known), as in
    archive_records.TranscriptLine; `survey` is survey.json (the survey with its recorded
    `answers`); `t0_unix` (the wall clock at session time 0) places the answers' wall-clock
    times on the transcript.
    """
    lines = [ln for ln in transcript if _one_line(_get(ln, "text"))]
    user = [ln for ln in lines if _get(ln, "role") == "user"]
    model = [ln for ln in lines if _get(ln, "role") == "model"]
    spoken = [s for s in (spoken_seconds(_get(ln, "text")) for ln in user) if s is not None]
    typed = [ln for ln in user if spoken_seconds(_get(ln, "text")) is None]
    latencies = [
        float(v) for v in (_get(ln, "latency_ms") for ln in model) if isinstance(v, int | float)
    ]
    if duration_s is None:
        duration_s = max((float(_get(ln, "t_s", 0.0) or 0.0) for ln in lines), default=0.0)

    facts = [f"It lasted {clock(duration_s)}"]
    if not user and not model:
        facts[0] += " and nothing was said or typed"
    else:
        turns = plural(len(user), "turn") + " from you"
        how = []
        if typed:
            how.append(f"{len(typed)} typed")
        if spoken:
            how.append(f"{len(spoken)} spoken, {sum(spoken):.1f} s of speech")
        if how:
            turns += f" ({', '.join(how)})"
        facts[0] += f": {turns} and {plural(len(model), 'reply', 'replies')}"
    sentences = [
        "Offline demo: no model read this conversation, so this is what the transcript "
        "shows, counted, not a summary.",
        facts[0] + ".",
    ]
    if latencies:
        sentences.append(
            f"Replies began {statistics.median(latencies):.0f} ms after you finished "
            f"(median of {len(latencies)})."
        )
    extras = [plural(n, what) for n, what in ((snapshots, "snapshot"), (diagrams, "diagram")) if n]
    if extras:
        sentences.append(" and ".join(extras).capitalize() + ".")
    answers = recorded_answers(survey)
    if isinstance(survey, Mapping):
        title = _one_line(survey.get("title")) or "the survey"
        sentences.append(
            f"Survey “{title}”: {len(answers)} of "
            f"{plural(_question_count(survey), 'question')} answered during the interview."
        )

    typed_lines = [
        f"[{clock(_get(ln, 't_s'))}] {_short(_one_line(_get(ln, 'text')))}"
        for ln in typed[:MAX_TYPED]
    ]
    if len(typed) > MAX_TYPED:
        typed_lines.append(f"… and {len(typed) - MAX_TYPED} more (see the transcript)")

    survey_answers = []
    for row in answers:
        evidence = []
        at = row.get("at")
        if isinstance(at, int | float) and isinstance(t0_unix, int | float):
            line = answer_line(user, float(at) - float(t0_unix), _one_line(row.get("answer")))
            if line is not None:
                evidence.append(
                    {
                        "quote": _short(_one_line(_get(line, "text"))),
                        "time": clock(_get(line, "t_s")),
                    }
                )
        conf = row.get("confidence")
        survey_answers.append(
            {
                "question_id": row["question_id"],
                "question": _one_line(row.get("question")),
                "answer": _answer_text(row),
                "confidence": float(conf)
                if isinstance(conf, int | float) and not isinstance(conf, bool)
                else None,
                "evidence": evidence,
            }
        )

    return {
        "ok": True,
        "offline": True,
        "analysis": {
            "summary": " ".join(sentences),
            "key_points": typed_lines,  # shown as "What you typed" for an offline analysis
            "decisions": [],
            "action_items": [],
            "open_questions": [],
            "survey_answers": survey_answers,
        },
        "raw_text": None,
        "error": None,
        "attempts": 0,
        "usage": {"prompt_tokens": 0, "response_tokens": 0, "total_tokens": 0},
        "chunks": 1,
        "warnings": [],
    }
