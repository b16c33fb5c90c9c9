"""Put the app's features together: each feature package has an `install(ctx)` function.

The order matters: the archive comes first so that later features (recording, tools, survey)
can write into the session's folder.
"""

from __future__ import annotations

import importlib
import logging
import os

from googlive.ui import AppContext

log = logging.getLogger(__name__)

FEATURE_MODULES = (
    "googlive.features.results.feature",  # session archive, End session, Results and Past sessions
    "googlive.features.recording.feature",  # recording of both voices and the webcam
    "googlive.features.tools.feature",  # take_picture, draw_diagram
    "googlive.features.survey.feature",  # Survey Builder tab, record_answer, progress panel
    "googlive.features.metrics.feature",  # latency, levels, usage and the event log
    "googlive.scale.replica",  # the page says so when the replica running its call stops
)


def assemble(ctx: AppContext, modules: tuple[str, ...] = FEATURE_MODULES) -> AppContext:
    """Install every feature module that exists into `ctx`. GOOGLIVE_FEATURES (a comma list of
    short names such as "results,tools") limits them, for debugging."""
    only = {x.strip() for x in os.environ.get("GOOGLIVE_FEATURES", "").split(",") if x.strip()}
    for name in modules:
        if only and name.split(".")[1] not in only:
            continue
        try:
            mod = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name and (name == e.name or name.startswith(e.name + ".")):
                continue  # not built yet
            raise
        mod.install(ctx)
        log.debug("installed %s", name)
    return ctx
