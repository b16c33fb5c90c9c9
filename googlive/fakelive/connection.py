"""One Live WebSocket connection of the local server: setup, the receive loop, input.

``_Connection`` checks the setup against the model's profile (profiles.py), then reads client
frames and routes them: audio through the VAD (speech onsets and ends go to the model's side,
``modelturns.ModelTurns``), video frames into the model's context as the turn coverage allows,
text and client content to user turns, tool responses to their calls.

Logs carry connection ids, sizes and durations only: never keys, transcripts or images.

Size: over 400 lines: one Live WebSocket connection's state machine (setup, receive loop,
input), the local server's core.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from googlive.tasks import reap

from . import profiles, voice
from . import protocol as p
from .config import ConnectionInfo
from .conversation import Conversation
from .modelturns import ModelTurns
from .output import Closed as _Closed

if TYPE_CHECKING:
    from .server import FakeLiveServer

log = logging.getLogger("googlive.fakelive")

_Conversation = Conversation  # the name server.py used before the split

__all__ = ["_Closed", "_Connection", "_Conversation"]


class _Connection:
    """One WebSocket connection: receive loop, the model's turns, timers."""

    def __init__(
        self,
        server: FakeLiveServer,
        ws: WebSocket,
        info: ConnectionInfo,
        transport_getter: Callable[[], Any],
    ) -> None:
        self.server = server
        self.ws = ws
        self.info = info
        self._transport_getter = transport_getter
        self.setup: p.Setup | None = None
        self.conv: Conversation | None = None
        self.profile: profiles.Profile = profiles.PROFILES[profiles.FAMILY_38]
        self.coverage = self.profile.default_turn_coverage
        self.closed = False
        self.send_lock = asyncio.Lock()
        self.vad = voice.EnergyVad()
        self.manual_active = False
        self.manual_audio = bytearray()
        self.manual_rate = 16000
        self.realtime_input_seen = False
        self.pending_texts: list[str] = []
        self.pending_images = 0
        self.model = ModelTurns(self)
        self.timer_tasks: set[asyncio.Task[None]] = set()
        self.lifetime_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ I/O primitives

    async def send(self, frame: bytes) -> None:
        """Send one binary frame; raises :class:`_Closed` if the socket is gone."""
        if self.closed:
            raise _Closed
        async with self.send_lock:
            if self.closed:
                raise _Closed
            try:
                await self.ws.send_bytes(frame)
            except Exception as exc:  # starlette/uvicorn raise several kinds on a dead socket
                self.closed = True
                raise _Closed from exc

    async def send_text(self, frame: bytes) -> None:
        """Send one text frame (used only for the deliberate garbage fault)."""
        async with self.send_lock:
            try:
                await self.ws.send_text(frame.decode("latin-1"))
            except Exception as exc:
                self.closed = True
                raise _Closed from exc

    async def close(self, code: int, reason: str) -> None:
        """Close with ``code``/``reason`` (cut to 123 bytes); no-op if already closed."""
        if self.closed:
            return
        self.closed = True
        reason = p.close_reason(reason)
        self.info.close_code, self.info.close_reason, self.info.close_by = code, reason, "server"
        log.info("conn %d: closing with %d", self.info.id, code)
        with contextlib.suppress(Exception):
            async with self.send_lock:
                await self.ws.close(code, reason)
        self.server._bump()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame (the client sees 1006)."""
        if self.closed:
            return
        self.closed = True
        self.info.close_code, self.info.close_reason, self.info.close_by = 1006, "dropped", "drop"
        transport = self._transport_getter()
        log.info("conn %d: dropping TCP", self.info.id)
        if transport is not None:
            transport.abort()
        self.server._bump()

    def spawn_timer(self, coro: Any) -> asyncio.Task[None]:
        task = asyncio.create_task(coro)
        self.timer_tasks.add(task)
        task.add_done_callback(self.timer_tasks.discard)
        return task

    async def shutdown_tasks(self) -> None:
        """Cancel and await every task this connection started."""
        await self.model.shutdown()
        tasks = list(self.timer_tasks)
        for task in tasks:
            task.cancel()
        if await reap(*tasks):  # a cancel meant for the closer itself
            raise asyncio.CancelledError

    # ------------------------------------------------------------------ state

    @property
    def setup_manual(self) -> bool:
        """Automatic activity detection is off (the client sends activityStart/End)."""
        return self.setup is not None and self.setup.manual_activity

    @property
    def user_speaking(self) -> bool:
        """The user is in an utterance (VAD) or between activityStart and activityEnd."""
        return self.manual_active if self.setup_manual else self.vad.in_speech

    def admit_image(self, data: bytes, source: str, resolution: str | None) -> None:
        """Put an image into the model's context, at its own resolution or the session's."""
        assert self.conv is not None and self.setup is not None
        image = self.conv.admit_image(data, source, resolution or self.setup.media_resolution)
        kept = self.server.stats.context_images
        kept.append(
            {
                "conversation": self.conv.id,
                "source": source,
                "resolution": image.resolution,
                "tokens": image.tokens,
                "bytes": len(data),
            }
        )
        del kept[: -self.server.config.max_images_kept]

    # ------------------------------------------------------------------ main loop

    async def receive_frame(self) -> str | bytes:
        """The next client frame; raises :class:`_Closed` when the client went away."""
        message = await self.ws.receive()
        if message["type"] == "websocket.disconnect":
            if not self.closed:
                self.closed = True
                code = message.get("code", 1005)
                self.info.close_code, self.info.close_reason = code, message.get("reason") or ""
                self.info.close_by = "client"
            raise _Closed
        if message.get("bytes") is not None:
            return message["bytes"]
        return message.get("text") or ""

    async def run(self) -> None:
        srv, cfg = self.server, self.server.config
        # The SDK sends setup right after the handshake; reading it before any close makes
        # sure the client's send finished, so it sees the close as APIError.
        try:
            events = p.parse_client_frame(await self.receive_frame())
        except p.ProtocolError as exc:
            await self.close(exc.code, exc.reason)
            return
        setup = next((e for e in events if isinstance(e, p.Setup)), None)
        if setup is None:
            await self.close(
                p.CLOSE_INVALID,
                "Request contains an invalid argument: the first message must be setup.",
            )
            return
        if not await self._accept_setup(setup):
            return
        if cfg.setup_delay_s > 0:
            await asyncio.sleep(cfg.setup_delay_s)
        if cfg.never_answer_setup:
            log.info("conn %d: never_answer_setup: ignoring the session", self.info.id)
            while True:
                await self.receive_frame()
        await self.send(p.setup_complete_frame())
        self.info.setup_done = True
        if setup.resumption:
            await self.send_resumption_update()
        if cfg.send_unknown_frame:
            await self.send(p.unknown_frame())
        if cfg.send_garbage:
            await self.send(p.GARBAGE_FRAME)
        self.lifetime_task = self.spawn_timer(
            self._lifetime(cfg.connection_lifetime_s - cfg.go_away_lead_s, cfg.go_away_lead_s)
        )
        if cfg.close_1008_after_s is not None:
            self.spawn_timer(self._close_1008_after(cfg.close_1008_after_s))
            cfg.close_1008_after_s = None  # once
        srv._bump()
        while True:
            raw = await self.receive_frame()
            try:
                for event in p.parse_client_frame(raw):
                    await self._handle(event)
            except p.ProtocolError as exc:
                if "Invalid image" in exc.reason:
                    srv.stats.non_jpeg_rejects += 1
                await self.close(exc.code, exc.reason)
                return
            finally:
                srv._bump()

    async def _close_1008_after(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        self.server.stats.closes_1008_injected += 1
        await self.close(p.CLOSE_POLICY, profiles.REASON_NOT_IMPLEMENTED)

    async def _accept_setup(self, setup: p.Setup) -> bool:
        """Check key, model, profile and resumption handle; close and return False if refused."""
        srv, cfg = self.server, self.server.config
        srv.stats.setups += 1
        srv.stats.last_setup = setup.raw
        key = self.ws.headers.get("x-goog-api-key") or self.ws.query_params.get("key")
        if not key:
            await self.close(p.CLOSE_POLICY, p.REASON_NO_KEY)
            return False
        if not secrets.compare_digest(key.encode(), srv.api_key.encode()):
            await self.close(p.CLOSE_INVALID, p.REASON_BAD_KEY)
            return False
        model = setup.model.removeprefix("models/")
        self.info.model = model
        if model in cfg.shut_down_models or not srv._model_known(model):
            if model in cfg.shut_down_models:
                srv.stats.setups_refused += 1
            await self.close(p.CLOSE_POLICY, p.model_not_found_reason(model, self.info.api_version))
            return False
        self.profile = profiles.profile_for(model, cfg.default_family, cfg.profile_overrides)
        self.info.family = self.profile.family
        refusal = profiles.setup_refusal(self.profile, setup.raw)
        if refusal is not None:
            srv.stats.setups_refused += 1
            log.info("conn %d: setup refused by the %s profile", self.info.id, self.profile.family)
            await self.close(p.CLOSE_INVALID, refusal)
            return False
        self.coverage = profiles.turn_coverage(self.profile, setup.raw)
        self.info.turn_coverage = self.coverage
        if setup.resume_handle is not None:
            conv = srv._handles.get(setup.resume_handle)
            if conv is None:
                await self.close(p.CLOSE_POLICY, p.REASON_SESSION_NOT_FOUND)
                return False
            if conv.connection is not None and not conv.connection.closed:
                await self.close(p.CLOSE_INTERNAL, p.REASON_SESSION_BUSY)
                return False
            srv.stats.resumes += 1
            self.info.resumed = True
        else:
            conv = Conversation(
                id=secrets.token_hex(8), started_at=time.monotonic(), max_images=cfg.max_images_kept
            )
        conv.connection = self
        self.conv = conv
        self.setup = setup
        self.info.session_id = conv.id
        self.vad = voice.EnergyVad(threshold=cfg.vad_threshold, silence_s=cfg.vad_silence_s)
        if conv.video_seen:
            self._start_av_limit()
        log.info(
            "conn %d: setup ok (%s, resumed=%s, tools=%d)",
            self.info.id,
            self.profile.family,
            self.info.resumed,
            len(setup.tools),
        )
        return True

    async def send_resumption_update(self) -> None:
        assert self.conv is not None
        handle = secrets.token_urlsafe(24)
        self.server._handles[handle] = self.conv
        await self.send(p.resumption_update_frame(handle))
        self.server.stats.resumption_updates_sent += 1

    async def _lifetime(self, until_go_away_s: float, lead_s: float) -> None:
        if until_go_away_s > 0:
            await asyncio.sleep(until_go_away_s)
        await self.send(p.go_away_frame(lead_s))
        self.server.stats.go_aways_sent += 1
        self.server._bump()
        log.info("conn %d: goAway sent, closing in %.1f s", self.info.id, lead_s)
        await asyncio.sleep(max(0.0, lead_s))
        await self.close(p.CLOSE_INTERNAL, p.REASON_DEADLINE)

    def restart_lifetime(self, until_go_away_s: float, lead_s: float) -> None:
        """Replace the lifetime timer (used by ``send_go_away``)."""
        if self.lifetime_task is not None:
            self.lifetime_task.cancel()
        self.lifetime_task = self.spawn_timer(self._lifetime(until_go_away_s, lead_s))

    def _start_av_limit(self) -> None:
        cfg, conv = self.server.config, self.conv
        if (
            cfg.max_av_session_s is None
            or conv is None
            or self.setup is None
            or self.setup.context_compression
        ):
            return
        if any(not t.done() and getattr(t, "fakelive_av", False) for t in self.timer_tasks):
            return
        remaining = conv.started_at + cfg.max_av_session_s - time.monotonic()

        async def _limit() -> None:
            await asyncio.sleep(max(0.0, remaining))
            await self.close(p.CLOSE_INTERNAL, p.REASON_AV_LIMIT)

        task = self.spawn_timer(_limit())
        task.fakelive_av = True  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ events

    async def _handle(self, event: p.ClientEvent) -> None:
        stats = self.server.stats
        assert self.setup is not None and self.conv is not None
        if isinstance(event, p.Setup):
            await self.close(
                p.CLOSE_INVALID, "Request contains an invalid argument: setup was already received."
            )
            raise _Closed
        if isinstance(event, p.ClientContent):
            await self._client_content(event)
            return
        if isinstance(event, p.ToolResponse):
            for fr in event.responses:
                await self.model.on_tool_response(fr)
            return
        self.realtime_input_seen = True
        if isinstance(event, p.AudioIn):
            await self._audio(event)
        elif isinstance(event, p.ImageIn):
            await self._realtime_image(event)
        elif isinstance(event, p.TextIn):
            stats.texts_received.append(event.text)
            await self.model.user_turn("text", text=event.text)
        elif isinstance(event, p.ActivityStart | p.ActivityEnd):
            await self._activity(event)
        elif isinstance(event, p.AudioStreamEnd):
            if not self.setup.manual_activity:
                for vad_event in self.vad.flush():
                    if isinstance(vad_event, voice.SpeechEnded):
                        await self.model.on_speech_end(
                            vad_event.pcm, vad_event.rate, vad_event.voiced_s
                        )

    async def _audio(self, event: p.AudioIn) -> None:
        assert self.setup is not None
        stats, cfg = self.server.stats, self.server.config
        stats.audio_chunks_received += 1
        stats.audio_bytes_received += len(event.pcm)
        self.info.audio_bytes += len(event.pcm)
        if self.setup.manual_activity:
            if self.manual_active and len(self.manual_audio) < 60 * event.rate * 2:
                self.manual_rate = event.rate
                self.manual_audio.extend(event.pcm)
            return
        self.vad.threshold = cfg.vad_threshold
        self.vad.silence_s = cfg.vad_silence_s
        for vad_event in self.vad.feed(event.pcm, event.rate):
            if isinstance(vad_event, voice.SpeechStarted):
                await self.model.on_speech_start()
            else:
                await self.model.on_speech_end(vad_event.pcm, vad_event.rate, vad_event.voiced_s)
        if self.vad.in_speech:
            self.model.on_voiced(self.vad.voiced_s)

    async def _realtime_image(self, event: p.ImageIn) -> None:
        assert self.conv is not None
        stats = self.server.stats
        stats.video_frames_received += 1
        self.info.video_frames += 1
        stats.last_jpeg = event.data
        if not self.conv.video_seen:
            self.conv.video_seen = True
            self._start_av_limit()
        # google-genai TurnCoverage: ONLY_ACTIVITY leaves out input sent while the user is
        # silent; the profile's default applies unless setup set realtimeInputConfig.turnCoverage.
        if profiles.admits_video(self.coverage, self.user_speaking):
            self.admit_image(event.data, event.source, event.media_resolution)
        else:
            stats.video_frames_left_out += 1

    async def _activity(self, event: p.ActivityStart | p.ActivityEnd) -> None:
        assert self.setup is not None
        stats = self.server.stats
        if isinstance(event, p.ActivityStart):
            stats.activity_starts += 1
        else:
            stats.activity_ends += 1
        if not self.setup.manual_activity:
            await self.close(
                p.CLOSE_INVALID,
                "Explicit activity control is not supported when automatic activity detection is enabled.",
            )
            raise _Closed
        if isinstance(event, p.ActivityStart):
            # The client declares the user's activity itself: it interrupts at once on every
            # profile (START_OF_ACTIVITY_INTERRUPTS, google-genai ActivityHandling default).
            await self.model.barge_in(by_user=True)
            self.manual_active = True
            self.manual_audio.clear()
        elif self.manual_active:
            self.manual_active = False
            pcm, self.manual_audio = bytes(self.manual_audio), bytearray()
            await self.model.user_turn("speech", pcm=pcm, rate=self.manual_rate)

    async def _client_content(self, event: p.ClientContent) -> None:
        assert self.setup is not None and self.conv is not None
        srv, stats = self.server, self.server.stats
        initial = (
            self.setup.initial_history_in_client_content and not self.conv.initial_history_done
        )
        if not initial and not self.profile.client_content_mid_session:
            # livekit/agents PR 5251/5262, adk-python 5018: gemini-3.1-flash-live-preview closes
            # with 1007 on client content after the initial history.
            stats.client_content_refused += 1
            await self.close(p.CLOSE_INVALID, profiles.REASON_INVALID_ARGUMENT)
            raise _Closed
        for image in event.images:
            srv._keep_image(image.data)
            self.admit_image(image.data, "client_content", image.media_resolution)
        stats.texts_received.extend(event.texts)
        if initial:
            # historyConfig.initialHistoryInClientContent (google-genai HistoryConfig): "This
            # initial history will not trigger a model call"; turn_complete ends it.
            if event.turn_complete:
                self.conv.initial_history_done = True
            return
        self.pending_texts.extend(event.texts)
        self.pending_images += len(event.images)
        if event.turn_complete:
            text = " ".join(self.pending_texts)
            images = self.pending_images
            self.pending_texts, self.pending_images = [], 0
            if text or images:
                await self.model.user_turn("text", text=text, images=images)
