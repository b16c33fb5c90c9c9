"""The "archive" feature: each connection's session written to the data directory live.

Built first; the recording, tools, survey and metrics features are given it as a constructor
argument (`Links.archive`, googlive/features/context.py) and hand it what they produce. Its
folder is made on its writer thread (the first job there), so nothing blocks the event loop;
`.archive` (a `SessionArchive`) is there from `start()` on. What is archived, as it happens:

- transcript.jsonl: every final line (role, text, session time of its start, turn, latency
  when known), and typed messages;
- events.jsonl: state changes (with reason), goAway, interruptions, barge-ins, tool calls
  (id, name and argument *names* only), tool results (id, error flag, duration), tool
  cancellations, errors (user-facing messages only), turn ends with token usage. Never the
  key, never images, never user text;
- meta.json: model, voice, backend, survey id/title;
- snapshots and diagrams the tools feature hands over (`on_snapshot` / `on_diagram`), and
  survey.json (`keep_survey`: the survey at start, its answers at close);
- diagram exports: with `MERMAID_INK_SERVER` set, each diagram's SVG and PNG from that server
  as diagrams/<id>.svg / .png (in a task this feature owns, bounded by `EXPORT_BUDGET_S`, awaited
  in `close()`); without it, or when the server fails, only the source is kept, and nothing is
  shown to the user;
- events_log.jsonl: the metrics feature's event log (already redacted), handed over by its
  `close()` (`keep_event_log`), which runs before this feature's.

Hooks stay cheap: appends are single flushed writes; file saves with fsync (snapshots,
diagrams, meta) run in worker threads tracked by this feature and awaited in `close()`.

Size: over 400 lines: the archive feature's hooks (one per event kind) and its close.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import secrets
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from googlive.features.api import Feature
from googlive.features.results.archive import SessionArchive
from googlive.features.results.archive_layout import DIAGRAMS_DIR, ITEM_ID_RE, ArchiveError
from googlive.live.events import (
    GoAway,
    Interrupted,
    SessionError,
    StateChanged,
    ToolCall,
    ToolCallCancelled,
    TranscriptDelta,
    TurnComplete,
)
from googlive.serialio import SerialWriter

if TYPE_CHECKING:
    from googlive.features.context import CallContext, Links
    from googlive.ui import AppContext

log = logging.getLogger(__name__)

EXPORT_BUDGET_S = 10.0  # one diagram's SVG+PNG export, at most (close() waits for it)


class ArchiveFeature(Feature):
    """Archives one connection's session; see the module docstring."""

    name = "archive"

    def __init__(self, call: CallContext) -> None:
        super().__init__(call)
        info = call.info
        owner = info.owner
        if not owner:
            # No owner reached the handler: archive under a random one nobody can list.
            owner = "unowned-" + secrets.token_urlsafe(16)
            log.warning("archive: connection without an owner; its session is not listed")
        self.archive: SessionArchive | None = None  # from start() on
        self._wall_t0 = time.time() - call.time()  # wall clock at session time 0
        self._lines: set[tuple[str, int]] = set()
        self._tool_started: dict[str, float] = {}
        self._io: set[asyncio.Task[Any]] = set()
        self._closed = False
        # Every file write (the folder first, then events, lines, meta.json) runs on one writer
        # thread in order: nothing blocks the event loop, and nothing is written before the folder.
        self._writer = SerialWriter("archive-writer")
        self._created: concurrent.futures.Future[SessionArchive] = concurrent.futures.Future()
        self._writer.submit(self._create, info.data_dir, owner)
        backend = "offline" if info.offline else "gemini"
        self._write_meta(
            {
                "model": info.model,
                "voice": info.voice,
                "backend": backend,
                "survey_id": info.survey_id or None,
                # Session times (t_s) count from the handler's start, which can be seconds before
                # this folder was made (the page's arguments arrive first): keep the wall clock of
                # t_s = 0, so wall-clock times (recorded survey answers) land on the transcript.
                "t0_unix": round(self._wall_t0, 3),
            }
        )
        self._event("session_start", backend=backend, model=info.model)  # the first event

    def _create(self, data_dir: Any, owner: str) -> None:  # writer thread, its first job
        try:
            self.archive = SessionArchive.create(data_dir, owner)
        except BaseException as e:
            self._created.set_exception(e)
        else:
            self._created.set_result(self.archive)

    # ---- helpers ---------------------------------------------------------------------------
    @property
    def session_id(self) -> str:
        return self.archive.session_id if self.archive is not None else ""

    @property
    def path(self) -> Path | None:
        """The session's folder (None until `start()` made it, or when it could not be made)."""
        return self.archive.path if self.archive is not None else None

    def _event(self, kind: str, **fields: Any) -> None:
        if self._closed:
            return
        self._writer.submit(self._append_event, kind, fields)

    def _append_event(self, kind: str, fields: dict[str, Any]) -> None:  # writer thread
        if self.archive is None:
            return  # the folder could not be made (logged by start())
        try:
            self.archive.append_event(kind, **fields)
        except (ArchiveError, ValueError, TypeError, OSError) as e:
            log.warning("archive: event %s not written (%s)", kind, type(e).__name__)

    def _write_meta(self, updates: dict[str, Any]) -> None:
        self._writer.submit(self._save_meta, updates)

    def _save_meta(self, updates: dict[str, Any]) -> None:  # writer thread
        if self.archive is None:
            return
        try:
            self.archive.write_meta(updates)
        except (ArchiveError, ValueError, OSError) as e:
            log.warning("archive: meta not written (%s)", type(e).__name__)

    def _in_thread(self, fn: Any, *args: Any) -> None:
        """Run a blocking save in a worker thread; the task is kept and awaited in close()."""
        if self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called from a thread without a loop: just do it
            self._safe(fn, *args)
            return
        task = loop.create_task(asyncio.to_thread(self._safe, fn, *args), name="archive-io")
        self._io.add(task)
        task.add_done_callback(self._io.discard)

    @staticmethod
    def _safe(fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception as e:  # a failed save must not take the session down
            log.warning("archive: save failed (%s)", type(e).__name__)

    def _line_start(self, role: str, turn: int, default: float) -> tuple[float, float | None]:
        for ln in reversed(self.call.lines):
            if ln.role.value == role and ln.turn == turn:
                return ln.start_s, ln.latency_ms
        return default, None

    def _transcript(self, role: str, text: str, turn: int, t: float) -> None:
        if self._closed or not text.strip():
            return
        start, latency = self._line_start(role, turn, t)
        self._writer.submit(self._append_line, role, text, start, turn, latency)

    def _append_line(self, *line: Any) -> None:  # writer thread
        if self.archive is None:
            return
        try:
            self.archive.append_transcript(*line)
        except (ArchiveError, OSError) as e:
            log.warning("archive: transcript line not written (%s)", type(e).__name__)

    # ---- hooks -----------------------------------------------------------------------------
    async def start(self) -> None:
        self.archive = await asyncio.wrap_future(self._created)  # raises: no folder, no archive

    def keep_survey(self, data: dict[str, Any]) -> None:
        """The survey feature's survey (at start) or survey and answers (at close): survey.json,
        and its id and title in meta.json."""
        if self.archive is None:
            return
        title = data.get("title")
        if "answers" not in data:
            self._write_meta({"survey_id": data.get("id"), "survey_title": title, "title": title})
        self._in_thread(self.archive.save_survey, data)

    def keep_event_log(self, records: list[dict[str, Any]]) -> None:
        """The metrics feature's event log (already redacted), at its close."""
        if self.archive is not None:
            self._in_thread(self.archive.save_event_log, records)

    def on_event(self, ev: Any) -> None:
        t = round(self.call.time(), 3)
        if isinstance(ev, TranscriptDelta):
            if ev.final and (ev.role.value, ev.turn) not in self._lines:
                self._lines.add((ev.role.value, ev.turn))
                self._transcript(ev.role.value, ev.line, ev.turn, t)
        elif isinstance(ev, StateChanged):
            self._event(
                "state",
                t_s=t,
                state=ev.state.value,
                attempt=ev.attempt,
                delay_s=round(ev.delay_s, 3),
                reason=ev.reason[:200],
            )
        elif isinstance(ev, GoAway):
            self._event("go_away", t_s=t, time_left_s=round(ev.time_left_s, 3))
        elif isinstance(ev, Interrupted):
            self._event("interrupted", t_s=t, turn=ev.turn)
        elif isinstance(ev, TurnComplete):
            usage = ev.usage
            fields: dict[str, Any] = {"t_s": t, "turn": ev.turn}
            if usage is not None:
                fields.update(
                    prompt_tokens=usage.prompt_tokens, response_tokens=usage.response_tokens
                )
            self._event("turn_complete", **fields)
        elif isinstance(ev, ToolCall):
            self._tool_started[ev.id] = time.monotonic()
            self._event(
                "tool_call",
                t_s=t,
                id=ev.id[:64],
                name=ev.name[:64],
                arg_names=sorted(str(k)[:64] for k in (ev.args or {}))[:20],
            )
        elif isinstance(ev, ToolCallCancelled):
            self._event("tool_cancelled", t_s=t, ids=[i[:64] for i in ev.ids][:20])
        elif isinstance(ev, SessionError):
            self._event(
                "error", t_s=t, message=ev.message[:500], recoverable=ev.recoverable, code=ev.code
            )

    def on_tool_result(self, call: ToolCall, result: Any, duration_s: float) -> None:
        """The handler answered (or dropped, `result` None) a tool call."""
        self._tool_started.pop(call.id, None)
        self._event(
            "tool_result",
            t_s=round(self.call.time(), 3),
            id=call.id[:64],
            name=call.name[:64],
            cancelled=result is None,
            error=bool(result is not None and getattr(result, "is_error", False)),
            duration_ms=round(duration_s * 1000, 1),
        )

    def on_barge_in(self, t: float) -> None:
        self._event("barge_in", t_s=round(t, 3))

    def on_text(self, text: str, t: float) -> None:
        # The handler has just put the typed line into the conversation, at the turn it chose.
        turn = next(
            (ln.turn for ln in reversed(self.call.lines) if ln.role.value == "user"),
            self.call.user_turn,
        )
        self._lines.add(("user", turn))
        self._transcript("user", text, turn, t)

    def on_snapshot(self, snapshot: Any) -> None:
        """Listener for the tools feature: a picture was taken (tools.picture.Snapshot)."""
        sid = str(getattr(snapshot, "id", ""))
        jpeg = getattr(snapshot, "jpeg", None)
        if not sid or not isinstance(jpeg, bytes | bytearray) or self.archive is None:
            return
        if (self.archive.path / "snapshots" / f"{sid}.jpg").exists():
            return  # the tools feature saved it already
        when = getattr(snapshot, "time", None)
        meta: dict[str, Any] = {
            "t_s": round(float(when) - self._wall_t0, 3) if isinstance(when, int | float) else None,
            "reason": str(getattr(snapshot, "reason", "") or "")[:300],
            "width": getattr(snapshot, "width", None),
            "height": getattr(snapshot, "height", None),
        }
        self._in_thread(self.archive.save_snapshot, sid, bytes(jpeg), meta)

    def on_diagram(self, diagram: Any) -> None:
        """Listener for the tools feature: a diagram was drawn (tools.diagram.Diagram)."""
        did = str(getattr(diagram, "id", ""))
        source = getattr(diagram, "source", None)
        if not did or not isinstance(source, str) or self.archive is None:
            return
        if (self.archive.path / "diagrams" / f"{did}.mmd").exists():
            return
        when = getattr(diagram, "time", None)
        t = round(float(when) - self._wall_t0, 3) if isinstance(when, int | float) else None
        self._in_thread(
            self.archive.save_diagram, did, source, str(getattr(diagram, "title", "") or ""), t
        )
        if os.environ.get("MERMAID_INK_SERVER") and ITEM_ID_RE.fullmatch(did) and not self._closed:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # not on the event loop: the source is saved, no export
            task = loop.create_task(self._export_diagram(diagram, did), name="archive-export")
            self._io.add(task)
            task.add_done_callback(self._io.discard)

    async def _export_diagram(self, diagram: Any, did: str) -> None:
        """SVG/PNG of `diagram` from the mermaid.ink server into diagrams/<id>.svg/.png.

        export_diagram names its files after the diagram's version and title and writes a
        .mmd too; it runs in a scratch folder and only the images are moved next to the
        archive's own <id>.mmd. Any failure leaves the source alone, logged without content.
        """
        from googlive.features.tools.diagram import export_diagram

        folder = self.archive.path / DIAGRAMS_DIR
        scratch = folder / f".export-{did}"
        try:
            async with asyncio.timeout(EXPORT_BUDGET_S):
                written = await export_diagram(diagram, scratch)
            for f in written:
                if f.suffix in (".svg", ".png"):
                    await asyncio.to_thread(os.replace, f, folder / f"{did}{f.suffix}")
        except Exception as e:  # TimeoutError, ImportError, OSError...: the .mmd stays
            log.info("archive: diagram export degraded to the source (%s)", type(e).__name__)
        finally:
            await asyncio.to_thread(shutil.rmtree, scratch, True)

    async def close(self) -> None:
        if self._closed:
            return
        if self.archive is None:  # start() never had the folder: nothing of the call to add
            self._closed = True
            await asyncio.to_thread(self._writer.close)  # runs what is queued, the folder first
            if self.archive is not None:  # made by the writer meanwhile: close its files
                await asyncio.to_thread(self._safe, self.archive.close)
            return
        while pending := [t for t in self._io if not t.done()]:  # saves and exports
            await asyncio.gather(*pending, return_exceptions=True)
        # Lines the page showed but that never became final (the session ended mid-reply):
        # keep them too, so the archive holds everything the user saw.
        for ln in list(self.call.lines):
            key = (ln.role.value, ln.turn)
            if key not in self._lines and ln.text.strip():
                self._lines.add(key)
                self._transcript(ln.role.value, ln.text, ln.turn, ln.start_s)
        stats = self.call.live_stats()
        self._event(
            "session_end",
            t_s=round(self.call.time(), 3),
            barge_ins=self.call.barge_ins,
            go_aways=getattr(stats, "go_aways", 0) if stats is not None else 0,
        )
        self._closed = True
        await asyncio.to_thread(self._writer.close)  # every queued append is written first
        await asyncio.to_thread(self._safe, self.archive.close)


def archive_factory(call: CallContext, links: Links) -> ArchiveFeature:
    """Build the call's archive (first) and make it the `Links.archive` later features get."""
    links.archive = ArchiveFeature(call)
    return links.archive


def install(ctx: AppContext) -> None:
    """Register the archive feature (first) and the Results/Past sessions page parts."""
    from googlive.features.results.ui import ResultsPlugin

    ctx.features.append(archive_factory)
    ctx.plugins.append(ResultsPlugin(ctx))
    install_quota(ctx)


def running_archives(ctx: AppContext) -> list[Any]:
    """Archive folders of the conversations running now (never deleted by the quota)."""
    rtc = ctx.extra.get("rtc")
    out = []
    for h in list(getattr(rtc, "handlers", {}).values()) if rtc is not None else []:
        path = h.archive_path() if hasattr(h, "archive_path") else None
        if path is not None:
            out.append(path)
    return out


def install_quota(ctx: AppContext) -> None:
    """The data-dir quota and retention (--max-data-gb, --keep-days): ctx.services["quota"]."""
    from googlive.public.quota import QuotaKeeper

    sec = ctx.security
    keeper = QuotaKeeper(
        ctx.settings.data_dir,
        max_bytes=sec.max_data_bytes,
        keep_s=sec.keep_days * 86400,
        running=lambda: running_archives(ctx),
    )
    ctx.services["quota"] = keeper
    ctx.services.setdefault("on_exit", []).append(keeper.close)
    keeper.start()
