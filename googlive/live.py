"""LiveSession: one logical Gemini Live conversation that outlives its connections.

The session owns a main task that connects with `client.aio.live.connect`, runs a sender and a
receiver while the connection lasts, and on a recoverable failure or a `goAway` reconnects,
resuming with the latest session-resumption handle. Everything the rest of the app needs comes
out of `events()` as the typed events of `googlive.events`; everything it sends goes through an
outbox that keeps (bounded) what arrives while the connection is being replaced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from google import genai
from google.genai import types

from googlive.events import (
    AudioOut,
    GoAway,
    Interrupted,
    LiveEvent,
    Role,
    SessionError,
    SessionState,
    StateChanged,
    ToolCall,
    ToolCallCancelled,
    TranscriptDelta,
    TurnComplete,
    Usage,
)
from googlive.retry import Backoff, Failure, classify, parse_duration

log = logging.getLogger(__name__)


def _redact_key_headers(record: logging.LogRecord) -> bool:
    """websockets logs handshake headers at DEBUG ('> %s: %s'), the API key among them."""
    args = record.args
    if (
        isinstance(args, tuple)
        and len(args) >= 2
        and str(args[0]).lower() in ("x-goog-api-key", "authorization")
    ):
        record.args = (args[0], "[redacted]", *args[2:])
    return True


logging.getLogger("websockets.client").addFilter(_redact_key_headers)

_CLOSED = object()


@dataclass(frozen=True)
class LiveConfig:
    model: str
    voice: str = "Puck"
    system_instruction: str | None = None
    tools: tuple[types.Tool, ...] = ()
    input_transcription: bool = True
    output_transcription: bool = True
    manual_activity: bool = False
    compression: bool = True
    compression_trigger_tokens: int = 100_000
    compression_target_tokens: int = 60_000
    setup_timeout_s: float = 10.0
    go_away_margin_s: float = 5.0
    backoff: Backoff = field(default_factory=Backoff)
    max_pending_audio_s: float = 5.0
    event_queue_size: int = 1024


@dataclass
class LiveStats:
    connects: int = 0
    reconnects: int = 0
    resumes: int = 0
    go_aways: int = 0
    audio_sent_bytes: int = 0
    audio_dropped_bytes: int = 0
    video_sent: int = 0
    video_dropped: int = 0
    tool_responses_sent: int = 0
    usage: Usage = field(default_factory=Usage)
    uplink_lag_s: list[float] = field(default_factory=list)  # enqueue -> written, last N
    failures: list[str] = field(default_factory=list)


@dataclass
class _Out:
    kind: str  # audio | video | text | image | tool | activity_start | activity_end | audio_end
    payload: Any = None
    queued_at: float = 0.0


class _TurnText:
    """Stitches transcript fragments into one line per role per turn."""

    def __init__(self) -> None:
        self.user = ""
        self.model = ""
        self.user_final = False

    def add(self, role: Role, text: str) -> str:
        if role is Role.USER:
            self.user += text
            return self.user
        self.model += text
        return self.model


class LiveSession:
    """A Gemini Live conversation across reconnects. Use as `async with` or start()/close()."""

    def __init__(self, client: genai.Client, config: LiveConfig) -> None:
        self._client = client
        self.config = config
        self.stats = LiveStats()
        self.state = SessionState.CLOSED
        self.handle: str | None = None
        self.turn = 0
        self._events: asyncio.Queue[LiveEvent | object] = asyncio.Queue(config.event_queue_size)
        self._outbox: deque[_Out] = deque()
        self._outbox_audio_bytes = 0
        self._outbox_ready = asyncio.Event()
        self._main: asyncio.Task[None] | None = None
        self._closing = False
        self._restart = asyncio.Event()
        self._text = _TurnText()
        self._session: Any = None
        self._connected = asyncio.Event()
        self._after_interrupt = False
        self._turn_open = False  # server content of the current turn has arrived
        self._turn_ended = asyncio.Event()
        self._go_away_by = 0.0  # after goAway: monotonic time to have moved by

    # ---- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> LiveSession:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start(self) -> None:
        if self._main is None:
            self._closing = False
            self._main = asyncio.create_task(self._run(), name="live-session")

    async def close(self, reason: str = "closed") -> None:
        """End the conversation: cancel and await every task. Idempotent."""
        self._closing = True
        task, self._main = self._main, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            self._set_state(SessionState.CLOSED, reason=reason)
            self._put_nowait(_CLOSED)

    async def wait_live(self, timeout: float | None = None) -> bool:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def events(self) -> AsyncIterator[LiveEvent]:
        """Yield events until the session is closed."""
        while True:
            item = await self._events.get()
            if item is _CLOSED:
                return
            yield item  # type: ignore[misc]

    def get_event_nowait(self) -> LiveEvent | None:
        try:
            item = self._events.get_nowait()
        except asyncio.QueueEmpty:
            return None
        if item is _CLOSED:
            self._put_nowait(_CLOSED)
            return None
        return item  # type: ignore[return-value]

    # ---- input -----------------------------------------------------------------------------
    def send_audio(self, pcm16k: bytes) -> None:
        """Queue 16 kHz PCM16 mono audio. While reconnecting, keeps the newest
        `max_pending_audio_s` and drops (and counts) the oldest."""
        if not pcm16k:
            return
        self._outbox.append(_Out("audio", pcm16k, time.perf_counter()))
        self._outbox_audio_bytes += len(pcm16k)
        limit = int(self.config.max_pending_audio_s * 32000)
        while self._outbox_audio_bytes > limit:
            if not self._drop_oldest_audio():
                break
        self._outbox_ready.set()

    def send_video(self, jpeg: bytes) -> None:
        """Queue a webcam JPEG; only the newest pending frame is kept."""
        for i, item in enumerate(self._outbox):
            if item.kind == "video":
                del self._outbox[i]
                self.stats.video_dropped += 1
                break
        self._outbox.append(_Out("video", jpeg, time.perf_counter()))
        self._outbox_ready.set()

    def send_image(self, jpeg: bytes) -> None:
        """Queue a still image (e.g. take_picture) for the model; never dropped."""
        self._queue("image", jpeg)

    def send_text(self, text: str) -> None:
        self._queue("text", text)

    def send_tool_response(self, call_id: str, name: str, response: dict[str, Any]) -> None:
        """Queue a tool response; kept across reconnects and sent after resume."""
        self._queue("tool", types.FunctionResponse(id=call_id, name=name, response=response))

    def activity_start(self) -> None:
        self._queue("activity_start")

    def activity_end(self) -> None:
        self._queue("activity_end")

    def _queue(self, kind: str, payload: Any = None) -> None:
        self._outbox.append(_Out(kind, payload, time.perf_counter()))
        self._outbox_ready.set()

    def _drop_oldest_audio(self) -> bool:
        for i, item in enumerate(self._outbox):
            if item.kind == "audio":
                del self._outbox[i]
                self._outbox_audio_bytes -= len(item.payload)
                self.stats.audio_dropped_bytes += len(item.payload)
                return True
        return False

    # ---- connection loop -------------------------------------------------------------------
    def _connect_config(self) -> types.LiveConnectConfig:
        c = self.config
        kw: dict[str, Any] = {
            "response_modalities": [types.Modality.AUDIO],
            "speech_config": types.SpeechConfig(
                voice_config=types.VoiceConfig(
                    prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=c.voice)
                )
            ),
            "session_resumption": types.SessionResumptionConfig(handle=self.handle),
        }
        if c.system_instruction:
            kw["system_instruction"] = types.Content(
                role="user", parts=[types.Part(text=c.system_instruction)]
            )
        if c.tools:
            kw["tools"] = list(c.tools)
        if c.input_transcription:
            kw["input_audio_transcription"] = types.AudioTranscriptionConfig()
        if c.output_transcription:
            kw["output_audio_transcription"] = types.AudioTranscriptionConfig()
        if c.manual_activity:
            kw["realtime_input_config"] = types.RealtimeInputConfig(
                automatic_activity_detection=types.AutomaticActivityDetection(disabled=True)
            )
        if c.compression:
            kw["context_window_compression"] = types.ContextWindowCompressionConfig(
                trigger_tokens=c.compression_trigger_tokens,
                sliding_window=types.SlidingWindow(target_tokens=c.compression_target_tokens),
            )
        return types.LiveConnectConfig(**kw)

    async def _run(self) -> None:
        attempt = 0
        try:
            while not self._closing:
                reconnecting = self.stats.connects > 0
                self._set_state(
                    SessionState.RECONNECTING if reconnecting else SessionState.CONNECTING,
                    attempt=attempt,
                )
                started = time.monotonic()
                failure = await self._connect_once()
                if not self._closing:
                    await self._abandon_turn()
                if self._closing:
                    break
                if failure is None:  # planned restart (goAway): resume at once
                    attempt = 0
                    continue
                self.stats.failures.append(failure.message)
                if failure.resume_rejected:
                    self.handle = None
                if not failure.recoverable:
                    self._emit(SessionError(failure.message, False, failure.code))
                    self._set_state(SessionState.CLOSED, reason=failure.message)
                    break
                if time.monotonic() - started >= self.config.backoff.stable_s:
                    attempt = 0
                attempt += 1
                if self.config.backoff.exhausted(attempt):
                    msg = f"Could not reconnect to Gemini after {attempt - 1} attempts. {failure.message}"
                    self._emit(SessionError(msg, False, failure.code))
                    self._set_state(SessionState.CLOSED, reason=msg)
                    break
                delay = 0.0 if failure.resume_rejected else self.config.backoff.delay(attempt)
                self._emit(SessionError(failure.message, True, failure.code))
                self._set_state(
                    SessionState.RECONNECTING,
                    attempt=attempt,
                    delay_s=delay,
                    reason=failure.message,
                )
                log.info(
                    "live reconnect attempt=%d delay=%.2fs code=%s", attempt, delay, failure.code
                )
                await asyncio.sleep(delay)
        finally:
            self._connected.clear()
            if not self._closing:
                self._put_nowait(_CLOSED)

    async def _connect_once(self) -> Failure | None:
        """One connection's life. Returns None for a planned restart, else the failure."""
        cm = self._client.aio.live.connect(model=self.config.model, config=self._connect_config())
        session = None
        tasks: list[asyncio.Task[Any]] = []
        try:
            try:
                async with asyncio.timeout(self.config.setup_timeout_s):
                    session = await cm.__aenter__()
            except BaseException as e:
                if isinstance(e, asyncio.CancelledError):
                    raise
                return classify(e, model=self.config.model)
            self.stats.connects += 1
            if self.stats.connects > 1:
                self.stats.reconnects += 1
                if self.handle:
                    self.stats.resumes += 1
            self._session = session
            self._connected.set()
            self._set_state(SessionState.LIVE)
            log.info("live connected n=%d resumed=%s", self.stats.connects, bool(self.handle))
            self._restart.clear()
            recv = asyncio.create_task(self._receive_loop(session), name="live-recv")
            send = asyncio.create_task(self._send_loop(session), name="live-send")
            restart = asyncio.create_task(self._wait_restart(), name="live-restart")
            tasks = [recv, send, restart]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if restart in done:
                return None
            for t in done:
                exc = t.exception()
                if exc is not None:
                    return classify(exc, model=self.config.model)
            return Failure(True, "The connection to Gemini ended; reconnecting.")
        finally:
            self._connected.clear()
            self._session = None
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
            if session is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(cm.__aexit__(None, None, None), 5)

    async def _send_loop(self, session: Any) -> None:
        while True:
            if not self._outbox:
                self._outbox_ready.clear()
                await self._outbox_ready.wait()
                continue
            item = self._outbox[0]
            await self._send_item(session, item)
            # Only remove once written: a failed send leaves it for the next connection.
            if self._outbox and self._outbox[0] is item:
                self._outbox.popleft()
                if item.kind == "audio":
                    self._outbox_audio_bytes -= len(item.payload)
                    lag = time.perf_counter() - item.queued_at
                    lags = self.stats.uplink_lag_s
                    lags.append(lag)
                    if len(lags) > 4096:
                        del lags[:2048]

    async def _send_item(self, session: Any, item: _Out) -> None:
        k = item.kind
        if k == "audio":
            await session.send_realtime_input(
                audio=types.Blob(data=item.payload, mime_type="audio/pcm;rate=16000")
            )
            self.stats.audio_sent_bytes += len(item.payload)
        elif k == "video":
            await session.send_realtime_input(
                video=types.Blob(data=item.payload, mime_type="image/jpeg")
            )
            self.stats.video_sent += 1
        elif k == "image":
            await session.send_realtime_input(
                video=types.Blob(data=item.payload, mime_type="image/jpeg")
            )
        elif k == "text":
            await session.send_realtime_input(text=item.payload)
        elif k == "tool":
            await session.send_tool_response(function_responses=[item.payload])
            self.stats.tool_responses_sent += 1
        elif k == "activity_start":
            await session.send_realtime_input(activity_start=types.ActivityStart())
        elif k == "activity_end":
            await session.send_realtime_input(activity_end=types.ActivityEnd())

    async def _receive_loop(self, session: Any) -> None:
        while True:
            # receive() ends after each turnComplete; the socket's end raises APIError.
            async for msg in session.receive():
                await self._handle(msg)

    async def _handle(self, msg: types.LiveServerMessage) -> None:
        now = time.perf_counter()
        sc = msg.server_content
        if sc is not None:
            if sc.input_transcription or sc.model_turn or sc.output_transcription:
                self._turn_open = True
            if self._after_interrupt and (
                sc.input_transcription or sc.model_turn or sc.output_transcription
            ):
                self._after_interrupt = False
            if sc.input_transcription and sc.input_transcription.text:
                line = self._text.add(Role.USER, sc.input_transcription.text)
                await self._put(
                    TranscriptDelta(Role.USER, sc.input_transcription.text, line, self.turn)
                )
            if sc.model_turn and sc.model_turn.parts:
                for part in sc.model_turn.parts:
                    blob = part.inline_data
                    if blob and blob.data and (blob.mime_type or "").startswith("audio/"):
                        rate = _rate_of(blob.mime_type or "", 24000)
                        await self._put(AudioOut(blob.data, rate, self.turn, now))
            if sc.output_transcription and sc.output_transcription.text:
                await self._finish_user_line()
                line = self._text.add(Role.MODEL, sc.output_transcription.text)
                await self._put(
                    TranscriptDelta(Role.MODEL, sc.output_transcription.text, line, self.turn)
                )
            if sc.interrupted:
                turn = self.turn
                await self._end_turn()
                self._after_interrupt = True
                await self._put(Interrupted(turn))
            if sc.turn_complete:
                usage = _usage(msg.usage_metadata)
                if usage is not None:
                    self.stats.usage = self.stats.usage + usage
                if self._after_interrupt:
                    # The turnComplete that closes an interrupted turn: it was ended already.
                    self._after_interrupt = False
                    await self._put(TurnComplete(self.turn - 1, usage))
                else:
                    turn = self.turn
                    await self._end_turn()
                    await self._put(TurnComplete(turn, usage))
        elif msg.usage_metadata is not None:
            usage = _usage(msg.usage_metadata)
            if usage is not None:
                self.stats.usage = self.stats.usage + usage
        if msg.tool_call and msg.tool_call.function_calls:
            for fc in msg.tool_call.function_calls:
                await self._put(ToolCall(fc.id or "", fc.name or "", dict(fc.args or {})))
        if msg.tool_call_cancellation and msg.tool_call_cancellation.ids:
            await self._put(ToolCallCancelled(tuple(msg.tool_call_cancellation.ids)))
        if msg.session_resumption_update is not None:
            upd = msg.session_resumption_update
            if upd.resumable and upd.new_handle:
                self.handle = upd.new_handle
        if msg.go_away is not None:
            self.stats.go_aways += 1
            left = parse_duration(msg.go_away.time_left) or 0.0
            await self._put(GoAway(left))
            log.info("live goAway time_left=%.1fs", left)
            # Resume on a fresh connection before the deadline; a turn in progress may finish
            # on this one until `go_away_margin_s` before it (see _wait_restart).
            self._go_away_by = time.monotonic() + left - self.config.go_away_margin_s
            self._restart.set()

    async def _finish_user_line(self) -> None:
        if self._text.user and not self._text.user_final:
            self._text.user_final = True
            await self._put(TranscriptDelta(Role.USER, "", self._text.user, self.turn, final=True))

    async def _end_turn(self) -> None:
        await self._finish_user_line()
        if self._text.model:
            await self._put(
                TranscriptDelta(Role.MODEL, "", self._text.model, self.turn, final=True)
            )
        self._text = _TurnText()
        self._turn_open = False
        self._turn_ended.set()
        self.turn += 1

    async def _wait_restart(self) -> None:
        """Return when this connection should be replaced after a goAway: at once, or once the
        turn in progress ends, but no later than the deadline minus the margin."""
        await self._restart.wait()
        while self._turn_open:
            left = self._go_away_by - time.monotonic()
            if left <= 0:
                return
            self._turn_ended.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._turn_ended.wait(), left)

    async def _abandon_turn(self) -> None:
        """A connection ended mid-turn: the server does not finish that turn on the next one, so
        close its lines now and number the next reply as a new turn (else the next reply's
        transcript is glued onto the cut one, and a barge-in cut of this turn mutes it)."""
        self._after_interrupt = False
        if self._turn_open:
            turn = self.turn
            await self._end_turn()
            await self._put(TurnComplete(turn, None))

    # ---- event plumbing --------------------------------------------------------------------
    async def _put(self, ev: LiveEvent) -> None:
        await self._events.put(ev)

    def _emit(self, ev: LiveEvent) -> None:
        self._put_nowait(ev)

    def _put_nowait(self, item: LiveEvent | object) -> None:
        try:
            self._events.put_nowait(item)
        except asyncio.QueueFull:
            # Control events must not be lost: make room by dropping the oldest item.
            with contextlib.suppress(asyncio.QueueEmpty):
                self._events.get_nowait()
            self._events.put_nowait(item)

    def _set_state(self, state: SessionState, **kw: Any) -> None:
        self.state = state
        self._emit(StateChanged(state, **kw))


def _rate_of(mime: str, default: int) -> int:
    for part in mime.split(";"):
        part = part.strip()
        if part.startswith("rate="):
            try:
                return int(part[5:])
            except ValueError:
                return default
    return default


def _usage(meta: types.UsageMetadata | None) -> Usage | None:
    if meta is None:
        return None
    return Usage(
        meta.prompt_token_count or 0,
        meta.response_token_count or 0,
        meta.total_token_count or 0,
    )
