"""One Live WebSocket connection of the local server: setup, the receive loop, replies.

Logs carry connection ids, sizes and durations only: never keys, transcripts or images.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.websockets import WebSocket

from . import protocol as p
from . import script, voice
from .config import ConnectionInfo

if TYPE_CHECKING:
    from .server import FakeLiveServer

log = logging.getLogger("googlive.fakelive")


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
