"""The survey model: sections of typed questions with ids that survive edits.

Everything here is pure. Models are frozen; edits (see `edit.py`) return new surveys. Field
constraints live on the models so that the published JSON schema says the same thing the code
enforces. Cross-field rules (a scale needs min < max, a choice needs options, ids are unique) are
checked by validators that name the offending field, so an import error can point at it.
"""

from __future__ import annotations

import re
import secrets
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)
from pydantic_core import PydanticCustomError

SCHEMA_VERSION = 1

MAX_FILE_BYTES = 1_000_000
MAX_SECTIONS = 50
MAX_QUESTIONS = 200
MAX_OPTIONS = 20
SCALE_LIMIT = 1000

QuestionKind = Literal["open", "yes_no", "scale", "single_choice", "multiple_choice"]
KINDS: tuple[str, ...] = ("open", "yes_no", "scale", "single_choice", "multiple_choice")
CHOICE_KINDS: frozenset[str] = frozenset({"single_choice", "multiple_choice"})

SURVEY_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
ITEM_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$"

# Single-line fields go into the system instruction on one line each, so a newline in them could
# forge structure there; multi-line fields are indented line by line by the compiler instead.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_EXCEPT_NEWLINE_TAB = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _single_line(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("survey_text", "must be a single line without control characters")
    return value


def _multi_line(value: str) -> str:
    if _CONTROL_EXCEPT_NEWLINE_TAB.search(value):
        raise PydanticCustomError("survey_text", "must not contain control characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("survey_text", "must not be blank")
    return value


Line = Annotated[StrictStr, AfterValidator(_single_line)]
Text = Annotated[StrictStr, AfterValidator(_multi_line)]
SurveyId = Annotated[StrictStr, Field(pattern=SURVEY_ID_PATTERN)]
ItemId = Annotated[StrictStr, Field(pattern=ITEM_ID_PATTERN)]


def _field_error(field: str, message: str) -> PydanticCustomError:
    """An error located at `field` below the model that raises it (see jsonio.format_errors)."""
    return PydanticCustomError(
        "survey_field", "{field}: {message}", {"field": field, "message": message}
    )


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


class Scale(_Frozen):
    """Bounds of a rating scale, whole numbers, with optional words for the two ends."""

    min: StrictInt = Field(ge=-SCALE_LIMIT, le=SCALE_LIMIT)
    max: StrictInt = Field(ge=-SCALE_LIMIT, le=SCALE_LIMIT)
    min_label: Annotated[Line, Field(max_length=100)] | None = None
    max_label: Annotated[Line, Field(max_length=100)] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min >= self.max:
            raise _field_error("max", f"must be greater than min ({self.min}), got {self.max}")
        return self


class Question(_Frozen):
    """One question. `id` is assigned at creation and never derived from position."""

    id: ItemId
    text: Annotated[Line, AfterValidator(_not_blank), Field(max_length=500)]
    kind: QuestionKind = "open"
    required: StrictBool = True
    options: tuple[Annotated[Line, AfterValidator(_not_blank), Field(max_length=200)], ...] = Field(
        default=(), max_length=MAX_OPTIONS
    )
    scale: Scale | None = None
    follow_up: Annotated[Text, Field(max_length=500)] = ""

    @model_validator(mode="after")
    def _kind_matches_fields(self) -> Question:
        if self.kind in CHOICE_KINDS:
            if len(self.options) < 2:
                raise _field_error("options", f"a {self.kind} question needs at least 2 options")
            seen: set[str] = set()
            for i, option in enumerate(self.options):
                if ";" in option:
                    # "; " separates the options of a multiple-choice value in record_answer
                    raise _field_error(f"options[{i}]", "must not contain ';'")
                key = _option_key(option)
                if key in seen:
                    raise _field_error(f"options[{i}]", "duplicate option")
                seen.add(key)
        elif self.options:
            raise _field_error(
                "options",
                f"only single_choice and multiple_choice questions have options, not {self.kind}",
            )
        if self.kind == "scale":
            if self.scale is None:
                raise _field_error("scale", "a scale question needs a scale with min and max")
        elif self.scale is not None:
            raise _field_error("scale", f"only scale questions have a scale, not {self.kind}")
        return self


def _option_key(option: str) -> str:
    return " ".join(option.split()).casefold()


class Section(_Frozen):
    id: ItemId
    title: Annotated[Line, AfterValidator(_not_blank), Field(max_length=200)]
    description: Annotated[Text, Field(max_length=1000)] = ""
    questions: tuple[Question, ...] = Field(default=(), max_length=MAX_QUESTIONS)


class Survey(_Frozen):
    """A survey an interviewer designs before the call and Gemini conducts by voice."""

    schema_version: Literal[1] = SCHEMA_VERSION
    id: SurveyId
    title: Annotated[Line, AfterValidator(_not_blank), Field(max_length=200)]
    purpose: Annotated[Text, Field(max_length=2000)] = ""
    persona: Annotated[Line, AfterValidator(_not_blank), Field(max_length=300)] = (
        "a friendly, professional interviewer"
    )
    tone: Annotated[Line, Field(max_length=200)] = "warm, neutral and concise"
    language: Annotated[Line, AfterValidator(_not_blank), Field(max_length=50)] = "English"
    sections: tuple[Section, ...] = Field(default=(), max_length=MAX_SECTIONS)

    @model_validator(mode="after")
    def _ids_unique_and_size_bounded(self) -> Survey:
        section_ids: dict[str, int] = {}
        question_at: dict[str, str] = {}
        count = 0
        for s, section in enumerate(self.sections):
            if section.id in section_ids:
                raise _field_error(
                    f"sections[{s}].id",
                    f"duplicate section id {section.id!r} (also sections[{section_ids[section.id]}])",
                )
            section_ids[section.id] = s
            for q, question in enumerate(section.questions):
                path = f"sections[{s}].questions[{q}]"
                if question.id in question_at:
                    raise _field_error(
                        f"{path}.id",
                        f"duplicate question id {question.id!r} (also {question_at[question.id]})",
                    )
                question_at[question.id] = path
                count += 1
        if count > MAX_QUESTIONS:
            raise _field_error("sections", f"too many questions: {count} > {MAX_QUESTIONS}")
        return self

    # Read-only helpers; edits live in edit.py.

    def questions(self) -> tuple[Question, ...]:
        """All questions in asking order, section by section."""
        return tuple(q for s in self.sections for q in s.questions)

    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions())

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions() if q.id == question_id), None)

    def section_of(self, question_id: str) -> Section | None:
        return next(
            (s for s in self.sections if any(q.id == question_id for q in s.questions)), None
        )


def new_survey_id() -> str:
    """A fresh random survey id (24 hex digits, 96 bits from `secrets`), safe as a file name."""
    return secrets.token_hex(12)


def next_item_id(used: set[str] | frozenset[str], prefix: str) -> str:
    """`prefix<n>` with `n` one past the highest number already used with that prefix.

    Deterministic for a given set of ids, and never the id of a question still in the survey.
    """
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    numbers = [int(m.group(1)) for m in map(pattern.match, used) if m]
    n = max(numbers, default=0) + 1
    while f"{prefix}{n}" in used:
        n += 1
    return f"{prefix}{n}"
