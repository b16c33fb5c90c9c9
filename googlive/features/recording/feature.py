"""Feature "recording": every session recorded into one WebM file, with WebVTT captions.

Per browser connection, while `settings.record` is on (the app's `--no-record` turns it off)
and the visitor left "Save a recording" ticked:

- Where: `recording.webm` and `captions.vtt` in the session's archive folder
  (the `archive` it is given: `ArchiveFeature.archive.recording_path`); without one, in
  `<data_dir>/recordings/<owner hash>/<UTC timestamp>-<6 hex>.webm` (+ `.vtt`).
- What: the user's microphone (`on_user_audio`, times from sample counts) and the model's
  voice as actually heard (`on_played`, see "Model audio" below) mixed into one Opus track,
  plus the webcam (`on_video`, times from frame arrival) as VP8, by `SessionRecorder`.
- Video or not: the WebM header fixes the tracks before the first byte, so the choice is made
  once, early. The recorder starts at the first camera frame (video on), or, if no frame has
  arrived `VIDEO_DECIDE_S` seconds into the session, audio-only. Audio arriving before the
  decision is held (bounded) and handed over with its own times, so nothing is lost. A camera
  that first appears later than that is not recorded (counted in `late_camera_frames`).
- Model audio: the handler hands frames to WebRTC up to 100 ms before they are heard (`t` is
  when they will be heard), and a barge-in takes back what is still queued (not yet heard).
  Frames are therefore held in `pending` and committed to the recorder once their play time
  has passed. `on_playback` (googlive.media.bargein.PlaybackChange) says exactly what was taken
  back: on "paused" and "dropped" the last `withdrawn_frames` pending frames are discarded and
  the rest (already taken by the WebRTC track) committed. A paused answer that resumes is
  handed again frame by frame, backup included, so the recording holds what the user heard:
  the cut, the silence of the pause, the repeated stretch, the rest.
- Captions: `captions.vtt` from the transcript (`h.conv.lines`, session times, the recording's
  timeline), rewritten every `CAPTIONS_EVERY_S` seconds (atomically) and at close, so a killed
  process keeps all but the last few seconds of captions.
- Page: a red "● REC" (`elem_id="recording-indicator"`) in the controls while recording; the
  finished file is shown by the Results view (it reads `archive.recording_path`).
- Close (`close()`, from the handler's shutdown): commits what was heard, finishes the file
  in a worker thread, writes the final captions. `path` and `stats` stay readable.

Nothing on the audio path blocks: hooks copy/append and the recorder's `add_*` only enqueue.
The feature never logs transcript text or audio.

Size: over 400 lines: the recording feature and its page part (indicator, checkbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import tempfile
import threading
import weakref
from collections import OrderedDict, deque
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from googlive.features.api import Feature
from googlive.features.recording.captions import CaptionLine, webvtt
from googlive.features.recording.recorder import RecordingStats, SessionRecorder
from googlive.features.results.archive_layout import owner_hash

if TYPE_CHECKING:
    from googlive.features.context import CallContext, Links
    from googlive.features.results.feature import ArchiveFeature
    from googlive.public.quota import QuotaKeeper
    from googlive.ui import AppContext, PageBuild

log = logging.getLogger(__name__)

NAME = "recording"
VIDEO_DECIDE_S = 2.0  # no camera frame by then: record audio only
CAPTIONS_EVERY_S = 10.0
FPS = 15
SIZE = (640, 480)
MAX_EARLY_ITEMS = 600  # audio chunks held before the video decision (2 s needs ~200)
MAX_PENDING = 64  # model frames awaiting their play time (the handler leads by 5)
PREFS_SERVICE = "recording_prefs"
LIVE_SERVICE = "recording_live"
MAX_PREFS = 10_000
REC_HTML = (
    '<span class="rec-on" title="This session is being recorded" '
    'style="color:#d93025;font-weight:700;letter-spacing:0.05em">● REC</span>'
)
SAVED_HTML = '<span class="rec-saved" style="color:#5f6368">Recording saved.</span>'
FAILED_HTML = '<span class="rec-failed" style="color:#a50e0e">Recording failed.</span>'
QUOTA_HTML = (
    '<span class="rec-refused" style="color:#a50e0e">Not recording: this server\'s storage is full '
    "(the conversation itself works).</span>"
)


class RecordingPrefs:
    """Per-visitor "Save a recording" choices, by owner id (bounded, least recent out)."""

    def __init__(self, limit: int = MAX_PREFS) -> None:
        self._limit = limit
        self._d: OrderedDict[str, bool] = OrderedDict()
        self._lock = threading.Lock()

    def set(self, owner: str, on: bool) -> None:
        if not owner:
            return
        with self._lock:
            self._d[owner] = bool(on)
            self._d.move_to_end(owner)
            while len(self._d) > self._limit:
                self._d.popitem(last=False)

    def get(self, owner: str, default: bool = True) -> bool:
        with self._lock:
            return self._d.get(owner, default)


class RecordingFeature(Feature):
    """Record one connection's session (see the module docstring)."""

    name = NAME

    def __init__(
        self,
        call: CallContext,
        *,
        archive: ArchiveFeature | None = None,
        prefs: RecordingPrefs | None = None,
        quota: QuotaKeeper | None = None,
        live: weakref.WeakSet[RecordingFeature] | None = None,
        decide_s: float = VIDEO_DECIDE_S,
        captions_every_s: float = CAPTIONS_EVERY_S,
        fps: int = FPS,
        size: tuple[int, int] = SIZE,
    ) -> None:
        super().__init__(call)
        self.archive = archive  # the session's folder, when there is one
        self.prefs = prefs  # the visitors' "Save a recording" choices
        self.quota = quota  # the data-dir quota (googlive/public/quota.py)
        self.live = live  # the app's open recordings, closed at process exit
        self.decide_s = decide_s
        # Counted from this feature's start, not the session's t0: a slow start-up (the page's
        # settings, the Live setup) must not use up the camera's window before any frame is seen.
        self._decide_at = call.time() + decide_s
        self.captions_every_s = captions_every_s
        self.fps = fps
        self.size = size
        self.enabled = False
        self.path: Path | None = None
        self.captions_path: Path | None = None
        self.rec: SessionRecorder | None = None
        self.video: bool | None = None  # decided once: True, False, or None (not yet)
        self.early: deque[tuple[str, np.ndarray, int, float]] = deque()
        self.early_dropped = 0
        self.pending: deque[tuple[float, int | None, np.ndarray]] = deque()
        self.pending_dropped = 0
        self.cut_frames = 0  # model frames taken back from the output queue before being heard
        self.late_camera_frames = 0
        self.captions_written = 0
        self._final: RecordingStats | None = None
        self._closed = False
        self._close_lock = asyncio.Lock()

    # ---- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        call = self.call
        visitor_on = self.prefs.get(call.info.owner) if self.prefs is not None else True
        if not (bool(getattr(call.settings, "record", True)) and visitor_on):
            return
        if self.quota is not None and not self.quota.recording_allowed():
            call.set_panel(NAME, QUOTA_HTML)
            log.info("recording refused: the data-dir quota is reached")
            return
        path = await asyncio.to_thread(self._choose_path)  # its mkdir: off the event loop
        if self._closed:  # the call ended meanwhile
            return
        # On from here: the hooks (which start the recorder) need the path.
        self.path, self.enabled = path, True
        self.captions_path = (
            self.path.with_name("captions.vtt")
            if self.path.name == "recording.webm"
            else self.path.with_suffix(".vtt")
        )
        if self.live is not None:
            self.live.add(self)
        call.set_panel(NAME, REC_HTML)
        if self.captions_every_s > 0:
            call.spawn(self._captions_loop(), "recording-captions")
        log.info(
            "recording on (%s)", "archive folder" if self._archive_path() else "recordings folder"
        )

    def _archive_path(self) -> Path | None:
        arch = self.archive.archive if self.archive is not None else None
        return Path(arch.recording_path) if arch is not None else None

    def _choose_path(self) -> Path:
        p = self._archive_path()
        if p is None:
            folder = (
                self.call.info.data_dir
                / "recordings"
                / owner_hash(self.call.info.owner or "anonymous")
            )
            stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
            p = folder / f"{stamp}.webm"
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def _open(self, video: bool) -> None:
        """Create and start the recorder (once), then hand over the audio held so far."""
        assert self.path is not None
        self.video = video
        self.rec = SessionRecorder(self.path, video=video, fps=self.fps, size=self.size)
        self.rec.start()
        while self.early:
            voice, pcm, rate, t = self.early.popleft()
            if voice == "user":
                self.rec.add_user_audio(pcm, rate, t)
            else:
                self.rec.add_model_audio(pcm, rate, t)

    def _decide_if_due(self, now: float) -> None:
        if self.video is None and now >= self._decide_at:
            self._open(video=False)

    # ---- hooks (audio path: cheap, never block) ---------------------------------------------
    def on_user_audio(self, mono: np.ndarray, rate: int, t: float) -> None:
        if not self.enabled or self._closed:
            return
        now = self.call.time()
        self._decide_if_due(now)
        self._commit_played(now)
        if self.rec is not None:
            self.rec.add_user_audio(mono, rate, t)
        else:
            self._hold("user", mono, rate, t)

    @property
    def wants_video_frames(self) -> bool:  # type: ignore[override]
        """Every frame while the camera is (or may still be) recorded."""
        return self.enabled and not self._closed and self.video is not False

    def on_video(self, frame: np.ndarray, t: float) -> None:
        if not self.enabled or self._closed:
            return
        if self.video is None:
            if t >= self._decide_at:
                self._decide_if_due(t)
            else:
                self._open(video=True)
        if self.rec is None or not self.video:
            self.late_camera_frames += 1
            return
        self.rec.add_video(frame, t)

    def on_played(self, frame: np.ndarray, t: float) -> None:
        if not self.enabled or self._closed:
            return
        if len(self.pending) >= MAX_PENDING:
            self.pending_dropped += 1
            return
        # The frame object is the handler's own (popped from the playback buffer), not reused.
        self.pending.append((t, self.call.popped_turn, frame))
        self._commit_played(self.call.time())

    def on_playback(self, change: Any) -> None:
        if not self.enabled or change.kind not in ("paused", "dropped"):
            return
        n = min(int(change.withdrawn_frames), len(self.pending))
        for _ in range(n):  # the most recent frames: still queued, never heard
            self.pending.pop()
        self.cut_frames += n
        self._commit_played(float("inf"))  # the rest left the queue: heard

    def _commit_played(self, now: float) -> None:
        """Hand the recorder every pending model frame whose play time has come."""
        while self.pending and self.pending[0][0] <= now:
            t, _, frame = self.pending.popleft()
            if self.rec is not None:
                self.rec.add_model_audio(frame, 24000, t)
            else:
                self._hold("model", frame, 24000, t)

    def _hold(self, voice: str, pcm: np.ndarray, rate: int, t: float) -> None:
        if len(self.early) >= MAX_EARLY_ITEMS:
            self.early_dropped += 1
            return
        self.early.append((voice, np.array(pcm, copy=True), rate, t))

    # ---- captions -------------------------------------------------------------------------
    def _caption_lines(self) -> list[CaptionLine]:
        return [CaptionLine(ln.role.value, ln.text, ln.start_s, ln.end_s) for ln in self.call.lines]

    async def _captions_loop(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.captions_every_s)
            if not self._closed:
                await self.write_captions()

    async def write_captions(self) -> None:
        """Write captions.vtt from the transcript so far (atomically, in a worker thread)."""
        if self.captions_path is None:
            return
        lines = self._caption_lines()  # a snapshot taken on the event loop
        try:
            await asyncio.to_thread(_write_atomic, self.captions_path, lines)
            self.captions_written += 1
        except OSError as e:
            log.warning("recording: captions not written: %s", type(e).__name__)

    # ---- close ----------------------------------------------------------------------------
    async def close(self) -> None:
        async with self._close_lock:
            if self._closed:
                return
            self._closed = True
            if not self.enabled:
                return
            now = self.call.time()
            if self.rec is None and (self.early or self.pending):
                self._open(video=False)
            self._commit_played(now)  # heard before the end; the rest never was
            self.cut_frames += len(self.pending)
            self.pending.clear()
            if self.rec is not None:
                self._final = await asyncio.to_thread(self.rec.close)
            await self.write_captions()
            ok = self._final is not None and self._final.error is None
            self.call.set_panel(NAME, SAVED_HTML if ok else FAILED_HTML if self.rec else "")
            log.info(
                "recording closed video=%s duration_s=%.1f cut_frames=%d early_dropped=%d late_camera=%d",
                self.video,
                self._final.duration_s if self._final else 0.0,
                self.cut_frames,
                self.early_dropped,
                self.late_camera_frames,
            )

    def close_now(self) -> None:
        """At process exit (no event loop): finish the file if the session is still open."""
        if self.rec is not None and not self._closed:
            self._closed = True
            self._final = self.rec.close(5.0)
            if self.captions_path is not None:
                with contextlib.suppress(OSError):
                    _write_atomic(self.captions_path, self._caption_lines())

    @property
    def stats(self) -> RecordingStats | None:
        """The recorder's counters (final after close), or None if nothing was recorded."""
        if self._final is not None:
            return self._final
        return self.rec.stats if self.rec is not None else None


def _write_atomic(path: Path, lines: list[CaptionLine]) -> None:
    text = webvtt(lines)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".captions-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _close_all(live: weakref.WeakSet[RecordingFeature]) -> None:
    for f in list(live):
        try:
            f.close_now()
        except Exception as exc:
            # Type only: exception text can carry a user's words.
            log.error("recording: close at exit failed (%s)", type(exc).__name__)


# ---- page ---------------------------------------------------------------------------------
def _plugin_cls() -> type:
    from googlive.ui import UiPlugin

    class RecordingPlugin(UiPlugin):
        """The "● REC" indicator and the per-visitor "Save a recording" checkbox."""

        def __init__(self, prefs: RecordingPrefs, server_on: bool) -> None:
            self.prefs = prefs
            self.server_on = server_on
            self.checkbox: Any = None

        def controls(self, b: PageBuild) -> None:
            import gradio as gr

            with gr.Row():
                self.checkbox = gr.Checkbox(
                    value=self.server_on,
                    interactive=self.server_on,
                    elem_id="record-session",
                    label="Save a recording"
                    if self.server_on
                    else "Recording is off on this server",
                    info="Applies when you start talking. Recordings are kept in the session's folder.",
                    scale=4,
                )
                b.add_panel(NAME, gr.HTML("", elem_id="recording-indicator"))

        def wire(self, b: PageBuild) -> None:
            if self.checkbox is None:
                return
            prefs = self.prefs

            def set_pref(owner: str | None, on: bool) -> None:
                if owner:
                    prefs.set(owner, bool(on))

            self.checkbox.change(set_pref, [b.owner, self.checkbox], None, show_progress="hidden")

    return RecordingPlugin


def install(ctx: AppContext) -> None:
    """Register the recording feature, its page controls and its exit hook."""
    prefs = ctx.services.setdefault(PREFS_SERVICE, RecordingPrefs())
    live: weakref.WeakSet[RecordingFeature] = ctx.services.setdefault(
        LIVE_SERVICE, weakref.WeakSet()
    )
    ctx.services.setdefault("on_exit", []).append(lambda: _close_all(live))
    quota = ctx.services.get("quota")  # googlive/features/results installs it first

    def factory(call: CallContext, links: Links) -> RecordingFeature:
        return RecordingFeature(call, archive=links.archive, prefs=prefs, quota=quota, live=live)

    ctx.features.append(factory)
    ctx.plugins.append(_plugin_cls()(prefs, bool(ctx.settings.record)))
