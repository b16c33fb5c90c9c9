"""draw_diagram: validated Mermaid diagrams for the panel, and their export.

`DrawDiagram` is a registry handler. It promises: the code is validated before the call is
answered; invalid code gets `{"error", "line", "message", ...}` so the model can correct itself,
and the history (so the panel) keeps the last good diagram; valid code is appended to the
`DiagramHistory` and `on_diagram` is called. `export_diagram` always writes the `.mmd` source and
adds SVG/PNG only when `MERMAID_INK_SERVER` is set and answers within a short timeout; failures
are logged quietly (no content) and never raised.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import Field

from googlive.features.api import ToolSpec
from googlive.features.tools.args import ToolArgs, text_parameters
from googlive.features.tools.mermaid_check import MAX_SOURCE_CHARS
from googlive.features.tools.mermaid_node import MermaidValidator
from googlive.features.tools.registry import ResponseScheduling

if TYPE_CHECKING:
    from google.genai import types

    from googlive.features.tools.registry import ToolRegistry

log = logging.getLogger(__name__)

TITLE_MAX_CHARS = 200


class DrawDiagramArgs(ToolArgs):
    code: str = Field(
        min_length=1, max_length=MAX_SOURCE_CHARS, description="The complete Mermaid source."
    )
    title: str = Field(
        default="",
        max_length=TITLE_MAX_CHARS,
        description="Optional short title shown above the diagram.",
    )


# NON_BLOCKING (gemini-3.8-live; stripped by googlive.live.models for families that only block): the
# model talks the user through the diagram while it is checked and drawn. A valid diagram's
# answer is SILENT (DRAW_DIAGRAM_SCHEDULING): it only confirms what the model already said, and
# prompting it again would make it describe the same diagram twice, or contradict itself. An
# invalid one is WHEN_IDLE: the model must fix it, after finishing its sentence.
# Built on first use (one object from then on), not at import: this module is imported to build
# the page, which must not load google-genai (googlive/live/preload.py).
@functools.cache
def draw_diagram_declaration() -> types.FunctionDeclaration:
    """The draw_diagram FunctionDeclaration (also as the module attribute DRAW_DIAGRAM)."""
    from google.genai import types

    return types.FunctionDeclaration(
        name="draw_diagram",
        description=(
            "Show the user a diagram in the side panel, written in Mermaid syntax (flowchart/graph, "
            "sequenceDiagram, classDiagram, stateDiagram-v2, erDiagram, gantt, pie, mindmap, "
            "journey, timeline). Explain it in your own words as you call it. The code is checked "
            "first: if it is invalid you get an error with the line and the parser's message; fix "
            "it and call again. A diagram that is shown needs no further words. Do not use "
            "click/link directives, %%{init}%% directives or code fences. Put label text "
            'containing brackets or quotes in double quotes, e.g. A["f(x)"]. To change a diagram, '
            "send the whole new version."
        ),
        behavior=types.Behavior.NON_BLOCKING,
        parameters=text_parameters(DrawDiagramArgs),
    )


def __getattr__(name: str) -> Any:
    """DRAW_DIAGRAM, the declaration as it was a module constant, built when first asked for."""
    if name == "DRAW_DIAGRAM":
        return draw_diagram_declaration()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# FunctionResponseScheduling names (ResponseScheduling.for_response gives the members).
DRAW_DIAGRAM_SCHEDULING = ResponseScheduling(ok="SILENT", error="WHEN_IDLE")


@dataclass(frozen=True, slots=True)
class Diagram:
    """One accepted diagram; `time` is Unix seconds, `version` counts from 1 per history."""

    id: str
    source: str
    title: str
    time: float
    version: int
    diagram_type: str | None = None


class DiagramHistory:
    """Accepted diagrams, oldest first, bounded to `max_items` (the oldest are forgotten)."""

    def __init__(self, max_items: int = 50) -> None:
        self._items: list[Diagram] = []
        self._max = max_items
        self._next_version = 1

    def add(
        self,
        source: str,
        title: str,
        *,
        diagram_type: str | None = None,
        when: float | None = None,
        id: str | None = None,
    ) -> Diagram:
        d = Diagram(
            id or uuid.uuid4().hex,
            source,
            title,
            time.time() if when is None else when,
            self._next_version,
            diagram_type,
        )
        self._next_version += 1
        self._items.append(d)
        del self._items[: -self._max]
        return d

    @property
    def latest(self) -> Diagram | None:
        return self._items[-1] if self._items else None

    def newest_first(self) -> list[Diagram]:
        return list(reversed(self._items))

    def __len__(self) -> int:
        return len(self._items)


class DrawDiagram:
    """The draw_diagram handler, bound to a validator, a history and a panel callback."""

    def __init__(
        self,
        validator: MermaidValidator,
        history: DiagramHistory,
        on_diagram: Callable[[Diagram], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._validator = validator
        self._history = history
        self._on_diagram = on_diagram
        self._clock = clock

    async def __call__(self, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        code = str(args.get("code") or "").replace("\r\n", "\n").strip("\n")
        title = " ".join(str(args.get("title") or "").split())[:TITLE_MAX_CHARS]
        t0 = time.perf_counter()
        check = await self._validator.validate(code)
        ms = (time.perf_counter() - t0) * 1000
        if not check.ok:
            log.info(
                "draw_diagram id=%s: invalid (%s, %d chars, %.0f ms)",
                call_id,
                check.validator,
                len(code),
                ms,
            )
            return check.as_tool_error()
        diagram = self._history.add(
            code, title, diagram_type=check.diagram_type, when=self._clock(), id=call_id or None
        )
        if self._on_diagram is not None:
            self._on_diagram(diagram)
        log.info(
            "draw_diagram id=%s: shown v%d (%s, %d chars, %.0f ms)",
            call_id,
            diagram.version,
            check.validator,
            len(code),
            ms,
        )
        return {
            "result": "ok",
            "shown": True,
            "version": diagram.version,
            "diagram_type": check.diagram_type,
        }


DRAW_DIAGRAM_TIMEOUT_S = 8.0


def draw_diagram_spec(handler: DrawDiagram, timeout_s: float = DRAW_DIAGRAM_TIMEOUT_S) -> ToolSpec:
    """draw_diagram as the model is offered it: declaration, arguments, time limit, scheduling."""
    return ToolSpec(
        draw_diagram_declaration(), handler, DrawDiagramArgs, timeout_s, DRAW_DIAGRAM_SCHEDULING
    )


def register_draw_diagram(
    registry: ToolRegistry,
    validator: MermaidValidator,
    history: DiagramHistory,
    on_diagram: Callable[[Diagram], None] | None = None,
    *,
    timeout_s: float = DRAW_DIAGRAM_TIMEOUT_S,
) -> DrawDiagram:
    """Register draw_diagram on `registry`; returns the handler."""
    handler = DrawDiagram(validator, history, on_diagram)
    registry.add(draw_diagram_spec(handler, timeout_s))
    return handler


def _slug(diagram: Diagram) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "-", diagram.title).strip("-")[:40] or "diagram"
    return f"{diagram.version:03d}-{base}"


def mermaid_ink_id(source: str) -> str:
    """The diagram's id in a mermaid.ink URL (/svg/<id>, /img/<id>): URL-safe base64 of its
    UTF-8 (what mermaid.ink decodes; the encoding mermaid-py 0.9's `_get_encoded_script` used,
    inlined so that the app needs no package whose constructor calls mermaid.ink)."""
    return base64.urlsafe_b64encode(source.encode("utf-8")).decode("ascii")


async def export_diagram(
    diagram: Diagram,
    out_dir: Path,
    *,
    server: str | None = None,
    timeout_s: float = 4.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> list[Path]:
    """Write `<version>-<title>.mmd`, plus .svg/.png from a mermaid.ink server when one is set.

    `server` defaults to env MERMAID_INK_SERVER; with neither, only the .mmd is written. Returns
    the files written. Never raises for a network problem.
    """
    await asyncio.to_thread(out_dir.mkdir, parents=True, exist_ok=True)
    stem = _slug(diagram)
    mmd = out_dir / f"{stem}.mmd"
    await asyncio.to_thread(mmd.write_text, diagram.source + "\n", "utf-8")
    written = [mmd]
    server = server if server is not None else os.environ.get("MERMAID_INK_SERVER", "")
    if not server:
        return written
    encoded = mermaid_ink_id(diagram.source)
    base = server.rstrip("/")
    t0 = time.perf_counter()
    try:
        async with httpx.AsyncClient(
            timeout=timeout_s, transport=transport, follow_redirects=False
        ) as client:
            for kind, url, suffix in (
                ("svg", f"{base}/svg/{encoded}", ".svg"),
                ("png", f"{base}/img/{encoded}?type=png", ".png"),
            ):
                resp = await client.get(url)
                if resp.status_code != 200:
                    log.info(
                        "diagram export %s v%d: HTTP %d", kind, diagram.version, resp.status_code
                    )
                    break
                path = out_dir / f"{stem}{suffix}"
                await asyncio.to_thread(path.write_bytes, resp.content)
                written.append(path)
    except (httpx.HTTPError, OSError) as e:
        log.info(
            "diagram export v%d degraded to .mmd (%s after %.1f s)",
            diagram.version,
            type(e).__name__,
            time.perf_counter() - t0,
        )
    return written
