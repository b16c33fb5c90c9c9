"""JSON import and export of surveys, and the published JSON schema.

Import accepts untrusted files: every failure is a `SurveyImportError` whose message names the
field (`sections[1].questions[0].kind: must be one of ...`). Export is canonical: the same survey
always serialises to the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from googlive.features.survey.model import KINDS, MAX_FILE_BYTES, Survey


class SurveyError(ValueError):
    """A survey operation was refused; the message names the field and the reason."""


class SurveyImportError(SurveyError):
    """A survey file or object could not be imported; the message names the field."""


_MAX_REPORTED_ERRORS = 5


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _join(base: str, field: str) -> str:
    if base == "(top level)":
        return field
    return f"{base}{field}" if field.startswith("[") else f"{base}.{field}"


def _describe(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    where = _path(tuple(err["loc"]))
    if kind == "survey_field":
        return f"{_join(where, ctx['field'])}: {ctx['message']}"
    if kind == "missing":
        return f"{where}: required field is missing"
    if kind == "extra_forbidden":
        return f"{where}: unknown field"
    if kind == "literal_error" and where.endswith("kind"):
        return f"{where}: must be one of {', '.join(KINDS)}"
    if kind == "literal_error" and where == "schema_version":
        return f"{where}: unsupported version (this program reads version 1)"
    if kind in (
        "string_type",
        "int_type",
        "bool_type",
        "tuple_type",
        "model_type",
        "model_attributes_type",
    ):
        expected = {
            "string_type": "a string",
            "int_type": "a whole number",
            "bool_type": "true or false",
            "tuple_type": "a list",
            "model_type": "an object",
            "model_attributes_type": "an object",
        }[kind]
        return f"{where}: must be {expected}"
    if kind == "string_pattern_mismatch" and where == "id":
        return f"{where}: must be 1-64 lowercase letters, digits or '-', not starting with '-'"
    if kind == "string_pattern_mismatch":
        return f"{where}: must be 1-40 letters, digits, '-' or '_', starting with a letter or digit"
    msg = str(err["msg"])
    return f"{where}: {msg[:1].lower()}{msg[1:]}"


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem (at most five), each starting with the field path."""
    errors = exc.errors(include_url=False, include_input=False)
    lines = [_describe(e) for e in errors[:_MAX_REPORTED_ERRORS]]
    if len(errors) > _MAX_REPORTED_ERRORS:
        lines.append(f"... and {len(errors) - _MAX_REPORTED_ERRORS} more problems")
    return "; ".join(lines)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SurveyImportError(f"{key}: appears twice in the same object")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise SurveyImportError(f"(file): not valid JSON: {name} is not allowed")


def survey_from_dict(data: Any) -> Survey:
    """Validate an already-parsed JSON value as a survey."""
    if not isinstance(data, dict):
        raise SurveyImportError(
            f"(top level): must be a JSON object describing a survey, not {_json_type(data)}"
        )
    try:
        return Survey.model_validate(data)
    except ValidationError as exc:
        raise SurveyImportError(format_validation_error(exc)) from None
    except RecursionError:
        raise SurveyImportError("(top level): nested too deeply") from None


def import_survey(data: str | bytes) -> Survey:
    """Parse and validate a survey file; raises `SurveyImportError` and nothing else."""
    if isinstance(data, str):
        size = len(data.encode("utf-8", errors="surrogatepass"))
    else:
        size = len(data)
    if size > MAX_FILE_BYTES:
        raise SurveyImportError(f"(file): too large: {size} bytes > {MAX_FILE_BYTES}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SurveyImportError(f"(file): not UTF-8 text (byte {exc.start})") from None
    else:
        text = data
    try:
        parsed = json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except SurveyImportError:
        raise
    except json.JSONDecodeError as exc:
        raise SurveyImportError(
            f"(file): not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise SurveyImportError("(file): not valid JSON: nested too deeply") from None
    except (ValueError, TypeError):
        # e.g. lone surrogates, or int strings over Python's digit limit
        raise SurveyImportError("(file): not valid JSON") from None
    return survey_from_dict(parsed)


def export_survey(survey: Survey) -> str:
    """Canonical JSON text for a survey: fixed key order, two-space indent, trailing newline."""
    return json.dumps(survey_to_dict(survey), indent=2, ensure_ascii=False) + "\n"


def survey_to_dict(survey: Survey) -> dict[str, Any]:
    return survey.model_dump(mode="json", exclude_none=True)


def survey_json_schema() -> dict[str, Any]:
    """The JSON schema published as assets/survey.schema.json."""
    schema = Survey.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://googlive.local/survey.schema.json"
    return schema


def render_json_schema() -> str:
    """The exact text of assets/survey.schema.json."""
    return json.dumps(survey_json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__
