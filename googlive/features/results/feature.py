"""The "archive" feature: each connection's session written to the data directory live.

Installed first, so that later features (recording, tools, survey) can look it up with
`h.feature("archive")` and write into `.archive` (a `SessionArchive`) from their own
`__init__`/`start()`. What is archived, as it happens:

- transcript.jsonl: every final line (role, text, session time of its start, turn, latency
  when known), and typed messages;
- events.jsonl: state changes (with reason), goAway, interruptions, barge-ins, tool calls
  (id, name and argument *names* only), tool results (id, error flag, duration), tool
  cancellations, errors (user-facing messages only), turn ends with token usage. Never the
  key, never images, never user text;
- meta.json: model, voice, backend, survey id/title;
- snapshots and diagrams the tools feature reports (listener lists `on_snapshot` /
  `on_diagram` on `h.feature("tools")`, when that feature exists), survey.json (the survey at
  start, its answers at close);
- diagram exports: with `MERMAID_INK_SERVER` set, each diagram's SVG and PNG from that server
  as diagrams/<id>.svg / .png (in a task this feature owns, bounded by `EXPORT_BUDGET_S`, awaited
  in `close()`); without it, or when the server fails, only the source is kept, and nothing is
  shown to the user;
- events_log.jsonl at close: the metrics feature's event log (already redacted), when that
  feature exists (it closes before this one).

Hooks stay cheap: appends are single flushed writes; file saves with fsync (snapshots,
diagrams, meta) run in worker threads tracked by this feature and awaited in `close()`.

Size: over 400 lines: the archive feature's hooks (one per event kind) and its close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import time
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
    from googlive.handler import GeminiHandler
    from googlive.ui import AppContext

log = logging.getLogger(__name__)

EXPORT_BUDGET_S = 10.0  # one diagram's SVG+PNG export, at most (close() waits for it)


class ArchiveFeature(Feature):
    """Archives one connection's session; see the module docstring."""

    name = "archive"

    def __init__(self, handler: GeminiHandler) -> None:
        super().__init__(handler)
        owner = handler.args.owner
        if not owner:
            # No owner reached the handler: archive under a random one nobody can list.
            owner = "unowned-" + secrets.token_urlsafe(16)
            log.warning("archive: connection without an owner; its session is not listed")
        self.archive = SessionArchive.create(handler.settings.data_dir, owner)
        self._wall_t0 = time.time() - handler.session_time()  # wall clock at session time 0
        self._lines: set[tuple[str, int]] = set()
        self._tool_started: dict[str, float] = {}
        self._io: set[asyncio.Task[Any]] = set()
        self._closed = False
        # Appends (events, lines, meta.json) fsync now and then: off the event loop, in order.
        self._writer = SerialWriter("archive-writer")
        args = handler.args
        self._write_meta(
            {
                "model": args.model or handler.settings.model,
                "voice": args.voice or handler.settings.voice,
                "backend": "offline" if handler.endpoint.offline else "gemini",
                "survey_id": args.survey_id or None,
                # Session times (t_s) count from the handler's start, which can be seconds before
                # this folder was made (the page's arguments arrive first): keep the wall clock of
                # t_s = 0, so wall-clock times (recorded survey answers) land on the transcript.
                "t0_unix": round(self._wall_t0, 3),
            }
        )

    # ---- helpers ---------------------------------------------------------------------------
    @property
    def session_id(self) -> str:
        return self.archive.session_id

    def _event(self, kind: str, **fields: Any) -> None:
        if self._closed:
            return
        self._writer.submit(self._append_event, kind, fields)

    def _append_event(self, kind: str, fields: dict[str, Any]) -> None:  # writer thread
        try:
            self.archive.append_event(kind, **fields)
        except (ArchiveError, ValueError, TypeError, OSError) as e:
            log.warning("archive: event %s not written (%s)", kind, type(e).__name__)

    def _write_meta(self, updates: dict[str, Any]) -> None:
        self._writer.submit(self._save_meta, updates)

    def _save_meta(self, updates: dict[str, Any]) -> None:  # writer thread
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
        for ln in reversed(self.h.conv.lines):
            if ln.role.value == role and ln.turn == turn:
                return ln.start_s, ln.latency_ms
        return default, None

    def _transcript(self, role: str, text: str, turn: int, t: float) -> None:
        if self._closed or not text.strip():
            return
        start, latency = self._line_start(role, turn, t)
        self._writer.submit(self._append_line, role, text, start, turn, latency)

    def _append_line(self, *line: Any) -> None:  # writer thread
        try:
            self.archive.append_transcript(*line)
        except (ArchiveError, OSError) as e:
            log.warning("archive: transcript line not written (%s)", type(e).__name__)

    # ---- hooks -----------------------------------------------------------------------------
    async def start(self) -> None:
        tools = self.h.feature("tools")
        if tools is not None:
            for attr, fn in (("on_snapshot", self.on_snapshot), ("on_diagram", self.on_diagram)):
                listeners = getattr(tools, attr, None)
                if isinstance(listeners, list):
                    listeners.append(fn)
        survey_feature = self.h.feature("survey")
        survey = getattr(survey_feature, "survey", None)
        if survey is not None:
            data = _survey_dict(survey)
            if data is not None:
                title = data.get("title")
                self._write_meta(
                    {"survey_id": data.get("id"), "survey_title": title, "title": title}
                )
                self._in_thread(self.archive.save_survey, data)
        self._event(
            "session_start",
            backend=self.archive.meta.get("backend"),
            model=self.archive.meta.get("model"),
        )

    def on_event(self, ev: Any) -> None:
        t = round(self.h.session_time(), 3)
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
            t_s=round(self.h.session_time(), 3),
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
        session = self.h.session
        turn = next(
            (ln.turn for ln in reversed(self.h.conv.lines) if ln.role.value == "user"),
            session.turn if session is not None else 0,
        )
        self._lines.add(("user", turn))
        self._transcript("user", text, turn, t)

    def on_snapshot(self, snapshot: Any) -> None:
        """Listener for the tools feature: a picture was taken (tools.picture.Snapshot)."""
        sid = str(getattr(snapshot, "id", ""))
        jpeg = getattr(snapshot, "jpeg", None)
        if not sid or not isinstance(jpeg, bytes | bytearray):
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
        if not did or not isinstance(source, str):
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
        while pending := [t for t in self._io if not t.done()]:  # saves and exports
            await asyncio.gather(*pending, return_exceptions=True)
        metrics = self.h.feature("metrics")  # closed already: its log is complete
        entries = getattr(getattr(metrics, "log", None), "entries", None)
        if callable(entries):
            try:
                records = list(entries())
            except Exception as e:
                log.warning("archive: event log not read (%s)", type(e).__name__)
            else:
                await asyncio.to_thread(self._safe, self.archive.save_event_log, records)
        survey_feature = self.h.feature("survey")
        survey = getattr(survey_feature, "survey", None)
        progress = getattr(survey_feature, "progress", None)
        if survey is not None and progress is not None and hasattr(progress, "export"):
            data = _survey_dict(survey)
            if data is not None:
                with contextlib.suppress(Exception):
                    data["answers"] = progress.export()
                await asyncio.to_thread(self._safe, self.archive.save_survey, data)
        # Lines the page showed but that never became final (the session ended mid-reply):
        # keep them too, so the archive holds everything the user saw.
        for ln in list(self.h.conv.lines):
            key = (ln.role.value, ln.turn)
            if key not in self._lines and ln.text.strip():
                self._lines.add(key)
                self._transcript(ln.role.value, ln.text, ln.turn, ln.start_s)
        stats = getattr(self.h.session, "stats", None)
        self._event(
            "session_end",
            t_s=round(self.h.session_time(), 3),
            barge_ins=self.h.barge_ins,
            go_aways=getattr(stats, "go_aways", 0) if stats is not None else 0,
        )
        self._closed = True
        await asyncio.to_thread(self._writer.close)  # every queued append is written first
        await asyncio.to_thread(self._safe, self.archive.close)


def _survey_dict(survey: Any) -> dict[str, Any] | None:
    if isinstance(survey, dict):
        return dict(survey)
    try:
        from googlive.features.survey.jsonio import survey_to_dict

        return survey_to_dict(survey)
    except Exception:
        dump = getattr(survey, "model_dump", None)
        return dump(mode="json") if callable(dump) else None


def install(ctx: AppContext) -> None:
    """Register the archive feature (first) and the Results/Past sessions page parts."""
    from googlive.features.results.ui import ResultsPlugin

    ctx.features.append(ArchiveFeature)
    ctx.plugins.append(ResultsPlugin(ctx))
    install_quota(ctx)


def running_archives(ctx: AppContext) -> list[Any]:
    """Archive folders of the conversations running now (never deleted by the quota)."""
    rtc = ctx.extra.get("rtc")
    out = []
    for h in list(getattr(rtc, "handlers", {}).values()) if rtc is not None else []:
        feature = h.feature("archive") if hasattr(h, "feature") else None
        path = getattr(getattr(feature, "archive", None), "path", None)
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
