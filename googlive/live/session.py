"""LiveSession: one logical Gemini Live conversation that outlives its connections.

The session owns a main task that connects with `client.aio.live.connect`, runs a sender and a
receiver while the connection lasts, and on a recoverable failure or a `goAway` reconnects,
resuming with the latest session-resumption handle. Only I/O lives here: what each server
message means is `googlive.live.protocol.LiveProtocol` (pure), what the model family accepts is
`googlive.live.models`, when the mic stream paused is `googlive.live.audioend`. Everything the rest of
the app needs comes out of `events()` as the typed events of `googlive.live.events`; everything it
sends goes through an outbox that keeps (bounded) what arrives while the connection is being
replaced.

Size: over 400 lines: the session's I/O (connect, send loop, receive loop, reconnect) around the
pure core in protocol.py, outbox.py, eventqueue.py and retry.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from google import genai
from google.genai import types

from googlive.live import models
from googlive.live.audioend import AudioStreamEnd
from googlive.live.eventqueue import EventQueue
from googlive.live.events import (
    Interrupted,
    LiveEvent,
    SessionError,
    SessionState,
    StateChanged,
    ToolCall,
    TurnComplete,
    Usage,
)
from googlive.live.outbox import Out, Outbox
from googlive.live.protocol import LiveProtocol
from googlive.live.retry import Failure, classify
from googlive.live.setup import LiveConfig, connect_config
from googlive.tasks import reap

log = logging.getLogger(__name__)

__all__ = ["LiveConfig", "LiveSession", "LiveStats"]


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

AUDIO_MIME = "audio/pcm;rate=16000"


def realtime_audio_message(pcm16k: bytes) -> str:
    """The realtimeInput message google-genai's `send_realtime_input(audio=Blob(...))` writes
    for the Gemini API (not Vertex), built directly: the SDK validates a pydantic model, runs
    its converters and walks the dict for every 40 ms chunk (~140 us against ~3 us here).
    tests/test_live_session.py checks it is byte-for-byte what the SDK sends."""
    data = base64.urlsafe_b64encode(pcm16k).decode("ascii")  # as the SDK encodes bytes
    return (
        '{"realtime_input": {"audio": {"data": "' + data + '", "mimeType": "' + AUDIO_MIME + '"}}}'
    )


def _direct_socket(session: Any) -> Any:
    """The session's websocket when the direct audio write applies (Gemini API), else None."""
    ws = getattr(session, "_ws", None)
    api = getattr(session, "_api_client", None)
    if ws is None or api is None or getattr(api, "vertexai", True):
        return None
    return ws


_CLOSED = object()
MAX_TRACKED_CALLS = 256


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
    tool_results_as_text: int = 0  # answers to calls of an earlier connection
    images_sent: int = 0
    audio_stream_ends: int = 0
    usage: Usage = field(default_factory=Usage)
    uplink_lag_s: list[float] = field(default_factory=list)  # enqueue -> written, last N
    failures: list[str] = field(default_factory=list)
    events_dropped: Counter[str] = field(default_factory=Counter)  # by event type, queue full


class LiveSession:
    """A Gemini Live conversation across reconnects. Use as `async with` or start()/close()."""

    def __init__(self, client: genai.Client, config: LiveConfig) -> None:
        self._client = client
        self.config = config
        self.stats = LiveStats()
        self.state = SessionState.CLOSED
        self.choices = config.choices or models.choices_for(config.model)
        self._proto = LiveProtocol(go_away_margin_s=config.go_away_margin_s)
        self._mic = AudioStreamEnd(config.audio_stream_end_after_s or 0.0)
        # Bounded; a stalled consumer drops model audio first, never a tool call or a final
        # line (googlive/live/eventqueue.py), and the drops are counted in stats.events_dropped.
        self._events = EventQueue(config.event_queue_size)
        self.stats.events_dropped = self._events.dropped
        self._outbox = Outbox(int(config.max_pending_audio_s * 32000))
        self._outbox_ready = asyncio.Event()
        self._main: asyncio.Task[None] | None = None
        self._closing = False
        self._restart = asyncio.Event()
        self._session: Any = None
        self._connected = asyncio.Event()
        self._turn_ended = asyncio.Event()
        self._calls: OrderedDict[str, int] = OrderedDict()  # call id -> connection number

    @property
    def handle(self) -> str | None:
        """The newest session-resumption handle (None before the first, or after a refusal)."""
        return self._proto.handle

    @property
    def turn(self) -> int:
        """The number of the turn that content arriving now belongs to."""
        return self._proto.turn

    @property
    def running(self) -> bool:
        """The connect/retry loop still runs: False once it gave up (a fatal error, retries
        exhausted) or was closed, after which no connection is ever tried again."""
        return self._main is not None and not self._main.done()

    @property
    def turn_open(self) -> bool:
        """Content of the current turn arrived and the turn has not ended yet."""
        return self._proto.turn_open

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
            me_cancelled = await reap(task)
            self._set_state(SessionState.CLOSED, reason=reason)
            self._put_nowait(_CLOSED)
            if me_cancelled:
                raise asyncio.CancelledError

    async def wait_live(self, timeout: float | None = None) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await self._connected.wait()
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
        now = time.perf_counter()
        self._mic.on_frame(now)
        self._outbox.audio(pcm16k, now)
        self.stats.audio_dropped_bytes = self._outbox.audio_dropped_bytes
        self._outbox_ready.set()

    def send_video(self, jpeg: bytes) -> None:
        """Queue a webcam JPEG; only the newest pending frame is kept (and, right after a
        still, it waits behind the tool's answer: googlive/live/outbox.py)."""
        self._outbox.video(jpeg, time.perf_counter())
        self.stats.video_dropped = self._outbox.video_dropped
        self._outbox_ready.set()

    def send_image(self, jpeg: bytes) -> None:
        """Queue a still image (e.g. take_picture) for the model; never dropped. It goes in the
        way this model family takes it (`choices`): client content at the still's own detail
        where the family accepts client content mid-session, else a realtime video frame."""
        self._outbox.still(jpeg, time.perf_counter())
        self._outbox_ready.set()

    def send_text(self, text: str) -> None:
        self._queue("text", text)

    def send_tool_response(
        self,
        call_id: str,
        name: str,
        response: dict[str, Any],
        scheduling: types.FunctionResponseScheduling | None = None,
    ) -> None:
        """Queue a tool response; kept across reconnects and sent after resume. `scheduling`
        (how a NON_BLOCKING call's answer enters the conversation) is sent only to a family
        that runs calls non-blocking (googlive.live.models.scheduling_for)."""
        sched = models.scheduling_for(self.config.model, scheduling)
        fr = types.FunctionResponse(id=call_id, name=name, response=response, scheduling=sched)
        self._outbox.tool(fr, time.perf_counter())
        self._outbox_ready.set()

    def activity_start(self) -> None:
        self._queue("activity_start")

    def activity_end(self) -> None:
        self._queue("activity_end")

    def _queue(self, kind: str, payload: Any = None) -> None:
        self._outbox.other(kind, payload, time.perf_counter())
        self._outbox_ready.set()

    # ---- connection loop -------------------------------------------------------------------
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
                    for ev in self._proto.connection_lost():
                        await self._put(ev)
                if self._closing:
                    break
                if failure is None:  # planned restart (goAway): resume at once
                    attempt = 0
                    continue
                self.stats.failures.append(failure.message)
                if failure.resume_rejected:
                    self._proto.forget_handle()
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
        cm = self._client.aio.live.connect(
            model=self.config.model, config=connect_config(self.config, self.choices, self.handle)
        )
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
            self._mic.on_connected()
            self._connected.set()
            self._set_state(SessionState.LIVE)
            log.info("live connected n=%d resumed=%s", self.stats.connects, bool(self.handle))
            self._restart.clear()
            self._proto.restart_done()
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
                    # The setup was accepted: a close now (1008 included) is worth resuming.
                    return classify(exc, model=self.config.model, after_setup=True)
            return Failure(True, "The connection to Gemini ended; reconnecting.")
        finally:
            self._connected.clear()
            self._session = None
            for t in tasks:
                t.cancel()
            me_cancelled = await reap(*tasks)
            if session is not None:
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(5):
                        await cm.__aexit__(None, None, None)
            if me_cancelled:
                raise asyncio.CancelledError

    async def _send_loop(self, session: Any) -> None:
        while True:
            if not self._outbox:
                self._outbox_ready.clear()
                wait = self._audio_end_wait()
                if wait is not None and wait <= 0:
                    await session.send_realtime_input(audio_stream_end=True)
                    self._mic.on_sent()
                    self.stats.audio_stream_ends += 1
                    log.info("live audioStreamEnd after %.1fs without mic audio", self._mic.pause_s)
                    continue
                # asyncio.timeout, not wait_for: wait_for can lose a cancellation (gh-86296).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._outbox_ready.wait()
                continue
            item = self._outbox.head()
            assert item is not None
            await self._send_item(session, item)
            # Only remove once written: a failed send leaves it for the next connection.
            if self._outbox.pop(item) and item.kind == "audio":
                self._mic.on_written()
                lags = self.stats.uplink_lag_s
                lags.append(time.perf_counter() - item.queued_at)
                if len(lags) > 4096:
                    del lags[:2048]

    def _audio_end_wait(self) -> float | None:
        """Seconds until audioStreamEnd is due on this connection, or None (never with manual
        activity signals: the SDK says to send it only with automatic activity detection)."""
        if self.config.audio_stream_end_after_s is None or self.config.manual_activity:
            return None
        pending = self._outbox.audio_bytes > 0
        return self._mic.wait_s(time.perf_counter(), audio_pending=pending)

    async def _send_item(self, session: Any, item: Out) -> None:
        k = item.kind
        if k == "audio":
            ws = _direct_socket(session)
            if ws is not None:
                await ws.send(realtime_audio_message(item.payload))
            else:
                await session.send_realtime_input(
                    audio=types.Blob(data=item.payload, mime_type=AUDIO_MIME)
                )
            self.stats.audio_sent_bytes += len(item.payload)
        elif k == "video":
            await session.send_realtime_input(
                video=types.Blob(data=item.payload, mime_type="image/jpeg")
            )
            self.stats.video_sent += 1
        elif k == "image":
            await self._send_still(session, item.payload)
        elif k == "text":
            await session.send_realtime_input(text=item.payload)
        elif k == "tool":
            fr: types.FunctionResponse = item.payload
            issued_on = self._calls.pop(fr.id or "", None)
            if issued_on is not None and issued_on != self.stats.connects:
                await self._send_result_as_conversation(session, fr)
            else:
                await session.send_tool_response(function_responses=[fr])
            self.stats.tool_responses_sent += 1
        elif k == "activity_start":
            await session.send_realtime_input(activity_start=types.ActivityStart())
        elif k == "activity_end":
            await session.send_realtime_input(activity_end=types.ActivityEnd())

    async def _send_still(self, session: Any, jpeg: bytes) -> None:
        """A still for the model, in the way its family takes it (googlive.live.models):
        - client content (3.8, 2.5): in the context in order, before the tool response that
          follows it, whatever the turn coverage; `turn_complete=False` so it does not start a
          turn of its own or interrupt (3.8: "without turn_complete, the server waits for
          subsequent messages"), with a per-Part media_resolution where the family honours it
          (Gemini 3), at a higher detail than the LOW stream. google-genai 2.8 cannot carry
          image bytes in a FunctionResponse (`parts` with bytes: TypeError in json.dumps).
        - a realtime video frame (3.1, which closes the session with 1007 on client content
          after the start): counted because the setup asks for all video in the turn."""
        ch = self.choices
        if ch.still_via_client_content:
            part = types.Part(inline_data=types.Blob(data=jpeg, mime_type="image/jpeg"))
            if ch.still_part_resolution is not None:
                part.media_resolution = types.PartMediaResolution(level=ch.still_part_resolution)
            await session.send_client_content(
                turns=types.Content(role="user", parts=[part]), turn_complete=False
            )
        else:
            await session.send_realtime_input(video=types.Blob(data=jpeg, mime_type="image/jpeg"))
        self.stats.images_sent += 1

    async def _send_result_as_conversation(self, session: Any, fr: types.FunctionResponse) -> None:
        """The answer to a call an earlier connection issued. A resumed session "won't act on
        a FunctionResponse for a call it didn't issue" (pipecat-ai/pipecat PR 5497, verified
        on 2.5 and 3.1), so it goes in as conversation: client content where the family takes
        it mid-session (a SILENT answer without turn_complete: context only), else realtime
        text (3.1 closes with 1007 on client content)."""
        text = (
            f"(Result of your {fr.name} call {fr.id}, which was cut off when the connection was "
            f"renewed: {json.dumps(fr.response, ensure_ascii=False, default=str)})"
        )
        self.stats.tool_results_as_text += 1
        log.info(
            "live tool response id=%s sent as conversation (call of an earlier connection)",
            (fr.id or "")[:16],
        )
        if models.family_of(self.config.model).client_content_mid_session:
            silent = fr.scheduling is types.FunctionResponseScheduling.SILENT
            await session.send_client_content(
                turns=types.Content(role="user", parts=[types.Part(text=text)]),
                turn_complete=not silent,
            )
        else:
            await session.send_realtime_input(text=text)

    async def _receive_loop(self, session: Any) -> None:
        while True:
            # receive() ends after each turnComplete; the socket's end raises APIError.
            async for msg in session.receive():
                await self._handle(msg)

    async def _handle(self, msg: types.LiveServerMessage) -> None:
        proto = self._proto
        go_aways = proto.go_aways
        for ev in proto.feed(msg, time.perf_counter()):
            if isinstance(ev, (TurnComplete, Interrupted)):
                self._turn_ended.set()
            elif isinstance(ev, ToolCall):
                # Which connection issued it: an answer after a reconnect goes another way.
                self._calls[ev.id] = self.stats.connects
                while len(self._calls) > MAX_TRACKED_CALLS:
                    self._calls.popitem(last=False)
            await self._put(ev)
        self.stats.usage = proto.total
        if proto.go_aways != go_aways:
            self.stats.go_aways = proto.go_aways
            log.info("live goAway: moving before the deadline")
            # Resume on a fresh connection before the deadline; a turn in progress may finish
            # on this one until `go_away_margin_s` before it (see _wait_restart).
            self._restart.set()

    async def _wait_restart(self) -> None:
        """Return when this connection should be replaced after a goAway: at once, or once the
        turn in progress ends, but no later than the deadline minus the margin."""
        await self._restart.wait()
        while self.turn_open:
            left = (self._proto.go_away_by or 0.0) - time.perf_counter()
            if left <= 0:
                return
            self._turn_ended.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._turn_ended.wait()

    # ---- event plumbing --------------------------------------------------------------------
    async def _put(self, ev: LiveEvent) -> None:
        await self._events.put(ev)

    def _emit(self, ev: LiveEvent) -> None:
        self._put_nowait(ev)

    def _put_nowait(self, item: LiveEvent | object) -> None:
        self._events.put_nowait(item)

    def _set_state(self, state: SessionState, **kw: Any) -> None:
        self.state = state
        self._emit(StateChanged(state, **kw))
