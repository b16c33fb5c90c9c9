"""Survey builder core: model, editing, JSON import/export, compilation, coverage, storage.

Everything except `SurveyStore` is pure. The UI builds surveys with the functions in `edit`,
runs them with `compile_instruction` + `record_answer_declaration`, and tracks the call with
`SurveyProgress`.
"""

from __future__ import annotations

from googlive.features.survey.compile import (
    RECORD_ANSWER,
    compile_instruction,
    describe_kind,
    record_answer_declaration,
)
from googlive.features.survey.coverage import (
    ProgressSummary,
    RecordedAnswer,
    SurveyProgress,
    escape_markdown,
    normalise_value,
)
from googlive.features.survey.edit import (
    add_question,
    add_section,
    copy_survey,
    delete_question,
    delete_section,
    move_question,
    move_section,
    new_survey,
    next_question_id,
    next_section_id,
    readiness_problems,
    reorder_sections,
    update_question,
    update_section,
    update_survey,
)
from googlive.features.survey.jsonio import (
    SurveyError,
    SurveyImportError,
    export_survey,
    import_survey,
    render_json_schema,
    survey_from_dict,
    survey_json_schema,
    survey_to_dict,
)
from googlive.features.survey.model import (
    KINDS,
    MAX_FILE_BYTES,
    MAX_QUESTIONS,
    SCHEMA_VERSION,
    Question,
    QuestionKind,
    Scale,
    Section,
    Survey,
    new_survey_id,
)
from googlive.features.survey.store import SurveyInfo, SurveyStore

__all__ = [
    "KINDS",
    "MAX_FILE_BYTES",
    "MAX_QUESTIONS",
    "RECORD_ANSWER",
    "SCHEMA_VERSION",
    "ProgressSummary",
    "Question",
    "QuestionKind",
    "RecordedAnswer",
    "Scale",
    "Section",
    "Survey",
    "SurveyError",
    "SurveyImportError",
    "SurveyInfo",
    "SurveyProgress",
    "SurveyStore",
    "add_question",
    "add_section",
    "compile_instruction",
    "copy_survey",
    "delete_question",
    "delete_section",
    "describe_kind",
    "escape_markdown",
    "export_survey",
    "import_survey",
    "move_question",
    "move_section",
    "new_survey",
    "new_survey_id",
    "next_question_id",
    "next_section_id",
    "normalise_value",
    "readiness_problems",
    "record_answer_declaration",
    "render_json_schema",
    "reorder_sections",
    "survey_from_dict",
    "survey_json_schema",
    "survey_to_dict",
    "update_question",
    "update_section",
    "update_survey",
]
