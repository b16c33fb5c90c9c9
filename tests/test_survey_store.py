"""SurveyStore: saved surveys on disk (atomic writes) and the built-in templates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from googlive.features.survey import (
    SurveyError,
    SurveyImportError,
    SurveyStore,
    compile_instruction,
    copy_survey,
    export_survey,
    readiness_problems,
    update_survey,
)
from googlive.features.survey.examples import example_survey
from googlive.features.survey.store import DEFAULT_TEMPLATES_DIR


def test_save_list_load_delete(tmp_path: Path):
    """A saved survey lists, loads equal, and deletes."""
    store = SurveyStore(tmp_path, templates_dir=None)
    s = example_survey()
    path = store.save(s)
    assert path == tmp_path / "surveys" / "coffee.json"
    assert path.read_text(encoding="utf-8") == export_survey(s)
    assert [(i.id, i.title, i.questions, i.source) for i in store.list_saved()] == [
        ("coffee", "Coffee habits", 5, "saved")
    ]
    assert store.load("coffee") == s
    assert store.delete("coffee") is True
    assert store.delete("coffee") is False
    assert store.list_saved() == []
    with pytest.raises(SurveyError, match="no survey"):
        store.load("coffee")


def test_file_name_comes_from_the_id_not_the_title(tmp_path: Path):
    """A hostile title never reaches the file system; ids are validated before use."""
    store = SurveyStore(tmp_path, templates_dir=None)
    s = update_survey(example_survey(), title="../../etc/passwd <x>")
    assert store.save(s).name == "coffee.json"
    for bad in ("../x", "a/b", "", ".hidden", "A B"):
        with pytest.raises(SurveyError, match="id: not a valid survey id"):
            store.load(bad)


def test_save_is_atomic_when_the_replace_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """If moving the temp file into place fails, the old file is intact and no temp file remains."""
    store = SurveyStore(tmp_path, templates_dir=None)
    s = example_survey()
    path = store.save(s)
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.save(update_survey(s, title="New title"))
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == ["coffee.json"]


def test_save_overwrites_through_a_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The new content is written to a sibling temp file, then os.replace'd over the target."""
    store = SurveyStore(tmp_path, templates_dir=None)
    calls: list[tuple[str, str]] = []
    real_replace = os.replace

    def spy(src: str, dst: str) -> None:
        calls.append((Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    store.save(example_survey())
    ((src, dst),) = calls
    assert src.startswith(".coffee.") and src.endswith(".tmp") and dst == "coffee.json"


def test_corrupt_saved_file_is_skipped_in_list_and_an_error_on_load(tmp_path: Path):
    """A damaged file does not hide the others; loading it raises SurveyImportError."""
    store = SurveyStore(tmp_path, templates_dir=None)
    store.save(example_survey())
    (tmp_path / "surveys" / "broken.json").write_text("{nope", encoding="utf-8")
    assert [i.id for i in store.list_saved()] == ["coffee"]
    with pytest.raises(SurveyImportError):
        store.load("broken")


def test_templates_load_validate_and_are_canonical():
    """At least three built-in templates, each valid, ready, canonical and compilable."""
    store = SurveyStore("/nonexistent-data-dir")
    templates = store.templates()
    ids = {t.id for t in templates}
    assert {"product-feedback", "job-interview", "user-research"} <= ids
    for t in templates:
        assert readiness_problems(t) == []
        text = (DEFAULT_TEMPLATES_DIR / f"{t.id}.json").read_text(encoding="utf-8")
        assert text == export_survey(t)
        assert len(t.question_ids()) >= 6
        assert compile_instruction(t).count("[question_id: ") == len(t.question_ids())
    kinds = {q.kind for t in templates for q in t.questions()}
    assert kinds == {"open", "yes_no", "scale", "single_choice", "multiple_choice"}


def test_templates_are_read_only_and_copyable(tmp_path: Path):
    """A template loads by id, cannot be overwritten or deleted, and a copy saves fine."""
    store = SurveyStore(tmp_path)
    t = store.load("job-interview")
    with pytest.raises(SurveyError, match="built-in template"):
        store.save(t)
    with pytest.raises(SurveyError, match="built-in template"):
        store.delete("job-interview")
    mine = copy_survey(t, survey_id="my-interview")
    store.save(mine)
    listed = store.list_surveys()
    assert listed[0].id == "my-interview" and listed[0].source == "saved"
    assert {i.id for i in listed if i.source == "template"} >= {"job-interview"}
