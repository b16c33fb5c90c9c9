"""The local Live server: TLS WebSocket (BidiGenerateContent) and REST generateContent.

One uvicorn server (in-process, an asyncio task) serves a small raw ASGI app on one port:

- ``wss://HOST:PORT/ws/google.ai.generativelanguage.{v1beta,v1alpha,v1}.GenerativeService.
  BidiGenerateContent`` speaks the Live protocol (see ``protocol.py``), answering with the
  offline demo voice (``voice.py``, ``script.py``);
- ``POST /{version}/models/{model}:generateContent`` answers with JSON that fits the request's
  response schema (``schema_fill.py``).

Logs carry connection ids, sizes and durations only: never keys, transcripts or images.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

from . import protocol as p
from . import schema_fill, script, voice
from .tls import TlsFiles, make_tls_files

log = logging.getLogger("googlive.fakelive")

WS_PATH = re.compile(
    r"^/ws/google\.ai\.generativelanguage\.(v1beta|v1alpha|v1)\.GenerativeService\.BidiGenerateContent$"
)
REST_PATH = re.compile(r"^/(v1beta|v1alpha|v1)/models/([^/:]+):generateContent$")


@dataclass
class FakeLiveConfig:
    """Behaviour of the fake server. Every field may be changed while the server runs."""

    # Models that setup may name (without "models/"), and accepted prefixes.
    known_models: list[str] = field(
        default_factory=lambda: [
            "gemini-3.8-live",
            "gemini-3.1-flash-live-preview",
            "gemini-live-2.5-flash-preview",
        ]
    )
    known_model_prefixes: list[str] = field(
        default_factory=lambda: ["gemini-2.5-flash-native-audio-preview-"]
    )
    # REST generateContent models: None accepts any name starting with "gemini-".
    rest_models: list[str] | None = None
    # Voice activity detection (automatic mode) on the 16 kHz input.
    vad_threshold: float = 500.0  # RMS in int16 units (about -36 dBFS)
    vad_silence_s: float = 0.5
    # Replies.
    speed: float = 3.0  # send audio this many times faster than real time (<= 0: no pacing)
    chunk_ms: int = 80
    min_reply_s: float = 1.5
    long_reply_s: float = 8.5
    reply_delay_s: float = 0.0  # wait before the first reply chunk (latency tests)
    tool_response_timeout_s: float = 60.0
    # Connection lifetime: goAway ``go_away_lead_s`` before the end, then close 1011.
    connection_lifetime_s: float = 600.0
    go_away_lead_s: float = 60.0
    # Without contextWindowCompression, a session that received video ends after this long.
    max_av_session_s: float | None = 120.0
    # Faults.
    setup_delay_s: float = 0.0
    never_answer_setup: bool = False
    drop_after_reply_chunks: int | None = None  # once: abort TCP after N chunks of a reply
    send_unknown_frame: bool = False  # after setupComplete, a frame with only unknown keys
    send_garbage: bool = False  # after setupComplete, a non-JSON frame
    rest_bad_responses: int = 0  # the next N REST answers violate the schema
    rest_error_status: int | None = None  # REST answers this HTTP error while set ...
    rest_error_count: int | None = None  # ... or only for the next N requests if this is set
    # Memory bounds.
    max_images_kept: int = 64


@dataclass
class ConnectionInfo:
    """One WebSocket connection, as the server saw it."""

    id: int
    opened_at: float
    model: str | None = None
    api_version: str = ""
    session_id: str | None = None
    resumed: bool = False
    setup_done: bool = False
    audio_bytes: int = 0
    video_frames: int = 0
    turns_completed: int = 0
    closed_at: float | None = None
    close_code: int | None = None
    close_reason: str | None = None
    close_by: str | None = None  # "server", "client" or "drop"


@dataclass
class FakeLiveStats:
    """Counters and records for tests. Texts and images are kept in memory, never logged."""

    connections_opened: int = 0
    setups: int = 0
    resumes: int = 0
    audio_bytes_received: int = 0
    audio_chunks_received: int = 0
    video_frames_received: int = 0
    non_jpeg_rejects: int = 0
    texts_received: list[str] = field(default_factory=list)
    tool_calls_sent: list[dict[str, Any]] = field(default_factory=list)
    tool_responses: list[dict[str, Any]] = field(default_factory=list)
    tool_cancellations_sent: list[str] = field(default_factory=list)
    activity_starts: int = 0
    activity_ends: int = 0
    speech_turns: int = 0
    text_turns: int = 0
    interrupted_sent: int = 0
    turns_completed: int = 0
    reply_chunks_sent: int = 0
    reply_audio_bytes_sent: int = 0
    prompt_tokens_sent: int = 0
    response_tokens_sent: int = 0
    go_aways_sent: int = 0
    resumption_updates_sent: int = 0
    last_setup: dict[str, Any] | None = None
    last_jpeg: bytes | None = None
    images: list[bytes] = field(default_factory=list)  # client_content and tool responses
    rest_requests: int = 0
    last_rest_request: dict[str, Any] | None = None
    connections: list[ConnectionInfo] = field(default_factory=list)

    @property
    def open_connections(self) -> int:
        return sum(1 for c in self.connections if c.closed_at is None)


@dataclass
class _Conversation:
    """One logical session; survives reconnects through resumption handles."""

    id: str
    started_at: float
    turns: int = 0
    connection: _Connection | None = None
    video_seen: bool = False


class _Closed(Exception):
    """The WebSocket is gone; stop handling this connection."""


class _Connection:
    """One WebSocket connection: receive loop, reply task, timers."""

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
        self.conv: _Conversation | None = None
        self.closed = False
        self.send_lock = asyncio.Lock()
        self.vad = voice.EnergyVad()
        self.manual_active = False
        self.manual_audio = bytearray()
        self.manual_rate = 16000
        self.pending_texts: list[str] = []
        self.pending_images = 0
        self.reply_task: asyncio.Task[None] | None = None
        self.reply_state: _ReplyState | None = None
        self.tool_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
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
        tasks = [t for t in [self.reply_task, *self.timer_tasks] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for fut in self.tool_waiters.values():
            fut.cancel()
        self.tool_waiters.clear()

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
            await self._send_resumption_update()
        if cfg.send_unknown_frame:
            await self.send(p.unknown_frame())
        if cfg.send_garbage:
            await self.send(p.GARBAGE_FRAME)
        self.lifetime_task = self.spawn_timer(
            self._lifetime(cfg.connection_lifetime_s - cfg.go_away_lead_s, cfg.go_away_lead_s)
        )
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

    async def _accept_setup(self, setup: p.Setup) -> bool:
        """Check key, model and resumption handle; close and return False if refused."""
        srv = self.server
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
        if not srv._model_known(model):
            await self.close(p.CLOSE_POLICY, p.model_not_found_reason(model, self.info.api_version))
            return False
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
            conv = _Conversation(id=secrets.token_hex(8), started_at=time.monotonic())
        conv.connection = self
        self.conv = conv
        self.setup = setup
        self.info.session_id = conv.id
        self.vad = voice.EnergyVad(
            threshold=srv.config.vad_threshold, silence_s=srv.config.vad_silence_s
        )
        if conv.video_seen:
            self._start_av_limit()
        log.info(
            "conn %d: setup ok (resumed=%s, tools=%d)",
            self.info.id,
            self.info.resumed,
            len(setup.tools),
        )
        return True

    async def _send_resumption_update(self) -> None:
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
        srv, stats = self.server, self.server.stats
        assert self.setup is not None and self.conv is not None
        if isinstance(event, p.Setup):
            await self.close(
                p.CLOSE_INVALID, "Request contains an invalid argument: setup was already received."
            )
            raise _Closed
        if isinstance(event, p.AudioIn):
            stats.audio_chunks_received += 1
            stats.audio_bytes_received += len(event.pcm)
            self.info.audio_bytes += len(event.pcm)
            if self.setup.manual_activity:
                if self.manual_active and len(self.manual_audio) < 60 * event.rate * 2:
                    self.manual_rate = event.rate
                    self.manual_audio.extend(event.pcm)
                return
            self.vad.threshold = srv.config.vad_threshold
            self.vad.silence_s = srv.config.vad_silence_s
            for vad_event in self.vad.feed(event.pcm, event.rate):
                if isinstance(vad_event, voice.SpeechStarted):
                    await self._barge_in()
                else:
                    await self._speech_turn(vad_event.pcm, vad_event.rate)
        elif isinstance(event, p.ImageIn):
            if event.source in ("video", "media"):
                stats.video_frames_received += 1
                self.info.video_frames += 1
                stats.last_jpeg = event.data
                if not self.conv.video_seen:
                    self.conv.video_seen = True
                    self._start_av_limit()
            else:
                srv._keep_image(event.data)
        elif isinstance(event, p.TextIn):
            stats.texts_received.append(event.text)
            await self._text_turn(event.text, images=0)
        elif isinstance(event, p.ActivityStart):
            stats.activity_starts += 1
            if not self.setup.manual_activity:
                await self.close(
                    p.CLOSE_INVALID,
                    "Explicit activity control is not supported when automatic activity detection is enabled.",
                )
                raise _Closed
            await self._barge_in()
            self.manual_active = True
            self.manual_audio.clear()
        elif isinstance(event, p.ActivityEnd):
            stats.activity_ends += 1
            if not self.setup.manual_activity:
                await self.close(
                    p.CLOSE_INVALID,
                    "Explicit activity control is not supported when automatic activity detection is enabled.",
                )
                raise _Closed
            if self.manual_active:
                self.manual_active = False
                await self._speech_turn(bytes(self.manual_audio), self.manual_rate)
                self.manual_audio.clear()
        elif isinstance(event, p.AudioStreamEnd):
            if not self.setup.manual_activity:
                for vad_event in self.vad.flush():
                    if isinstance(vad_event, voice.SpeechEnded):
                        await self._speech_turn(vad_event.pcm, vad_event.rate)
        elif isinstance(event, p.ClientContent):
            for image in event.images:
                srv._keep_image(image.data)
            stats.texts_received.extend(event.texts)
            self.pending_texts.extend(event.texts)
            self.pending_images += len(event.images)
            if event.turn_complete:
                text = " ".join(self.pending_texts)
                images = self.pending_images
                self.pending_texts, self.pending_images = [], 0
                if text or images:
                    await self._text_turn(text, images=images)
        elif isinstance(event, p.ToolResponse):
            for fr in event.responses:
                stats.tool_responses.append(fr.as_dict())
                for image in fr.images:
                    srv._keep_image(image.data)
                waiter = self.tool_waiters.get(fr.id or "")
                if waiter is not None and not waiter.done():
                    waiter.set_result(fr.response)
                else:
                    log.info(
                        "conn %d: tool response for an unknown or finished call ignored",
                        self.info.id,
                    )

    # ------------------------------------------------------------------ turns

    async def _speech_turn(self, pcm: bytes, rate: int) -> None:
        self.server.stats.speech_turns += 1
        await self._start_turn("speech", pcm=pcm, rate=rate)

    async def _text_turn(self, text: str, images: int) -> None:
        self.server.stats.text_turns += 1
        await self._start_turn("text", text=text, images=images)

    async def _start_turn(
        self, kind: str, *, text: str = "", pcm: bytes = b"", rate: int = 16000, images: int = 0
    ) -> None:
        assert self.conv is not None
        await self._barge_in()  # a new turn while replying interrupts the reply
        self.conv.turns += 1
        turn = script.UserTurn(
            kind="speech" if kind == "speech" else "text",
            number=self.conv.turns,
            text=text,
            pcm=pcm,
            rate=rate,
            images=images,
        )
        state = _ReplyState(turn=turn)
        self.reply_state = state
        self.reply_task = asyncio.create_task(self._reply(state))

    def _replying(self) -> bool:
        state = self.reply_state
        if state is None or state.finished_turn and time.monotonic() >= state.playing_until:
            return False
        return True

    async def _barge_in(self) -> None:
        """If a reply is generating or would still be playing, interrupt it."""
        state = self.reply_state
        if state is None or not self._replying():
            return
        self.reply_state = None
        pending_call_id = state.pending_call_id  # the reply task clears it when cancelled
        task, self.reply_task = self.reply_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, _Closed):
                await task
        srv = self.server
        if pending_call_id is not None:
            waiter = self.tool_waiters.pop(pending_call_id, None)
            if waiter is not None:
                waiter.cancel()
            await self.send(p.tool_call_cancellation_frame([pending_call_id]))
            srv.stats.tool_cancellations_sent.append(pending_call_id)
        await self.send(p.interrupted_frame())
        srv.stats.interrupted_sent += 1
        log.info("conn %d: turn interrupted after %d chunks", self.info.id, state.chunks_sent)
        if not state.finished_turn:
            await self._finish_turn(state)
        srv._bump()

    async def _finish_turn(self, state: _ReplyState) -> None:
        state.finished_turn = True
        turn = state.turn
        usage = p.TurnUsage(
            prompt_audio=voice.audio_tokens(len(turn.pcm), turn.rate),
            prompt_text=voice.text_tokens(turn.text) + state.tool_tokens,
            prompt_image=voice.IMAGE_TOKENS * turn.images,
            response_audio=voice.audio_tokens(state.audio_bytes_sent, voice.OUT_RATE)
            if state.audio_mode
            else 0,
            response_text=0 if state.audio_mode else voice.text_tokens(state.text_sent),
        )
        await self.send(p.turn_complete_frame(usage))
        stats = self.server.stats
        stats.turns_completed += 1
        self.info.turns_completed += 1
        stats.prompt_tokens_sent += usage.prompt
        stats.response_tokens_sent += usage.response
        if self.setup is not None and self.setup.resumption:
            await self._send_resumption_update()
        self.server._bump()

    async def _reply(self, state: _ReplyState) -> None:
        """Send one reply: input transcript, optional tool call, audio, completion."""
        try:
            await self._reply_inner(state)
        except _Closed:
            pass

    async def _reply_inner(self, state: _ReplyState) -> None:
        srv, cfg = self.server, self.server.config
        assert self.setup is not None
        turn = state.turn
        if self.setup.input_transcription:
            frags = script.input_transcript(turn)
            for i, frag in enumerate(frags):
                await self.send(
                    p.server_content_frame(input_text=frag, input_finished=i == len(frags) - 1)
                )
        outcome: script.ToolOutcome | None = None
        call = script.choose_tool_call(
            turn, {t.name: t.parameters for t in self.setup.tools}, srv._pop_queued_call()
        )
        if call is not None:
            name, args = call
            call_id = f"function-call-{next(srv._call_ids)}{secrets.randbelow(10**12):012d}"
            waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self.tool_waiters[call_id] = waiter
            state.pending_call_id = call_id
            await self.send(p.tool_call_frame([(call_id, name, args)]))
            srv.stats.tool_calls_sent.append({"id": call_id, "name": name, "args": args})
            srv._bump()
            response: dict[str, Any] | None
            try:
                response = await asyncio.wait_for(
                    asyncio.shield(waiter), cfg.tool_response_timeout_s
                )
            except TimeoutError:
                response = None
            finally:
                self.tool_waiters.pop(call_id, None)
                state.pending_call_id = None
            if response is not None:
                state.tool_tokens = voice.text_tokens(json.dumps(response, default=str))
            outcome = script.tool_outcome(name, response)
        plan = script.plan_reply(turn, outcome, cfg.min_reply_s, cfg.long_reply_s)
        if cfg.reply_delay_s > 0:
            await asyncio.sleep(cfg.reply_delay_s)
        state.audio_mode = (
            "AUDIO" in self.setup.response_modalities
            or "TEXT" not in self.setup.response_modalities
        )
        chunks = voice.split_chunks(plan.audio, cfg.chunk_ms)
        frags = voice.spread_text(plan.text, len(chunks))
        loop = asyncio.get_running_loop()
        start = loop.time()
        state.playing_until = time.monotonic() + plan.duration_s
        sent_s = 0.0
        for i, (chunk, frag) in enumerate(zip(chunks, frags, strict=True)):
            speed = cfg.speed
            if speed > 0:
                delay = start + sent_s / speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            last = i == len(chunks) - 1
            if state.audio_mode:
                out_text = frag if self.setup.output_transcription else None
                await self.send(
                    p.server_content_frame(
                        audio=chunk,
                        output_text=out_text,
                        output_finished=last and out_text is not None,
                    )
                )
                state.audio_bytes_sent += len(chunk)
                srv.stats.reply_audio_bytes_sent += len(chunk)
            elif frag:
                await self.send(p.text_part_frame(frag))
            if frag:
                state.text_sent += frag
            state.chunks_sent += 1
            srv.stats.reply_chunks_sent += 1
            sent_s += len(chunk) / 2 / voice.OUT_RATE
            drop_after = cfg.drop_after_reply_chunks
            if drop_after is not None and state.chunks_sent >= drop_after:
                cfg.drop_after_reply_chunks = None  # once
                self.abort()
                raise _Closed
        await self.send(p.generation_complete_frame())
        await self._finish_turn(state)
        log.info(
            "conn %d: turn done (%d chunks, %.1f s audio)",
            self.info.id,
            state.chunks_sent,
            plan.duration_s,
        )


@dataclass
class _ReplyState:
    turn: script.UserTurn
    pending_call_id: str | None = None
    chunks_sent: int = 0
    audio_bytes_sent: int = 0
    text_sent: str = ""
    tool_tokens: int = 0
    audio_mode: bool = True
    finished_turn: bool = False
    playing_until: float = float("inf")  # until the first chunk, "replying" means generating


class _Uvicorn(uvicorn.Server):
    """uvicorn without signal handling (the host process owns signals), with a started event."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.started_event = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        self.started_event.set()

    async def shutdown(self, sockets: Any = None) -> None:
        # An idle keep-alive HTTPS connection (the SDK's httpx pool) would otherwise hold the
        # shutdown for the whole graceful timeout, waiting for the peer's TLS close_notify.
        for proto in list(self.server_state.connections):
            cycle = getattr(proto, "cycle", False)
            if cycle is None or getattr(cycle, "response_complete", False):
                transport = getattr(proto, "transport", None)
                if transport is not None:
                    transport.abort()
        await super().shutdown(sockets=sockets)


class FakeLiveServer:
    """A protocol-faithful local Gemini Live server (TLS WebSocket + REST on one port).

    ``async with FakeLiveServer(api_key="k") as srv:`` starts it on 127.0.0.1 and a free port;
    point the real SDK at it with ``srv.client()`` or ``srv.http_options()``. ``start()`` /
    ``stop()`` do the same explicitly; ``start_in_thread()`` / ``stop_thread()`` run it on a
    private event loop for callers without one.
    """

    def __init__(
        self,
        api_key: str | None = None,
        config: FakeLiveConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        cert_dir: str | Path | None = None,
    ) -> None:
        self.api_key = api_key or secrets.token_urlsafe(24)
        self.config = config or FakeLiveConfig()
        self.host = host
        self.port = port
        self.stats = FakeLiveStats()
        self._cert_dir_arg = Path(cert_dir) if cert_dir is not None else None
        self._tmpdir: Path | None = None
        self._tls: TlsFiles | None = None
        self._uvicorn: _Uvicorn | None = None
        self._serve_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connections: dict[int, _Connection] = {}
        self._conn_ids = itertools.count(1)
        self._call_ids = itertools.count(1)
        self._handles: dict[str, _Conversation] = {}
        self._queued_calls: collections.deque[tuple[str, dict[str, Any]]] = collections.deque(
            maxlen=64
        )
        self._tick = asyncio.Event()
        self._background_tasks: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self._thread_stop: asyncio.Event | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``https://HOST:PORT`` (valid once started)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def ca_cert(self) -> str:
        """Absolute path of the CA certificate (PEM) that clients must trust."""
        if self._tls is None:
            raise RuntimeError("FakeLiveServer is not started")
        return str(self._tls.ca_cert)

    async def start(self) -> FakeLiveServer:
        """Generate TLS files, bind, and serve in a task of the running loop."""
        if self._serve_task is not None:
            raise RuntimeError("FakeLiveServer already started")
        self._loop = asyncio.get_running_loop()
        self._tick = asyncio.Event()
        if self._cert_dir_arg is not None:
            cert_dir = self._cert_dir_arg
        else:
            self._tmpdir = Path(tempfile.mkdtemp(prefix="fakelive-"))
            cert_dir = self._tmpdir
        self._tls = await asyncio.to_thread(make_tls_files, cert_dir.resolve(), (self.host,))
        config = uvicorn.Config(
            self._asgi,
            host=self.host,
            port=self.port,
            ssl_certfile=str(self._tls.cert),
            ssl_keyfile=str(self._tls.key),
            ws="websockets-sansio",
            http="h11",
            lifespan="off",
            interface="asgi3",
            proxy_headers=False,
            server_header=False,
            date_header=True,
            access_log=False,
            log_config=None,
            log_level="warning",
            ws_max_size=16 * 1024 * 1024,
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            timeout_graceful_shutdown=2,
        )
        self._uvicorn = _Uvicorn(config)
        self._serve_task = asyncio.create_task(self._uvicorn.serve())
        started = asyncio.create_task(self._uvicorn.started_event.wait())
        done, _ = await asyncio.wait(
            {self._serve_task, started}, return_when=asyncio.FIRST_COMPLETED
        )
        if started not in done:
            started.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await started
            exc = self._serve_task.exception() if not self._serve_task.cancelled() else None
            self._serve_task = None
            self._cleanup_files()
            raise RuntimeError(f"fakelive could not start on {self.host}:{self.port}") from exc
        sock = self._uvicorn.servers[0].sockets[0]
        self.port = sock.getsockname()[1]
        log.info("fakelive listening on %s", self.url)
        return self

    async def stop(self) -> None:
        """Close every connection (1001), stop serving, delete the TLS files."""
        if self._serve_task is None or self._uvicorn is None:
            return
        for conn in list(self._connections.values()):
            await conn.close(1001, "Server shutting down.")
        for task in list(self._background_tasks):
            task.cancel()
        for task in list(self._background_tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._uvicorn.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, SystemExit, Exception):
            await self._serve_task
        self._serve_task = None
        self._cleanup_files()
        log.info("fakelive stopped")

    def _cleanup_files(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    async def __aenter__(self) -> FakeLiveServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def start_in_thread(self, timeout: float = 30.0) -> FakeLiveServer:
        """Run the server on its own event loop in a daemon thread; return once it listens."""
        ready = threading.Event()
        errors: list[BaseException] = []

        async def main() -> None:
            self._thread_stop = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            try:
                await self._thread_stop.wait()
            finally:
                await self.stop()

        self._thread = threading.Thread(
            target=asyncio.run, args=(main(),), name="fakelive", daemon=True
        )
        self._thread.start()
        if not ready.wait(timeout):
            raise TimeoutError("fakelive did not start in time")
        if errors:
            raise errors[0]
        return self

    def stop_thread(self, timeout: float = 10.0) -> None:
        """Stop a server started with :meth:`start_in_thread` and join its thread."""
        if self._thread is None or self._loop is None or self._thread_stop is None:
            return
        self._loop.call_soon_threadsafe(self._thread_stop.set)
        self._thread.join(timeout)
        self._thread = None

    # ------------------------------------------------------------------ client helpers

    def http_options(self, api_version: str = "v1beta", **async_client_args: Any) -> Any:
        """``types.HttpOptions`` pointing the SDK (Live and REST) at this server.

        The CA is passed as ``ssl`` (used by the Live WebSocket) and ``verify`` (used by the
        SDK's httpx REST client, which ignores ``ssl``).
        """
        import ssl

        from google.genai import types

        ctx = ssl.create_default_context(cafile=self.ca_cert)
        args: dict[str, Any] = {"ssl": ctx, "verify": ctx, **async_client_args}
        return types.HttpOptions(base_url=self.url, api_version=api_version, async_client_args=args)

    def client(self, api_key: str | None = None, **http_kwargs: Any) -> Any:
        """A ``genai.Client`` for this server (with this server's key unless ``api_key``)."""
        from google import genai

        return genai.Client(
            api_key=api_key or self.api_key, http_options=self.http_options(**http_kwargs)
        )

    # ------------------------------------------------------------------ test and fault hooks

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until ``predicate()`` is true (re-checked whenever server state changes)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not predicate():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("fakelive: condition not reached in time")
            tick = self._tick
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(tick.wait(), remaining)

    def queue_tool_call(self, name: str, args: dict[str, Any] | None = None) -> None:
        """Make the next user turn (speech or text, any connection) call tool ``name``."""
        self._call_soon(lambda: self._queued_calls.append((name, dict(args or {}))))

    def drop_connections(self) -> None:
        """Abort the TCP transport of every open socket now (no close frame: client sees 1006)."""
        self._call_soon(lambda: [c.abort() for c in list(self._connections.values())])

    def close_connections(
        self, code: int = 1011, reason: str = "Internal error encountered."
    ) -> None:
        """Close every open socket with ``code`` and ``reason``."""

        def _do() -> None:
            for conn in list(self._connections.values()):
                self._spawn(conn.close(code, reason))

        self._call_soon(_do)

    def send_go_away(self, time_left_s: float) -> None:
        """Send goAway(time_left_s) to every live connection now; close each at that deadline."""

        def _do() -> None:
            for conn in list(self._connections.values()):
                if conn.info.setup_done and not conn.closed:
                    conn.restart_lifetime(0.0, time_left_s)

        self._call_soon(_do)

    # ------------------------------------------------------------------ internals

    def _call_soon(self, fn: Callable[[], Any]) -> None:
        loop = self._loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if loop is None or running is loop:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_tasks.discard)

    def _bump(self) -> None:
        self._tick.set()
        self._tick = asyncio.Event()

    def _pop_queued_call(self) -> tuple[str, dict[str, Any]] | None:
        return self._queued_calls.popleft() if self._queued_calls else None

    def _model_known(self, model: str) -> bool:
        cfg = self.config
        return model in cfg.known_models or any(
            model.startswith(pfx) for pfx in cfg.known_model_prefixes
        )

    def _keep_image(self, data: bytes) -> None:
        self.stats.images.append(data)
        extra = len(self.stats.images) - self.config.max_images_kept
        if extra > 0:
            del self.stats.images[:extra]

    def _transport_for(self, scope: dict[str, Any], receive: Any) -> Callable[[], Any]:
        def getter() -> Any:
            # uvicorn keeps its protocol objects (which own the TCP transport) in server_state.
            if self._uvicorn is not None:
                for proto in list(self._uvicorn.server_state.connections):
                    if getattr(proto, "scope", None) is scope:
                        return getattr(proto, "transport", None)
            owner = getattr(receive, "__self__", None)
            return getattr(owner, "transport", None)

        return getter

    async def _asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _websocket(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        ws = WebSocket(scope, receive, send)
        match = WS_PATH.match(scope.get("path", ""))
        if match is None:
            await ws.close(1008, "Not found.")  # before accept: uvicorn answers HTTP 403
            return
        await ws.accept()
        info = ConnectionInfo(
            id=next(self._conn_ids), opened_at=time.monotonic(), api_version=match.group(1)
        )
        self.stats.connections_opened += 1
        self.stats.connections.append(info)
        conn = _Connection(self, ws, info, self._transport_for(scope, receive))
        self._connections[info.id] = conn
        log.info("conn %d: opened (%s)", info.id, info.api_version)
        self._bump()
        try:
            await conn.run()
        except _Closed:
            pass
        except Exception as exc:
            # Type only: exception text can carry a user's words.
            log.error("conn %d: internal error (%s)", info.id, type(exc).__name__)
            await conn.close(p.CLOSE_INTERNAL, "Internal error encountered.")
        finally:
            await conn.shutdown_tasks()
            if conn.conv is not None and conn.conv.connection is conn:
                conn.conv.connection = None
            conn.closed = True
            self._connections.pop(info.id, None)
            info.closed_at = time.monotonic()
            log.info(
                "conn %d: ended (code=%s by %s, %.1f s, %d audio bytes in)",
                info.id,
                info.close_code,
                info.close_by,
                info.closed_at - info.opened_at,
                info.audio_bytes,
            )
            self._bump()

    # ------------------------------------------------------------------ REST

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        request = Request(scope, receive)
        response = await self._rest(request)
        await response(scope, receive, send)

    @staticmethod
    def _rest_error(status: int, message: str, code_name: str) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": status, "message": message, "status": code_name}}, status_code=status
        )

    async def _rest(self, request: Request) -> JSONResponse:
        match = REST_PATH.match(request.url.path)
        if match is None or request.method != "POST":
            return self._rest_error(404, "Requested entity was not found.", "NOT_FOUND")
        version, model = match.group(1), match.group(2)
        self.stats.rest_requests += 1
        self._bump()
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not key:
            return self._rest_error(403, p.REASON_NO_KEY, "PERMISSION_DENIED")
        if not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return self._rest_error(400, p.REASON_BAD_KEY, "INVALID_ARGUMENT")
        cfg = self.config
        if cfg.rest_error_status is not None:
            if cfg.rest_error_count is None or cfg.rest_error_count > 0:
                status = cfg.rest_error_status or 500
                if cfg.rest_error_count is not None:
                    cfg.rest_error_count -= 1
                    if cfg.rest_error_count <= 0:
                        cfg.rest_error_status, cfg.rest_error_count = None, None
                log.info("rest: injected HTTP %d", status)
                return self._rest_error(
                    status,
                    "Offline demo: injected error (rest_error_status).",
                    _status_name(status),
                )
        known = cfg.rest_models
        if (known is None and not model.startswith("gemini-")) or (
            known is not None and model not in known
        ):
            return self._rest_error(
                404, p.model_not_found_reason(model, version, "generateContent"), "NOT_FOUND"
            )
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return self._rest_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
        if not isinstance(body, dict):
            return self._rest_error(400, "Invalid JSON payload received.", "INVALID_ARGUMENT")
        self.stats.last_rest_request = body
        return JSONResponse(self._rest_answer(body, model))

    def _rest_answer(self, body: dict[str, Any], model: str) -> dict[str, Any]:
        gen = body.get("generationConfig") or body.get("generation_config") or {}
        schema = (
            gen.get("responseJsonSchema")
            or gen.get("response_json_schema")
            or gen.get("responseSchema")
            or gen.get("response_schema")
        )
        user_turns, user_chars, images = _count_contents(body.get("contents"))
        summary = (
            f"Offline demo analysis: the conversation had {user_turns} user turn(s) with "
            f"{user_chars} characters of text and {images} image(s); no Gemini model was "
            "available, so this text was generated from the request shape only."
        )

        def make_string(path: str) -> str:
            # Short, honest, field-specific text: the page stays readable in the offline demo.
            name = (path.rsplit(".", 1)[-1] if path else "text").split("[", 1)[0]
            if name == "summary":
                return "Offline demo summary: " + summary.removeprefix("Offline demo analysis: ")
            if name in ("time", "due"):
                return "00:00"
            if name == "quote":
                return "(offline demo: nothing was transcribed)"
            label = name.replace("_", " ").strip() or "text"
            return f"Offline demo: Gemini would list {label} here."

        cfg = self.config
        if isinstance(schema, dict):
            if cfg.rest_bad_responses > 0:
                cfg.rest_bad_responses -= 1
                value: Any = schema_fill.violate(schema)
                log.info("rest: deliberately schema-violating answer")
            else:
                value = schema_fill.fill(schema, make_string)
            text = json.dumps(value, ensure_ascii=False)
        elif (
            str(gen.get("responseMimeType", gen.get("response_mime_type", "")))
            == "application/json"
        ):
            text = json.dumps({"text": summary})
        else:
            text = summary
        prompt_tokens = (
            voice.text_tokens(json.dumps(body.get("contents", []), default=str))
            + voice.IMAGE_TOKENS * images
        )
        response_tokens = voice.text_tokens(text)
        return {
            "candidates": [
                {
                    "content": {"role": "model", "parts": [{"text": text}]},
                    "finishReason": "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": response_tokens,
                "totalTokenCount": prompt_tokens + response_tokens,
            },
            "modelVersion": model,
            "responseId": secrets.token_urlsafe(12),
        }


def _status_name(status: int) -> str:
    return {
        400: "INVALID_ARGUMENT",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        499: "CANCELLED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
        504: "DEADLINE_EXCEEDED",
    }.get(status, "UNKNOWN")


def _count_contents(contents: Any) -> tuple[int, int, int]:
    """(user turns, characters of user text, images) in a generateContent ``contents`` list."""
    turns = chars = images = 0
    if isinstance(contents, dict):
        contents = [contents]
    if isinstance(contents, str):
        return 1, len(contents), 0
    for content in contents or []:
        if not isinstance(content, dict) or content.get("role", "user") != "user":
            continue
        turns += 1
        for part in content.get("parts", []) or []:
            if isinstance(part, dict):
                if isinstance(part.get("text"), str):
                    chars += len(part["text"])
                blob = part.get("inlineData") or part.get("inline_data")
                if isinstance(blob, dict) and str(
                    blob.get("mimeType", blob.get("mime_type", ""))
                ).startswith("image/"):
                    images += 1
    return turns, chars, images
