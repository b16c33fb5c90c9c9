"""The survey feature's page parts as a UiPlugin: the Survey Builder tab, the active-survey
line by the conversation, and the progress panel.

The working survey lives in a `gr.State` as its JSON dict; the builder edits one selected
section and one selected question at a time (dropdowns pick them; an outline shows the whole
survey). The parts, by job: `layout` (components), `wiring` (events), `actions` (edits),
`view` (what is shown for a survey), `files` (import/export), `library` (save, load, start).
"""

from __future__ import annotations

from typing import Any

from googlive.features.survey.actions import new_blank
from googlive.features.survey.layout import build_controls, build_progress, build_tab
from googlive.features.survey.library import template_choices
from googlive.features.survey.store import SurveyStore
from googlive.features.survey.wiring import wire_builder
from googlive.ui import PageBuild, UiPlugin


class SurveyPlugin(UiPlugin):
    """The Survey Builder tab, the active survey line and the progress panel."""

    def __init__(self, store: SurveyStore) -> None:
        self.store = store
        self.c: dict[str, Any] = {}  # the components by name (layout.py), for the wiring
        self.public_ids: frozenset[str] = frozenset()

    def controls(self, b: PageBuild) -> None:
        build_controls(self.c)

    def side(self, b: PageBuild) -> None:
        build_progress(b)

    def tab(self, b: PageBuild) -> None:
        blank = new_blank()
        # The blank survey's id is in the page config for all to see: never saved under it.
        self.public_ids = frozenset({blank["state"]["id"]})
        # Only the templates go into the page's config (a visitor's own come with the owner).
        build_tab(self.c, blank, template_choices(self.store))

    def wire(self, b: PageBuild) -> None:
        wire_builder(self.c, b, self.store, self.public_ids)


__all__ = ["SurveyPlugin"]
