"""End session, the Results view and Past sessions.

The functions at module level are plain (no Gradio event plumbing) so tests can call them:
`end_connection` ends one browser's session, `build_results` turns an archived session into
the values of the Results panels, `analyse_session` runs and saves the analysis, and
`ResultsPlugin`'s `list_past` / `open_past` / `download_zip` / `analysis_file` carry the owner
check (a browser only ever reaches its own sessions, unless the operator shares archives).

Everything from the model or the user (transcript, analysis, titles) is escaped before it
reaches an HTML component: the analysis text is untrusted.

Size: over 600 lines because it still does several jobs; splitting it by responsibility is
the house issue (#18), done as one series of commits with the new layout.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import secrets
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from googlive.analysis import MAX_INLINE_SNAPSHOTS, Snapshot, analyse
from googlive.archive import (
    ANALYSIS_FILE,
    ArchivedSession,
    ArchiveError,
    SessionNotFound,
    export_zip,
    format_clock,
    list_sessions,
    load_session,
    owner_hash,
    resolve_session,
    write_analysis,
)
from googlive.render import render_diagram_panel
from googlive.ui import PageBuild, UiPlugin

if TYPE_CHECKING:
    from googlive.handler import GeminiHandler
    from googlive.ui import AppContext

log = logging.getLogger(__name__)


def escape_text(text: object) -> str:
    """Inert HTML for gr.HTML (no Markdown pass there): tags, quotes and entities escaped."""
    return html.escape(str(text), quote=True)


MAX_RAW_CHARS = 60_000  # raw model reply kept with a failed analysis (events refuse > 64 KiB)
ZIP_KEEP_S = 600.0  # a prepared zip is deleted after this long, or when its visitor makes another
ZIPS_DIR = "googlive-zips"


def zip_root() -> Path:
    """Where zips are built: inside Gradio's cache, so Gradio serves the file itself instead of
    copying it there (blocks.py move_resource_to_block_cache copies anything outside it)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()) / ZIPS_DIR


VIDEO_SUFFIXES = (".webm", ".mp4", ".mkv")

STYLE = """<style>
#results-transcript .rl{margin:4px 0;padding:6px 10px;border-radius:10px;white-space:pre-wrap}
#results-transcript .rl.user{background:#e8f0fe}
#results-transcript .rl.model{background:#f1f3f4}
#results-transcript .who{font-weight:600;margin-right:6px}
#results-transcript .t{color:#5f6368;font-size:.85em;margin-right:6px}
#results-analysis .err{background:#fce8e6;color:#a50e0e;padding:8px;border-radius:8px}
#results-analysis .warn{background:#fef7e0;padding:6px;border-radius:8px}
#results-analysis pre{white-space:pre-wrap;max-height:300px;overflow:auto}
#results-analysis .spin{display:inline-block;width:14px;height:14px;border:2px solid #999;
 border-top-color:transparent;border-radius:50%;animation:glspin 1s linear infinite;margin-right:8px}
@keyframes glspin{to{transform:rotate(360deg)}}
</style>"""

EMPTY_HEADER = (
    '<div class="results-empty" data-state="empty">No session selected yet. Press '
    "<b>End session</b> after a conversation, or open one under <b>Past sessions</b>.</div>"
)


# --------------------------------------------------------------------------- rendering


def transcript_html(session: ArchivedSession) -> str:
    """The archived transcript: speaker and session time per line; all text escaped."""
    if not session.transcript:
        return '<div class="empty">This session has no transcript.</div>'
    out = []
    for ln in session.transcript:
        role = ln.role if ln.role in ("user", "model") else "other"
        who = {"user": "You", "model": "Gemini"}.get(ln.role, ln.role)
        meta = format_clock(ln.t_s)
        if ln.latency_ms is not None:
            meta += f" · {ln.latency_ms:.0f} ms"
        out.append(
            f'<div class="rl {role}" data-turn="{int(ln.turn)}"><span class="t">{escape_text(meta)}</span>'
            f'<span class="who">{escape_text(who)}</span>{escape_text(ln.text)}</div>'
        )
    return "".join(out)


def header_html(session: ArchivedSession) -> str:
    meta = session.meta
    bits = [
        f"Started {session.started or 'unknown'}",
        f"duration {format_clock(session.duration_s)}",
        f"{session.turns} turn{'s' if session.turns != 1 else ''}",
    ]
    if meta.get("backend") == "offline":
        bits.append("offline demo")
    if isinstance(meta.get("model"), str):
        bits.append(f"model {meta['model']}")
    if not session.closed:
        bits.append("not closed cleanly (the page or server stopped early)")
    return (
        f'{STYLE}<div class="results-head" data-session="{escape_text(session.session_id)}">'
        f"<h3>{escape_text(session.title)}</h3><div>{escape_text(' · '.join(bits))}</div></div>"
    )


def _list(title: str, items: list[str]) -> str:
    if not items:
        return ""
    lis = "".join(f"<li>{escape_text(x)}</li>" for x in items)
    return f"<h4>{escape_text(title)}</h4><ul>{lis}</ul>"


def analysis_html(data: dict[str, Any] | None, *, running: bool = False) -> str:
    """The analysis panel: running, none yet, failed (message + raw reply), or the result."""
    if running:
        return (
            f'{STYLE}<div class="analysis" data-state="running"><span class="spin"></span>'
            "Analysing the conversation… this can take a minute.</div>"
        )
    if not data:
        return (
            '<div class="analysis" data-state="none">No analysis yet for this session. '
            "Press <b>Analyse</b> to run it.</div>"
        )
    out = [f'{STYLE}<div class="analysis" data-state="{"done" if data.get("ok") else "error"}">']
    if not data.get("ok"):
        msg = data.get("error") or "The analysis failed."
        out.append(
            f'<div class="err">{escape_text(msg)} The rest of this page is unaffected; '
            "press <b>Analyse</b> to try again.</div>"
        )
        raw = data.get("raw_text")
        if isinstance(raw, str) and raw:
            out.append(
                f"<details open><summary>Raw reply from the model</summary>"
                f"<pre>{escape_text(raw)}</pre></details>"
            )
        out.append("</div>")
        return "".join(out)
    for w in data.get("warnings") or []:
        out.append(f'<div class="warn">{escape_text(w)}</div>')
    a = data.get("analysis") or {}
    out.append(f'<h4>Summary</h4><p class="summary">{escape_text(a.get("summary", ""))}</p>')
    out.append(_list("Key points", [str(x) for x in a.get("key_points") or []]))
    out.append(_list("Decisions", [str(x) for x in a.get("decisions") or []]))
    actions = []
    for it in a.get("action_items") or []:
        if not isinstance(it, dict):
            continue
        text = str(it.get("description", ""))
        extra = [
            f"owner: {it['owner']}" if it.get("owner") else "",
            f"due: {it['due']}" if it.get("due") else "",
        ]
        extra_s = ", ".join(x for x in extra if x)
        actions.append(text + (f" ({extra_s})" if extra_s else ""))
    out.append(_list("Action items", actions))
    out.append(_list("Open questions", [str(x) for x in a.get("open_questions") or []]))
    answers = [x for x in a.get("survey_answers") or [] if isinstance(x, dict)]
    if answers:
        out.append("<h4>Survey answers</h4><ol>")
        for ans in answers:
            conf = ans.get("confidence")
            conf_s = f" (confidence {float(conf):.0%})" if isinstance(conf, int | float) else ""
            ev = "".join(
                f"<li>[{escape_text(e.get('time', ''))}] “{escape_text(e.get('quote', ''))}”</li>"
                for e in ans.get("evidence") or []
                if isinstance(e, dict)
            )
            answer = ans.get("answer") or "(not answered)"
            out.append(
                f"<li><b>{escape_text(ans.get('question', ''))}</b><br>{escape_text(answer)}"
                f"{escape_text(conf_s)}{f'<ul>{ev}</ul>' if ev else ''}</li>"
            )
        out.append("</ol>")
    out.append("</div>")
    return "".join(out)


def diagrams_markdown(session: ArchivedSession) -> str:
    if not session.diagrams:
        return "*No diagrams in this session.*"
    from googlive.tools.diagram import Diagram

    t0 = session.meta.get("started_unix")
    base = float(t0) if isinstance(t0, int | float) else 0.0
    ds = [
        Diagram(id=d.id, source=d.source, title=d.title, time=base + (d.t or 0.0), version=i)
        for i, d in enumerate(sorted(session.diagrams, key=lambda d: (d.t or 0.0, d.id)), 1)
    ]
    return render_diagram_panel(ds)


def snapshot_gallery(session: ArchivedSession) -> list[tuple[str, str]]:
    out = []
    for s in session.snapshots:
        t = s.meta.get("t_s")
        reason = s.meta.get("reason") or s.meta.get("description") or ""
        caption = format_clock(t if isinstance(t, int | float) else None)
        if isinstance(reason, str) and reason:
            caption += " · " + " ".join(reason.split())[:120]
        out.append((str(s.path), caption))
    return out


@dataclass
class ResultsView:
    """The values of the Results panels for one session."""

    session_id: str
    path: Path
    header: str
    transcript: str
    analysis: str
    snapshots: list[tuple[str, str]] = field(default_factory=list)
    diagrams: str = ""
    recording: str | None = None
    recording_is_video: bool = False
    analysis_file: str | None = None
    has_analysis: bool = False

    def updates(self) -> tuple[Any, ...]:
        """In the order of `ResultsPlugin.panel_outputs`."""
        rec = self.recording
        return (
            gr.update(value=self.header),
            gr.update(value=self.transcript),
            gr.update(value=self.analysis),
            gr.update(value=self.snapshots or None, visible=bool(self.snapshots)),
            gr.update(value=self.diagrams),
            gr.update(
                value=rec if rec and self.recording_is_video else None,
                visible=bool(rec and self.recording_is_video),
            ),
            gr.update(
                value=rec if rec and not self.recording_is_video else None,
                visible=bool(rec and not self.recording_is_video),
            ),
            gr.update(value="" if rec else "*No recording for this session.*"),
            gr.update(value=self.analysis_file, visible=bool(self.analysis_file)),
            gr.update(value=None, visible=False),  # a zip prepared for another session
        )


def build_results(session_path: str | Path, *, analysing: bool = False) -> ResultsView:
    """Read an archived session (owner-checked path) into Results panel values."""
    s = load_session(session_path)
    rec = s.recording
    analysis_file = s.path / ANALYSIS_FILE
    return ResultsView(
        session_id=s.session_id,
        path=s.path,
        header=header_html(s),
        transcript=transcript_html(s),
        analysis=analysis_html(s.analysis, running=analysing),
        snapshots=snapshot_gallery(s),
        diagrams=diagrams_markdown(s),
        recording=str(rec) if rec is not None else None,
        recording_is_video=rec is not None and rec.suffix in VIDEO_SUFFIXES,
        analysis_file=str(analysis_file) if s.analysis is not None and not analysing else None,
        has_analysis=s.analysis is not None,
    )


# --------------------------------------------------------------------------- actions


async def end_connection(
    h: GeminiHandler, rtc: Any = None, webrtc_id: str | None = None
) -> Path | None:
    """End this browser's session: ask the browser to hang up, close the Live session and every
    feature (the archive is complete when this returns), then close the peer connection.

    Returns the session's archive folder, or None when the connection had no archive.
    """
    feature = h.feature("archive")
    path = getattr(getattr(feature, "archive", None), "path", None)
    if rtc is not None and webrtc_id:
        with contextlib.suppress(Exception):  # the data channel may be gone already
            await rtc.update_connection(webrtc_id, "closed")
    await h.shutdown()
    pcs = getattr(rtc, "pcs", None) if rtc is not None else None
    pc = pcs.get(webrtc_id) if isinstance(pcs, dict) and webrtc_id else None
    if pc is not None:
        with contextlib.suppress(Exception):
            await pc.close()
    log.info("session ended by the user archived=%s", path is not None)
    return path


def _load_for_analysis(path: Path) -> tuple[ArchivedSession, list[Snapshot]]:
    s = load_session(path)
    snaps = []
    for i, info in enumerate(s.snapshots):
        t = info.meta.get("t_s")
        desc = info.meta.get("description") or info.meta.get("reason") or ""
        jpeg = None
        if i < MAX_INLINE_SNAPSHOTS:
            with contextlib.suppress(OSError):
                jpeg = info.path.read_bytes()
        snaps.append(
            Snapshot(info.id, float(t) if isinstance(t, int | float) else None, str(desc), jpeg)
        )
    return s, snaps


async def analyse_session(
    session_path: str | Path, client: Any, model: str, **kw: Any
) -> dict[str, Any]:
    """Analyse an archived session and save analysis.json; returns what was saved.

    Never raises for service failures: a failed analysis is saved with its message and the raw
    reply, so the Results page can show both.
    """
    path = Path(session_path)
    started = time.monotonic()
    session, snaps = await asyncio.to_thread(_load_for_analysis, path)
    try:
        result = await analyse(client, model, session.transcript, session.survey, snaps, **kw)
        data = result.to_dict()
    except asyncio.CancelledError:
        raise
    except Exception as e:  # analyse() handles REST errors; anything else is reported too
        log.warning("analysis failed unexpectedly: %s", type(e).__name__)
        data = {
            "ok": False,
            "analysis": None,
            "raw_text": None,
            "error": f"The analysis failed unexpectedly ({type(e).__name__}).",
            "attempts": 0,
        }
    raw = data.get("raw_text")
    if isinstance(raw, str) and len(raw) > MAX_RAW_CHARS:
        data["raw_text"] = raw[:MAX_RAW_CHARS] + "\n… (cut)"
    data["model"] = model
    data["created"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    try:
        await asyncio.to_thread(write_analysis, path, data)
    except (ArchiveError, ValueError, OSError) as e:
        log.warning("analysis not saved: %s", type(e).__name__)
    log.info(
        "analysis session=%s ok=%s took %.1fs",
        path.name,
        data.get("ok"),
        time.monotonic() - started,
    )
    return data


async def _close_client(client: Any) -> None:
    aio = getattr(client, "aio", None)
    if aio is not None and hasattr(aio, "aclose"):
        with contextlib.suppress(Exception):
            await aio.aclose()


def past_label(s: Any) -> str:
    flags = [f"{s.turns} turn{'s' if s.turns != 1 else ''}", format_clock(s.duration_s)]
    if s.has_recording:
        flags.append("recording")
    if s.has_analysis:
        flags.append("analysed" if getattr(s, "analysis_ok", True) else "analysis failed")
    if not s.mine:
        flags.append("shared")
    started = s.started.replace("T", " ").replace("Z", " UTC")
    return f"{started} — {s.title} ({', '.join(flags)})"


# --------------------------------------------------------------------------- the page


class ResultsPlugin(UiPlugin):
    """End session button, Results tab and Past sessions tab."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.b: PageBuild | None = None
        self._zip_dir: Path | None = None
        ctx.services.setdefault("on_exit", []).append(self.cleanup)

    # ---- plain functions (tested without a browser) ----------------------------------------
    @property
    def data_dir(self) -> Path:
        return Path(self.ctx.settings.data_dir)

    @property
    def shared(self) -> bool:
        return bool(self.ctx.settings.share_archives)

    def resolve(self, session_id: str | None, owner: str | None) -> Path:
        """The session's folder if this owner may open it; else SessionNotFound."""
        if not owner or not session_id:
            raise SessionNotFound("no such session")
        return resolve_session(self.data_dir, owner, session_id, shared=self.shared)

    def list_past(self, owner: str | None) -> list[tuple[str, str]]:
        """(label, session id) of the sessions this browser may see, newest first."""
        if not owner:
            return []
        return [
            (past_label(s), s.id) for s in list_sessions(self.data_dir, owner, shared=self.shared)
        ]

    def open_past(self, session_id: str | None, owner: str | None) -> ResultsView:
        return build_results(self.resolve(session_id, owner))

    def download_zip(self, session_id: str | None, owner: str | None) -> Path:
        """The session as one zip, at most one per visitor on disk at a time.

        Built in this visitor's folder of Gradio's cache (served as it is, no copy), under a
        random name; the visitor's previous zip is deleted first, and every visitor's zip
        after `ZIP_KEEP_S` (and all of them at exit).
        """
        path = self.resolve(session_id, owner)
        assert owner is not None
        root = zip_root()
        self._zip_dir = root
        mine = root / owner_hash(owner)
        shutil.rmtree(mine, ignore_errors=True)
        self.sweep_zips(root)
        dest = mine / secrets.token_urlsafe(12)
        dest.mkdir(parents=True, exist_ok=True)
        return export_zip(path, dest)

    @staticmethod
    def sweep_zips(root: Path, now: float | None = None) -> None:
        now = time.time() if now is None else now
        if not root.is_dir():
            return
        for folder in root.iterdir():
            with contextlib.suppress(OSError):
                if now - folder.stat().st_mtime > ZIP_KEEP_S:
                    shutil.rmtree(folder, ignore_errors=True)

    def analysis_file(self, session_id: str | None, owner: str | None) -> Path | None:
        f = self.resolve(session_id, owner) / ANALYSIS_FILE
        return f if f.is_file() else None

    def client_for(self, cred: Any = None) -> Any:
        """A genai client: `cred` is (endpoint, key) of the session just ended (a key typed in
        the page may have moved it to Gemini), else the app's endpoint and key."""
        if isinstance(cred, tuple) and len(cred) == 2 and cred[0] is not None:
            endpoint, key = cred
            return endpoint.client(key or None)
        return self.ctx.endpoint.client(None)

    async def analyse(
        self, session_id: str | None, owner: str | None, cred: Any = None
    ) -> dict[str, Any]:
        path = self.resolve(session_id, owner)
        client = self.client_for(cred)
        try:
            return await analyse_session(path, client, self.ctx.settings.analysis_model)
        finally:
            await _close_client(client)

    def cleanup(self) -> None:
        if self._zip_dir is not None:
            shutil.rmtree(self._zip_dir, ignore_errors=True)

    # ---- layout ----------------------------------------------------------------------------
    def controls(self, b: PageBuild) -> None:
        self.end_btn = gr.Button("End session", elem_id="end-session", variant="stop")
        b.end_button = self.end_btn  # FastRTC's Stop is wired to the same act (googlive/callui.py)
        self.storage = gr.HTML(self.storage_html(), elem_id="storage-warning")

    def storage_html(self) -> str:
        """The storage banner: empty, 'almost full' or 'full' (googlive.quota)."""
        quota = self.ctx.services.get("quota")
        text = quota.warning() if quota is not None else ""
        if not text:
            return ""
        kind = "full" if quota.level() == "full" else "warn"
        return f'<div class="storage-{kind}" role="status" data-level="{kind}">{escape_text(text)}</div>'

    def tab(self, b: PageBuild) -> None:
        self.b = b
        with gr.Tab("Results", id="results", elem_id="results-tab"):
            # States live inside a Tab: a component placed directly in gr.Tabs makes gradio 5.50
            # draw every later tab button twice.
            self.current = gr.State(None)  # the session id shown in Results
            self.key = gr.State(
                None
            )  # (endpoint, key) of the session just ended (server side only)
            self.header = gr.HTML(EMPTY_HEADER, elem_id="results-header")
            with gr.Row():
                with gr.Column(scale=5):
                    gr.Markdown("### Analysis")
                    self.analysis = gr.HTML(analysis_html(None), elem_id="results-analysis")
                    with gr.Row():
                        self.analyse_btn = gr.Button(
                            "Analyse", elem_id="results-analyse", size="sm"
                        )
                        self.zip_btn = gr.Button(
                            "Download session (.zip)", elem_id="results-zip", size="sm"
                        )
                        self.analysis_dl = gr.DownloadButton(
                            "Download analysis (.json)",
                            visible=False,
                            elem_id="results-analysis-json",
                            size="sm",
                        )
                    self.zip_file = gr.File(
                        label="Session archive",
                        visible=False,
                        interactive=False,
                        elem_id="results-zip-file",
                    )
                    with gr.Accordion("Recording", open=True):
                        self.video = gr.Video(
                            visible=False,
                            interactive=False,
                            elem_id="results-video",
                            show_label=False,
                        )
                        self.audio = gr.Audio(
                            visible=False,
                            interactive=False,
                            elem_id="results-audio",
                            show_label=False,
                        )
                        self.no_rec = gr.Markdown("*No recording for this session.*")
                with gr.Column(scale=5):
                    gr.Markdown("### Transcript")
                    self.transcript = gr.HTML(
                        '<div class="empty">—</div>', elem_id="results-transcript"
                    )
            with gr.Accordion("Snapshots", open=True):
                self.gallery = gr.Gallery(
                    visible=False,
                    elem_id="results-snapshots",
                    columns=4,
                    height="auto",
                    interactive=False,
                    show_label=False,
                )
            with gr.Accordion("Diagrams", open=True):
                self.diagrams = gr.Markdown(
                    "*No diagrams in this session.*",
                    elem_id="results-diagrams",
                    latex_delimiters=[],
                )
        with gr.Tab("Past sessions", id="past", elem_id="past-tab") as self.past_tab:
            gr.Markdown(
                "Your past sessions (see who 'you' are at the top of the page). Pick one to see its results."
            )
            self.past = gr.Dropdown(
                choices=[],
                value=None,
                label="Past sessions",
                elem_id="past-sessions",
                interactive=True,
            )
            with gr.Row():
                self.refresh_btn = gr.Button("Refresh", elem_id="past-refresh", size="sm")
                self.open_btn = gr.Button(
                    "Open results", elem_id="past-open", size="sm", variant="primary"
                )

    def panel_outputs(self) -> list[Any]:
        return [
            self.header,
            self.transcript,
            self.analysis,
            self.gallery,
            self.diagrams,
            self.video,
            self.audio,
            self.no_rec,
            self.analysis_dl,
            self.zip_file,
        ]

    # ---- events ----------------------------------------------------------------------------
    def wire(self, b: PageBuild) -> None:
        from googlive.calls import registry as call_registry

        panels = self.panel_outputs()
        n_skip = 3 + len(panels)
        calls = call_registry(self.ctx.services)
        i_analysis = 3 + panels.index(self.analysis)
        i_download = 3 + panels.index(self.analysis_dl)

        async def on_end(webrtc_id: str | None, owner: str | None, warn: bool = True) -> Any:
            # End session and FastRTC's Stop are one act, whichever comes first: the first to
            # claim the call ends it (if still running), waits for its archive, opens Results
            # and then analyses it; the other does nothing.
            skip = (gr.skip(),) * n_skip
            rec, first = calls.claim(webrtc_id, owner)
            if rec is None:
                h = b.handler_for(webrtc_id, owner)
                if h is None:
                    if warn:  # (a Stop while still connecting has nothing to end yet)
                        gr.Warning("No conversation is running in this browser.")
                    yield skip
                    return
                rec, first = calls.started(webrtc_id or "", h), True
            if rec is None or not first:
                yield skip
                return
            if rec.handler is not None:
                await end_connection(rec.handler, b.rtc, webrtc_id)
            await rec.wait_closed()
            if rec.conv.status.kind == "failed" or rec.archive_path is None:
                # A call that never got going: the status says why and what to do.
                yield skip
                return
            view = await asyncio.to_thread(build_results, rec.archive_path, analysing=True)
            yield (gr.Tabs(selected="results"), view.session_id, rec.cred, *view.updates())
            analysis, download = await on_analyse(view.session_id, owner, rec.cred)
            out = list(skip)
            out[i_analysis], out[i_download] = analysis, download
            yield tuple(out)

        async def on_analyse(
            session_id: str | None, owner: str | None, key: Any
        ) -> tuple[Any, Any]:
            if not session_id:
                return gr.skip(), gr.skip()
            try:
                data = await self.analyse(session_id, owner, key)
            except SessionNotFound:
                return analysis_html(
                    {"ok": False, "error": "This session is not available."}
                ), gr.skip()
            f = self.analysis_file(session_id, owner) if data.get("ok") else None
            return (
                gr.update(value=analysis_html(data)),
                gr.update(value=str(f) if f else None, visible=f is not None),
            )

        def on_open(session_id: str | None, owner: str | None) -> tuple[Any, ...]:
            if not session_id:
                return (gr.skip(),) * n_skip
            try:
                view = self.open_past(session_id, owner)
            except SessionNotFound:
                gr.Warning("That session is not available.")
                return (gr.skip(),) * n_skip
            return (gr.Tabs(selected="results"), view.session_id, None, *view.updates())

        def on_refresh(owner: str | None) -> Any:
            choices = self.list_past(owner)
            return gr.update(choices=choices, value=None)

        def on_zip(session_id: str | None, owner: str | None) -> Any:
            if not session_id:
                gr.Warning("Open a session first.")
                return gr.skip()
            try:
                return gr.update(value=str(self.download_zip(session_id, owner)), visible=True)
            except SessionNotFound:
                gr.Warning("That session is not available.")
                return gr.skip()

        def mark_running(session_id: str | None) -> Any:
            return gr.update(value=analysis_html(None, running=True)) if session_id else gr.skip()

        outs = [b.tabs, self.current, self.key, *panels]

        async def on_stop(webrtc_id: str | None, owner: str | None) -> Any:
            async for out in on_end(webrtc_id, owner, warn=False):
                yield out

        self.end_btn.click(on_end, [b.rtc, b.owner], outs, show_progress="hidden")
        b.rtc.stop_recording(on_stop, [b.rtc, b.owner], outs, show_progress="hidden")
        self.analyse_btn.click(
            mark_running, [self.current], [self.analysis], show_progress="hidden"
        ).then(
            on_analyse,
            [self.current, b.owner, self.key],
            [self.analysis, self.analysis_dl],
            show_progress="full",
        )
        self.open_btn.click(on_open, [self.past, b.owner], outs)
        self.past.input(on_open, [self.past, b.owner], outs)
        self.refresh_btn.click(on_refresh, [b.owner], [self.past])
        self.past_tab.select(on_refresh, [b.owner], [self.past])
        self.zip_btn.click(on_zip, [self.current, b.owner], [self.zip_file])

        def on_storage() -> Any:
            return gr.update(value=self.storage_html())

        b.demo.load(on_storage, None, [self.storage], show_progress="hidden")
        gr.Timer(60.0).tick(on_storage, None, [self.storage], show_progress="hidden")
