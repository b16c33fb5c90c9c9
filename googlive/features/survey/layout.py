"""The Survey Builder's Gradio layout: the tab, the active-survey line by the conversation and
the progress panel, each component kept by name in one dict (`c`) for the wiring. Every builder
component with its label and elem_id, in page order; the values shown at first come from
`view.render` of the blank survey (the `blank` that `build_tab` is given).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gradio as gr

from googlive.features.survey.feature import NO_SURVEY_HTML, PANEL
from googlive.features.survey.view import active_html

if TYPE_CHECKING:
    from googlive.ui import PageBuild

KIND_CHOICES = [
    ("Open answer", "open"),
    ("Yes / no", "yes_no"),
    ("Scale", "scale"),
    ("Single choice", "single_choice"),
    ("Multiple choice", "multiple_choice"),
]
BUILDER_TAB = "survey-builder"

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


def build_controls(c: dict[str, Any]) -> None:
    """The line under the conversation saying which survey the next call runs."""
    with gr.Row():
        c["active"] = gr.HTML(active_html(None), elem_id="survey-active")
        c["plain"] = gr.Button(
            "Plain conversation (no survey)", size="sm", elem_id="survey-clear", scale=0
        )


def build_progress(b: PageBuild) -> None:
    """The side panel the survey feature fills with the call's progress."""
    with gr.Accordion("Survey progress", open=True):
        b.add_panel(PANEL, gr.HTML(NO_SURVEY_HTML, elem_id="survey-progress"))


def item_buttons(c: dict[str, Any], key: str, noun: str) -> None:
    """The row of edit buttons for a section (key "sec") or a question ("q"): `c["sec_add"]`
    … `c["sec_delete"]`, elem_ids survey-sec-add, -update, -up, -down, -delete."""
    labels = {
        "add": f"Add {noun}",
        "update": f"Update {noun}",
        "up": "Move up",
        "down": "Move down",
    }
    with gr.Row():
        for job, label in labels.items():
            c[f"{key}_{job}"] = gr.Button(label, size="sm", elem_id=f"survey-{key}-{job}")
        c[f"{key}_delete"] = gr.Button(
            f"Delete {noun}", size="sm", variant="stop", elem_id=f"survey-{key}-delete"
        )


def build_tab(c: dict[str, Any], blank: dict[str, Any], library: list[tuple[str, str]]) -> None:
    """The Survey Builder tab, showing `blank` (builder outputs) with `library` to choose from."""
    with gr.Tab("Survey Builder", id=BUILDER_TAB, elem_id="survey-builder"):
        gr.HTML(f"<style>{CSS}</style>", visible=True, padding=False)
        c["state"] = gr.State(blank["state"])
        with gr.Row():
            # Only the templates go into the page's config; a visitor's own surveys are
            # listed once the page knows who is looking (the owner State's change, wiring.py).
            c["library"] = gr.Dropdown(
                library,
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
                        c["tone"] = gr.Textbox(blank["tone"], label="Tone", elem_id="survey-tone")
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
                    item_buttons(c, "sec", "section")
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
                    item_buttons(c, "q", "question")
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
                        c["ask_alt"] = gr.Button("Keep both", size="sm", elem_id="survey-ask-alt")
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
