"""take_picture and draw_diagram in the running app: per-connection feature, app-wide validator.

`install(ctx)` adds:
- `ctx.services["mermaid"]`: one `SharedMermaid` for the app. Its Node worker is started lazily
  inside the running event loop (warmed up when the first connection starts) and closed at exit
  from `ctx.services["on_exit"]`, which runs on the main thread after gradio's loop stopped.
- a feature factory building `ToolsFeature` (name "tools") for each connection. It declares both
  tools, takes pictures from the handler's newest full-resolution frame, sends them to the model
  before the tool response in the way the model family takes a still (`LiveSession.send_image`:
  google-genai can't carry image bytes in a FunctionResponse), and keeps
  every snapshot and accepted diagram for the results page:
  `feature.snapshots` (oldest first), `feature.diagrams` (oldest first), `feature.history`, and
  listener lists `feature.on_snapshot` / `feature.on_diagram` (called on the event loop; must be
  cheap; an exception is logged and ignored).

Panels: "snapshots" (gr.HTML) shows thumbnails as data: URIs, newest first, at most
`MAX_SHOWN_SNAPSHOTS`; "diagram" (gr.Markdown) shows `render_diagram_panel`. All model text in
them (reasons, titles, diagram source) is escaped by googlive.render.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from googlive.features.api import Feature, ToolSpec
from googlive.features.tools.diagram import (
    Diagram,
    DiagramHistory,
    DrawDiagram,
    draw_diagram_spec,
)
from googlive.features.tools.mermaid_check import MermaidCheck
from googlive.features.tools.mermaid_node import MermaidValidator
from googlive.features.tools.picture import Snapshot, TakePicture, take_picture_spec
from googlive.render import escape_text, render_diagram_panel, render_snapshot_caption

if TYPE_CHECKING:
    from googlive.features.context import CallContext, Links
    from googlive.features.results.feature import ArchiveFeature
    from googlive.ui import AppContext

log = logging.getLogger(__name__)

MAX_SHOWN_SNAPSHOTS = 12
THUMB_SIDE = 320
THUMB_QUALITY = 70
CAMERA_STALE_S = 3.0  # no new frame for this long: the camera is off


class SharedMermaid:
    """One MermaidValidator for the app, bound to the event loop that uses it.

    The Node worker's pipes belong to one loop. If a call comes from another loop (tests run
    one loop each; an app has one), a fresh validator is made for it and the old one stopped.
    `close()` may be called from any thread, at exit, with the loop running or gone.
    """

    def __init__(self, factory: Callable[[], MermaidValidator] = MermaidValidator) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._validator: MermaidValidator | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.calls = 0

    def current(self) -> MermaidValidator:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._validator is None or self._loop is not loop:
                old, old_loop = self._validator, self._loop
                self._validator, self._loop = self._factory(), loop
            else:
                old = old_loop = None
        if old is not None:
            self._stop(old, old_loop, wait_s=0.0)
        return self._validator

    @property
    def uses_node(self) -> bool:
        v = self._validator
        return v is not None and v.uses_node

    async def warm(self) -> None:
        """Start the Node worker now so the first diagram is not slowed by its start-up."""
        await self.current().start()

    async def validate(self, code: str) -> MermaidCheck:
        self.calls += 1
        return await self.current().validate(code)

    async def aclose(self) -> None:
        with self._lock:
            v, self._validator, self._loop = self._validator, None, None
        if v is not None:
            await v.aclose()

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop the worker from any thread (the app's on_exit runs on the main thread)."""
        with self._lock:
            v, loop = self._validator, self._loop
            self._validator, self._loop = None, None
        if v is not None:
            self._stop(v, loop, wait_s=timeout_s)

    @staticmethod
    def _stop(
        v: MermaidValidator, loop: asyncio.AbstractEventLoop | None, *, wait_s: float
    ) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is not None and loop.is_running() and not loop.is_closed() and running is not loop:
            fut = asyncio.run_coroutine_threadsafe(v.aclose(), loop)
            if wait_s <= 0:
                return
            try:
                fut.result(wait_s)
                return
            except (FutureTimeout, RuntimeError, OSError):
                fut.cancel()
        v.kill()  # the loop is gone, or this is its own thread (can't block on it)


def make_thumbnail(
    jpeg: bytes, side: int = THUMB_SIDE, quality: int = THUMB_QUALITY
) -> tuple[str, int, int]:
    """A data: URI of a JPEG at most `side` px on its longest side, and its size."""
    with Image.open(io.BytesIO(jpeg)) as img:
        img = img.convert("RGB")
        img.thumbnail((side, side), Image.Resampling.BILINEAR)
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=quality)
        return (
            "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"),
            img.width,
            img.height,
        )


def render_snapshots_panel(
    snapshots: list[Snapshot],
    thumbs: dict[str, tuple[str, int, int]],
    *,
    max_shown: int = MAX_SHOWN_SNAPSHOTS,
) -> str:
    """HTML for the snapshots panel: newest first, thumbnails only, all text escaped."""
    ready = [s for s in reversed(snapshots) if s.id in thumbs]
    if not ready:
        return '<div class="empty">No snapshots yet.</div>'
    out = ['<div class="gl-snapshots">']
    for s in ready[:max_shown]:
        uri, w, h = thumbs[s.id]
        alt = escape_text(s.reason or "Snapshot from your camera")
        out.append(
            '<figure class="gl-snap" style="margin:0 0 8px 0">'
            f'<img src="{uri}" alt="{alt}" width="{int(w)}" height="{int(h)}" style="max-width:100%;height:auto">'
            f"<figcaption>{render_snapshot_caption(s)}</figcaption></figure>"
        )
    if len(ready) > max_shown:
        n = len(ready) - max_shown
        out.append(
            f'<p class="gl-more">{n} earlier snapshot{"s" if n != 1 else ""} kept for the results page.</p>'
        )
    out.append("</div>")
    return "".join(out)


class _Camera:
    """The CameraContext take_picture needs, for one connection."""

    def __init__(self, feature: ToolsFeature) -> None:
        self._f = feature

    def latest_frame(self) -> np.ndarray | None:
        frame, t = self._f.call.latest_frame()
        if frame is None or time.monotonic() - t > self._f.camera_stale_s:
            return None
        return frame

    async def send_image(self, jpeg: bytes) -> None:
        self._f.call.send_image(jpeg)  # queued before the tool response: the model has it first

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self._f._add_snapshot(snapshot)


class ToolsFeature(Feature):
    """take_picture and draw_diagram for one connection."""

    name = "tools"

    def __init__(
        self,
        call: CallContext,
        mermaid: SharedMermaid,
        *,
        archive: ArchiveFeature | None = None,
        camera_stale_s: float = CAMERA_STALE_S,
    ) -> None:
        super().__init__(call)
        self.mermaid = mermaid
        self.camera_stale_s = camera_stale_s
        self.snapshots: list[Snapshot] = []
        self.diagrams: list[Diagram] = []
        self.history = DiagramHistory()
        # Who is handed each snapshot and diagram: the archive, when there is one.
        self.on_snapshot: list[Callable[[Snapshot], None]] = []
        self.on_diagram: list[Callable[[Diagram], None]] = []
        if archive is not None:
            self.on_snapshot.append(archive.on_snapshot)
            self.on_diagram.append(archive.on_diagram)
        self._thumbs: dict[str, tuple[str, int, int]] = {}
        self._camera = _Camera(self)
        self.take_picture = TakePicture(self._camera)
        self.draw_diagram = DrawDiagram(mermaid, self.history, self._add_diagram)  # type: ignore[arg-type]

    def tools(self) -> list[ToolSpec]:
        # behavior: on each declaration; scheduling: per answer (each module says why).
        return [take_picture_spec(self.take_picture), draw_diagram_spec(self.draw_diagram)]

    async def start(self) -> None:
        self.call.spawn(self._warm(), "mermaid-warm")

    async def _warm(self) -> None:
        t0 = time.perf_counter()
        await self.mermaid.warm()
        log.info(
            "mermaid validator ready (node=%s) in %.0f ms",
            self.mermaid.uses_node,
            (time.perf_counter() - t0) * 1000,
        )

    # ---- snapshots --------------------------------------------------------------------------
    def _add_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)
        self._notify(self.on_snapshot, snapshot)
        self.call.spawn(self._show_snapshot(snapshot), "snapshot-panel")

    async def _show_snapshot(self, snapshot: Snapshot) -> None:
        try:
            self._thumbs[snapshot.id] = await asyncio.to_thread(make_thumbnail, snapshot.jpeg)
        except (OSError, ValueError) as e:
            log.warning("snapshot thumbnail failed (%s)", type(e).__name__)
            return
        self.call.set_panel("snapshots", render_snapshots_panel(self.snapshots, self._thumbs))

    # ---- diagrams ---------------------------------------------------------------------------
    def _add_diagram(self, diagram: Diagram) -> None:
        self.diagrams.append(diagram)
        self.call.set_panel("diagram", render_diagram_panel(self.history.newest_first()))
        self._notify(self.on_diagram, diagram)

    @staticmethod
    def _notify(listeners: list[Callable[[Any], None]], item: Any) -> None:
        for fn in list(listeners):
            try:
                fn(item)
            except Exception as exc:
                # Type only: exception text can carry a user's words.
                log.error("tools listener failed (%s)", type(exc).__name__)


def install(ctx: AppContext) -> None:
    """Add the app-wide validator and the per-connection tools feature to `ctx`."""
    mermaid = ctx.services.get("mermaid")
    if not isinstance(mermaid, SharedMermaid):
        mermaid = SharedMermaid()
        ctx.services["mermaid"] = mermaid
        ctx.services.setdefault("on_exit", []).append(mermaid.close)

    def factory(call: CallContext, links: Links) -> ToolsFeature:
        return ToolsFeature(call, mermaid, archive=links.archive)

    ctx.features.append(factory)


__all__ = [
    "MAX_SHOWN_SNAPSHOTS",
    "SharedMermaid",
    "ToolsFeature",
    "install",
    "make_thumbnail",
    "render_snapshots_panel",
]
