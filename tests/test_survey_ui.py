"""Survey Builder callbacks as plain functions of their inputs (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest

from googlive.backend import Endpoint
from googlive.config import Secret, Settings
from googlive.survey import ui
from googlive.survey.compile import compile_instruction
from googlive.survey.examples import example_survey
from googlive.survey.feature import install
from googlive.survey.jsonio import export_survey, survey_to_dict
from googlive.survey.model import Survey
from googlive.survey.store import SurveyStore

SKIP = gr.skip()


def details(out: dict) -> list:
    return [out[n] for n in ui.DETAILS]


def qfields(
    text="How are you?",
    kind="open",
    required=True,
    options="",
    lo=1,
    hi=5,
    lo_label="",
    hi_label="",
    follow="",
):
    return [text, kind, required, options, lo, hi, lo_label, hi_label, follow]


def survey(out: dict) -> Survey:
    return Survey.model_validate(out["state"])


@pytest.fixture
def built() -> dict:
    """A survey built through the callbacks: two sections, three questions."""
    out = ui.new_blank()
    d = ["Team check-in", "See how the team is doing.", "Sam, a coach", "calm", "English"]
    out = ui.add_section(out["state"], *d, "Mood", "How you feel")
    out = ui.add_question(out["state"], *d, "s1", *qfields("How is your week?"))
    out = ui.add_question(
        out["state"],
        *d,
        "s1",
        *qfields("Rate your energy", "scale", lo=1, hi=10, lo_label="Empty", hi_label="Full"),
    )
    out = ui.add_section(out["state"], *d, "Work", "")
    out = ui.add_question(
        out["state"],
        *d,
        "s2",
        *qfields("Which tools?", "multiple_choice", options="Docs\nChat\n\nMail"),
    )
    assert out["error"] == ""
    return out


def test_building_a_survey_through_the_callbacks(built):
    s = survey(built)
    assert s.title == "Team check-in" and s.persona == "Sam, a coach"
    assert [sec.title for sec in s.sections] == ["Mood", "Work"]
    assert s.question_ids() == ("q1", "q2", "q3")
    assert s.question("q2").scale.max == 10 and s.question("q2").scale.min_label == "Empty"
    assert s.question("q3").options == ("Docs", "Chat", "Mail")
    # the last action selected what it made, and the preview is the compiled instruction
    assert built["section"]["value"] == "s2" and built["question"]["value"] == "q3"
    assert built["preview"] == compile_instruction(s)
    assert [c[1] for c in built["section"]["choices"]] == ["s1", "s2"]


def test_edit_reorder_delete_keep_ids(built):
    st, d = built["state"], details(built)
    out = ui.update_question(
        st, *d, "q1", *qfields("How was your week, honestly?", follow="Ask for one example")
    )
    assert survey(out).question("q1").text == "How was your week, honestly?"
    assert survey(out).question("q1").follow_up == "Ask for one example"
    out = ui.move_question(out["state"], *d, "q2", delta=-1)
    assert [q.id for q in survey(out).sections[0].questions] == ["q2", "q1"]
    out = ui.move_section(out["state"], *d, "s2", delta=-1)
    assert [sec.id for sec in survey(out).sections] == ["s2", "s1"]
    out = ui.move_section(out["state"], *d, "s2", delta=-1)  # already first: stays
    assert [sec.id for sec in survey(out).sections] == ["s2", "s1"]
    out = ui.update_section(out["state"], *d, "s1", "Feelings", "New words")
    assert survey(out).sections[1].title == "Feelings"
    out = ui.delete_question(out["state"], *d, "q2")
    assert survey(out).question_ids() == ("q3", "q1")
    out = ui.add_question(out["state"], *d, "s1", *qfields("New one"))
    assert "q2" not in survey(out).question_ids() or survey(out).question("q2").text == "New one"
    out = ui.delete_section(out["state"], *d, "s2")
    assert [sec.id for sec in survey(out).sections] == ["s1"]
    # the same survey compiles to the same text
    assert ui.render(survey(out))["preview"] == out["preview"]


def test_refused_edit_keeps_state_and_fields_and_names_the_field(built):
    st, d = built["state"], details(built)
    out = ui.add_question(st, *d, "s1", *qfields("Pick one", "single_choice", options="Only"))
    assert "options" in out["error"] and "at least 2" in out["error"]
    assert out["state"] == SKIP and out["q_text"] == SKIP and out["q_options"] == SKIP
    out = ui.add_question(st, *d, "s1", *qfields("Rate", "scale", lo=5, hi=2))
    assert "max" in out["error"] and out["state"] == SKIP
    out = ui.add_question(st, *d, "s1", *qfields("Rate", "scale", lo=1.5, hi=2))
    assert "scale.min" in out["error"]
    bad = d.copy()
    bad[0] = "   "
    out = ui.add_section(st, *bad, "X", "")
    assert out["error"].startswith('<div class="survey-error"') and "title" in out["error"]
    out = ui.add_question(st, *d, None, *qfields())
    assert "section" in out["error"]


def test_everything_shown_is_escaped():
    evil = '<img src=x onerror="alert(1)">'
    out = ui.new_blank()
    d = [evil, evil, "a persona", "tone", "English"]
    out = ui.add_section(out["state"], *d, evil, evil)
    out = ui.add_question(out["state"], *d, "s1", *qfields(evil, follow=evil))
    assert out["error"] == ""
    assert "<img" not in out["outline"] and "&lt;img" in out["outline"]
    assert "<img" not in ui.active_html(survey(out))
    assert "<img" not in ui.error_html(evil)
    # dropdown labels and textboxes carry plain text, which Gradio renders as text
    assert out["section"]["choices"][0][0] == f"1. {evil}"


def test_live_preview_follows_typing_without_changing_state(built):
    d = details(built)
    d[0] = "A new title"
    text = ui.preview(built["state"], *d)
    assert "A new title" in text and "Team check-in" not in text
    d[0] = ""
    assert "title" in ui.preview(built["state"], *d)


def test_import_export_round_trip_and_bad_files(built, tmp_path):
    out, path = ui.export_file(built["state"], *details(built))
    assert path and Path(path).read_text() == export_survey(survey(built))
    again = ui.import_file(ui.new_blank()["state"], path)
    assert again["state"] == built["state"] and again["title"] == "Team check-in"
    cases = {
        "notjson.json": (b"{not json", "(file): not valid JSON"),
        "wrongtype.json": (b"[1, 2]", "(top level)"),
        "badkind.json": (None, "sections[0].questions[0].kind"),
        "missing.json": (json.dumps({"id": "x1"}).encode(), "title: required field is missing"),
        "binary.json": (b"\xff\xfe\x00", "not UTF-8"),
    }
    data = survey_to_dict(survey(built))
    data["sections"][0]["questions"][0]["kind"] = "essay"
    cases["badkind.json"] = (json.dumps(data).encode(), "sections[0].questions[0].kind")
    for name, (content, needle) in cases.items():
        f = tmp_path / name
        f.write_bytes(content)
        res = ui.import_file(built["state"], str(f))
        assert needle in res["error"], (name, res["error"])
        assert "nothing was changed" in res["error"]
        assert all(res[n] == SKIP for n in ui.OUTPUTS if n != "error"), name
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 1_000_001)
    assert "too large" in ui.import_file(built["state"], str(big))["error"]


def test_save_list_load_and_templates(built, tmp_path):
    store = SurveyStore(tmp_path)
    choices = ui.library_choices(store)
    assert len(choices) == 3 and all("template" in label for label, _ in choices)
    out, library = ui.save(store, built["state"], *details(built))
    sid = survey(out).id
    assert store.load(sid) == survey(built)
    assert library["value"] == sid and any(v == sid for _, v in library["choices"])
    # loading a template gives an editable copy under a new id; saving never touches the template
    tpl = store.templates()[0]
    loaded = ui.load(store, out["state"], tpl.id)
    copy = survey(loaded)
    assert (
        copy.id != tpl.id and copy.question_ids() == tpl.question_ids() and copy.title == tpl.title
    )
    saved, _ = ui.save(store, loaded["state"], *details(loaded))
    assert survey(saved).id == copy.id and store.load(tpl.id) == tpl
    # a survey whose id is a template's (e.g. an imported template file) is saved as a copy
    tpl_state = survey_to_dict(tpl)
    saved2, _ = ui.save(store, tpl_state, *[getattr(tpl, n) for n in ui.DETAILS])
    assert survey(saved2).id != tpl.id
    assert "choose" in ui.load(store, out["state"], None)["error"]


def test_start_interview_saves_sets_survey_id_and_switches_tab(built, tmp_path):
    store = SurveyStore(tmp_path)
    out, library, survey_id, tabs, active = ui.start_interview(
        store, built["state"], *details(built)
    )
    assert out["error"] == ""
    assert survey_id == survey(out).id and store.load(survey_id) == survey(built)
    assert isinstance(tabs, gr.Tabs) and tabs.selected == "conversation"
    assert "Team check-in" in active
    assert ui.clear_active() == ("", ui.active_html(None))
    # nothing to ask yet: refused, with the field named, and the call is not switched
    empty = ui.new_blank()
    out, _, survey_id, tabs, _ = ui.start_interview(store, empty["state"], *details(empty))
    assert "question" in out["error"] and survey_id == SKIP and tabs == SKIP


def test_selecting_shows_the_item_without_changing_state(built):
    out = ui.select_section(built["state"], "s1")
    assert out["state"] == SKIP and out["sec_title"] == "Mood" and out["question"]["value"] == "q1"
    assert [c[1] for c in out["question"]["choices"]] == ["q1", "q2"]
    out = ui.select_question(built["state"], "q2")
    assert out["q_kind"] == "scale" and out["q_max"] == 10 and out["q_min_label"] == "Empty"
    out = ui.select_question(built["state"], "q3")
    assert out["q_options"] == "Docs\nChat\nMail"


def test_page_builds_with_the_plugin(tmp_path):
    """install() adds the tab, controls and panel; the page builds and wires without errors."""
    from googlive.ui import AppContext, build

    ctx = AppContext(
        Settings(data_dir=tmp_path),
        Endpoint("https://127.0.0.1:1", None, Secret(None), offline=True),
    )
    install(ctx)
    demo = build(ctx)
    b = ctx.extra["build"]
    assert "survey_progress" in b.panels
    ids = {getattr(blk, "elem_id", None) for blk in demo.blocks.values()}
    assert {
        "survey-builder",
        "survey-start",
        "survey-active",
        "survey-progress",
        "survey-preview",
    } <= ids
    example = example_survey()
    assert ui.outline_html(example).count("<li>") == 5
