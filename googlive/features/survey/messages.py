"""Survey errors said as a person would (pure).

The model and the JSON import name problems by path, which is right for a file and for the
model's tool responses: ``sections[1].questions[2].options: a single_choice question needs at
least 2 options``. The builder shows the same problem as "Question 3 in “Experience” needs at
least 2 options." `plain(message, survey)` rewrites each "; "-separated problem: the path
becomes the question or section it points at (titles from `survey`, a dict or Survey, when
given), and the known reasons become short sentences. An unknown reason is kept, after the
readable place, so nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_PART = re.compile(r"^(?P<path>\(file\)|\(top level\)|[A-Za-z_][\w.\[\]]*): (?P<msg>.+)$", re.S)
_STEP = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")
_KIND_WORDS = {
    "single_choice": "single-choice",
    "multiple_choice": "multiple-choice",
    "yes_no": "yes/no",
    "scale": "scale",
    "open": "open",
}

SURVEY_FIELDS = {
    "title": "The survey title",
    "purpose": "The purpose",
    "persona": "The interviewer persona",
    "tone": "The tone",
    "language": "The language",
    "id": "The survey id",
    "schema_version": "The file's schema version",
    "sections": "The survey",
}


def _data(survey: Any) -> Mapping[str, Any]:
    if survey is None:
        return {}
    if hasattr(survey, "model_dump"):
        return survey.model_dump()
    return survey if isinstance(survey, Mapping) else {}


def _steps(path: str) -> list[str | int]:
    return [int(m.group(2)) if m.group(2) is not None else m.group(1) for m in _STEP.finditer(path)]


def _section_title(data: Mapping[str, Any], i: int) -> str | None:
    sections = data.get("sections") or ()
    if 0 <= i < len(sections):
        title = sections[i].get("title") if isinstance(sections[i], Mapping) else None
        if isinstance(title, str) and title.strip():
            return " ".join(title.split())
    return None


def _place(steps: list[str | int], data: Mapping[str, Any]) -> tuple[str, list[str | int]]:
    """(who, the remaining field steps): "Question 3 in “Experience”", ["options"]."""
    if len(steps) >= 2 and steps[0] == "sections" and isinstance(steps[1], int):
        s = steps[1]
        title = _section_title(data, s)
        section = f"“{title}”" if title else f"section {s + 1}"
        if len(steps) >= 4 and steps[2] == "questions" and isinstance(steps[3], int):
            return f"Question {steps[3] + 1} in {section}", steps[4:]
        return (f"Section {s + 1} (“{title}”)" if title else f"Section {s + 1}"), steps[2:]
    if steps and isinstance(steps[0], str) and steps[0] in SURVEY_FIELDS:
        return SURVEY_FIELDS[steps[0]], steps[1:]
    if steps and steps[0] == "scale":
        return "The scale", steps[1:]
    return "", steps


def _field_words(rest: list[str | int]) -> str:
    names = {
        "text": "its text",
        "title": "its title",
        "description": "its description",
        "follow_up": "its follow-up hint",
        "kind": "its kind",
        "id": "its id",
        "options": "its options",
        "scale": "its scale",
        "min": "the lowest value",
        "max": "the highest value",
        "min_label": "the lowest value's label",
        "max_label": "the highest value's label",
        "required": "“required”",
    }
    if len(rest) >= 2 and rest[0] == "options" and isinstance(rest[1], int):
        return f"option {rest[1] + 1}"
    if rest and rest[0] == "scale" and len(rest) > 1:
        return names.get(str(rest[1]), str(rest[1]))
    return names.get(str(rest[0]), str(rest[0]).replace("_", " ")) if rest else ""


def _reason(msg: str, rest: list[str | int]) -> str | None:
    """A short predicate for a known reason ("needs at least 2 options"), else None."""
    m = msg.strip().rstrip(".")
    field = _field_words(rest)
    if re.fullmatch(r"an? \w+ question needs at least 2 options", m):
        return "needs at least 2 options"
    if m == "duplicate option" and field:
        return f"lists {field} twice"
    if m == "must not contain ';'" and field:
        return f"has “;” in {field}; use another character"
    if g := re.fullmatch(r"must be greater than min \((-?\d+)\), got (-?\d+)", m):
        return f"needs a highest value above the lowest ({g.group(1)}); it is {g.group(2)}"
    if m == "a scale question needs a scale with min and max":
        return "needs a lowest and a highest value"
    if m == "must not be blank":
        special = {(): "is empty", ("title",): "needs a title", ("text",): "has no text"}
        return special.get(tuple(rest)) or f"has an empty {field.removeprefix('its ')}"
    if g := re.fullmatch(r"string should have at most (\d+) characters?", m):
        return (
            f"is too long: {field} can have at most {g.group(1)} characters"
            if field
            else f"is too long (at most {g.group(1)} characters)"
        )
    if m == "must be a single line without control characters":
        return f"must keep {field} on one line" if field else "must be on one line"
    if g := re.fullmatch(r"input should be (greater|less) than or equal to (-?\d+)", m):
        word = "at least" if g.group(1) == "greater" else "at most"
        return f"needs {field or 'a value'} of {word} {g.group(2)}"
    if g := re.fullmatch(r"enter a whole number|must be a whole number, got (.+)", m):
        return f"needs a whole number for {field or 'this value'}"
    if m == "required field is missing":
        return f"is missing {field}" if field else "is missing"
    if m == "unknown field":
        return (
            f"has a field this app does not know ({field})"
            if field
            else "has a field this app does not know"
        )
    if g := re.fullmatch(
        r"only single_choice and multiple_choice questions have options, not (\w+)", m
    ):
        return f"is a {_KIND_WORDS.get(g.group(1), g.group(1))} question, which has no options"
    if re.fullmatch(r"section .+ has no questions", m) or m == "the survey has no sections":
        return "has no questions yet" if rest == ["questions"] else "has no sections yet"
    if m.startswith("say why the survey is run"):
        return "is empty: " + m
    if g := re.fullmatch(r"too many questions: (\d+) > (\d+)", m):
        return f"has {g.group(1)} questions; at most {g.group(2)} fit"
    return None


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "?", "!")) else text + "."


def plain_part(part: str, data: Mapping[str, Any], *, with_path: bool = False) -> str:
    text = _plain_part(part, data)
    m = _PART.match(part.strip())
    if with_path and m and m.group("path") not in ("(file)", "(top level)"):
        text = text.rstrip(".") + f" (in the file: {m.group('path')})."
    return text


def _plain_part(part: str, data: Mapping[str, Any]) -> str:
    m = _PART.match(part.strip())
    if not m:
        return _sentence(part)
    path, msg = m.group("path"), m.group("msg")
    if path in ("(file)", "(top level)"):
        return _sentence(
            f"The file {msg}" if not msg.startswith(("not ", "too ")) else f"The file is {msg}"
        )
    # The builder's own messages (no survey path): "section: add a section first" etc.
    if (
        path in ("section", "question", "library", "sections", "value", "owner")
        and _reason(msg, []) is None
    ):
        return _sentence(msg)
    if path == "title" and msg == "must not be blank":
        return "The survey needs a title."
    who, rest = _place(_steps(path), data)
    reason = _reason(msg, rest)
    if reason is None:
        field = _field_words(rest)
        reason = f"{field}: {msg}" if field else msg
        return _sentence(f"{who} — {reason}" if who else reason)
    return _sentence(f"{who} {reason}" if who else reason)


def plain(message: str, survey: Any = None, *, with_paths: bool = False) -> str:
    """`message` (one or more "path: reason" parts joined by "; ") in plain words; with
    `with_paths` (a file's problems) each sentence also names the place in the file."""
    if not message:
        return ""
    data = _data(survey)
    prefix = ""
    for lead in ("Import failed, nothing was changed. ",):
        if message.startswith(lead):
            prefix, message = lead, message[len(lead) :]
    parts = [p for p in re.split(r";\s(?=\S+: |\.\.\. and)", message) if p.strip()]
    return prefix + " ".join(plain_part(p, data, with_path=with_paths) for p in parts)
