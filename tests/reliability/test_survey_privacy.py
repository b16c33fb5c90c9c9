"""Finding 1 at the store and feature level: each owner's surveys are private; a save with an
id another owner uses never replaces theirs; templates are read-only for all; survey files
saved before surveys were private (no owner) are readable by nobody from the page; a visitor's
library is bounded with a clear message; new ids are not guessable."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from googlive.features.survey import SurveyError, update_survey
from googlive.features.survey.edit import new_survey
from googlive.features.survey.examples import example_survey
from googlive.features.survey.feature import SurveyFeature
from googlive.features.survey.library import library_choices, save
from googlive.features.survey.model import new_survey_id
from googlive.features.survey.store import MAX_SAVED_PER_OWNER, SurveyStore


class FakeHandler:
    """The part of a CallContext the survey feature reads: who, which survey, the panels."""

    def __init__(self, owner: str, survey_id: str) -> None:
        self.info = SimpleNamespace(owner=owner, survey_id=survey_id)
        self.panels: dict = {}

    def set_panel(self, name, value) -> None:
        self.panels[name] = value


def test_owners_never_see_or_replace_each_others_surveys(tmp_path):
    store = SurveyStore(tmp_path)
    a, b = store.for_owner("owner-a"), store.for_owner("owner-b")
    mine = update_survey(example_survey(), title="A's plan")
    a.save(mine)
    assert [i.title for i in a.list_saved()] == ["A's plan"]
    assert b.list_saved() == [] and not any("A's plan" in label for label, _ in library_choices(b))
    with pytest.raises(SurveyError, match="no survey"):
        b.load(mine.id)
    # B saves a survey carrying A's id: B gets a survey of B's own; A's is untouched.
    b.save(update_survey(mine, title="B's takeover"))
    assert a.load(mine.id).title == "A's plan" and b.load(mine.id).title == "B's takeover"
    # A conversation runs its owner's survey only, whatever id the page sends.
    assert SurveyFeature(FakeHandler("owner-a", mine.id), store).survey.title == "A's plan"
    assert SurveyFeature(FakeHandler("owner-c", mine.id), store).survey is None
    assert SurveyFeature(FakeHandler("", mine.id), store).survey is None
    # Templates: runnable by anyone, never saved over or deleted.
    tpl = store.templates()[0]
    assert SurveyFeature(FakeHandler("owner-c", tpl.id), store).survey == tpl
    with pytest.raises(SurveyError, match="built-in template"):
        a.save(tpl)
    with pytest.raises(SurveyError, match="built-in template"):
        b.delete(tpl.id)


def test_surveys_without_an_owner_are_unreadable_from_the_page(tmp_path):
    legacy = SurveyStore(tmp_path)  # the layout before this change: data/surveys/<id>.json
    old = update_survey(example_survey(), title="saved by an earlier version")
    legacy.save(old)
    assert legacy.legacy_files() == 1
    visitor = legacy.for_owner("anyone")
    with pytest.raises(SurveyError):
        visitor.load(old.id)
    assert visitor.list_saved() == []
    assert SurveyFeature(FakeHandler("anyone", old.id), legacy).survey is None


def test_library_limit_and_unguessable_ids(tmp_path):
    a = SurveyStore(tmp_path).for_owner("owner-a")
    for i in range(MAX_SAVED_PER_OWNER):
        a.save(new_survey(f"s{i}"))
    with pytest.raises(SurveyError, match=f"you have {MAX_SAVED_PER_OWNER} saved surveys"):
        a.save(new_survey("one too many"))
    first = a.list_saved()[0]
    a.save(update_survey(a.load(first.id), title="edited"))  # saving over your own still works
    out, _ = save(a, new_survey("again").model_dump(), "again", "", "x", "y", "English")
    assert "saved surveys" in out["error"]
    ids = {new_survey_id() for _ in range(200)}
    assert len(ids) == 200 and all(len(i) == 24 and int(i, 16) >= 0 for i in ids)
