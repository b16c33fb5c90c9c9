"""What the Survey Builder shows for a survey: every builder output as a value or `gr.update`.

The builder's outputs are named (`OUTPUTS`, in wiring order); `render` gives all of them for a
survey and a selection, `failed` changes only the error box (a refused action keeps what the
user had). Survey text is only ever put in the page escaped (outline, active line, error box)
or as plain component values (textboxes, dropdown labels). No I/O: `gr.update`/`gr.skip` are
plain dicts.
"""

from __future__ import annotations

import html
from typing import Any

import gradio as gr

from googlive.features.survey import edit
from googlive.features.survey.compile import compile_instruction, describe_kind
from googlive.features.survey.jsonio import survey_to_dict
from googlive.features.survey.messages import plain
from googlive.features.survey.model import CHOICE_KINDS, Section, Survey

DETAILS = ("title", "purpose", "persona", "tone", "language")
SECTION_FIELDS = ("sec_title", "sec_desc")
QUESTION_FIELDS = (
    "q_text",
    "q_kind",
    "q_required",
    "q_options",
    "q_min",
    "q_max",
    "q_min_label",
    "q_max_label",
    "q_follow_up",
)
# Everything a builder action may update, in wiring order ("scale_row" holds the scale fields).
OUTPUTS = (
    "state",
    "outline",
    "preview",
    "error",
    *DETAILS,
    "section",
    *SECTION_FIELDS,
    "question",
    *QUESTION_FIELDS,
    "scale_row",
)


def survey_of(state: dict[str, Any] | None) -> Survey:
    """The survey held in the builder's state (a fresh blank one when there is none)."""
    if not state:
        return edit.new_survey("Untitled survey")
    return Survey.model_validate(state)


def plural(n: int, one: str, many: str | None = None) -> str:
    """ "1 question", "2 questions", "0 questions"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def outline_html(survey: Survey) -> str:
    """The whole survey as an escaped HTML outline, with ids and kinds."""
    e = html.escape
    n = len(survey.question_ids())
    parts = [
        f'<div class="survey-outline"><div><strong>{e(survey.title)}</strong> '
        f'<span class="survey-meta">id {e(survey.id)} · {plural(len(survey.sections), "section")}, '
        f"{plural(n, 'question')}</span></div>"
    ]
    problems = edit.readiness_problems(survey)
    if problems:
        parts.append(
            '<ul class="survey-notes">'
            + "".join(f"<li>{e(plain(p, survey))}</li>" for p in problems)
            + "</ul>"
        )
    for i, s in enumerate(survey.sections, 1):
        parts.append(
            f'<div class="survey-outline-section"><h4>{i}. {e(s.title)} <code>{e(s.id)}</code></h4>'
        )
        if s.description.strip():
            parts.append(f'<p class="survey-desc">{e(s.description)}</p>')
        parts.append("<ol>")
        for q in s.questions:
            req = "" if q.required else " <em>(optional)</em>"
            parts.append(
                f'<li><code>{e(q.id)}</code> {e(q.text)}{req} <span class="survey-kind">[{e(describe_kind(q))}]</span>'
                + (
                    f'<div class="survey-hint">Follow-up: {e(q.follow_up)}</div>'
                    if q.follow_up.strip()
                    else ""
                )
                + "</li>"
            )
        parts.append("</ol></div>")
    parts.append("</div>")
    return "".join(parts)


def error_html(message: str) -> str:
    if not message:
        return ""
    return f'<div class="survey-error" role="alert">{html.escape(message)}</div>'


def ok_html(message: str) -> str:
    """A success note in the same place as errors (so no stale error stays next to it)."""
    return f'<div class="survey-ok" role="status">{html.escape(message)}</div>' if message else ""


def active_html(survey: Survey | None) -> str:
    """The line under the conversation saying which survey the next call runs."""
    if survey is None:
        return '<span class="survey-active none">No survey: plain conversation.</span>'
    # The hint is hidden by CSS while a call runs (the status line says connecting/live).
    return (
        f'<span class="survey-active on">Survey interview: <strong>{html.escape(survey.title)}</strong> '
        f"({plural(len(survey.question_ids()), 'question')})."
        ' <span class="survey-start-hint">Press Start conversation to begin.</span></span>'
    )


def _section(survey: Survey, section_id: str | None) -> Section | None:
    return next((s for s in survey.sections if s.id == section_id), None)


def render(
    survey: Survey, section_id: str | None = None, question_id: str | None = None
) -> dict[str, Any]:
    """Every builder output for `survey` with the given selection (falls back sensibly)."""
    section = _section(survey, section_id)
    if section is None and question_id:
        section = survey.section_of(question_id)
    if section is None and survey.sections:
        section = survey.sections[0]
    questions = section.questions if section else ()
    question = next((q for q in questions if q.id == question_id), None) or (
        questions[0] if questions else None
    )
    out: dict[str, Any] = {
        "state": survey_to_dict(survey),
        "outline": outline_html(survey),
        "preview": compile_instruction(survey),
        "error": "",
        "title": survey.title,
        "purpose": survey.purpose,
        "persona": survey.persona,
        "tone": survey.tone,
        "language": survey.language,
        "section": gr.update(
            choices=[(f"{i}. {s.title}", s.id) for i, s in enumerate(survey.sections, 1)],
            value=section.id if section else None,
        ),
        "sec_title": section.title if section else "",
        "sec_desc": section.description if section else "",
        "question": gr.update(
            choices=[(f"{i}. {q.text}", q.id) for i, q in enumerate(questions, 1)],
            value=question.id if question else None,
        ),
    }
    out.update(question_fields(question))
    return out


def kind_fields(kind: str | None) -> dict[str, Any]:
    """Only the fields the kind uses: options for choices, the scale row for scales."""
    return {
        "q_options": gr.update(visible=kind in CHOICE_KINDS),
        "scale_row": gr.update(visible=kind == "scale"),
    }


def question_fields(question: Any) -> dict[str, Any]:
    if question is None:
        return {
            "q_text": "",
            "q_kind": "open",
            "q_required": True,
            "q_options": gr.update(value="", visible=False),
            "q_min": 1,
            "q_max": 5,
            "q_min_label": "",
            "q_max_label": "",
            "q_follow_up": "",
            "scale_row": gr.update(visible=False),
        }
    sc = question.scale
    return {
        "q_text": question.text,
        "q_kind": question.kind,
        "q_required": question.required,
        "q_options": gr.update(
            value="\n".join(question.options), visible=question.kind in CHOICE_KINDS
        ),
        "q_min": sc.min if sc else 1,
        "q_max": sc.max if sc else 5,
        "q_min_label": (sc.min_label or "") if sc else "",
        "q_max_label": (sc.max_label or "") if sc else "",
        "q_follow_up": question.follow_up,
        "scale_row": gr.update(visible=question.kind == "scale"),
    }


def failed(message: str) -> dict[str, Any]:
    """A refused action: only the error box changes; state and fields keep what the user had."""
    out: dict[str, Any] = {name: gr.skip() for name in OUTPUTS}
    out["error"] = error_html(message)
    return out
