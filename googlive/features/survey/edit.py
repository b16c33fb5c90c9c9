"""Pure editing operations for the survey builder: each returns a new, validated survey.

Ids are the handles: sections and questions are addressed by id, never by position, so an edit
made from a stale view of the survey still lands on the right item or fails loudly. New ids are
`s<n>` / `q<n>` from `next_item_id`, deterministic for a given survey. A refused edit raises
`SurveyError` naming the field, like an import error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from googlive.features.survey.jsonio import SurveyError, format_validation_error
from googlive.features.survey.model import (
    CHOICE_KINDS,
    QuestionKind,
    Scale,
    Survey,
    new_survey_id,
    next_item_id,
)

_UNSET: Any = object()


def _rebuild(survey: Survey, **changes: Any) -> Survey:
    data = survey.model_dump()
    data.update(changes)
    try:
        return Survey.model_validate(data)
    except ValidationError as exc:
        raise SurveyError(format_validation_error(exc)) from None


def _sections(survey: Survey) -> list[dict[str, Any]]:
    return [s.model_dump() for s in survey.sections]


def _section_index(survey: Survey, section_id: str) -> int:
    for i, section in enumerate(survey.sections):
        if section.id == section_id:
            return i
    raise SurveyError(f"section_id: no section {section_id!r} in this survey")


def _question_position(survey: Survey, question_id: str) -> tuple[int, int]:
    for s, section in enumerate(survey.sections):
        for q, question in enumerate(section.questions):
            if question.id == question_id:
                return s, q
    raise SurveyError(f"question_id: no question {question_id!r} in this survey")


def _clamp_index(index: int | None, length: int) -> int:
    if index is None:
        return length
    if index < 0:
        index += length + 1
    return max(0, min(index, length))


def new_survey(
    title: str,
    *,
    survey_id: str | None = None,
    purpose: str = "",
    persona: str | None = None,
    tone: str | None = None,
    language: str = "English",
) -> Survey:
    """An empty survey with a fresh id (random unless `survey_id` is given)."""
    fields: dict[str, Any] = {
        "id": survey_id or new_survey_id(),
        "title": title,
        "purpose": purpose,
        "language": language,
    }
    if persona is not None:
        fields["persona"] = persona
    if tone is not None:
        fields["tone"] = tone
    try:
        return Survey.model_validate(fields)
    except ValidationError as exc:
        raise SurveyError(format_validation_error(exc)) from None


def copy_survey(
    survey: Survey, *, survey_id: str | None = None, title: str | None = None
) -> Survey:
    """The same survey under a new id (e.g. to edit a built-in template); item ids are kept."""
    changes: dict[str, Any] = {"id": survey_id or new_survey_id()}
    if title is not None:
        changes["title"] = title
    return _rebuild(survey, **changes)


def update_survey(
    survey: Survey,
    *,
    title: str = _UNSET,
    purpose: str = _UNSET,
    persona: str = _UNSET,
    tone: str = _UNSET,
    language: str = _UNSET,
) -> Survey:
    """Change survey-level fields; arguments left out keep their value."""
    given = {
        "title": title,
        "purpose": purpose,
        "persona": persona,
        "tone": tone,
        "language": language,
    }
    return _rebuild(survey, **{k: v for k, v in given.items() if v is not _UNSET})


def next_section_id(survey: Survey) -> str:
    return next_item_id({s.id for s in survey.sections}, "s")


def next_question_id(survey: Survey) -> str:
    return next_item_id(set(survey.question_ids()), "q")


def add_section(
    survey: Survey,
    title: str,
    description: str = "",
    *,
    index: int | None = None,
    section_id: str | None = None,
) -> Survey:
    """Insert a section at `index` (default: at the end; negative counts from the end)."""
    sections = _sections(survey)
    new = {"id": section_id or next_section_id(survey), "title": title, "description": description}
    sections.insert(_clamp_index(index, len(sections)), new)
    return _rebuild(survey, sections=sections)


def update_section(
    survey: Survey, section_id: str, *, title: str = _UNSET, description: str = _UNSET
) -> Survey:
    s = _section_index(survey, section_id)
    sections = _sections(survey)
    if title is not _UNSET:
        sections[s]["title"] = title
    if description is not _UNSET:
        sections[s]["description"] = description
    return _rebuild(survey, sections=sections)


def move_section(survey: Survey, section_id: str, index: int) -> Survey:
    """Move a section so that it ends up at position `index` (clamped to the valid range)."""
    s = _section_index(survey, section_id)
    sections = _sections(survey)
    moved = sections.pop(s)
    sections.insert(_clamp_index(index, len(sections)), moved)
    return _rebuild(survey, sections=sections)


def reorder_sections(survey: Survey, section_ids: Sequence[str]) -> Survey:
    """Put sections in the given order; `section_ids` must list every section exactly once."""
    current = [s.id for s in survey.sections]
    if sorted(section_ids) != sorted(current):
        raise SurveyError("section_ids: must list every section id exactly once")
    by_id = {s["id"]: s for s in _sections(survey)}
    return _rebuild(survey, sections=[by_id[i] for i in section_ids])


def delete_section(survey: Survey, section_id: str) -> Survey:
    """Remove a section and all its questions."""
    s = _section_index(survey, section_id)
    sections = _sections(survey)
    del sections[s]
    return _rebuild(survey, sections=sections)


def _scale_dict(scale: Scale | dict[str, Any] | None) -> dict[str, Any] | None:
    if isinstance(scale, Scale):
        return scale.model_dump()
    return scale


def add_question(
    survey: Survey,
    section_id: str,
    text: str,
    kind: QuestionKind = "open",
    *,
    required: bool = True,
    options: Iterable[str] = (),
    scale: Scale | dict[str, Any] | None = None,
    follow_up: str = "",
    index: int | None = None,
    question_id: str | None = None,
) -> Survey:
    """Insert a question into a section at `index` (default: at the end)."""
    s = _section_index(survey, section_id)
    sections = _sections(survey)
    new = {
        "id": question_id or next_question_id(survey),
        "text": text,
        "kind": kind,
        "required": required,
        "options": tuple(options),
        "scale": _scale_dict(scale),
        "follow_up": follow_up,
    }
    questions = list(sections[s]["questions"])
    questions.insert(_clamp_index(index, len(questions)), new)
    sections[s]["questions"] = questions
    return _rebuild(survey, sections=sections)


def update_question(
    survey: Survey,
    question_id: str,
    *,
    text: str = _UNSET,
    kind: QuestionKind = _UNSET,
    required: bool = _UNSET,
    options: Iterable[str] = _UNSET,
    scale: Scale | dict[str, Any] | None = _UNSET,
    follow_up: str = _UNSET,
) -> Survey:
    """Change a question's fields; its id and position stay.

    Changing `kind` drops fields the new kind cannot have (options, scale), so switching a
    choice question to open works without clearing its options first.
    """
    s, q = _question_position(survey, question_id)
    sections = _sections(survey)
    question = dict(sections[s]["questions"][q])
    if text is not _UNSET:
        question["text"] = text
    if kind is not _UNSET:
        question["kind"] = kind
        if kind not in CHOICE_KINDS:
            question["options"] = ()
        if kind != "scale":
            question["scale"] = None
    if required is not _UNSET:
        question["required"] = required
    if options is not _UNSET:
        question["options"] = tuple(options)
    if scale is not _UNSET:
        question["scale"] = _scale_dict(scale)
    if follow_up is not _UNSET:
        question["follow_up"] = follow_up
    questions = list(sections[s]["questions"])
    questions[q] = question
    sections[s]["questions"] = questions
    return _rebuild(survey, sections=sections)


def move_question(
    survey: Survey, question_id: str, index: int, *, section_id: str | None = None
) -> Survey:
    """Move a question to position `index` in `section_id` (default: its own section)."""
    s, q = _question_position(survey, question_id)
    target = s if section_id is None else _section_index(survey, section_id)
    sections = _sections(survey)
    source = list(sections[s]["questions"])
    moved = source.pop(q)
    sections[s]["questions"] = source
    dest = list(sections[target]["questions"])
    dest.insert(_clamp_index(index, len(dest)), moved)
    sections[target]["questions"] = dest
    return _rebuild(survey, sections=sections)


def delete_question(survey: Survey, question_id: str) -> Survey:
    s, q = _question_position(survey, question_id)
    sections = _sections(survey)
    questions = list(sections[s]["questions"])
    del questions[q]
    sections[s]["questions"] = questions
    return _rebuild(survey, sections=sections)


def readiness_problems(survey: Survey) -> list[str]:
    """Why a valid survey is not yet worth running (empty parts); empty when it is ready."""
    problems: list[str] = []
    if not survey.sections:
        problems.append("sections: the survey has no sections")
    for s, section in enumerate(survey.sections):
        if not section.questions:
            problems.append(f"sections[{s}].questions: section {section.title!r} has no questions")
    if not survey.purpose.strip():
        problems.append("purpose: say why the survey is run, so the interviewer can explain it")
    return problems


__all__ = [
    "add_question",
    "add_section",
    "copy_survey",
    "delete_question",
    "delete_section",
    "move_question",
    "move_section",
    "new_survey",
    "next_question_id",
    "next_section_id",
    "readiness_problems",
    "reorder_sections",
    "update_question",
    "update_section",
    "update_survey",
]
