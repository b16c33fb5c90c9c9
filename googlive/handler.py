"""The FastRTC handler: glue between one browser's WebRTC streams and one LiveSession.

Per connection (fastrtc calls `copy()` once for each):
- mic: 48 kHz 20 ms frames → VAD on the frame itself (one decision per frame) → barge-in
  policy → streaming resample to 16 kHz → uplink chunks of `uplink_chunk_ms` → LiveSession.
- model audio: LiveSession events → PlaybackBuffer → `emit()` at real-time pace with a small
  lead, so a barge-in can take back everything not yet heard, and "what was played" is exact.
- barge-in: one policy (googlive/media/bargein.py) for the local VAD onset and the server's
  `interrupted`: pause at the onset (nothing more handed to WebRTC, FastRTC's queue cleared,
  the unheard frames put back), then resume (a backchannel: the answer goes on from the start
  of the cut word) or drop (a real interruption). Every change goes to the features
  (`on_playback`) and to the page over the WebRTC data channel (`playback_message`), where
  googlive/web/duck.js mutes the model at the mic onset before the server even knows.
- webcam: only the frames something uses are converted from the decoded picture
  (`video_wanted`, asked by googlive/media/rtcvideo.py before conversion: a few a second, or every
  frame while a feature records them); the latest is kept; at most one JPEG per
  `video_interval_s` goes to the model, encoded in a worker thread. The self-view is the
  page's own camera (googlive/web/selfview.js): the server sends no video back.
- everything the page shows goes out as AdditionalOutputs carrying a `UiUpdate`.

Size: over 400 lines: FastRTC's handler contract (receive, emit, video_receive, video_emit,
start_up, shutdown, copy) is one class; the pure logic it drives is in media/, live/, call/ and
features/.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from fastrtc import AdditionalOutputs, AsyncAudioVideoStreamHandler

from googlive.call import keyflow, toolcards
from googlive.call.control import ENDED_MESSAGE, CallMixin, key_note_html, media_instruction
from googlive.call.registry import CallRegistry
from googlive.call.registry import registry as call_registry
from googlive.config import Secret, Settings
from googlive.conversation import Conversation
from googlive.features.api import Feature, FeatureFactory, Hooks
from googlive.features.context import CallContext, CallInfo, Links
from googlive.features.tools.registry import ToolRegistry
from googlive.live.backend import Endpoint
from googlive.live.events import (
    AudioOut,
    Interrupted,
    Role,
    SessionError,
    SessionState,
    StateChanged,
    ToolCall,
    ToolCallCancelled,
    TranscriptDelta,
    TurnComplete,
)
from googlive.live.preload import LIVE_MODULE
from googlive.media.audio import Resampler, as_mono, pcm16_bytes
from googlive.media.bargein import (
    Action,
    BargeInPolicy,
    Drop,
    Pause,
    PlaybackChange,
    Resume,
    playback_message,
    resume_backup,
)
from googlive.media.echo import EchoGuard, sub_block_ms
from googlive.media.frames import MODEL_CAMERA_FPS, VIDEO_RATE_MESSAGE, encode_jpeg
from googlive.media.playback import PlaybackBuffer
from googlive.media.vad import SpeechStart, Vad
from googlive.public.limits import time_limit_message
from googlive.tasks import reap

if TYPE_CHECKING:
    # googlive.live.session imports google.genai: start_up imports it off the event loop
    # (googlive/live/preload.py says why), so building the page does not.
    from googlive.live.session import LiveSession

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Feature)

OUT_RATE = 24000
PTIME = 0.02
LEAD_S = 0.1  # model audio handed to WebRTC ahead of real time
UI_INTERVAL_S = 0.1
JITTER_CUSHION_MS = 60
PREVIEW_MAX_WIDTH = 320
VIDEO_KEEP_EVERY_S = 0.25
"""At most one camera frame per this many seconds is converted and kept (`video_wanted`) when
no feature wants every frame: the model gets one per `video_interval_s`, take_picture the
latest, so a kept frame is never more than this much older than the camera."""
ARGS_WAIT_S = 45.0
NO_ARGS_MESSAGE = (
    "The page's settings did not reach the server in time (it is very busy), so the call did "
    "not start. Press Start conversation to try again."
)
_BLACK_PREVIEW = np.zeros((240, 320, 3), dtype=np.uint8)
KEEPALIVE_FRAME = np.zeros(int(OUT_RATE * PTIME), dtype=np.int16)
"""Handed to WebRTC whenever no model audio is (see GeminiHandler.keep_rtp_clock)."""


@dataclass(frozen=True)
class SessionArgs:
    """What the page passes to a new connection (read from fastrtc's latest_args)."""

    owner: str = ""
    api_key: Secret = Secret(None)
    voice: str = ""
    model: str = ""
    instruction: str = ""
    survey_id: str = ""

    @classmethod
    def parse(cls, latest_args: list[Any], n_inputs: int) -> SessionArgs:
        # ["__webrtc_value__", (webrtc_id,) *inputs]; unpack from the end.
        vals = list(latest_args)[-n_inputs:] if n_inputs else []
        vals += [""] * (6 - len(vals))
        owner, key, voice, model, instruction, survey_id = (
            v if isinstance(v, str) else "" for v in vals[:6]
        )
        return cls(owner, Secret(key), voice, model, instruction, survey_id)


@dataclass
class UiUpdate:
    """A snapshot of the conversation for the page; `seq` orders updates."""

    seq: int
    conversation: Conversation


class GeminiHandler(CallMixin, AsyncAudioVideoStreamHandler):
    """One browser connection's conversation with Gemini."""

    N_INPUTS = 6
    keep_rtp_clock = True
    """Hand WebRTC a silent frame every 20 ms while no model audio plays (idle, paused).
    fastrtc 0.0.34 stamps each frame it sends with a running sample count
    (utils.player_worker_decode: pts = samples sent so far) and sends nothing while emit()
    has nothing, so after a silent stretch the RTP timestamps say "20 ms later" while the
    packets arrive seconds later. Chromium's jitter buffer reads that as network jitter and
    holds the next reply that much longer: measured in Chromium 156 on loopback, 0.8-1 s of
    jitter-buffer delay during every reply after the first (getStats jitterBufferDelay per
    emitted sample), against 60-130 ms with the keepalive. Its cost: one Opus frame of
    silence per 20 ms, what a browser itself sends without DTX. It starts with the first
    model audio: the jitter buffer starts fresh with the first packet, so the call's start
    (when the server is busiest) never teaches it a long delay."""
    keepalive_frame = KEEPALIVE_FRAME
    selfview_from_page = True
    """The page shows the user's camera itself (googlive/web/selfview.js), so no video is sent
    back (googlive/media/rtcvideo.py): no self-view frame is built or VP8-encoded on the server."""

    def __init__(
        self,
        settings: Settings,
        endpoint: Endpoint,
        *,
        features: Sequence[FeatureFactory] = (),
        services: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            expected_layout="mono", output_sample_rate=OUT_RATE, input_sample_rate=48000
        )
        self.settings = settings
        self.endpoint = endpoint
        self.feature_factories = tuple(features)
        self.services = services if services is not None else {}
        self.features: list[Feature] = []
        self.hooks = Hooks(self.features, self._feature_failed)
        self.links = Links()  # the features others are given (the archive), googlive/assemble.py
        self.call: CallContext | None = None  # what the features see of this call (start_up)
        self.registry = ToolRegistry()
        self.conv = Conversation(offline=endpoint.offline)
        self.session: LiveSession | None = None
        self.live_endpoint = endpoint
        self.args = SessionArgs()
        self.t0 = time.monotonic()
        # audio in
        self.resampler = Resampler(16000)
        self.vad = Vad()
        self.echo = EchoGuard()
        self.echo_guard = True  # predict the model's own voice at the mic (googlive/media/echo.py)
        self._uplink = bytearray()
        self._uplink_bytes = int(settings.uplink_chunk_ms * 32)  # 16 kHz * 2 bytes per ms
        self.mic_seconds = 0.0
        self.mic_t0: float | None = None
        self.dropped_before_session = 0
        self.bad_mic_frames = 0
        # audio out
        # A 60 ms jitter cushion at the start of each reply (and after a stall): bursty arrival
        # with short gaps plays without holes, for 60 ms more delay before the first word.
        self.playback = PlaybackBuffer(rate=OUT_RATE, frame_ms=20, prebuffer_ms=JITTER_CUSHION_MS)
        self._play_clock = 0.0
        self._wake = asyncio.Event()
        # barge-in
        self.policy = BargeInPolicy()
        self._handed: deque[tuple[float, int | None, int]] = deque(
            maxlen=16
        )  # (play_at, turn, real samples); turn None: a keepalive frame
        self._withdrawn_frames = 0
        self._rtp_started = False  # the first model frame went out (keepalives from then on)
        self._audio_turns: deque[int] = deque(maxlen=32)  # turns that brought audio, in order
        self._completed: deque[int] = deque(maxlen=32)  # turns whose TurnComplete came
        self._last_mic_wall = 0.0
        self.play_state = "idle"  # what the page is told: idle | playing | paused | dropped
        self._play_state_seq = 0
        self.barge_ins = 0
        """Local onsets over model audio (each paused, or with the cut-turn policy dropped, it)."""
        self.barge_in_log: list[dict[str, Any]] = []
        self.playback_log: deque[PlaybackChange] = deque(maxlen=200)
        # video in
        self.latest_frame: np.ndarray | None = None
        self.latest_frame_t = 0.0
        self._sent_frame_t = 0.0
        self.video_frames_in = 0
        self.video_skipped = 0  # frames dropped unconverted: nothing needed them
        self._video_rate_sent: int | None = None  # None: the page's default, no cap
        self._preview_src: np.ndarray | None = None
        self._preview: np.ndarray = _BLACK_PREVIEW
        self.video_sent = 0
        # the call as the page sees it (googlive/call/registry.py, googlive/call/keyflow.py)
        self.webrtc_id = ""
        self.choice: keyflow.BackendChoice | None = None
        # The key this call connects with: never a typed key for the offline demo.
        self.live_key = Secret(None)
        self.muted_frames = 0
        self.video_ignored = 0
        self._video_since = 0.0
        self._media_seq = -1
        self._listening: Any = None
        self._hung_up = False
        self._time_up = False
        # lifecycle
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._shutdown_done: asyncio.Event | None = None
        self._ui_seq = 0
        self._ui_sent: dict[str, int] = {}
        self._next_ui = 0.0

    def copy(self) -> GeminiHandler:
        return type(self)(
            self.settings, self.endpoint, features=self.feature_factories, services=self.services
        )

    # ---- lifecycle -------------------------------------------------------------------------
    async def start_up(self) -> None:
        self.t0 = time.monotonic()
        try:
            # The page sends its settings through Gradio's queue, which a busy server can hold
            # up for many seconds; without them the call has no owner (no archive, no typing).
            async with asyncio.timeout(ARGS_WAIT_S):
                await self.wait_for_args()
        except TimeoutError:
            log.warning("page settings did not arrive in %.0f s: call not started", ARGS_WAIT_S)
            self.conv.set_failed(NO_ARGS_MESSAGE)
            self.spawn(self._hang_up_soon(), "hang-up")
            return
        # google-genai, in a worker thread (a no-op once the start-up warm-up has imported it);
        # everything below that uses it runs after this (googlive/live/preload.py).
        live = await asyncio.to_thread(importlib.import_module, LIVE_MODULE)
        self.args = SessionArgs.parse(self.latest_args, self.N_INPUTS)
        if self._closed:
            return
        args = list(self.latest_args)
        wid = args[-self.N_INPUTS - 1] if len(args) > self.N_INPUTS else ""
        self.webrtc_id = wid if isinstance(wid, str) else getattr(wid, "webrtc_id", "")
        self.build_features()
        instruction = self.args.instruction or self.settings.system_instruction
        for f in self.features:
            instruction = f.instruction(instruction)
            for spec in f.tools():
                self.registry.add(spec)
        instruction += media_instruction(self.conv.media)
        # One rule for what the page announced and what is used (googlive/call/keyflow.py): under
        # --offline a typed key goes nowhere; without a server key it means Gemini.
        self.choice = keyflow.choose(self.settings, self.endpoint, bool(self.args.api_key))
        endpoint, self.live_key = keyflow.connect_target(
            self.endpoint, self.choice, self.args.api_key
        )
        self.live_endpoint = endpoint
        self.conv.offline = endpoint.offline
        self.conv.target = self.choice.target
        if self.choice.note:
            self.conv.set_panel("key", key_note_html(self.choice.note))
        client = endpoint.client(self.live_key or None)
        cfg = live.LiveConfig(
            model=self.call.info.model,
            voice=self.call.info.voice,
            system_instruction=instruction,
            tools=tuple(self.registry.declarations()),
        )
        self.session = live.LiveSession(client, cfg)
        self.conv.attempts = cfg.backoff.unreached_attempts
        self.session.start()
        rec = call_registry(self.services).started(self.webrtc_id, self)
        self.spawn(self._pump(), "pump")
        self.spawn(self._video_loop(), "video")
        for f in self.features:
            try:
                await f.start()
            except Exception as exc:
                # Type only: exception text can carry a user's words.
                log.error("feature %s failed in start() (%s)", f.name, type(exc).__name__)
        if rec is not None:
            CallRegistry.update(rec, self)  # the archive's folder exists from its start() on
        self._offer_video_rate()
        log.info(
            "handler started backend=%s features=%s",
            self.choice.kind,
            ",".join(f.name for f in self.features),
        )

    def _feature_failed(self, feature: Feature, hook: str, exc: BaseException) -> None:
        """A feature's hook raised (googlive.features.api.Hooks): the page says which part stopped;
        the conversation goes on without it."""
        self.conv.note(
            f"The {feature.name} feature stopped working in this call; the conversation goes on.",
            self.session_time(),
        )
        self._wake.set()

    def build_features(self) -> None:
        """Build this call's features, in order, from what the page's settings said (`args`)."""
        self.call = CallContext(self, self._call_info())
        for factory in self.feature_factories:
            try:
                self.features.append(factory(self.call, self.links))
            except Exception as exc:
                # Type only: exception text can carry a user's words.
                log.error("feature failed to start; continuing without it (%s)", type(exc).__name__)

    def feature_of(self, cls: type[F]) -> F | None:
        """This call's feature of type `cls` (for tests and diagnostics; features are given
        their links instead)."""
        return next((f for f in self.features if isinstance(f, cls)), None)

    def archive_path(self) -> Path | None:
        """This call's archive folder (googlive/features/results), None without one."""
        archive = self.links.archive
        return archive.path if archive is not None else None

    def _call_info(self) -> CallInfo:
        a = self.args
        secrets = tuple(k for k in (a.api_key.get(), self.endpoint.api_key.get()) if k)
        return CallInfo(
            owner=a.owner,
            model=a.model or self.settings.model,
            voice=a.voice or self.settings.voice,
            survey_id=(a.survey_id or "").strip(),
            offline=self.endpoint.offline,
            data_dir=Path(self.settings.data_dir),
            secrets=secrets,
        )

    def session_time(self) -> float:
        return time.monotonic() - self.t0

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Start a task owned by this connection: cancelled and awaited at shutdown."""
        task = asyncio.create_task(coro, name=f"handler-{name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def shutdown(self) -> None:  # type: ignore[override]
        """Close the session and cancel every task. Idempotent; safe to cut short."""
        if self._closed:
            if self._shutdown_done is not None:
                await self._shutdown_done.wait()
            return
        self._closed = True
        self._shutdown_done = asyncio.Event()
        self._wake.set()
        self.conv.set_ended(ENDED_MESSAGE)  # unless it ended or failed for a reason of its own
        try:
            if self.session is not None:
                await self.session.close("browser disconnected")
            tasks = list(self._tasks)
            for t in tasks:
                t.cancel()
            cut_short = await reap(*tasks)  # a cancel of this shutdown: raised once it is done
            with contextlib.suppress(Exception):
                await self.registry.aclose()
            for f in reversed(self.features):  # the archive (installed first) closes last
                try:
                    async with asyncio.timeout(15):
                        await f.close()
                except Exception as exc:
                    # Type only: exception text can carry a user's words.
                    log.error("feature %s failed to close (%s)", f.name, type(exc).__name__)
            if cut_short:
                raise asyncio.CancelledError
        finally:
            call_registry(self.services).ended(self.webrtc_id, self)
            self._shutdown_done.set()
            log.info("handler closed barge_ins=%d", self.barge_ins)

    # ---- mic -------------------------------------------------------------------------------
    async def receive(self, frame: tuple[int, np.ndarray]) -> None:
        rate, data = frame
        if not self.conv.media.mic_sends:
            # Muted (or no mic): everything here hears silence, and nothing goes to the model.
            data = np.zeros_like(np.asarray(data))
            self.muted_frames += 1
        now = time.monotonic()
        try:
            mono = as_mono(np.asarray(data))
        except ValueError:  # not 1-D/2-D audio: drop the frame, count it
            self.bad_mic_frames += 1
            return
        if mono.size == 0 or rate <= 0:
            return
        if self.mic_t0 is None:
            self.mic_t0 = now - self.t0
        heard = self.heard_turn(now)
        echo_db = (
            self.echo.predict_db(sub_block_ms(mono), self.mic_time_s, learn=not self.vad.speaking)
            if self.echo_guard
            else None
        )
        ev = self.vad.feed(mono, playing=heard is not None, echo_db=echo_db)
        self.mic_seconds += mono.size / rate
        self._last_mic_wall = now
        t_mic = self.mic_time_s
        if isinstance(ev, SpeechStart):
            self.apply(self.policy.on_onset(t_mic, heard, self._left_s(heard, now)), now)
        self.apply(self.policy.on_mic(t_mic, self.vad.voiced), now)
        if ev is not None and self.features:
            # VAD onset/offset at its session time from sample counts (cheap: rare events).
            t_ev = (self.mic_t0 or 0.0) + ev.sample_index / rate
            kind = "start" if isinstance(ev, SpeechStart) else "end"
            self.hooks.speech(kind, t_ev)
        pcm16k = self.resampler.process(mono, rate)
        if self.features:
            t_audio = self.mic_time_s - mono.size / rate
            self.hooks.user_audio(mono, rate, t_audio)
        if self.session is None:
            self.dropped_before_session += 1
            return
        if not self.conv.media.mic_sends:
            self._uplink.clear()
            return
        if pcm16k.size:
            self._uplink += pcm16_bytes(pcm16k)
            if len(self._uplink) >= self._uplink_bytes:
                self.session.send_audio(bytes(self._uplink))
                self._uplink.clear()

    # ---- barge-in ----------------------------------------------------------------------------
    def heard_turn(self, now: float) -> int | None:
        """The model turn the user is hearing now: playing from the buffer, or its last frames
        still queued in WebRTC (handed, not yet played out). None if nothing is heard."""
        if self.playback.audible:
            return self.playback.current_turn
        for play_at, turn, _ in reversed(self._handed):  # newest first; keepalives: turn None
            if play_at + PTIME <= now:
                break
            if turn is not None:
                return turn
        return None

    def apply(self, actions: list[Action], now: float) -> None:
        """Carry out what the barge-in policy decided (see googlive/media/bargein.py)."""
        for a in actions:
            if isinstance(a, Pause):
                self._pause(a, now)
            elif isinstance(a, Resume):
                self._resume(a, now)
            elif isinstance(a, Drop):
                self._drop(a, now)

    def _left_s(self, turn: int | None, now: float) -> float | None:
        """Seconds of `turn` still to be heard, if that turn is complete (else None)."""
        if turn is None or turn not in self._completed:
            return None
        queued = sum(n for play_at, tu, n in self._handed if tu == turn and play_at > now)
        return (self.playback.buffered_samples + queued) / OUT_RATE

    def _interrupted_turn(self, turn: int, now: float) -> int:
        """The turn an `interrupted` is about. The server sends turnComplete and then
        `interrupted` for the same turn when the user talks over audio it has finished sending
        (issue 13). googlive/live/session.py before the protocol core (branch live38) numbers that
        `interrupted` with the next turn: one that brought no audio. Then, if the turn before
        it completed and is what the user hears (or is paused), it is that turn. With live.py
        numbering it right, `turn` has audio or is not next to the heard turn: unchanged."""
        prev = turn - 1
        if (
            turn not in self._audio_turns
            and prev in self._completed
            and prev in (self.policy.paused_turn, self.heard_turn(now))
        ):
            return prev
        return turn

    def _withdraw(self, turn: int, now: float) -> int:
        """Clear FastRTC's queue: the frames still in it are not heard; put `turn`'s back at
        the head of the buffer. Returns the samples put back."""
        queued = self._queued_frames(now)
        if self._clear_queue is not None:
            self.clear_queue()
        recent = list(self._handed)[-queued:] if queued else []
        self._withdrawn_frames = sum(1 for _, tu, _ in recent if tu is not None)  # not keepalives
        unheard = sum(n for _, tu, n in recent if tu == turn)
        self._handed.clear()
        self._play_clock = now
        return self.playback.unplay(unheard, heard=False)

    def _queued_frames(self, now: float) -> int:
        """Frames handed to WebRTC and not yet taken by its track: read from the queue that
        `clear_queue` empties (fastrtc 0.0.34 AudioCallback.queue, an asyncio.Queue of one
        frame per emit(); SimulatedPeer._queue), else estimated from the play clock."""
        owner = getattr(self._clear_queue, "__self__", None)
        q = getattr(owner, "queue", None)
        if isinstance(q, asyncio.Queue):
            return q.qsize()
        q = getattr(owner, "_queue", None)
        if isinstance(q, deque):
            return len(q)
        return sum(1 for play_at, _, _ in self._handed if play_at > now)

    def _pause(self, a: Pause, now: float) -> None:
        withdrawn = self._withdraw(a.turn, now)
        self.playback.pause()
        self.barge_ins += 1
        t = now - self.t0
        self.barge_in_log.append(
            {
                "t": t,
                "turn": a.turn,
                "withdrawn_s": withdrawn / OUT_RATE,
                "buffered_s": self.playback.buffered_s,
                "outcome": "paused",
            }
        )
        self.hooks.barge_in(t)
        self._changed(
            PlaybackChange(
                "paused",
                a.turn,
                t,
                withdrawn_s=withdrawn / OUT_RATE,
                withdrawn_frames=self._withdrawn_frames,
            )
        )
        log.info(
            "barge-in pause turn=%s withdrawn_ms=%d buffered_ms=%d",
            a.turn,
            1000 * withdrawn // OUT_RATE,
            int(1000 * self.playback.buffered_s),
        )

    def _resume(self, a: Resume, now: float) -> None:
        back = resume_backup(self.playback.recent(a.turn), OUT_RATE, self.policy.config)
        replay = self.playback.unplay(back, heard=True)
        self.playback.resume()
        self._wake.set()
        t = now - self.t0
        if self.barge_in_log and self.barge_in_log[-1].get("turn") == a.turn:
            self.barge_in_log[-1].update(outcome="resumed", paused_s=a.paused_s)
        self._changed(
            PlaybackChange(
                "resumed",
                a.turn,
                t,
                paused_s=a.paused_s,
                replay_s=replay / OUT_RATE,
                after_sound_s=a.after_sound_s,
            )
        )
        log.info(
            "playback resumed turn=%s paused_ms=%d replay_ms=%d",
            a.turn,
            int(1000 * a.paused_s),
            1000 * replay // OUT_RATE,
        )

    def _drop(self, a: Drop, now: float) -> None:
        if a.reason == "local":  # the cut-the-turn baseline: a local onset, counted as a barge-in
            self.barge_ins += 1
            self.hooks.barge_in(now - self.t0)
        self._withdrawn_frames = 0
        withdrawn = (
            self._withdraw(a.turn, now)
            if self.heard_turn(now) == a.turn or a.paused_s is None
            else 0
        )
        dropped = self.playback.cut_turn(a.turn)
        if self.playback.paused:
            self.playback.resume()  # newer turns play
        t = now - self.t0
        if (
            self.barge_in_log
            and self.barge_in_log[-1].get("turn") == a.turn
            and a.paused_s is not None
        ):
            self.barge_in_log[-1].update(
                outcome="dropped",
                reason=a.reason,
                paused_s=a.paused_s,
                dropped_s=dropped / OUT_RATE,
            )
        elif a.reason == "local":
            self.barge_in_log.append(
                {
                    "t": t,
                    "turn": a.turn,
                    "withdrawn_s": withdrawn / OUT_RATE,
                    "dropped_s": dropped / OUT_RATE,
                    "outcome": "dropped",
                    "reason": "local",
                }
            )
        self.conv.mark_interrupted(a.turn)
        self._changed(
            PlaybackChange(
                "dropped",
                a.turn,
                t,
                reason=a.reason,
                paused_s=a.paused_s,
                withdrawn_s=withdrawn / OUT_RATE,
                dropped_s=dropped / OUT_RATE,
                withdrawn_frames=self._withdrawn_frames,
            )
        )
        log.info(
            "playback dropped turn=%s reason=%s dropped_ms=%d",
            a.turn,
            a.reason,
            1000 * dropped // OUT_RATE,
        )

    def _changed(self, change: PlaybackChange) -> None:
        self.playback_log.append(change)
        self.hooks.playback(change)
        self._set_play_state(change.kind if change.kind != "resumed" else "playing", change.turn)

    def _set_play_state(self, state: str, turn: int | None) -> None:
        """Tell the page (googlive/web/duck.js) what the user should hear, over the data
        channel: it keeps the model muted while "paused"/"dropped" and restores it on "playing"."""
        if state == self.play_state:
            return
        self.play_state = state
        self._play_state_seq += 1
        channel = getattr(self, "channel", None)
        if channel is None:
            return
        try:
            channel.send(playback_message(state, turn, self._play_state_seq))
        except Exception as exc:  # a closing channel must not break the audio path
            log.debug("playback state not sent (%s)", type(exc).__name__)

    # ---- webcam ----------------------------------------------------------------------------
    def video_wanted(self) -> bool:
        """Whether the camera frame arriving now is needed (googlive/media/rtcvideo.py asks before
        converting it): not while the camera is off; every frame while a feature wants them
        all (`Feature.wants_video_frames`: a recording); otherwise one per
        `VIDEO_KEEP_EVERY_S`, enough for the model's one per `video_interval_s`."""
        now = time.monotonic()
        if not self.conv.media.video_sends or now < self._video_since:
            self.video_ignored += 1
            return False
        if now - self.latest_frame_t >= VIDEO_KEEP_EVERY_S or self.latest_frame is None:
            return True
        if any(f.wants_video_frames for f in self.features):
            return True
        self.video_skipped += 1
        return False

    def camera_fps_wanted(self) -> int | None:
        """The camera rate the browser should send: all it has (None) while a feature wants
        every frame, else MODEL_CAMERA_FPS."""
        if any(f.wants_video_frames for f in self.features):
            return None
        return MODEL_CAMERA_FPS

    def _offer_video_rate(self) -> None:
        """Tell the page the camera rate to send, when it changed (over the data channel)."""
        fps = self.camera_fps_wanted()
        if fps == self._video_rate_sent or getattr(self, "channel", None) is None:
            return
        self._send_page({"type": VIDEO_RATE_MESSAGE, "max_fps": fps})
        self._video_rate_sent = fps

    async def video_receive(self, frame: np.ndarray) -> None:
        if not self.conv.media.video_sends or time.monotonic() < self._video_since:
            self.video_ignored += 1  # camera off: nothing is kept, shown, recorded or sent
            return
        self.latest_frame = frame
        self.latest_frame_t = time.monotonic()
        self.video_frames_in += 1
        self.hooks.video(frame, self.latest_frame_t - self.t0)

    async def video_emit(self) -> Any:
        """A self-view from the server: the latest camera frame at half size. Not called with
        googlive/media/rtcvideo.py installed (`selfview_from_page`); FastRTC's own track would
        re-encode whatever this returns at 30 fps.
        """
        frame = self.latest_frame
        if frame is None:
            return _BLACK_PREVIEW
        if frame is self._preview_src:
            return self._preview
        self._preview_src = frame
        if frame.ndim == 3 and frame.shape[1] > PREVIEW_MAX_WIDTH:
            step = -(-frame.shape[1] // PREVIEW_MAX_WIDTH)
            self._preview = np.ascontiguousarray(frame[::step, ::step])
        else:
            self._preview = frame
        return self._preview

    async def _video_loop(self) -> None:
        interval = max(0.2, float(self.settings.video_interval_s))
        limit = float(self.settings.session_time_limit_s)
        while not self._closed:
            await asyncio.sleep(interval)
            self._offer_video_rate()
            if limit and not self._time_up and self.session_time() >= limit - interval:
                self._time_up = True
                self.conv.set_ended(time_limit_message(limit))
                self.hang_up()
            if not self.conv.media.video_sends:
                continue
            frame, ft = self.latest_frame, self.latest_frame_t
            # Only a new frame, and only a fresh one: a camera that stopped sends nothing.
            if frame is None or ft <= self._sent_frame_t or time.monotonic() - ft > 2 * interval:
                continue
            self._sent_frame_t = ft
            try:
                jpeg = await asyncio.to_thread(
                    encode_jpeg, frame, self.settings.video_max_side, self.settings.video_quality
                )
            except ValueError:
                continue
            if self.session is not None and jpeg:
                self.session.send_video(jpeg)
                self.video_sent += 1

    # ---- model → browser -------------------------------------------------------------------
    async def _pump(self) -> None:
        assert self.session is not None
        async for ev in self.session.events():
            self.handle_event(ev)
            self._wake.set()

    def handle_event(self, ev: Any) -> None:
        t = time.monotonic() - self.t0
        if isinstance(ev, AudioOut):
            if not self._audio_turns or self._audio_turns[-1] != ev.turn:
                self._audio_turns.append(ev.turn)
            self.apply(self.policy.on_model_audio(ev.turn, self.mic_time_s), time.monotonic())
            self.playback.push(ev.pcm, ev.turn)
        elif isinstance(ev, TranscriptDelta):
            self.conv.transcript(ev.role, ev.turn, ev.line, t, final=ev.final)
        elif isinstance(ev, Interrupted):
            # The interruption applies to the turn actually heard (also after its turnComplete,
            # while it plays out of the buffer); no later audio of that turn may play.
            now = time.monotonic()
            turn = self._interrupted_turn(ev.turn, now)
            acts = self.policy.on_interrupted(turn, self.mic_time_s, self.heard_turn(now))
            self.apply(acts, now)
            if self.playback.cut_turn(turn) and not acts:
                self.conv.mark_interrupted(turn)  # its audio was still waiting: never heard
        elif isinstance(ev, TurnComplete):
            self.playback.end_turn(ev.turn)
            self._completed.append(ev.turn)
        elif isinstance(ev, StateChanged):
            self.on_state(ev)
        elif isinstance(ev, SessionError):
            if not ev.recoverable:
                self.on_failure(ev.message)
        elif isinstance(ev, ToolCall):
            self.conv.tool_started(ev.id, ev.name, toolcards.asked(ev.name, ev.args), t)
            self.on_tool_call(ev)
        elif isinstance(ev, ToolCallCancelled):
            self.on_tool_cancel(ev)
        self.hooks.live_event(ev)

    def text_refusal(self) -> str | None:
        """Why a typed message cannot go now (the page shows it), or None if it can."""
        st = self.conv.status.kind
        if st == "failed":
            return "This call failed (see the status above), so your message was not sent."
        if st == "ended":
            return "This conversation has ended, so your message was not sent."
        s = self.session
        if s is None or s.state is not SessionState.LIVE:
            if self.conv.was_live or (s is not None and s.stats.connects > 0):
                return (
                    f"Reconnecting to {self.conv.target}: your message was not sent. "
                    "Send it again when the status says Live."
                )
            return (
                f"Still connecting to {self.conv.target}: your message was not sent. "
                "Send it again when the status says Live."
            )
        return None

    def send_text(self, text: str) -> str | None:
        """A typed message from the page: shown in the transcript and sent to the model.
        Returns why it was refused (not sent, not shown), or None once sent."""
        if not text:
            return None
        refusal = self.text_refusal()
        if refusal is not None or self.session is None:
            return refusal
        t = time.monotonic() - self.t0
        turn = self.session.turn
        if any(ln.turn == turn for ln in self.conv.lines[-2:]):
            turn += 1  # the current turn already has lines: the text starts the next one
        self.conv.transcript(Role.USER, turn, text, t, final=True)
        self.session.send_text(text)
        self.hooks.text(text, t)
        self._wake.set()
        return None

    def on_tool_call(self, call: ToolCall) -> None:
        """Run the tool in a task of its own (audio never waits) and answer by id."""
        self.spawn(self._run_tool(call), f"tool-{call.name[:20]}")

    async def _run_tool(self, call: ToolCall) -> None:
        started = time.monotonic()
        result = await self.registry.dispatch(call)
        if result is None:  # cancelled by the server: its result must not be sent
            log.info("tool %s cancelled id=%s", call.name[:40], call.id[:16])
            self.conv.tool_finished(call.id, "cancelled", "Cancelled", self.session_time())
            self._wake.set()
            return
        state, detail = toolcards.outcome(call.name, result.response)
        self.conv.tool_finished(call.id, state, detail, self.session_time())
        if self.session is not None:
            self.session.send_tool_response(
                result.id, result.name, result.response, result.scheduling
            )
        log.info(
            "tool %s done id=%s error=%s ms=%d",
            call.name[:40],
            call.id[:16],
            result.is_error,
            int(1000 * (time.monotonic() - started)),
        )
        self.hooks.tool_result(call, result, time.monotonic() - started)
        self._wake.set()

    def on_tool_cancel(self, ev: ToolCallCancelled) -> None:
        self.registry.cancel(ev.ids)

    async def emit(self) -> Any:
        while not self._closed:
            now = time.monotonic()
            frame = self.next_frame(now)
            if frame is None and self.keep_rtp_clock:
                frame = self._keepalive(now)
            if frame is not None:
                return (OUT_RATE, frame.reshape(1, -1))
            if now >= self._next_ui and self._ui_changed():
                self._next_ui = now + UI_INTERVAL_S
                return AdditionalOutputs(self.ui_update())
            self._wake.clear()
            wait = PTIME / 2 if self.playback.playing else UI_INTERVAL_S
            if self.keep_rtp_clock and self._rtp_started:  # wake for the next keepalive
                wait = min(wait, max(0.002, self._play_clock - PTIME - now))
            if now < self._next_ui and self._ui_changed():
                wait = min(wait, self._next_ui - now)  # a pending panel change goes out on time
            with contextlib.suppress(TimeoutError):
                # asyncio.timeout, not wait_for: on 3.11 wait_for can lose a cancel that
                # lands as the event fires (CPython gh-86296), and this loop never ends.
                async with asyncio.timeout(wait):
                    await self._wake.wait()
        return None

    def next_frame(self, now: float) -> np.ndarray | None:
        """The next model frame to hand to WebRTC at monotonic time `now`, if one is due (at
        most LEAD_S ahead of real time) and the policy lets it play."""
        if self.policy.paused and self._last_mic_wall and now - self._last_mic_wall > 0.5:
            # the mic stopped (track muted): its frames cannot end the pause; time does
            self.apply(self.policy.tick(self.mic_time_s + now - self._last_mic_wall), now)
        if self._play_clock < now:
            self._play_clock = now  # the WebRTC queue ran dry
        if self._play_clock - now >= LEAD_S:
            return None
        frame = self.playback.pop()
        if frame is None:
            if self.play_state == "playing" and self.heard_turn(now) is None:
                self._set_play_state("idle", None)
            return None
        play_at = self._play_clock
        self._play_clock += PTIME
        turn = self.playback.popped_turn
        assert turn is not None  # set by every successful pop
        self._handed.append((play_at, turn, self.playback.last_real_samples))
        self._rtp_started = True
        self.echo.played(frame, play_at - self.t0)
        if self.play_state != "playing":
            self._set_play_state("playing", turn)
        self.hooks.played(frame, play_at - self.t0)
        return frame

    def _keepalive(self, now: float) -> np.ndarray | None:
        """A silent frame when WebRTC's queue is about to run dry (see keep_rtp_clock). It is
        not model audio: no feature sees it, and `heard_turn` skips it."""
        if not self._rtp_started:
            return None
        if self._play_clock < now:
            self._play_clock = now
        if self._play_clock - now >= PTIME:
            return None
        self._handed.append((self._play_clock, None, 0))
        self._play_clock += PTIME
        return self.keepalive_frame

    def wake(self) -> None:
        """A panel changed outside a Live event (e.g. a periodic meter): let emit() send it."""
        self._wake.set()

    def _ui_changed(self) -> bool:
        return any(self._ui_sent.get(k) != v for k, v in self.conv.versions.items())

    def ui_update(self) -> UiUpdate:
        self._ui_sent = dict(self.conv.versions)
        self._ui_seq += 1
        return UiUpdate(self._ui_seq, self.conv)

    # ---- figures ---------------------------------------------------------------------------
    @property
    def user_speaking(self) -> bool:
        """The VAD is between a speech onset and its offset."""
        return self.vad.speaking

    @property
    def mic_time_s(self) -> float:
        """Session time of the end of the mic audio received so far, from sample counts."""
        return (self.mic_t0 or 0.0) + self.mic_seconds

    def level_db(self) -> float:
        return self.vad.level_db


__all__ = ["GeminiHandler", "SessionArgs", "UiUpdate"]
