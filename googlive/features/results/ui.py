"""End session, the Results view and Past sessions.

The functions at module level are plain (no Gradio event plumbing) so tests can call them:
`end_connection` ends one browser's session, `build_results` (googlive.features.results.view) turns an
archived session into the values of the Results panels, `analyse_session` runs and saves the
analysis, and `ResultsPlugin`'s `list_past` / `open_past` / `rename` / `delete` /
`download_zip` / `analysis_file` carry the owner check (a browser only ever reaches its own
sessions, unless the operator shares archives).

Everything from the model or the user (transcript, analysis, titles) is escaped before it
reaches an HTML component (googlive.features.results.render): the analysis text is untrusted.

Size: over 400 lines: the Results and Past sessions layout in one Gradio context; what it
renders is in render.py, view.py, past.py and wiring.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import secrets
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from googlive.features.results import page_js
from googlive.features.results.analysis import MAX_INLINE_SNAPSHOTS, Snapshot, analyse
from googlive.features.results.analysis_offline import offline_analysis
from googlive.features.results.archive import write_analysis
from googlive.features.results.archive_edit import Deleted, delete_session, rename_session
from googlive.features.results.archive_layout import (
    ANALYSIS_FILE,
    ArchiveError,
    SessionNotFound,
    owner_hash,
)
from googlive.features.results.archive_owner import list_sessions, resolve_session
from googlive.features.results.archive_read import load_session
from googlive.features.results.archive_records import ArchivedSession
from googlive.features.results.archive_zip import export_zip
from googlive.features.results.past import PastRow, past_row, plural
from googlive.features.results.render import EMPTY_HEADER, analysis_html, escape_text
from googlive.features.results.view import NO_RECORDING, ResultsView, build_results
from googlive.ui import PageBuild, UiPlugin

if TYPE_CHECKING:
    from googlive.handler import GeminiHandler
    from googlive.ui import AppContext

__all__ = [
    "ResultsPlugin",
    "ResultsView",
    "analyse_session",
    "analysis_html",
    "build_results",
    "end_connection",
    "escape_text",
]

log = logging.getLogger(__name__)


MAX_RAW_CHARS = 60_000  # raw model reply kept with a failed analysis (events refuse > 64 KiB)
ZIP_KEEP_S = 600.0  # a prepared zip is deleted after this long, or when its visitor makes another
ZIPS_DIR = "googlive-zips"


def zip_root() -> Path:
    """Where zips are built: inside Gradio's cache, so Gradio serves the file itself instead of
    copying it there (blocks.py move_resource_to_block_cache copies anything outside it)."""
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()) / ZIPS_DIR


# --------------------------------------------------------------------------- actions


async def end_connection(
    h: GeminiHandler, rtc: Any = None, webrtc_id: str | None = None
) -> Path | None:
    """End this browser's session: ask the browser to hang up, close the Live session and every
    feature (the archive is complete when this returns), then close the peer connection.

    Returns the session's archive folder, or None when the connection had no archive.
    """
    path = h.archive_path()
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
    session_path: str | Path, client: Any, model: str, *, offline: bool = False, **kw: Any
) -> dict[str, Any]:
    """Analyse an archived session and save analysis.json; returns what was saved.

    `offline` (the offline demo, no model to ask): the analysis is computed from the transcript
    and the recorded survey answers (googlive.features.results.analysis_offline), `client` is not used.
    Never raises for service failures: a failed analysis is saved with its message and the raw
    reply, so the Results page can show both.
    """
    path = Path(session_path)
    started = time.monotonic()
    session, snaps = await asyncio.to_thread(_load_for_analysis, path)
    try:
        if offline:
            model = "offline (computed from the transcript)"
            data = offline_analysis(
                session.transcript,
                session.survey,
                duration_s=session.duration_s,
                snapshots=len(session.snapshots),
                diagrams=len(session.diagrams),
                t0_unix=session.t0_unix,
            )
        else:
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


def _row_tuple(r: PastRow) -> tuple[str, str, str, str]:
    return (r.id, r.title, r.label, r.search)


def _rows(state: Any) -> list[PastRow]:
    out = []
    for item in state or []:
        if isinstance(item, list | tuple) and len(item) == 4:
            out.append(PastRow(*map(str, item)))
    return out


def _title_of(state: Any, session_id: str | None) -> str:
    return next((r.title for r in _rows(state) if r.id == session_id), "this session")


def and_list(items: list[str] | tuple[str, ...]) -> str:
    items = list(items)
    return (
        items[0]
        if len(items) == 1
        else ", ".join(items[:-1]) + " and " + items[-1]
        if items
        else ""
    )


def deleted_message(title: str, gone: Deleted) -> str:
    where = and_list(["this server", *gone.elsewhere])
    held = (
        f"its {and_list(gone.what)} ({plural(gone.files, 'file')})"
        if gone.what
        else plural(gone.files, "file")
    )
    verb = "is" if not gone.what and gone.files == 1 else "are"
    return f"Deleted “{title}”: {held} {verb} gone from {where}."


def status_html(text: str, kind: str = "ok") -> str:
    return f'<div class="past-msg past-{kind}">{escape_text(text)}</div>' if text else ""


PAST_CSS = """
#past-sessions .wrap { display: flex; flex-direction: column; gap: 4px; }
#past-sessions label { width: 100%; justify-content: flex-start; }
.past-msg { padding: 6px 10px; border-radius: 8px; background: #e6f4ea; color: #0d652d; }
.past-msg.past-warn { background: #fef7e0; color: #7a4a00; }
#past-delete-note { font-weight: 600; }
"""


def focus_js(selector: str) -> str:
    """JS that focuses the first visible element of `selector` (a comma list) once it appears
    (Gradio shows a group a moment after the server answers): tried for up to 3 s."""
    return (
        f"() => {{ const sels = {selector!r}.split(','); const t0 = performance.now();"
        " const go = () => { for (const s of sels) { const e = document.querySelector(s);"
        " if (e && e.offsetParent !== null) { e.focus(); return; } }"
        " if (performance.now() - t0 < 3000) setTimeout(go, 60); }; setTimeout(go, 30); return []; }"
    )


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

    def past_rows(self, owner: str | None, tz: str | None = None) -> list[PastRow]:
        """The sessions this browser may see, newest first, labelled in the browser's time zone."""
        if not owner:
            return []
        now = datetime.now(UTC)
        return [
            past_row(s, tz, now) for s in list_sessions(self.data_dir, owner, shared=self.shared)
        ]

    def list_past(self, owner: str | None, tz: str | None = None) -> list[tuple[str, str]]:
        """(label, session id) of the sessions this browser may see, newest first."""
        return [(r.label, r.id) for r in self.past_rows(owner, tz)]

    def open_past(
        self, session_id: str | None, owner: str | None, tz: str | None = None
    ) -> ResultsView:
        return build_results(self.resolve(session_id, owner), tz=tz)

    def rename(self, session_id: str | None, owner: str | None, title: str) -> str:
        """Give one of this owner's sessions a title ('' restores the automatic one)."""
        return rename_session(self.resolve(session_id, owner), title or "")

    def delete(self, session_id: str | None, owner: str | None) -> Deleted:
        """Delete one of this owner's sessions with all its files."""
        return delete_session(self.resolve(session_id, owner))

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

    def is_offline(self, cred: Any = None) -> bool:
        """True when the session ran (or the app runs) on the offline demo: no model to ask."""
        if isinstance(cred, tuple) and len(cred) == 2 and cred[0] is not None:
            return bool(getattr(cred[0], "offline", False))
        return bool(getattr(self.ctx.endpoint, "offline", False))

    async def analyse(
        self, session_id: str | None, owner: str | None, cred: Any = None
    ) -> dict[str, Any]:
        path = self.resolve(session_id, owner)
        if self.is_offline(cred):
            return await analyse_session(path, None, "", offline=True)
        # google-genai is imported off the event loop (a no-op once a call or the start-up
        # warm-up has imported it: googlive/live/preload.py).
        await asyncio.to_thread(importlib.import_module, "google.genai")
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
        b.end_button = self.end_btn  # FastRTC's Stop is wired to the same act (googlive/call/ui.py)
        self.storage = gr.HTML(self.storage_html(), elem_id="storage-warning")

    def storage_html(self) -> str:
        """The storage banner: empty, 'almost full' or 'full' (googlive.public.quota)."""
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
            self.dia_sources = gr.State([])  # (label, Mermaid source) per diagram shown
            self.tz = gr.Textbox("", visible=False, elem_id="browser-tz")  # the browser's time zone
            gr.HTML(f"<style>{page_js.CSS}{PAST_CSS}</style>", padding=False)
            self.header = gr.HTML(EMPTY_HEADER, elem_id="results-header")
            with gr.Row():
                with gr.Column(scale=5):
                    self.survey = gr.HTML("", visible=False, elem_id="results-survey")
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
                            label="Recording",
                            show_label=False,
                            show_download_button=True,
                        )
                        self.audio = gr.Audio(
                            visible=False,
                            interactive=False,
                            elem_id="results-audio",
                            label="Recording",
                            show_label=False,
                        )
                        # Never shown: its served URL becomes the player's poster (page_js).
                        self.poster = gr.Image(
                            visible=False,
                            interactive=False,
                            elem_id="results-poster",
                            show_label=False,
                            label="Poster frame",
                        )
                        self.no_rec = gr.Markdown(NO_RECORDING)
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
                    object_fit="contain",
                    allow_preview=True,
                    show_download_button=True,
                    show_fullscreen_button=True,
                    interactive=False,
                    show_label=False,
                    label="Snapshots",
                )
                self.no_snaps = gr.Markdown("*No snapshots in this session.*")
            with gr.Accordion("Diagrams", open=True):
                self.diagrams = gr.Markdown(
                    "*No diagrams in this session.*",
                    elem_id="results-diagrams",
                    latex_delimiters=[],
                )
                self.dia_pick = gr.Radio(
                    choices=[],
                    value=None,
                    label="Show the source of",
                    visible=False,
                    elem_id="results-diagram-pick",
                )
                self.dia_code = gr.Code(
                    "",
                    language=None,
                    label="Diagram source (Mermaid)",
                    interactive=False,
                    visible=False,
                    elem_id="results-diagram-source",
                    lines=4,
                )
        with gr.Tab("Past sessions", id="past", elem_id="past-tab") as self.past_tab:
            self.rows = gr.State([])  # (id, title, label, search) per session, newest first
            gr.Markdown(
                "Your past sessions (see who 'you' are at the top of the page), newest first. "
                "Select one, then open, rename or delete it."
            )
            self.search = gr.Textbox(
                label="Search sessions",
                placeholder="Words from a title or a time, e.g. today",
                visible=False,
                elem_id="past-search",
            )
            self.past = gr.Radio(
                choices=[], value=None, label="Past sessions", elem_id="past-sessions"
            )
            self.past_empty = gr.Markdown(
                "No sessions yet: they appear here when a conversation ends.",
                visible=False,
                elem_id="past-empty",
            )
            with gr.Row():
                self.open_btn = gr.Button(
                    "Open results", elem_id="past-open", size="sm", variant="primary"
                )
                self.rename_btn = gr.Button("Rename…", elem_id="past-rename", size="sm")
                self.delete_btn = gr.Button(
                    "Delete…", elem_id="past-delete", size="sm", variant="stop"
                )
                self.refresh_btn = gr.Button("Refresh", elem_id="past-refresh", size="sm")
            with gr.Group(visible=False) as self.rename_box:
                self.rename_text = gr.Textbox(
                    label="New title (leave empty for the automatic one)",
                    max_length=120,
                    elem_id="past-rename-text",
                )
                with gr.Row():
                    self.rename_save = gr.Button(
                        "Save title", elem_id="past-rename-save", size="sm", variant="primary"
                    )
                    self.rename_cancel = gr.Button(
                        "Cancel", elem_id="past-rename-cancel", size="sm"
                    )
            with gr.Group(visible=False) as self.delete_box:
                self.delete_note = gr.HTML("", elem_id="past-delete-note")
                with gr.Row():
                    self.delete_yes = gr.Button(
                        "Delete for good", elem_id="past-delete-yes", size="sm", variant="stop"
                    )
                    self.delete_no = gr.Button("Keep it", elem_id="past-delete-no", size="sm")
            self.past_status = gr.HTML("", elem_id="past-status")

    def panel_outputs(self) -> list[Any]:
        return [
            self.header,
            self.transcript,
            self.analysis,
            self.survey,
            self.gallery,
            self.no_snaps,
            self.diagrams,
            self.dia_pick,
            self.dia_code,
            self.dia_sources,
            self.video,
            self.audio,
            self.poster,
            self.no_rec,
            self.analysis_dl,
            self.zip_file,
        ]

    def empty_updates(self) -> tuple[Any, ...]:
        """The Results panels with no session in them (after that session was deleted)."""
        return (
            EMPTY_HEADER,
            '<div class="empty">—</div>',
            analysis_html(None),
            gr.update(value="", visible=False),
            gr.update(value=None, visible=False),
            "*No snapshots in this session.*",
            "*No diagrams in this session.*",
            gr.update(choices=[], value=None, visible=False),
            gr.update(value="", visible=False),
            [],
            gr.update(value=None, visible=False),
            gr.update(value=None, visible=False),
            None,
            NO_RECORDING,
            gr.update(value=None, visible=False),
            gr.update(value=None, visible=False),
        )

    # ---- events ----------------------------------------------------------------------------
    def wire(self, b: PageBuild) -> None:
        from googlive.features.results.wiring import wire_past, wire_results

        b.demo.load(None, None, [self.tz], js=page_js.TIME_ZONE)
        b.demo.load(None, None, None, js=page_js.INSTALL)
        wire_results(self, b)
        wire_past(self, b)

        def on_storage() -> Any:
            return gr.update(value=self.storage_html())

        b.demo.load(on_storage, None, [self.storage], show_progress="hidden")
        gr.Timer(60.0).tick(on_storage, None, [self.storage], show_progress="hidden")
