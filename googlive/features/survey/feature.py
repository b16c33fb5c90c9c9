"""The survey feature: a conversation run as an interview, with live coverage of the answers.

Per connection: when the page passed a `survey_id` (`h.args.survey_id`) and it loads from the
`SurveyStore`, the compiled survey replaces the system instruction, `record_answer` is declared,
and every accepted answer refreshes the `survey_progress` panel. Without a survey the feature
does nothing but say so in the panel. `feature.survey` and `feature.progress` stay readable
after the call for the results page. Logs carry ids and outcomes, never survey or answer text.
"""

from __future__ import annotations

import html
import logging
from typing import TYPE_CHECKING, Any

from googlive.features.api import Feature, ToolSpec
from googlive.features.survey.compile import compile_instruction, record_answer_declaration
from googlive.features.survey.coverage import SurveyProgress
from googlive.features.survey.jsonio import SurveyError, survey_to_dict
from googlive.features.survey.model import Survey
from googlive.features.survey.store import SurveyStore
from googlive.features.tools.registry import ResponseScheduling

if TYPE_CHECKING:
    from googlive.features.context import CallContext, Links
    from googlive.features.results.feature import ArchiveFeature
    from googlive.ui import AppContext

log = logging.getLogger(__name__)

PANEL = "survey_progress"
STORE_SERVICE = "survey_store"
# FunctionResponseScheduling names (ResponseScheduling.for_response gives the members).
RECORD_ANSWER_SCHEDULING = ResponseScheduling(ok="SILENT", error="WHEN_IDLE")
NO_SURVEY_HTML = '<div class="survey-progress empty">No survey in this conversation.</div>'


def load_error_html(message: str) -> str:
    return (
        '<div class="survey-progress survey-error">The survey could not be loaded, so this is a '
        f"plain conversation: {html.escape(message)}</div>"
    )


class SurveyFeature(Feature):
    """Runs the survey named by the page's `survey_id`, if any."""

    name = "survey"

    def __init__(
        self, call: CallContext, store: SurveyStore, *, archive: ArchiveFeature | None = None
    ) -> None:
        super().__init__(call)
        self.archive = archive  # survey.json: the survey at start, its answers at close
        self.survey: Survey | None = None
        self.progress: SurveyProgress | None = None
        self.load_error: str | None = None
        self.calls = 0
        survey_id = call.info.survey_id
        if survey_id:
            try:
                # Only this visitor's own surveys and the templates: a survey id another
                # visitor saved is "no survey" here, whatever the page sent.
                template = store.template(survey_id)
                self.survey = template or store.for_owner(call.info.owner).load(survey_id)
            except SurveyError as exc:
                self.load_error = str(exc)
                log.warning("survey could not be loaded error=%s", type(exc).__name__)
            except OSError as exc:
                self.load_error = "the survey file could not be read"
                log.warning("survey could not be read error=%s", type(exc).__name__)
        if self.survey is not None:
            self.progress = SurveyProgress(self.survey)
            call.set_panel(PANEL, self.progress.render_html())
            log.info(
                "survey active id=%s questions=%d", self.survey.id, len(self.survey.question_ids())
            )
        elif self.load_error is not None:
            call.set_panel(PANEL, load_error_html(self.load_error))
        else:
            call.set_panel(PANEL, NO_SURVEY_HTML)

    @property
    def active(self) -> bool:
        return self.survey is not None

    def instruction(self, base: str) -> str:
        if self.survey is None:
            return base
        return compile_instruction(self.survey)

    def tools(self) -> list[ToolSpec]:
        if self.survey is None:
            return []
        # Recording an answer is bookkeeping: NON_BLOCKING (3.8; stripped for families that only
        # block) so the interview flows on, and an accepted answer is SILENT (it must not make
        # the model speak again); a refused one is WHEN_IDLE, so the model can put it right.
        from google.genai import types

        decl = record_answer_declaration(self.survey).model_copy(
            update={"behavior": types.Behavior.NON_BLOCKING}
        )
        return [
            ToolSpec(decl, self.record_answer, timeout_s=5.0, scheduling=RECORD_ANSWER_SCHEDULING)
        ]

    async def record_answer(self, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        """The `record_answer` tool: validate, store, refresh the panel, answer the model."""
        assert self.progress is not None
        self.calls += 1
        result = self.progress.record_from_args(args)
        if result.get("ok"):
            self.call.set_panel(PANEL, self.progress.render_html())
        summary = self.progress.summary()
        log.info(
            "record_answer call=%s ok=%s answered=%d/%d",
            call_id[:16],
            bool(result.get("ok")),
            summary.answered,
            summary.total,
        )
        return result

    def export(self) -> dict[str, Any] | None:
        """The answers so far, JSON-ready (for the results page), or None without a survey."""
        return self.progress.export() if self.progress is not None else None

    async def start(self) -> None:
        if self.archive is not None and self.survey is not None:
            self.archive.keep_survey(survey_to_dict(self.survey))

    async def close(self) -> None:
        if self.archive is not None and self.survey is not None and self.progress is not None:
            self.archive.keep_survey({**survey_to_dict(self.survey), "answers": self.export()})


def survey_store(ctx: AppContext) -> SurveyStore:
    """The app's survey store (one per process), created on first use."""
    store = ctx.services.get(STORE_SERVICE)
    if store is None:
        store = SurveyStore(ctx.settings.data_dir)
        ctx.services[STORE_SERVICE] = store
    return store


def install(ctx: AppContext) -> None:
    """Register the survey feature, its store and the Survey Builder page parts."""
    from googlive.features.survey.ui import SurveyPlugin

    store = survey_store(ctx)
    legacy = store.legacy_files()
    if legacy:
        log.warning(
            "%d survey file(s) in %s were saved before surveys were private; no visitor can "
            "read them (move one into surveys/owners/<owner hash>/ to give it to its owner)",
            legacy,
            store.dir.name,
        )

    def factory(call: CallContext, links: Links) -> SurveyFeature:
        return SurveyFeature(call, store, archive=links.archive)

    ctx.features.append(factory)
    ctx.plugins.append(SurveyPlugin(store))
