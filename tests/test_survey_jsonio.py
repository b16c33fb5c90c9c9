"""Survey JSON import/export, the published schema, and fuzzing of untrusted files."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from googlive.features.survey import (
    MAX_FILE_BYTES,
    Survey,
    SurveyImportError,
    export_survey,
    import_survey,
    render_json_schema,
    survey_from_dict,
    survey_to_dict,
)
from googlive.features.survey.examples import example_survey

REPO = Path(__file__).resolve().parents[1]


def _good() -> dict[str, Any]:
    return survey_to_dict(example_survey())


def test_export_import_round_trips_exactly():
    """export -> import gives an equal survey and export is byte-stable."""
    s = example_survey()
    text = export_survey(s)
    back = import_survey(text)
    assert back == s
    assert export_survey(back) == text
    assert import_survey(text.encode("utf-8")) == s
    assert json.loads(text)["schema_version"] == 1


def test_schema_file_matches_the_model():
    """assets/survey.schema.json is regenerated whenever the model changes (python -m googlive.features.survey schema)."""
    on_disk = (REPO / "assets" / "survey.schema.json").read_text(encoding="utf-8")
    assert on_disk == render_json_schema()


def _mutated(path: list[Any], value: Any = ..., delete: bool = False) -> dict[str, Any]:
    data = copy.deepcopy(_good())
    node = data
    for key in path[:-1]:
        node = node[key]
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


BAD_FILES: list[tuple[str, Any, str]] = [
    ("not json", "{not json", r"^\(file\): not valid JSON"),
    ("top-level array", "[1, 2]", r"^\(top level\): must be a JSON object"),
    ("top-level string", '"survey"', r"^\(top level\): must be a JSON object"),
    ("missing title", _mutated(["title"], delete=True), r"^title: required field is missing"),
    (
        "missing question text",
        _mutated(["sections", 1, "questions", 0, "text"], delete=True),
        r"^sections\[1\]\.questions\[0\]\.text: required field is missing",
    ),
    (
        "wrong type",
        _mutated(["sections", 0, "questions", 0, "required"], "yes"),
        r"^sections\[0\]\.questions\[0\]\.required: must be true or false",
    ),
    (
        "unknown kind",
        _mutated(["sections", 1, "questions", 0, "kind"], "ranking"),
        r"^sections\[1\]\.questions\[0\]\.kind: must be one of open, yes_no, scale, single_choice, multiple_choice$",
    ),
    (
        "scale min >= max",
        _mutated(["sections", 0, "questions", 1, "scale", "min"], 9),
        r"^sections\[0\]\.questions\[1\]\.scale\.max: must be greater than min \(9\), got 8",
    ),
    (
        "choice without options",
        _mutated(["sections", 1, "questions", 0, "options"], []),
        r"^sections\[1\]\.questions\[0\]\.options: a single_choice question needs at least 2 options",
    ),
    (
        "scale question without scale",
        _mutated(["sections", 0, "questions", 1, "scale"], delete=True),
        r"^sections\[0\]\.questions\[1\]\.scale: a scale question needs a scale",
    ),
    (
        "duplicate question ids",
        _mutated(["sections", 1, "questions", 2, "id"], "q1"),
        r"^sections\[1\]\.questions\[2\]\.id: duplicate question id 'q1' \(also sections\[0\]\.questions\[0\]\)",
    ),
    ("unknown field", _mutated(["colour"], "blue"), r"^colour: unknown field"),
    (
        "wrong schema version",
        _mutated(["schema_version"], 2),
        r"^schema_version: unsupported version",
    ),
    ("unsafe survey id", _mutated(["id"], "../../etc/passwd"), r"^id: must be 1-64 lowercase"),
    (
        "duplicate json key",
        '{"id": "a", "id": "b", "title": "t"}',
        r"^id: appears twice",
    ),
    ("NaN constant", '{"id": NaN}', r"not valid JSON: NaN is not allowed"),
]


@pytest.mark.parametrize(("label", "content", "pattern"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_raise_import_error_naming_the_field(label: str, content: Any, pattern: str):
    """Each class of malformed file gives a SurveyImportError whose message starts with the field."""
    text = content if isinstance(content, str) else json.dumps(content)
    with pytest.raises(SurveyImportError, match=pattern):
        import_survey(text)


def test_too_large_file_is_refused_before_parsing():
    """Files over 1 MB are refused by size alone."""
    with pytest.raises(SurveyImportError, match=r"^\(file\): too large"):
        import_survey(b" " * (MAX_FILE_BYTES + 1))


def test_too_many_questions_is_refused():
    """More than 200 questions across sections is refused, naming `sections`."""
    data = _good()
    q = data["sections"][1]["questions"][2]
    data["sections"] = [
        {"id": f"s{i}", "title": "S", "questions": [dict(q, id=f"x{i}-{j}") for j in range(60)]}
        for i in range(4)
    ]
    with pytest.raises(SurveyImportError, match=r"^sections: too many questions: 240 > 200"):
        survey_from_dict(data)


def test_not_utf8_and_deep_nesting_are_import_errors():
    """Binary junk and pathological nesting fail cleanly."""
    with pytest.raises(SurveyImportError, match="not UTF-8"):
        import_survey(b"\xff\xfe\x00junk")
    with pytest.raises(SurveyImportError):
        import_survey("[" * 200_000 + "]" * 200_000)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=30,
)

_keys = st.sampled_from(
    [
        "schema_version",
        "id",
        "title",
        "sections",
        "questions",
        "kind",
        "scale",
        "min",
        "max",
        "options",
        "text",
        "required",
        "follow_up",
        "purpose",
        "description",
        "persona",
    ]
)
survey_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.sampled_from(["open", "scale", "q1", "x", ""]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=8),
    max_leaves=40,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, survey_like))
def test_arbitrary_json_only_ever_raises_survey_import_error(value: Any):
    """Any JSON value either imports as a survey or raises SurveyImportError, never anything else."""
    try:
        import_survey(json.dumps(value))
    except SurveyImportError as exc:
        assert str(exc)


@settings(max_examples=200)
@given(st.binary(max_size=200) | st.text(max_size=200))
def test_arbitrary_bytes_only_ever_raise_survey_import_error(data: bytes | str):
    """Arbitrary bytes or text never crash the importer."""
    try:
        import_survey(data)
    except SurveyImportError:
        pass


_line = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
    lambda t: t.strip()
)
_multi = st.text(
    st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00\x01\x0b\x0c\r\x1c\x1d\x1e\x7f"
    ),
    max_size=60,
).filter(lambda t: all(c in "\n\t" or ord(c) >= 32 and c != "\x7f" for c in t))


@st.composite
def surveys(draw: st.DrawFn) -> Survey:
    n_sections = draw(st.integers(0, 3))
    counter = 0
    sections = []
    for s in range(n_sections):
        questions = []
        for _ in range(draw(st.integers(0, 4))):
            counter += 1
            kind = draw(
                st.sampled_from(["open", "yes_no", "scale", "single_choice", "multiple_choice"])
            )
            q: dict[str, Any] = {
                "id": f"q{counter}",
                "text": draw(_line),
                "kind": kind,
                "required": draw(st.booleans()),
                "follow_up": draw(_multi),
            }
            if kind == "scale":
                lo = draw(st.integers(-10, 10))
                q["scale"] = {
                    "min": lo,
                    "max": lo + draw(st.integers(1, 10)),
                    "min_label": draw(st.none() | _line),
                }
            if kind in ("single_choice", "multiple_choice"):
                opts = draw(
                    st.lists(
                        _line.filter(lambda o: ";" not in o),
                        min_size=2,
                        max_size=5,
                        unique_by=lambda o: " ".join(o.split()).casefold(),
                    )
                )
                q["options"] = opts
            questions.append(q)
        sections.append(
            {
                "id": f"s{s + 1}",
                "title": draw(_line),
                "description": draw(_multi),
                "questions": questions,
            }
        )
    return Survey.model_validate(
        {
            "id": "fuzz",
            "title": draw(_line),
            "purpose": draw(_multi),
            "language": draw(_line),
            "sections": sections,
        }
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(surveys())
def test_valid_surveys_round_trip_exactly(survey: Survey):
    """Any valid survey survives export/import unchanged, and export is a fixed point."""
    text = export_survey(survey)
    back = import_survey(text)
    assert back == survey
    assert export_survey(back) == text
