"""Survey model and pure editing operations."""

from __future__ import annotations

import pytest

from googlive.features.survey import (
    SurveyError,
    add_question,
    add_section,
    copy_survey,
    delete_question,
    delete_section,
    move_question,
    move_section,
    new_survey,
    readiness_problems,
    reorder_sections,
    update_question,
    update_section,
    update_survey,
)
from googlive.features.survey.examples import example_survey as fixture_survey


def test_ids_are_assigned_at_creation_and_survive_reorder():
    """Moving questions and sections keeps every id; ids never come from position."""
    s = fixture_survey()
    assert s.question_ids() == ("q1", "q2", "q3", "q4", "q5")
    s2 = move_question(s, "q5", 0, section_id="s1")
    s2 = move_section(s2, "s2", 0)
    assert s2.question_ids() == ("q3", "q4", "q5", "q1", "q2")
    assert s2.question("q5") == s.question("q5")
    assert [sec.id for sec in s2.sections] == ["s2", "s1"]


def test_new_ids_are_deterministic_and_unique():
    """A new question takes one past the highest number, even after deletes and moves."""
    s = delete_question(fixture_survey(), "q2")
    a = add_question(s, "s1", "New?")
    b = add_question(s, "s1", "New?")
    assert a == b
    assert a.sections[0].questions[-1].id == "q6"
    assert len(set(a.question_ids())) == len(a.question_ids())
    assert add_section(s, "Third").sections[-1].id == "s3"


def test_edits_return_new_surveys_and_leave_the_original_alone():
    """Every operation is pure: the input survey is unchanged."""
    s = fixture_survey()
    before = s.model_dump()
    update_question(s, "q1", text="Changed?")
    update_section(s, "s1", title="Changed")
    update_survey(s, title="Changed")
    delete_section(s, "s2")
    assert s.model_dump() == before


def test_update_question_changing_kind_drops_incompatible_fields():
    """Switching a choice question to open clears its options instead of failing."""
    s = update_question(fixture_survey(), "q3", kind="open")
    q = s.question("q3")
    assert q is not None and q.kind == "open" and q.options == () and q.scale is None
    s = update_question(s, "q3", kind="scale", scale={"min": 1, "max": 3})
    assert s.question("q3").scale.max == 3  # type: ignore[union-attr]


def test_invalid_edits_raise_survey_error_naming_the_field():
    """A refused edit names the field, like an import error."""
    s = fixture_survey()
    with pytest.raises(SurveyError, match=r"sections\[1\]\.questions\[0\]\.options"):
        update_question(s, "q3", options=["Only one"])
    with pytest.raises(SurveyError, match=r"scale\.max: must be greater than min"):
        update_question(s, "q2", scale={"min": 5, "max": 5})
    with pytest.raises(SurveyError, match=r"question_id: no question 'nope'"):
        delete_question(s, "nope")
    with pytest.raises(SurveyError, match=r"section_id"):
        add_question(s, "s9", "Where?")
    with pytest.raises(SurveyError, match=r"duplicate question id 'q1'"):
        add_question(s, "s2", "Again?", question_id="q1")
    with pytest.raises(SurveyError, match=r"title: must not be blank"):
        update_survey(s, title="   ")
    with pytest.raises(SurveyError, match=r"text: must be a single line"):
        update_question(s, "q1", text="one\n# forged heading")


def test_reorder_sections_requires_every_id_once():
    """reorder_sections is a permutation, nothing else."""
    s = fixture_survey()
    assert [x.id for x in reorder_sections(s, ["s2", "s1"]).sections] == ["s2", "s1"]
    with pytest.raises(SurveyError, match="section_ids"):
        reorder_sections(s, ["s2"])


def test_move_question_clamps_index_and_moves_across_sections():
    """Indexes past the end land at the end; negative ones count from the end."""
    s = fixture_survey()
    assert move_question(s, "q1", 99).sections[0].questions[-1].id == "q1"
    moved = move_question(s, "q1", -1, section_id="s2")
    assert moved.sections[1].questions[-1].id == "q1"
    assert [q.id for q in moved.sections[0].questions] == ["q2"]


def test_copy_survey_gets_a_new_id_and_keeps_item_ids():
    """Copying a template changes only the survey id (and title when asked)."""
    s = fixture_survey()
    c = copy_survey(s, title="Mine")
    assert c.id != s.id and c.title == "Mine" and c.question_ids() == s.question_ids()


def test_readiness_problems_flags_empty_parts():
    """An empty survey is valid but not ready to run."""
    s = new_survey("Empty", survey_id="empty")
    assert any(p.startswith("sections") for p in readiness_problems(s))
    assert readiness_problems(fixture_survey()) == []
