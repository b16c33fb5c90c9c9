"""The Survey Builder tab, the active-survey line by the conversation, and the progress panel.

Design: the working survey lives in a `gr.State` as its JSON dict. The builder edits one
selected section and one selected question at a time (dropdowns pick them; an outline shows the
whole survey). Every callback here is a plain function of its inputs (the store is passed in),
returning a dict keyed by output name, so it is testable without a browser. Every action that
changes the survey re-applies the survey-level fields from their textboxes first, so what the
user typed is never lost to event ordering. A refused edit or import leaves the state and the
editor fields untouched and shows the error (which names the field).

Survey text is only ever put in the page escaped (outline, active line, error box) or as plain
component values (textboxes, dropdown labels).

Size: over 400 lines: the Builder's Gradio layout and its event handlers share one set of
components; the pure parts live in edit.py, messages.py and saving.py.
"""

from __future__ import annotations

import html
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from googlive.features.survey import edit
from googlive.features.survey.compile import compile_instruction, describe_kind
from googlive.features.survey.jsonio import (
    SurveyError,
    export_survey,
    import_survey,
    survey_to_dict,
)
from googlive.features.survey.messages import plain
from googlive.features.survey.model import CHOICE_KINDS, MAX_FILE_BYTES, Section, Survey
from googlive.features.survey.saving import BUTTONS, SaveAsk, plan_save
from googlive.features.survey.store import SurveyStore
from googlive.ui import PageBuild, UiPlugin

if TYPE_CHECKING:
    from collections.abc import Sequence

log = logging.getLogger(__name__)

KIND_CHOICES = [
    ("Open answer", "open"),
    ("Yes / no", "yes_no"),
    ("Scale", "scale"),
    ("Single choice", "single_choice"),
    ("Multiple choice", "multiple_choice"),
]
DETAILS = ("title", "purpose", "persona", "tone", "language")
SECTION_FIELDS = ("sec_title", "sec_desc")
QUESTION_FIELDS = (
    "q_text",
    "q_kind",
    "q_required",
    "q_options",
    "q_min",
    "q_max",
    "q_min_label",
    "q_max_label",
    "q_follow_up",
)
# Everything a builder action may update, in wiring order ("scale_row" holds the scale fields).
OUTPUTS = (
    "state",
    "outline",
    "preview",
    "error",
    *DETAILS,
    "section",
    *SECTION_FIELDS,
    "question",
    *QUESTION_FIELDS,
    "scale_row",
)
BUILDER_TAB = "survey-builder"


# ---- rendering ---------------------------------------------------------------------------------


def survey_of(state: dict[str, Any] | None) -> Survey:
    """The survey held in the builder's state (a fresh blank one when there is none)."""
    if not state:
        return edit.new_survey("Untitled survey")
    return Survey.model_validate(state)


def plural(n: int, one: str, many: str | None = None) -> str:
    """ "1 question", "2 questions", "0 questions"."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def outline_html(survey: Survey) -> str:
    """The whole survey as an escaped HTML outline, with ids and kinds."""
    e = html.escape
    n = len(survey.question_ids())
    parts = [
        f'<div class="survey-outline"><div><strong>{e(survey.title)}</strong> '
        f'<span class="survey-meta">id {e(survey.id)} · {plural(len(survey.sections), "section")}, '
        f"{plural(n, 'question')}</span></div>"
    ]
    problems = edit.readiness_problems(survey)
    if problems:
        parts.append(
            '<ul class="survey-notes">'
            + "".join(f"<li>{e(plain(p, survey))}</li>" for p in problems)
            + "</ul>"
        )
    for i, s in enumerate(survey.sections, 1):
        parts.append(
            f'<div class="survey-outline-section"><h4>{i}. {e(s.title)} <code>{e(s.id)}</code></h4>'
        )
        if s.description.strip():
            parts.append(f'<p class="survey-desc">{e(s.description)}</p>')
        parts.append("<ol>")
        for q in s.questions:
            req = "" if q.required else " <em>(optional)</em>"
            parts.append(
                f'<li><code>{e(q.id)}</code> {e(q.text)}{req} <span class="survey-kind">[{e(describe_kind(q))}]</span>'
                + (
                    f'<div class="survey-hint">Follow-up: {e(q.follow_up)}</div>'
                    if q.follow_up.strip()
                    else ""
                )
                + "</li>"
            )
        parts.append("</ol></div>")
    parts.append("</div>")
    return "".join(parts)


def error_html(message: str) -> str:
    if not message:
        return ""
    return f'<div class="survey-error" role="alert">{html.escape(message)}</div>'


def ok_html(message: str) -> str:
    """A success note in the same place as errors (so no stale error stays next to it)."""
    return f'<div class="survey-ok" role="status">{html.escape(message)}</div>' if message else ""


def active_html(survey: Survey | None) -> str:
    """The line under the conversation saying which survey the next call runs."""
    if survey is None:
        return '<span class="survey-active none">No survey: plain conversation.</span>'
    # The hint is hidden by CSS while a call runs (the status line says connecting/live).
    return (
        f'<span class="survey-active on">Survey interview: <strong>{html.escape(survey.title)}</strong> '
        f"({plural(len(survey.question_ids()), 'question')})."
        ' <span class="survey-start-hint">Press Start conversation to begin.</span></span>'
    )


def _section(survey: Survey, section_id: str | None) -> Section | None:
    return next((s for s in survey.sections if s.id == section_id), None)


def render(
    survey: Survey, section_id: str | None = None, question_id: str | None = None
) -> dict[str, Any]:
    """Every builder output for `survey` with the given selection (falls back sensibly)."""
    section = _section(survey, section_id)
    if section is None and question_id:
        section = survey.section_of(question_id)
    if section is None and survey.sections:
        section = survey.sections[0]
    questions = section.questions if section else ()
    question = next((q for q in questions if q.id == question_id), None) or (
        questions[0] if questions else None
    )
    out: dict[str, Any] = {
        "state": survey_to_dict(survey),
        "outline": outline_html(survey),
        "preview": compile_instruction(survey),
        "error": "",
        "title": survey.title,
        "purpose": survey.purpose,
        "persona": survey.persona,
        "tone": survey.tone,
        "language": survey.language,
        "section": gr.update(
            choices=[(f"{i}. {s.title}", s.id) for i, s in enumerate(survey.sections, 1)],
            value=section.id if section else None,
        ),
        "sec_title": section.title if section else "",
        "sec_desc": section.description if section else "",
        "question": gr.update(
            choices=[(f"{i}. {q.text}", q.id) for i, q in enumerate(questions, 1)],
            value=question.id if question else None,
        ),
    }
    out.update(question_fields(question))
    return out


def kind_fields(kind: str | None) -> dict[str, Any]:
    """Only the fields the kind uses: options for choices, the scale row for scales."""
    return {
        "q_options": gr.update(visible=kind in CHOICE_KINDS),
        "scale_row": gr.update(visible=kind == "scale"),
    }


def question_fields(question: Any) -> dict[str, Any]:
    if question is None:
        return {
            "q_text": "",
            "q_kind": "open",
            "q_required": True,
            "q_options": gr.update(value="", visible=False),
            "q_min": 1,
            "q_max": 5,
            "q_min_label": "",
            "q_max_label": "",
            "q_follow_up": "",
            "scale_row": gr.update(visible=False),
        }
    sc = question.scale
    return {
        "q_text": question.text,
        "q_kind": question.kind,
        "q_required": question.required,
        "q_options": gr.update(
            value="\n".join(question.options), visible=question.kind in CHOICE_KINDS
        ),
        "q_min": sc.min if sc else 1,
        "q_max": sc.max if sc else 5,
        "q_min_label": (sc.min_label or "") if sc else "",
        "q_max_label": (sc.max_label or "") if sc else "",
        "q_follow_up": question.follow_up,
        "scale_row": gr.update(visible=question.kind == "scale"),
    }


def failed(message: str) -> dict[str, Any]:
    """A refused action: only the error box changes; state and fields keep what the user had."""
    out: dict[str, Any] = {name: gr.skip() for name in OUTPUTS}
    out["error"] = error_html(message)
    return out


# ---- pure actions ------------------------------------------------------------------------------


def with_details(state: dict[str, Any] | None, details: Sequence[Any]) -> Survey:
    """The state's survey with the survey-level fields as typed (raises SurveyError)."""
    title, purpose, persona, tone, language = (str(v or "") for v in details)
    return edit.update_survey(
        survey_of(state),
        title=title,
        purpose=purpose,
        persona=persona,
        tone=tone,
        language=language,
    )


def preview(state: dict[str, Any] | None, *details: Any) -> str:
    """The live preview as the survey fields are typed (state is not changed)."""
    try:
        return compile_instruction(with_details(state, details))
    except SurveyError as exc:
        return f"(The preview is waiting for a fix: {exc})"


def _whole_number(value: Any, field: str) -> int:
    if value is None or value == "":
        raise SurveyError(f"{field}: enter a whole number")
    f = float(value)
    if not f.is_integer():
        raise SurveyError(f"{field}: must be a whole number, got {value}")
    return int(f)


def question_values(fields: Sequence[Any]) -> dict[str, Any]:
    """The question editor's fields as edit.add_question/update_question keyword arguments."""
    text, kind, required, options, lo, hi, lo_label, hi_label, follow_up = fields
    kind = kind or "open"
    values: dict[str, Any] = {
        "text": str(text or "").strip(),
        "kind": kind,
        "required": bool(required),
        "options": tuple(o.strip() for o in str(options or "").splitlines() if o.strip())
        if kind in CHOICE_KINDS
        else (),
        "scale": None,
        "follow_up": str(follow_up or "").strip(),
    }
    if kind == "scale":
        values["scale"] = {
            "min": _whole_number(lo, "scale.min"),
            "max": _whole_number(hi, "scale.max"),
            "min_label": str(lo_label or "").strip() or None,
            "max_label": str(hi_label or "").strip() or None,
        }
    return values


def _act(fn: Any, state: Any = None) -> Any:
    """Run an edit; a refusal is shown in plain words, with titles from the survey in `state`."""
    try:
        return fn()
    except SurveyError as exc:
        return failed(plain(str(exc), state))
    except ValueError:  # e.g. float("abc") from a number field
        return failed("Enter numbers in the scale fields.")


def new_blank() -> dict[str, Any]:
    return render(edit.new_survey("Untitled survey"))


def add_section(state: Any, *args: Any) -> dict[str, Any]:
    details, (sec_title, sec_desc) = args[:5], args[5:7]

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        title = str(sec_title or "").strip() or f"Section {len(s.sections) + 1}"
        new_id = edit.next_section_id(s)
        return render(edit.add_section(s, title, str(sec_desc or "")), new_id)

    return _act(go, state)


def update_section(state: Any, *args: Any) -> dict[str, Any]:
    details, (section_id, sec_title, sec_desc) = args[:5], args[5:8]

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        if not section_id:
            raise SurveyError("section: add a section first")
        return render(
            edit.update_section(
                s, section_id, title=str(sec_title or ""), description=str(sec_desc or "")
            ),
            section_id,
        )

    return _act(go, state)


def move_section(state: Any, *args: Any, delta: int) -> dict[str, Any]:
    details, section_id = args[:5], args[5]

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        if not section_id:
            raise SurveyError("section: select a section to move")
        index = (
            next(i for i, sec in enumerate(s.sections) if sec.id == section_id)
            if _section(s, section_id)
            else 0
        )
        return render(edit.move_section(s, section_id, max(0, index + delta)), section_id)

    return _act(go, state)


def delete_section(state: Any, *args: Any) -> dict[str, Any]:
    details, section_id = args[:5], args[5]

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        if not section_id:
            raise SurveyError("section: select a section to delete")
        return render(edit.delete_section(s, section_id))

    return _act(go, state)


def add_question(state: Any, *args: Any) -> dict[str, Any]:
    details, section_id, fields = args[:5], args[5], args[6:15]

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        if not section_id:
            raise SurveyError("section: add a section before adding questions")
        new_id = edit.next_question_id(s)
        return render(
            edit.add_question(s, section_id, **question_values(fields)), section_id, new_id
        )

    return _act(go, state)


def update_question(state: Any, *args: Any) -> dict[str, Any]:
    details, question_id, fields = args[:5], args[5], args[6:15]

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        if not question_id:
            raise SurveyError("question: select a question to update")
        return render(
            edit.update_question(s, question_id, **question_values(fields)), None, question_id
        )

    return _act(go, state)


def move_question(state: Any, *args: Any, delta: int) -> dict[str, Any]:
    details, question_id = args[:5], args[5]

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        if not question_id:
            raise SurveyError("question: select a question to move")
        section = s.section_of(question_id)
        if section is None:
            raise SurveyError(f"question_id: no question {question_id!r} in this survey")
        index = [q.id for q in section.questions].index(question_id)
        return render(
            edit.move_question(s, question_id, max(0, index + delta)), section.id, question_id
        )

    return _act(go, state)


def delete_question(state: Any, *args: Any) -> dict[str, Any]:
    details, question_id = args[:5], args[5]

    def go() -> dict[str, Any]:
        s = with_details(state, details)
        if not question_id:
            raise SurveyError("question: select a question to delete")
        section = s.section_of(question_id)
        return render(edit.delete_question(s, question_id), section.id if section else None)

    return _act(go, state)


def select_section(state: Any, section_id: str | None) -> dict[str, Any]:
    """Show the chosen section and its first question in the editors (state unchanged)."""
    out = render(survey_of(state), section_id)
    return {
        k: (v if k in ("question", *SECTION_FIELDS, *QUESTION_FIELDS) else gr.skip())
        for k, v in out.items()
    }


def select_question(state: Any, question_id: str | None) -> dict[str, Any]:
    s = survey_of(state)
    out: dict[str, Any] = {name: gr.skip() for name in OUTPUTS}
    if question_id:
        out.update(question_fields(s.question(question_id)))
    return out


def import_file(state: Any, path: str | None) -> dict[str, Any]:
    """Load an uploaded JSON file into the builder, or explain what is wrong with it."""
    if not path:
        return failed("")
    raw = b""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            return failed(
                f"Import failed, nothing was changed. The file is too large: {size} bytes "
                f"(at most {MAX_FILE_BYTES})."
            )
        raw = Path(path).read_bytes()
        survey = import_survey(raw)
    except SurveyError as exc:
        log.info("survey import refused error=%s", type(exc).__name__)
        return failed(
            plain(f"Import failed, nothing was changed. {exc}", _loose_json(raw), with_paths=True)
        )
    except OSError:
        return failed("Import failed: the file could not be read.")
    return render(survey)


def _loose_json(raw: bytes) -> Any:
    """The file's JSON if it parses (for section titles in an error message), else None."""
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def export_file(state: Any, *details: Any) -> tuple[dict[str, Any], str | None]:
    """The survey as a canonical JSON file to download (path), with the builder outputs."""
    try:
        survey = with_details(state, details)
    except SurveyError as exc:
        return failed(plain(str(exc), state)), None
    folder = tempfile.mkdtemp(prefix="googlive-survey-")
    path = Path(folder) / f"{survey.id}.json"
    path.write_text(export_survey(survey), encoding="utf-8")
    return render(survey), str(path)


def library_choices(store: SurveyStore | None) -> list[tuple[str, str]]:
    """The library dropdown: this visitor's saved surveys, then the templates. `store` is the
    visitor's own view (`SurveyStore.for_owner`); with None, only the templates (the page as
    first sent, before it knows who is looking)."""
    out = []
    infos = store.list_surveys() if store is not None else []
    for info in infos:
        kind = "template" if info.source == "template" else "saved"
        out.append((f"{info.title} ({kind}, {plural(info.questions, 'question')})", info.id))
    return out


def template_choices(store: SurveyStore) -> list[tuple[str, str]]:
    return [
        (f"{t.title} (template, {plural(len(t.question_ids()), 'question')})", t.id)
        for t in store.templates()
    ]


def delete_saved(store: SurveyStore, survey_id: str | None) -> tuple[str, Any]:
    """Delete one of the visitor's saved surveys: (error box, library update)."""
    if not survey_id:
        return error_html("Choose one of your saved surveys to delete."), gr.skip()
    try:
        if _is_template(store, survey_id):
            raise SurveyError("Templates are built in and cannot be deleted.")
        title = store.load(survey_id).title
        if not store.delete(survey_id):
            raise SurveyError("That survey is not in your library.")
    except SurveyError as exc:
        return error_html(plain(str(exc))), gr.skip()
    return ok_html(f"Deleted “{title}”."), gr.update(choices=library_choices(store), value=None)


def _is_template(store: SurveyStore, survey_id: str) -> bool:
    return any(t.id == survey_id for t in store.templates())


def _to_save(
    store: SurveyStore, state: Any, details: Sequence[Any], public_ids: frozenset[str]
) -> Survey:
    """The survey as it will be saved (raises SurveyError). A template's id, or the id of the
    blank survey every page starts with (it is in the page config for all to see), gets a
    fresh random id: saved ids are never public."""
    survey = with_details(state, details)
    if _is_template(store, survey.id) or survey.id in public_ids:
        survey = edit.copy_survey(survey)
    return survey


def save_request(
    store: SurveyStore,
    state: Any,
    *details: Any,
    public_ids: frozenset[str] = frozenset(),
    then_start: bool = False,
) -> tuple[dict[str, Any] | None, SaveAsk | None]:
    """Before saving: (a refusal to show, or None; the question to ask first, or None).
    Neither: save at once."""
    try:
        survey = _to_save(store, state, details, public_ids)
    except SurveyError as exc:
        return failed(plain(str(exc), state)), None
    if then_start and not survey.question_ids():
        return failed("Add at least one question before starting the interview."), None
    return None, plan_save(store, survey)


def save(
    store: SurveyStore,
    state: Any,
    *details: Any,
    public_ids: frozenset[str] = frozenset(),
    section_id: str | None = None,
    question_id: str | None = None,
    ask: SaveAsk | None = None,
    choice: str | None = None,
) -> tuple[dict[str, Any], Any]:
    """Save to disk and say so; the builder keeps the section and question it had selected.

    `ask` and `choice` carry the visitor's answer to a `save_request` question: "replace"
    overwrites the saved survey it named, "other" keeps both (same id: a copy is made).
    """
    try:
        survey = _to_save(store, state, details, public_ids)
        if ask is not None and choice == "replace" and ask.mode == "same_title":
            survey = edit.copy_survey(survey, survey_id=ask.target_id)
        elif ask is not None and choice == "other" and ask.mode == "same_id":
            survey = edit.copy_survey(survey, title=f"{survey.title} (copy)"[:200])
        store.save(survey)
    except SurveyError as exc:
        return failed(plain(str(exc), state)), gr.skip()
    except OSError as exc:
        log.warning("survey save failed error=%s", type(exc).__name__)
        return failed("The survey could not be written to disk; nothing was saved."), gr.skip()
    out = render(survey, section_id, question_id)
    out["error"] = ok_html(f"Saved “{survey.title}”.")
    return out, gr.update(choices=library_choices(store), value=survey.id)


def load(store: SurveyStore, state: Any, survey_id: str | None) -> dict[str, Any]:
    """Open a saved survey, or a copy of a template (so edits never touch the template)."""
    if not survey_id:
        return failed("Choose a survey or template to load.")
    try:
        survey = store.load(survey_id)
        if _is_template(store, survey_id):
            survey = edit.copy_survey(survey)
    except SurveyError as exc:
        return failed(plain(str(exc)))
    return render(survey)


def start_interview(
    store: SurveyStore,
    state: Any,
    *details: Any,
    public_ids: frozenset[str] = frozenset(),
    section_id: str | None = None,
    question_id: str | None = None,
    ask: SaveAsk | None = None,
    choice: str | None = None,
) -> tuple[dict[str, Any], Any, Any, Any, str | Any]:
    """Save, make it the survey of the next call, and go to the Conversation tab.

    Returns (builder outputs, library, survey_id, tabs, active line).
    """
    refused, _ask = save_request(store, state, *details, public_ids=public_ids, then_start=True)
    if refused is not None:
        return refused, gr.skip(), gr.skip(), gr.skip(), gr.skip()
    out, library = save(
        store,
        state,
        *details,
        public_ids=public_ids,
        section_id=section_id,
        question_id=question_id,
        ask=ask,
        choice=choice,
    )
    if isinstance(out.get("state"), dict) and "id" in out["state"]:
        survey = Survey.model_validate(out["state"])
        out["error"] = ok_html(f"Saved “{survey.title}”: the next conversation is this interview.")
        return out, library, survey.id, gr.Tabs(selected="conversation"), active_html(survey)
    return out, library, gr.skip(), gr.skip(), gr.skip()


def clear_active() -> tuple[str, str]:
    """Back to a plain conversation: (survey_id, active line)."""
    return "", active_html(None)


# ---- the page ---------------------------------------------------------------------------------

CSS = """
#survey-progress .survey-q-answered span:first-child { color: #137333; }
#survey-progress .survey-answer { display: block; color: #3c4043; font-style: italic; }
.survey-error { background: #fce8e6; color: #a50e0e; padding: 8px; border-radius: 8px; white-space: pre-wrap; }
.survey-outline code { font-size: 0.85em; color: #5f6368; }
.survey-hint, .survey-meta, .survey-kind { color: #5f6368; font-size: 0.9em; }
.survey-ok { background: #e6f4ea; color: #0d652d; padding: 8px; border-radius: 8px; }
#survey-ask-note { font-weight: 600; }
/* During a call the status line says so; the hint to press record is then out of date. */
body:has(#status [data-state="live"]) .survey-start-hint,
body:has(#status [data-state="connecting"]) .survey-start-hint,
body:has(#status [data-state="reconnecting"]) .survey-start-hint { display: none; }
"""


class SurveyPlugin(UiPlugin):
    """The Survey Builder tab, the active survey line and the progress panel."""

    def __init__(self, store: SurveyStore) -> None:
        self.store = store
        self.c: dict[str, Any] = {}

    def controls(self, b: PageBuild) -> None:
        with gr.Row():
            self.c["active"] = gr.HTML(active_html(None), elem_id="survey-active")
            self.c["plain"] = gr.Button(
                "Plain conversation (no survey)", size="sm", elem_id="survey-clear", scale=0
            )

    def side(self, b: PageBuild) -> None:
        with gr.Accordion("Survey progress", open=True):
            b.add_panel(
                "survey_progress",
                gr.HTML(
                    '<div class="survey-progress empty">No survey in this conversation.</div>',
                    elem_id="survey-progress",
                ),
            )

    def tab(self, b: PageBuild) -> None:
        c = self.c
        blank = new_blank()
        self.public_ids = frozenset({blank["state"]["id"]})
        with gr.Tab("Survey Builder", id=BUILDER_TAB, elem_id="survey-builder"):
            gr.HTML(f"<style>{CSS}</style>", visible=True, padding=False)
            c["state"] = gr.State(blank["state"])
            with gr.Row():
                # Only the templates go into the page's config; a visitor's own surveys are
                # listed once the page knows who is looking (owner State change, below).
                c["library"] = gr.Dropdown(
                    template_choices(self.store),
                    value=None,
                    label="Your saved surveys and the templates",
                    scale=4,
                    elem_id="survey-library",
                )
                c["load"] = gr.Button("Load into builder", scale=1, elem_id="survey-load")
                c["new"] = gr.Button("New survey", scale=1, elem_id="survey-new")
                c["delete"] = gr.Button(
                    "Delete saved", scale=1, size="sm", variant="stop", elem_id="survey-delete"
                )
            c["error"] = gr.HTML("", elem_id="survey-error")
            with gr.Row():
                with gr.Column(scale=5):
                    with gr.Group():
                        c["title"] = gr.Textbox(
                            blank["title"], label="Survey title", elem_id="survey-title"
                        )
                        c["purpose"] = gr.Textbox(
                            blank["purpose"], label="Purpose", lines=2, elem_id="survey-purpose"
                        )
                        with gr.Row():
                            c["persona"] = gr.Textbox(
                                blank["persona"],
                                label="Interviewer persona",
                                elem_id="survey-persona",
                            )
                            c["tone"] = gr.Textbox(
                                blank["tone"], label="Tone", elem_id="survey-tone"
                            )
                            c["language"] = gr.Textbox(
                                blank["language"], label="Language", elem_id="survey-language"
                            )
                    with gr.Accordion("Section", open=True):
                        c["section"] = gr.Dropdown(
                            label="Selected section",
                            choices=[],
                            value=None,
                            elem_id="survey-section",
                        )
                        c["sec_title"] = gr.Textbox(
                            "", label="Section title", elem_id="survey-sec-title"
                        )
                        c["sec_desc"] = gr.Textbox(
                            "", label="Section description", lines=2, elem_id="survey-sec-desc"
                        )
                        with gr.Row():
                            c["sec_add"] = gr.Button(
                                "Add section", size="sm", elem_id="survey-sec-add"
                            )
                            c["sec_update"] = gr.Button(
                                "Update section", size="sm", elem_id="survey-sec-update"
                            )
                            c["sec_up"] = gr.Button("Move up", size="sm", elem_id="survey-sec-up")
                            c["sec_down"] = gr.Button(
                                "Move down", size="sm", elem_id="survey-sec-down"
                            )
                            c["sec_delete"] = gr.Button(
                                "Delete section",
                                size="sm",
                                variant="stop",
                                elem_id="survey-sec-delete",
                            )
                    with gr.Accordion("Question", open=True):
                        c["question"] = gr.Dropdown(
                            label="Selected question (in this section)",
                            choices=[],
                            value=None,
                            elem_id="survey-question",
                        )
                        c["q_text"] = gr.Textbox("", label="Question text", elem_id="survey-q-text")
                        with gr.Row():
                            c["q_kind"] = gr.Dropdown(
                                KIND_CHOICES, value="open", label="Kind", elem_id="survey-q-kind"
                            )
                            c["q_required"] = gr.Checkbox(
                                True, label="Required", elem_id="survey-q-required"
                            )
                        c["q_options"] = gr.Textbox(
                            "",
                            label="Options (one per line)",
                            lines=3,
                            visible=False,
                            elem_id="survey-q-options",
                        )
                        with gr.Row(visible=False, elem_id="survey-q-scale") as c["scale_row"]:
                            c["q_min"] = gr.Number(
                                1, label="Scale min", precision=0, elem_id="survey-q-min"
                            )
                            c["q_max"] = gr.Number(
                                5, label="Scale max", precision=0, elem_id="survey-q-max"
                            )
                            c["q_min_label"] = gr.Textbox(
                                "", label="Min label", elem_id="survey-q-min-label"
                            )
                            c["q_max_label"] = gr.Textbox(
                                "", label="Max label", elem_id="survey-q-max-label"
                            )
                        c["q_follow_up"] = gr.Textbox(
                            "", label="Follow-up hint (optional)", elem_id="survey-q-follow-up"
                        )
                        with gr.Row():
                            c["q_add"] = gr.Button(
                                "Add question", size="sm", elem_id="survey-q-add"
                            )
                            c["q_update"] = gr.Button(
                                "Update question", size="sm", elem_id="survey-q-update"
                            )
                            c["q_up"] = gr.Button("Move up", size="sm", elem_id="survey-q-up")
                            c["q_down"] = gr.Button("Move down", size="sm", elem_id="survey-q-down")
                            c["q_delete"] = gr.Button(
                                "Delete question",
                                size="sm",
                                variant="stop",
                                elem_id="survey-q-delete",
                            )
                with gr.Column(scale=5):
                    with gr.Row():
                        c["start"] = gr.Button(
                            "Start interview with this survey",
                            variant="primary",
                            elem_id="survey-start",
                        )
                        c["save"] = gr.Button("Save", elem_id="survey-save")
                    c["pending"] = gr.State(None)  # the save question being asked (saving.SaveAsk)
                    with gr.Group(visible=False, elem_id="survey-ask") as c["ask_box"]:
                        c["ask_note"] = gr.HTML("", elem_id="survey-ask-note")
                        with gr.Row():
                            c["ask_yes"] = gr.Button(
                                "Replace it", size="sm", variant="stop", elem_id="survey-ask-yes"
                            )
                            c["ask_alt"] = gr.Button(
                                "Keep both", size="sm", elem_id="survey-ask-alt"
                            )
                            c["ask_no"] = gr.Button("Cancel", size="sm", elem_id="survey-ask-no")
                    c["outline"] = gr.HTML(blank["outline"], elem_id="survey-outline")
                    with gr.Accordion("System instruction preview", open=False):
                        c["preview"] = gr.Textbox(
                            blank["preview"],
                            lines=16,
                            max_lines=40,
                            interactive=False,
                            show_label=False,
                            elem_id="survey-preview",
                        )
                    with gr.Accordion("Import / export JSON", open=False):
                        c["upload"] = gr.File(
                            label="Import a survey (.json)",
                            file_types=[".json"],
                            type="filepath",
                            elem_id="survey-import",
                        )
                        c["export"] = gr.Button("Export JSON", size="sm", elem_id="survey-export")
                        c["download"] = gr.File(
                            label="Exported survey", interactive=False, elem_id="survey-download"
                        )

    def wire(self, b: PageBuild) -> None:
        c = self.c
        store = self.store
        outs = [c[n] for n in OUTPUTS]
        details = [c[n] for n in DETAILS]
        qfields = [c[n] for n in QUESTION_FIELDS]

        # Results and refusals go to the message box above the form (role alert / status),
        # never to toasts: a toast left over from an earlier refusal made a good save look failed.
        def ui(fn: Any) -> Any:
            def run(*args: Any) -> tuple[Any, ...]:
                out = fn(*args)
                return tuple(out[n] for n in OUTPUTS)

            return run

        def tail(fn: Any, n_extra: int) -> Any:
            def run(*args: Any) -> tuple[Any, ...]:
                out, *extra = fn(*args)
                return (*(out[n] for n in OUTPUTS), *extra[:n_extra])

            return run

        hidden = {"show_progress": "hidden"}
        state = c["state"]
        owner = b.owner

        def mine(who: str | None) -> SurveyStore:
            return store.for_owner(who or "")  # SurveyError without an owner: shown in the box

        def refresh_library(who: str | None) -> Any:
            return gr.update(choices=library_choices(mine(who)) if who else template_choices(store))

        owner.change(refresh_library, [owner], [c["library"]], **hidden)
        c["new"].click(ui(lambda: new_blank()), [], outs, **hidden)
        # Every page gets a blank survey of its own (the one in the page config is everyone's).
        b.demo.load(ui(lambda: new_blank()), [], outs, **hidden)
        c["q_kind"].change(
            lambda k: tuple(kind_fields(k).values()),
            [c["q_kind"]],
            [c["q_options"], c["scale_row"]],
            **hidden,
        )
        c["sec_add"].click(
            ui(add_section), [state, *details, c["sec_title"], c["sec_desc"]], outs, **hidden
        )
        c["sec_update"].click(
            ui(update_section),
            [state, *details, c["section"], c["sec_title"], c["sec_desc"]],
            outs,
            **hidden,
        )
        c["sec_up"].click(
            ui(lambda s, *a: move_section(s, *a, delta=-1)),
            [state, *details, c["section"]],
            outs,
            **hidden,
        )
        c["sec_down"].click(
            ui(lambda s, *a: move_section(s, *a, delta=1)),
            [state, *details, c["section"]],
            outs,
            **hidden,
        )
        c["sec_delete"].click(ui(delete_section), [state, *details, c["section"]], outs, **hidden)
        c["q_add"].click(
            ui(add_question), [state, *details, c["section"], *qfields], outs, **hidden
        )
        c["q_update"].click(
            ui(update_question), [state, *details, c["question"], *qfields], outs, **hidden
        )
        c["q_up"].click(
            ui(lambda s, *a: move_question(s, *a, delta=-1)),
            [state, *details, c["question"]],
            outs,
            **hidden,
        )
        c["q_down"].click(
            ui(lambda s, *a: move_question(s, *a, delta=1)),
            [state, *details, c["question"]],
            outs,
            **hidden,
        )
        c["q_delete"].click(ui(delete_question), [state, *details, c["question"]], outs, **hidden)
        c["section"].input(ui(select_section), [state, c["section"]], outs, **hidden)
        c["question"].input(ui(select_question), [state, c["question"]], outs, **hidden)
        for field in details:
            field.input(
                preview,
                [state, *details],
                [c["preview"]],
                show_progress="hidden",
                trigger_mode="always_last",
            )
        c["upload"].upload(ui(import_file), [state, c["upload"]], outs, **hidden)
        c["export"].click(tail(export_file, 1), [state, *details], [*outs, c["download"]], **hidden)
        public = self.public_ids
        ask_outs = [c["ask_box"], c["ask_note"], c["ask_yes"], c["ask_alt"], c["pending"]]
        save_outs = [*outs, c["library"], *ask_outs, b.survey_id, b.tabs, c["active"]]
        n_save = len(save_outs)
        closed = (gr.update(visible=False), "", gr.skip(), gr.skip(), None)

        def finish(out: dict[str, Any], library: Any, *started: Any) -> tuple[Any, ...]:
            return (*(out[n] for n in OUTPUTS), library, *closed, *(started or (gr.skip(),) * 3))

        def on_save(then_start: bool) -> Any:
            def run(who: str | None, s: Any, *rest: Any) -> tuple[Any, ...]:
                d, section_id, question_id = rest[:5], rest[5], rest[6]
                try:
                    store_ = mine(who)
                except SurveyError as exc:
                    return finish(failed(plain(str(exc))), gr.skip())
                refused, ask = save_request(store_, s, *d, public_ids=public, then_start=then_start)
                if refused is not None:
                    return finish(refused, gr.skip())
                if ask is not None:
                    yes, alt = BUTTONS[ask.mode]
                    return (
                        *(gr.skip(),) * (len(OUTPUTS) + 1),
                        gr.update(visible=True),
                        f"<div>{html.escape(ask.question)}</div>",
                        gr.update(value=yes),
                        gr.update(value=alt),
                        ask.to_state(then_start),
                        gr.skip(),
                        gr.skip(),
                        gr.skip(),
                    )
                sel = {"section_id": section_id, "question_id": question_id}
                if then_start:
                    out, library, *started = start_interview(
                        store_, s, *d, public_ids=public, **sel
                    )
                    return finish(out, library, *started)
                return finish(*save(store_, s, *d, public_ids=public, **sel))

            return run

        def on_answer(choice: str) -> Any:
            def run(who: str | None, s: Any, *rest: Any) -> tuple[Any, ...]:
                d, section_id, question_id, pending = rest[:5], rest[5], rest[6], rest[7]
                if not isinstance(pending, dict):
                    return (*(gr.skip(),) * (n_save - 8), *closed, gr.skip(), gr.skip(), gr.skip())
                ask = SaveAsk(pending["mode"], pending["target_id"], "")
                sel = {
                    "section_id": section_id,
                    "question_id": question_id,
                    "ask": ask,
                    "choice": choice,
                }
                try:
                    store_ = mine(who)
                except SurveyError as exc:
                    return finish(failed(plain(str(exc))), gr.skip())
                if pending.get("then_start"):
                    out, library, *started = start_interview(
                        store_, s, *d, public_ids=public, **sel
                    )
                    return finish(out, library, *started)
                return finish(*save(store_, s, *d, public_ids=public, **sel))

            return run

        save_in = [owner, state, *details, c["section"], c["question"]]
        focus_ask = "() => { setTimeout(() => { const b = document.querySelector('#survey-ask-yes'); if (b && b.offsetParent) b.focus(); }, 120); return []; }"
        c["save"].click(on_save(False), save_in, save_outs, **hidden).then(
            None, None, None, js=focus_ask
        )
        c["ask_yes"].click(on_answer("replace"), [*save_in, c["pending"]], save_outs, **hidden)
        c["ask_alt"].click(on_answer("other"), [*save_in, c["pending"]], save_outs, **hidden)
        c["ask_no"].click(
            lambda: (*closed, ok_html("Not saved: nothing was changed.")),
            None,
            [*ask_outs, c["error"]],
            **hidden,
        )
        c["load"].click(
            ui(lambda who, s, sid: _act(lambda: load(mine(who), s, sid), s)),
            [owner, state, c["library"]],
            outs,
            **hidden,
        )
        c["start"].click(on_save(True), save_in, save_outs, **hidden).then(
            None, None, None, js=focus_ask
        )

        def on_delete(who: str | None, sid: str | None) -> tuple[str, Any]:
            try:
                return delete_saved(mine(who), sid)
            except SurveyError as exc:
                return error_html(str(exc)), gr.skip()

        c["delete"].click(on_delete, [owner, c["library"]], [c["error"], c["library"]], **hidden)
        c["plain"].click(clear_active, [], [b.survey_id, c["active"]], **hidden)


__all__ = ["SurveyPlugin"]
