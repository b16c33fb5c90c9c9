"""The Survey Builder's edit actions as plain functions of the builder's inputs (no I/O).

Each takes the survey state (its JSON dict) and the fields as the page sends them, and returns
every builder output by name (`view.render`). Every action that changes the survey re-applies
the survey-level fields from their textboxes first (`with_details`), so what the user typed is
never lost to event ordering. A refused edit leaves the state and the editor fields untouched
and shows the error in plain words (`act`), naming the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from googlive.features.survey import edit
from googlive.features.survey.compile import compile_instruction
from googlive.features.survey.jsonio import SurveyError
from googlive.features.survey.messages import plain
from googlive.features.survey.model import CHOICE_KINDS, Survey
from googlive.features.survey.view import (
    OUTPUTS,
    QUESTION_FIELDS,
    SECTION_FIELDS,
    failed,
    question_fields,
    render,
    survey_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def with_details(state: dict[str, Any] | None, details: Sequence[Any]) -> Survey:
    """The state's survey with the survey-level fields as typed (raises SurveyError)."""
    title, purpose, persona, tone, language = (str(v or "") for v in details)
    return edit.update_survey(
        survey_of(state),
        title=title,
        purpose=purpose,
        persona=persona,
        tone=tone,
        language=language,
    )


def preview(state: dict[str, Any] | None, *details: Any) -> str:
    """The live preview as the survey fields are typed (state is not changed)."""
    try:
        return compile_instruction(with_details(state, details))
    except SurveyError as exc:
        return f"(The preview is waiting for a fix: {exc})"


def _whole_number(value: Any, field: str) -> int:
    if value is None or value == "":
        raise SurveyError(f"{field}: enter a whole number")
    f = float(value)
    if not f.is_integer():
        raise SurveyError(f"{field}: must be a whole number, got {value}")
    return int(f)


def question_values(fields: Sequence[Any]) -> dict[str, Any]:
    """The question editor's fields as edit.add_question/update_question keyword arguments."""
    text, kind, required, options, lo, hi, lo_label, hi_label, follow_up = fields
    kind = kind or "open"
    values: dict[str, Any] = {
        "text": str(text or "").strip(),
        "kind": kind,
        "required": bool(required),
        "options": tuple(o.strip() for o in str(options or "").splitlines() if o.strip())
        if kind in CHOICE_KINDS
        else (),
        "scale": None,
        "follow_up": str(follow_up or "").strip(),
    }
    if kind == "scale":
        values["scale"] = {
            "min": _whole_number(lo, "scale.min"),
            "max": _whole_number(hi, "scale.max"),
            "min_label": str(lo_label or "").strip() or None,
            "max_label": str(hi_label or "").strip() or None,
        }
    return values


def act(fn: Any, state: Any = None) -> Any:
    """Run an edit; a refusal is shown in plain words, with titles from the survey in `state`."""
    try:
        return fn()
    except SurveyError as exc:
        return failed(plain(str(exc), state))
    except ValueError:  # e.g. float("abc") from a number field
        return failed("Enter numbers in the scale fields.")


def new_blank() -> dict[str, Any]:
    return render(edit.new_survey("Untitled survey"))


def add_section(state: Any, *args: Any) -> dict[str, Any]:
    details, (sec_title, sec_desc) = args[:5], args[5:7]

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        title = str(sec_title or "").strip() or f"Section {len(s.sections) + 1}"
        new_id = edit.next_section_id(s)
        return render(edit.add_section(s, title, str(sec_desc or "")), new_id)

    return act(go, state)


def _on_selected(
    state: Any,
    details: Sequence[Any],
    item_id: str | None,
    missing: str,
    change: Callable[[Survey, str], dict[str, Any]],
) -> dict[str, Any]:
    """`change(survey, item_id)` on the survey with the typed details; with nothing selected,
    refused with `missing` (a "field: reason" message)."""

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        if not item_id:
            raise SurveyError(missing)
        return change(s, item_id)

    return act(go, state)


def update_section(state: Any, *args: Any) -> dict[str, Any]:
    details, (section_id, sec_title, sec_desc) = args[:5], args[5:8]

    def change(s: Survey, sid: str) -> dict[str, Any]:
        text = {"title": str(sec_title or ""), "description": str(sec_desc or "")}
        return render(edit.update_section(s, sid, **text), sid)

    return _on_selected(state, details, section_id, "section: add a section first", change)


def move_section(state: Any, *args: Any, delta: int) -> dict[str, Any]:
    details, section_id = args[:5], args[5]

    def change(s: Survey, sid: str) -> dict[str, Any]:
        index = next((i for i, sec in enumerate(s.sections) if sec.id == sid), 0)
        return render(edit.move_section(s, sid, max(0, index + delta)), sid)

    return _on_selected(state, details, section_id, "section: select a section to move", change)


def delete_section(state: Any, *args: Any) -> dict[str, Any]:
    details, section_id = args[:5], args[5]
    return _on_selected(
        state,
        details,
        section_id,
        "section: select a section to delete",
        lambda s, sid: render(edit.delete_section(s, sid)),
    )


def add_question(state: Any, *args: Any) -> dict[str, Any]:
    details, section_id, fields = args[:5], args[5], args[6:15]

    def change(s: Survey, sid: str) -> dict[str, Any]:
        new_id = edit.next_question_id(s)
        return render(edit.add_question(s, sid, **question_values(fields)), sid, new_id)

    missing = "section: add a section before adding questions"
    return _on_selected(state, details, section_id, missing, change)


def update_question(state: Any, *args: Any) -> dict[str, Any]:
    details, question_id, fields = args[:5], args[5], args[6:15]

    def change(s: Survey, qid: str) -> dict[str, Any]:
        return render(edit.update_question(s, qid, **question_values(fields)), None, qid)

    missing = "question: select a question to update"
    return _on_selected(state, details, question_id, missing, change)


def move_question(state: Any, *args: Any, delta: int) -> dict[str, Any]:
    details, question_id = args[:5], args[5]

    def change(s: Survey, qid: str) -> dict[str, Any]:
        section = s.section_of(qid)
        if section is None:
            raise SurveyError(f"question_id: no question {qid!r} in this survey")
        index = [q.id for q in section.questions].index(qid)
        return render(edit.move_question(s, qid, max(0, index + delta)), section.id, qid)

    missing = "question: select a question to move"
    return _on_selected(state, details, question_id, missing, change)


def delete_question(state: Any, *args: Any) -> dict[str, Any]:
    details, question_id = args[:5], args[5]

    def change(s: Survey, qid: str) -> dict[str, Any]:
        section = s.section_of(qid)
        return render(edit.delete_question(s, qid), section.id if section else None)

    missing = "question: select a question to delete"
    return _on_selected(state, details, question_id, missing, change)


def select_section(state: Any, section_id: str | None) -> dict[str, Any]:
    """Show the chosen section and its first question in the editors (state unchanged)."""
    out = render(survey_of(state), section_id)
    return {
        k: (v if k in ("question", *SECTION_FIELDS, *QUESTION_FIELDS) else gr.skip())
        for k, v in out.items()
    }


def select_question(state: Any, question_id: str | None) -> dict[str, Any]:
    s = survey_of(state)
    out: dict[str, Any] = {name: gr.skip() for name in OUTPUTS}
    if question_id:
        out.update(question_fields(s.question(question_id)))
    return out
