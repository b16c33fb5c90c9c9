"""The Survey Builder's events: which component runs which action, with what in and out.

Every builder action answers with all builder outputs (`view.OUTPUTS`, by name); `outputs_of`
turns that dict into the tuple Gradio wants. The edit buttons differ only in their action and
the editor fields they read after the state and the survey fields (`EDITS`). Results and
refusals go to the message box above the form (role alert / status), never to toasts: a toast
left over from an earlier refusal made a good save look failed.
"""

from __future__ import annotations

import html
from functools import partial
from typing import TYPE_CHECKING, Any

import gradio as gr

from googlive.features.survey import actions
from googlive.features.survey.files import export_file, import_file
from googlive.features.survey.jsonio import SurveyError
from googlive.features.survey.library import (
    clear_active,
    delete_saved,
    library_choices,
    load,
    save,
    save_request,
    start_interview,
    template_choices,
)
from googlive.features.survey.messages import plain
from googlive.features.survey.saving import BUTTONS, SaveAsk
from googlive.features.survey.view import (
    DETAILS,
    OUTPUTS,
    QUESTION_FIELDS,
    error_html,
    failed,
    kind_fields,
    ok_html,
)

if TYPE_CHECKING:
    from googlive.features.survey.store import SurveyStore
    from googlive.ui import PageBuild

HIDDEN = {"show_progress": "hidden"}
# The edit buttons, in wiring order: (button, action, the inputs after the state and DETAILS).
EDITS: tuple[tuple[str, Any, tuple[str, ...]], ...] = (
    ("sec_add", actions.add_section, ("sec_title", "sec_desc")),
    ("sec_update", actions.update_section, ("section", "sec_title", "sec_desc")),
    ("sec_up", partial(actions.move_section, delta=-1), ("section",)),
    ("sec_down", partial(actions.move_section, delta=1), ("section",)),
    ("sec_delete", actions.delete_section, ("section",)),
    ("q_add", actions.add_question, ("section", *QUESTION_FIELDS)),
    ("q_update", actions.update_question, ("question", *QUESTION_FIELDS)),
    ("q_up", partial(actions.move_question, delta=-1), ("question",)),
    ("q_down", partial(actions.move_question, delta=1), ("question",)),
    ("q_delete", actions.delete_question, ("question",)),
)
# Focus "Replace it" when Save asks first (the box is shown by the event this follows).
FOCUS_ASK = "() => { setTimeout(() => { const b = document.querySelector('#survey-ask-yes'); if (b && b.offsetParent) b.focus(); }, 120); return []; }"


def outputs_of(fn: Any, n_extra: int = 0) -> Any:
    """`fn` answering with the builder outputs in OUTPUTS order; with `n_extra`, `fn` returns
    (outputs, *extra) and the first `n_extra` extra values follow them."""

    def run(*args: Any) -> tuple[Any, ...]:
        if not n_extra:
            out = fn(*args)
            return tuple(out[n] for n in OUTPUTS)
        out, *extra = fn(*args)
        return (*(out[n] for n in OUTPUTS), *extra[:n_extra])

    return run


def wire_builder(
    c: dict[str, Any], b: PageBuild, store: SurveyStore, public_ids: frozenset[str]
) -> None:
    """Wire the builder's components `c` (layout.py) on the page `b`."""
    outs = [c[n] for n in OUTPUTS]
    details = [c[n] for n in DETAILS]
    state = c["state"]
    owner = b.owner

    def builder(event: Any, fn: Any, inputs: list[Any]) -> None:
        """`event` runs `fn`, which answers with every builder output."""
        event(outputs_of(fn), inputs, outs, **HIDDEN)

    def mine(who: str | None) -> SurveyStore:
        return store.for_owner(who or "")  # SurveyError without an owner: shown in the box

    def refresh_library(who: str | None) -> Any:
        return gr.update(choices=library_choices(mine(who)) if who else template_choices(store))

    owner.change(refresh_library, [owner], [c["library"]], **HIDDEN)
    builder(c["new"].click, actions.new_blank, [])
    # Every page gets a blank survey of its own (the one in the page config is everyone's).
    builder(b.demo.load, actions.new_blank, [])
    c["q_kind"].change(
        lambda k: tuple(kind_fields(k).values()),
        [c["q_kind"]],
        [c["q_options"], c["scale_row"]],
        **HIDDEN,
    )
    for button, action, extra in EDITS:
        builder(c[button].click, action, [state, *details, *(c[n] for n in extra)])
    builder(c["section"].input, actions.select_section, [state, c["section"]])
    builder(c["question"].input, actions.select_question, [state, c["question"]])
    for field in details:
        field.input(
            actions.preview,
            [state, *details],
            [c["preview"]],
            show_progress="hidden",
            trigger_mode="always_last",
        )
    builder(c["upload"].upload, import_file, [state, c["upload"]])
    c["export"].click(
        outputs_of(export_file, 1), [state, *details], [*outs, c["download"]], **HIDDEN
    )

    ask_outs = [c["ask_box"], c["ask_note"], c["ask_yes"], c["ask_alt"], c["pending"]]
    save_outs = [*outs, c["library"], *ask_outs, b.survey_id, b.tabs, c["active"]]
    n_save = len(save_outs)
    closed = (gr.update(visible=False), "", gr.skip(), gr.skip(), None)

    def finish(out: dict[str, Any], library: Any, *started: Any) -> tuple[Any, ...]:
        return (*(out[n] for n in OUTPUTS), library, *closed, *(started or (gr.skip(),) * 3))

    def commit(
        store_: SurveyStore, s: Any, d: Any, then_start: bool, **sel: Any
    ) -> tuple[Any, ...]:
        """Save (and with `then_start`, start the interview), answering with `save_outs`."""
        if then_start:
            out, library, *started = start_interview(store_, s, *d, public_ids=public_ids, **sel)
            return finish(out, library, *started)
        return finish(*save(store_, s, *d, public_ids=public_ids, **sel))

    def on_save(then_start: bool) -> Any:
        def run(who: str | None, s: Any, *rest: Any) -> tuple[Any, ...]:
            d, section_id, question_id = rest[:5], rest[5], rest[6]
            try:
                store_ = mine(who)
            except SurveyError as exc:
                return finish(failed(plain(str(exc))), gr.skip())
            refused, ask = save_request(store_, s, *d, public_ids=public_ids, then_start=then_start)
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
            return commit(store_, s, d, then_start, section_id=section_id, question_id=question_id)

        return run

    def on_answer(choice: str) -> Any:
        def run(who: str | None, s: Any, *rest: Any) -> tuple[Any, ...]:
            d, section_id, question_id, pending = rest[:5], rest[5], rest[6], rest[7]
            if not isinstance(pending, dict):
                return (*(gr.skip(),) * (n_save - 8), *closed, gr.skip(), gr.skip(), gr.skip())
            ask = SaveAsk(pending["mode"], pending["target_id"], "")
            try:
                store_ = mine(who)
            except SurveyError as exc:
                return finish(failed(plain(str(exc))), gr.skip())
            return commit(
                store_,
                s,
                d,
                bool(pending.get("then_start")),
                section_id=section_id,
                question_id=question_id,
                ask=ask,
                choice=choice,
            )

        return run

    save_in = [owner, state, *details, c["section"], c["question"]]

    def saving(button: Any, then_start: bool) -> None:
        """Save (or Start), which may first ask and focus the answer."""
        button.click(on_save(then_start), save_in, save_outs, **HIDDEN).then(
            None, None, None, js=FOCUS_ASK
        )

    saving(c["save"], then_start=False)
    for button, choice in (("ask_yes", "replace"), ("ask_alt", "other")):
        c[button].click(on_answer(choice), [*save_in, c["pending"]], save_outs, **HIDDEN)
    c["ask_no"].click(
        lambda: (*closed, ok_html("Not saved: nothing was changed.")),
        None,
        [*ask_outs, c["error"]],
        **HIDDEN,
    )
    builder(
        c["load"].click,
        lambda who, s, sid: actions.act(lambda: load(mine(who), s, sid), s),
        [owner, state, c["library"]],
    )
    saving(c["start"], then_start=True)

    def on_delete(who: str | None, sid: str | None) -> tuple[str, Any]:
        try:
            return delete_saved(mine(who), sid)
        except SurveyError as exc:
            return error_html(str(exc)), gr.skip()

    c["delete"].click(on_delete, [owner, c["library"]], [c["error"], c["library"]], **HIDDEN)
    c["plain"].click(clear_active, [], [b.survey_id, c["active"]], **HIDDEN)
