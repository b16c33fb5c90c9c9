"""The Survey Builder's library: the visitor's saved surveys and the templates, with save, load,
delete, and start an interview (saved first) as functions of the builder's inputs and the
visitor's own `SurveyStore` view. Saved ids are never public: a template's id, or that of the
blank survey in the page config, is saved under a fresh one."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import gradio as gr

from googlive.features.survey import edit
from googlive.features.survey.actions import with_details
from googlive.features.survey.jsonio import SurveyError
from googlive.features.survey.messages import plain
from googlive.features.survey.model import Survey
from googlive.features.survey.saving import SaveAsk, plan_save
from googlive.features.survey.store import SurveyStore
from googlive.features.survey.view import active_html, error_html, failed, ok_html, plural, render

if TYPE_CHECKING:
    from collections.abc import Sequence

log = logging.getLogger(__name__)


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
    **how: Any,
) -> tuple[dict[str, Any], Any, Any, Any, str | Any]:
    """Save, make it the survey of the next call, and go to the Conversation tab. `how` is
    `save`'s selection and answer to a save question (section_id, question_id, ask, choice).

    Returns (builder outputs, library, survey_id, tabs, active line).
    """
    refused, _ask = save_request(store, state, *details, public_ids=public_ids, then_start=True)
    if refused is not None:
        return refused, gr.skip(), gr.skip(), gr.skip(), gr.skip()
    out, library = save(store, state, *details, public_ids=public_ids, **how)
    if isinstance(out.get("state"), dict) and "id" in out["state"]:
        survey = Survey.model_validate(out["state"])
        out["error"] = ok_html(f"Saved “{survey.title}”: the next conversation is this interview.")
        return out, library, survey.id, gr.Tabs(selected="conversation"), active_html(survey)
    return out, library, gr.skip(), gr.skip(), gr.skip()


def clear_active() -> tuple[str, str]:
    """Back to a plain conversation: (survey_id, active line)."""
    return "", active_html(None)
