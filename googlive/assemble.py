"""Put the app's features together: each feature module has an `install(ctx)` function.

The list is static: a feature that cannot be imported is an error at start-up, never a
feature silently missing. The order matters: the archive comes first so that later features
(recording, tools, survey) can write into the session's folder.
"""

from __future__ import annotations

import logging
import os
from types import ModuleType

from googlive.features.metrics import feature as metrics
from googlive.features.recording import feature as recording
from googlive.features.results import feature as results
from googlive.features.survey import feature as survey
from googlive.features.tools import feature as tools
from googlive.scale import replica
from googlive.ui import AppContext

log = logging.getLogger(__name__)

FEATURES: tuple[tuple[str, ModuleType], ...] = (
    ("results", results),  # session archive, End session, Results and Past sessions
    ("recording", recording),  # recording of both voices and the webcam
    ("tools", tools),  # take_picture, draw_diagram
    ("survey", survey),  # Survey Builder tab, record_answer, progress panel
    ("metrics", metrics),  # latency, levels, usage and the event log
    ("replica", replica),  # the page says so when the replica running its call stops
)


def assemble(
    ctx: AppContext, features: tuple[tuple[str, ModuleType], ...] = FEATURES
) -> AppContext:
    """Install every feature into `ctx`. GOOGLIVE_FEATURES (a comma list of the short names
    above, such as "results,tools") limits them, for debugging; an unknown name is an error."""
    only = {x.strip() for x in os.environ.get("GOOGLIVE_FEATURES", "").split(",") if x.strip()}
    unknown = only - {name for name, _ in features}
    if unknown:
        raise ValueError(
            f"GOOGLIVE_FEATURES names unknown features {sorted(unknown)}; "
            f"known: {', '.join(name for name, _ in features)}"
        )
    for name, mod in features:
        if only and name not in only:
            continue
        mod.install(ctx)
        log.debug("installed %s", name)
    return ctx
