"""Survey Builder callbacks as plain functions of their inputs (no browser)."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import pytest

from googlive.config import Secret, Settings
from googlive.features.survey import actions, files, library, view
from googlive.features.survey.compile import compile_instruction
from googlive.features.survey.examples import example_survey
from googlive.features.survey.feature import install
from googlive.features.survey.jsonio import export_survey, survey_to_dict
from googlive.features.survey.model import Survey
from googlive.features.survey.store import SurveyStore
from googlive.live.backend import Endpoint

SKIP = gr.skip()


def details(out: dict) -> list:
    return [out[n] for n in view.DETAILS]


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
    out = actions.new_blank()
    d = ["Team check-in", "See how the team is doing.", "Sam, a coach", "calm", "English"]
    out = actions.add_section(out["state"], *d, "Mood", "How you feel")
    out = actions.add_question(out["state"], *d, "s1", *qfields("How is your week?"))
    out = actions.add_question(
        out["state"],
        *d,
        "s1",
        *qfields("Rate your energy", "scale", lo=1, hi=10, lo_label="Empty", hi_label="Full"),
    )
    out = actions.add_section(out["state"], *d, "Work", "")
    out = actions.add_question(
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
    out = actions.update_question(
        st, *d, "q1", *qfields("How was your week, honestly?", follow="Ask for one example")
    )
    assert survey(out).question("q1").text == "How was your week, honestly?"
    assert survey(out).question("q1").follow_up == "Ask for one example"
    out = actions.move_question(out["state"], *d, "q2", delta=-1)
    assert [q.id for q in survey(out).sections[0].questions] == ["q2", "q1"]
    out = actions.move_section(out["state"], *d, "s2", delta=-1)
    assert [sec.id for sec in survey(out).sections] == ["s2", "s1"]
    out = actions.move_section(out["state"], *d, "s2", delta=-1)  # already first: stays
    assert [sec.id for sec in survey(out).sections] == ["s2", "s1"]
    out = actions.update_section(out["state"], *d, "s1", "Feelings", "New words")
    assert survey(out).sections[1].title == "Feelings"
    out = actions.delete_question(out["state"], *d, "q2")
    assert survey(out).question_ids() == ("q3", "q1")
    out = actions.add_question(out["state"], *d, "s1", *qfields("New one"))
    assert "q2" not in survey(out).question_ids() or survey(out).question("q2").text == "New one"
    out = actions.delete_section(out["state"], *d, "s2")
    assert [sec.id for sec in survey(out).sections] == ["s1"]
    # the same survey compiles to the same text
    assert view.render(survey(out))["preview"] == out["preview"]


def test_refused_edit_keeps_state_and_fields_and_says_it_as_a_person_would(built):
    st, d = built["state"], details(built)
    out = actions.add_question(st, *d, "s1", *qfields("Pick one", "single_choice", options="Only"))
    assert "Question 3 in “Mood” needs at least 2 options." in out["error"]
    assert "sections[" not in out["error"] and "single_choice" not in out["error"]
    assert out["state"] == SKIP and out["q_text"] == SKIP and out["q_options"] == SKIP
    out = actions.add_question(st, *d, "s1", *qfields("Rate", "scale", lo=5, hi=2))
    assert (
        "Question 3 in “Mood” needs a highest value above the lowest (5); it is 2." in out["error"]
    )
    assert out["state"] == SKIP
    out = actions.add_question(st, *d, "s1", *qfields("Rate", "scale", lo=1.5, hi=2))
    assert "The scale needs a whole number for the lowest value." in out["error"]
    out = actions.update_question(
        st, *d, "q3", *qfields("Which tools?", "multiple_choice", options="Docs\ndocs")
    )
    assert "Question 1 in “Work” lists option 2 twice." in out["error"]
    bad = d.copy()
    bad[0] = "   "
    out = actions.add_section(st, *bad, "X", "")
    assert (
        out["error"].startswith('<div class="survey-error"')
        and "The survey needs a title." in out["error"]
    )
    out = actions.add_question(st, *d, None, *qfields())
    assert "Add a section before adding questions." in out["error"]


def test_everything_shown_is_escaped():
    evil = '<img src=x onerror="alert(1)">'
    out = actions.new_blank()
    d = [evil, evil, "a persona", "tone", "English"]
    out = actions.add_section(out["state"], *d, evil, evil)
    out = actions.add_question(out["state"], *d, "s1", *qfields(evil, follow=evil))
    assert out["error"] == ""
    assert "<img" not in out["outline"] and "&lt;img" in out["outline"]
    assert "<img" not in view.active_html(survey(out))
    assert "<img" not in view.error_html(evil)
    # dropdown labels and textboxes carry plain text, which Gradio renders as text
    assert out["section"]["choices"][0][0] == f"1. {evil}"


def test_live_preview_follows_typing_without_changing_state(built):
    d = details(built)
    d[0] = "A new title"
    text = actions.preview(built["state"], *d)
    assert "A new title" in text and "Team check-in" not in text
    d[0] = ""
    assert "title" in actions.preview(built["state"], *d)


def test_import_export_round_trip_and_bad_files(built, tmp_path):
    out, path = files.export_file(built["state"], *details(built))
    assert path and Path(path).read_text() == export_survey(survey(built))
    again = files.import_file(actions.new_blank()["state"], path)
    assert again["state"] == built["state"] and again["title"] == "Team check-in"
    cases = {
        "notjson.json": (b"{not json", "The file is not valid JSON"),
        "wrongtype.json": (b"[1, 2]", "The file must be a JSON object"),
        "badkind.json": (None, "Question 1 in “Mood” — its kind: must be one of"),
        "missing.json": (
            json.dumps({"id": "x1"}).encode(),
            "The survey title is missing (in the file: title).",
        ),
        "binary.json": (b"\xff\xfe\x00", "not UTF-8"),
    }
    data = survey_to_dict(survey(built))
    data["sections"][0]["questions"][0]["kind"] = "essay"
    cases["badkind.json"] = (
        json.dumps(data).encode(),
        "(in the file: sections[0].questions[0].kind)",
    )
    for name, (content, needle) in cases.items():
        f = tmp_path / name
        f.write_bytes(content)
        res = files.import_file(built["state"], str(f))
        assert needle in res["error"], (name, res["error"])
        assert "nothing was changed" in res["error"]
        assert all(res[n] == SKIP for n in view.OUTPUTS if n != "error"), name
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 1_000_001)
    assert "too large" in files.import_file(built["state"], str(big))["error"]


def test_save_list_load_and_templates(built, tmp_path):
    store = SurveyStore(tmp_path)
    choices = library.library_choices(store)
    assert len(choices) == 3 and all("template" in label for label, _ in choices)
    out, dropdown = library.save(store, built["state"], *details(built))
    sid = survey(out).id
    assert store.load(sid) == survey(built)
    assert dropdown["value"] == sid and any(v == sid for _, v in dropdown["choices"])
    # loading a template gives an editable copy under a new id; saving never touches the template
    tpl = store.templates()[0]
    loaded = library.load(store, out["state"], tpl.id)
    copy = survey(loaded)
    assert (
        copy.id != tpl.id and copy.question_ids() == tpl.question_ids() and copy.title == tpl.title
    )
    saved, _ = library.save(store, loaded["state"], *details(loaded))
    assert survey(saved).id == copy.id and store.load(tpl.id) == tpl
    # a survey whose id is a template's (e.g. an imported template file) is saved as a copy
    tpl_state = survey_to_dict(tpl)
    saved2, _ = library.save(store, tpl_state, *[getattr(tpl, n) for n in view.DETAILS])
    assert survey(saved2).id != tpl.id
    assert "Choose a survey" in library.load(store, out["state"], None)["error"]


def test_start_interview_saves_sets_survey_id_and_switches_tab(built, tmp_path):
    store = SurveyStore(tmp_path)
    out, _dropdown, survey_id, tabs, active = library.start_interview(
        store, built["state"], *details(built)
    )
    assert "Saved “Team check-in”" in out["error"] and "survey-ok" in out["error"]
    assert survey_id == survey(out).id and store.load(survey_id) == survey(built)
    assert isinstance(tabs, gr.Tabs) and tabs.selected == "conversation"
    assert "Team check-in" in active
    assert library.clear_active() == ("", view.active_html(None))
    # nothing to ask yet: refused, with the field named, and the call is not switched
    empty = actions.new_blank()
    out, _, survey_id, tabs, _ = library.start_interview(store, empty["state"], *details(empty))
    assert "Add at least one question" in out["error"] and survey_id == SKIP and tabs == SKIP
    assert not any(info.title == empty["title"] for info in store.list_saved())  # nothing saved


def test_selecting_shows_the_item_without_changing_state(built):
    out = actions.select_section(built["state"], "s1")
    assert out["state"] == SKIP and out["sec_title"] == "Mood" and out["question"]["value"] == "q1"
    assert [c[1] for c in out["question"]["choices"]] == ["q1", "q2"]
    out = actions.select_question(built["state"], "q2")
    assert out["q_kind"] == "scale" and out["q_max"] == 10 and out["q_min_label"] == "Empty"
    # only the fields the kind uses are shown: a scale has no options, a choice no scale
    assert out["scale_row"]["visible"] is True and out["q_options"]["visible"] is False
    out = actions.select_question(built["state"], "q3")
    assert out["q_options"]["value"] == "Docs\nChat\nMail" and out["q_options"]["visible"] is True
    assert out["scale_row"]["visible"] is False
    out = actions.select_question(built["state"], "q1")
    assert out["q_options"]["visible"] is False and out["scale_row"]["visible"] is False
    assert view.kind_fields("single_choice")["q_options"]["visible"] is True
    assert view.kind_fields("scale")["scale_row"]["visible"] is True


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
    assert view.outline_html(example).count("<li>") == 5


def test_counts_read_right_and_every_blank_survey_has_its_own_id():
    one = actions.add_question(
        actions.add_section(actions.new_blank()["state"], "T", "", "a", "t", "English", "S", "")[
            "state"
        ],
        "T",
        "",
        "a",
        "t",
        "English",
        "s1",
        *qfields("Only question"),
    )
    assert "1 section, 1 question" in one["outline"] and "(1 question)" in view.active_html(
        survey(one)
    )
    assert "1 questions" not in one["outline"] + view.active_html(survey(one))
    assert "Press Start conversation to begin." in view.active_html(survey(one))
    ids = {actions.new_blank()["state"]["id"] for _ in range(5)}
    assert len(ids) == 5


def test_save_confirms_keeps_the_selection_and_asks_before_replacing(built, tmp_path):
    store = SurveyStore(tmp_path)
    d = details(built)
    # nothing like it saved yet: no question, saved at once, and said so; selection stays on q2
    refused, ask = library.save_request(store, built["state"], *d)
    assert refused is None and ask is None
    out, _ = library.save(store, built["state"], *d, section_id="s1", question_id="q2")
    assert "Saved “Team check-in”." in out["error"] and "survey-ok" in out["error"]
    assert (
        out["section"]["value"] == "s1"
        and out["question"]["value"] == "q2"
        and out["q_kind"] == "scale"
    )
    sid = survey(out).id
    # unchanged: saving again asks nothing
    assert library.save_request(store, out["state"], *d) == (None, None)
    # changed: asks before replacing the saved version
    changed = actions.update_question(out["state"], *d, "q1", *qfields("A new wording"))
    refused, ask = library.save_request(store, changed["state"], *d)
    assert ask is not None and ask.mode == "same_id" and ask.target_id == sid
    assert "Replace your saved “Team check-in”" in ask.question
    assert store.load(sid).question("q1").text == "How is your week?"  # not yet written
    kept, _ = library.save(store, changed["state"], *d, ask=ask, choice="other")
    assert survey(kept).id != sid and survey(kept).title == "Team check-in (copy)"
    assert store.load(sid).question("q1").text == "How is your week?"
    replaced, _ = library.save(store, changed["state"], *d, ask=ask, choice="replace")
    assert survey(replaced).id == sid and store.load(sid).question("q1").text == "A new wording"
    # another survey with the same title: asks, and "Replace it" saves over that one
    other = actions.add_question(
        actions.add_section(actions.new_blank()["state"], *d, "Only", "")["state"],
        *d,
        "s1",
        *qfields("Different"),
    )
    refused, ask = library.save_request(store, other["state"], *d)
    assert (
        ask is not None
        and ask.mode == "same_title"
        and "already have a saved survey" in ask.question
    )
    before = len(store.list_saved())
    over, _ = library.save(store, other["state"], *d, ask=ask, choice="replace")
    assert survey(over).id == ask.target_id and len(store.list_saved()) == before
    assert store.load(ask.target_id).question_ids() == ("q1",)
