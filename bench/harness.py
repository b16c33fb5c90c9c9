"""Shared pieces for the handler-level figures: the demo baseline handler, a peer that knows
which turn every frame it plays belongs to, and helpers.

`DemoBaselineHandler` reproduces the FastRTC Gemini demo's output behaviour on top of the same
session code: every reply chunk goes straight into an unbounded queue (split into 20 ms frames,
as fastrtc's player does), `emit()` hands frames over as fast as they come, there is no local
VAD and nothing is ever cleared locally; only the server's `interrupted` stops it from queuing
further chunks of that turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

import numpy as np

from googlive.config import Secret, Settings
from googlive.handler import OUT_RATE, GeminiHandler
from googlive.live.backend import Endpoint
from googlive.live.events import AudioOut, Interrupted
from googlive.live.preload import import_live
from googlive.media.audio import from_pcm16_bytes
from googlive.media.vad import Vad
from googlive.testing.peersim import SimulatedPeer

# What app.py's warm-up does once the page is up (googlive/live/preload.py): google-genai is
# loaded before the first call here too, not inside its session clock (a first call that
# imports it starts its recording and archive up to a second late on a busy machine).
import_live()

INPUTS = ["bench", "", "", "", "", ""]
FRAME = OUT_RATE // 50  # 20 ms at 24 kHz


class _DeafVad(Vad):
    """Keeps the level meter, never reports speech (the demo has no local VAD)."""

    def feed(self, frame: np.ndarray, **kw: Any) -> None:  # type: ignore[override]
        super().feed(frame, **kw)
        return None


class DemoBaselineHandler(GeminiHandler):
    """The FastRTC Gemini demo's behaviour: unbounded output queue, only `interrupted`."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.vad = _DeafVad()
        self._out: deque[tuple[int, np.ndarray]] = deque()
        self._stopped: set[int] = set()
        self.last_turn: int | None = None

    def copy(self) -> DemoBaselineHandler:
        return type(self)(
            self.settings, self.endpoint, features=self.feature_factories, services=self.services
        )

    def handle_event(self, ev: Any) -> None:
        if isinstance(ev, AudioOut):
            if ev.turn in self._stopped:
                return
            x = from_pcm16_bytes(ev.pcm)
            for i in range(0, x.size, FRAME):
                f = x[i : i + FRAME]
                if f.size < FRAME:
                    f = np.concatenate([f, np.zeros(FRAME - f.size, np.int16)])
                self._out.append((ev.turn, f))
            self._wake.set()
            return
        if isinstance(ev, Interrupted):
            self._stopped.add(ev.turn)  # stop queuing; what is queued keeps playing
            self.conv.mark_interrupted(ev.turn)
            return
        super().handle_event(ev)

    async def emit(self) -> Any:
        while not self._closed:
            if self._out:
                turn, frame = self._out.popleft()
                self.last_turn = turn
                return (OUT_RATE, frame.reshape(1, -1))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
        return None


def turn_of_handler(h: Any) -> int | None:
    """The turn of the frame `h.emit()` just returned."""
    if isinstance(h, DemoBaselineHandler):
        return h.last_turn
    return h.playback._current  # set by PlaybackBuffer.pop to the popped frame's turn


class TaggedPeer(SimulatedPeer):
    """SimulatedPeer that records, for every frame handed over by emit(), its turn and time."""

    def __init__(self, handler: Any, inputs: list[Any], **kw: Any) -> None:
        super().__init__(handler, inputs, **kw)
        self.turn_of: dict[int, int | None] = {}
        self.emit_log: list[tuple[float, int | None, int]] = []  # (monotonic, turn, samples)
        self.on_frame: Any = None

    def emitted(self, frame: np.ndarray) -> None:
        turn = turn_of_handler(self.handler)
        self.turn_of[id(frame)] = turn
        self.emit_log.append((time.monotonic(), turn, frame.size))
        if self.on_frame is not None:
            self.on_frame(frame, turn)

    def audible_of_turn_after(
        self, t: float, turn: int, *, min_rms: float = 30.0
    ) -> tuple[float, float]:
        """(seconds played from `t` on, seconds still queued) of audible audio of `turn`."""
        played = sum(
            h.samples.size / OUT_RATE
            for h in self.stats.heard
            if h.t >= t and h.rms >= min_rms and self.turn_of.get(id(h.samples)) == turn
        )
        queued = 0.0
        for _, f in list(self._queue):
            if (
                self.turn_of.get(id(f)) == turn
                and float(np.sqrt(np.mean(f.astype(np.float64) ** 2))) >= min_rms
            ):
                queued += f.size / OUT_RATE
        return played, queued

    def first_audible_turn(self, min_rms: float = 30.0) -> int | None:
        for h in self.stats.heard:
            if h.rms >= min_rms:
                return self.turn_of.get(id(h.samples))
        return None


def endpoint_for(srv: Any) -> Endpoint:
    return Endpoint(srv.url, srv.ca_cert, Secret("k"), offline=True)


def make_handler(kind: str, srv: Any, settings: Settings | None = None) -> GeminiHandler:
    cls = DemoBaselineHandler if kind == "baseline" else GeminiHandler
    return cls(settings or Settings(), endpoint_for(srv))


async def until(pred: Any, timeout: float = 10.0, step: float = 0.01) -> Any:
    deadline = time.monotonic() + timeout
    while not (v := pred()):
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(step)
    return v


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(x) * 32768), -32768, 32767).astype(np.int16)
