"""Drive a handler the way FastRTC does, without a browser: for tests and benchmarks.

`SimulatedPeer` plays the part of fastrtc's AudioCallback: it feeds mic frames at real-time
pace, pulls `emit()` in a loop into an output queue, and drains that queue at real time like
the WebRTC track does, so "what the browser heard" and when is known sample for sample.
`clear_queue` empties the not-yet-played part of the queue, as fastrtc's does.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastrtc import AdditionalOutputs

from googlive.tasks import reap

PTIME = 0.02


@dataclass
class Heard:
    t: float  # monotonic time the frame started playing at the "browser"
    samples: np.ndarray
    rms: float


@dataclass
class PeerStats:
    heard: list[Heard] = field(default_factory=list)
    ui_updates: list[Any] = field(default_factory=list)
    cleared_frames: int = 0
    emitted_frames: int = 0


class SimulatedPeer:
    """One simulated browser connected to `handler` (already constructed)."""

    def __init__(
        self,
        handler: Any,
        inputs: list[Any],
        *,
        mic_always_on: bool = True,
        noise_rms: float = 30.0,
    ) -> None:
        self.handler = handler
        self.mic_always_on = mic_always_on
        self.noise_rms = noise_rms
        self._say: deque[tuple[np.ndarray, asyncio.Future[float]]] = deque()
        self._drained = asyncio.Event()
        self.stats = PeerStats()
        self._queue: deque[tuple[int, np.ndarray]] = deque()
        self._tasks: list[asyncio.Task[Any]] = []
        self._ready = asyncio.Event()
        handler.latest_args = ["__webrtc_value__", "peer-id", *inputs]
        handler.args_set.set()
        handler._clear_queue = self._clear

    def _clear(self) -> None:
        self.stats.cleared_frames += len(self._queue)
        self._queue.clear()

    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self.handler.start_up(), name="peer-startup"))
        self._tasks.append(asyncio.create_task(self._pull(), name="peer-pull"))
        self._tasks.append(asyncio.create_task(self._play(), name="peer-play"))
        if self.mic_always_on:
            self._tasks.append(asyncio.create_task(self._mic(), name="peer-mic"))

    async def _mic(self) -> None:
        # A live mic never stops: low room noise, or whatever `say` queued.
        n = int(48000 * PTIME)
        rng = np.random.default_rng(7)
        t_next = time.monotonic()
        while True:
            if self._say:
                audio, started = self._say[0]
                if not started.done():
                    started.set_result(time.monotonic())
                frame, rest = audio[:n], audio[n:]
                if rest.size < n:
                    self._say.popleft()
                    if not self._say:
                        self._drained.set()
                else:
                    self._say[0] = (rest, started)
                if frame.size < n:
                    frame = np.concatenate([frame, np.zeros(n - frame.size, np.int16)])
            else:
                frame = rng.normal(0, self.noise_rms, n).astype(np.int16)
            await self.handler.receive((48000, frame.reshape(1, -1)))
            t_next += PTIME
            await asyncio.sleep(max(0.0, t_next - time.monotonic()))

    async def say(self, audio: np.ndarray) -> float:
        """Queue 48 kHz mono int16 `audio` on the live mic; returns when its first frame is sent
        (monotonic time of the onset)."""
        started: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._say.append((np.asarray(audio, np.int16), started))
        return await started

    async def said(self) -> None:
        """Wait until everything queued with `say` has been sent."""
        self._drained.clear()
        if self._say:
            await self._drained.wait()

    async def _pull(self) -> None:
        while True:
            out = await self.handler.emit()
            if out is None:
                if self.handler._closed:
                    return
                continue
            if isinstance(out, AdditionalOutputs):
                self.stats.ui_updates.append(out.args[0] if out.args else None)
                continue
            rate, arr = out
            frame = np.asarray(arr).reshape(-1)
            if self._is_keepalive(frame):
                self._queue.append((rate, frame))  # takes its 20 ms, is not model audio
                continue
            self.emitted(frame)
            self._queue.append((rate, frame))
            self.stats.emitted_frames += 1

    def queued_audio(self) -> int:
        """Model-audio frames waiting in the output queue (keepalive frames not counted)."""
        return sum(1 for _, f in self._queue if not self._is_keepalive(f))

    def _is_keepalive(self, frame: np.ndarray) -> bool:
        """The handler's silent keepalive frame (GeminiHandler.keep_rtp_clock)."""
        ka = getattr(self.handler, "keepalive_frame", None)
        return ka is not None and np.shares_memory(frame, ka)

    def emitted(self, frame: np.ndarray) -> None:
        """Hook: `frame` was just handed over by emit() (before it is queued for playing)."""

    async def _play(self) -> None:
        # Like fastrtc's AudioCallback.recv: one frame per PTIME of real time.
        next_t = time.monotonic()
        while True:
            now = time.monotonic()
            if self._queue:
                _, frame = self._queue.popleft()
                # Keep an absolute schedule as aiortc does (a late wake-up is caught up on the
                # next frames, not carried forward as drift); resync only after a real gap.
                start = next_t if now - next_t <= 0.1 else now
                if not self._is_keepalive(frame):
                    rms = (
                        float(np.sqrt(np.mean(frame.astype(np.float64) ** 2)))
                        if frame.size
                        else 0.0
                    )
                    self.stats.heard.append(Heard(start, frame, rms))
                next_t = start + PTIME
                await asyncio.sleep(max(0.0, next_t - time.monotonic()))
            else:
                next_t = now
                await asyncio.sleep(PTIME / 4)

    async def send_mic(
        self, audio: np.ndarray, rate: int = 48000, *, realtime: bool = True
    ) -> list[float]:
        """Feed mono int16 `audio` as 20 ms frames; returns each frame's send time."""
        n = int(rate * PTIME)
        times = []
        t_next = time.monotonic()
        for i in range(0, len(audio) - n + 1, n):
            times.append(time.monotonic())
            await self.handler.receive((rate, audio[i : i + n].reshape(1, -1)))
            if realtime:
                t_next += PTIME
                await asyncio.sleep(max(0.0, t_next - time.monotonic()))
        return times

    def heard_after(self, t: float, *, min_rms: float = 30.0) -> float:
        """Seconds of audible model audio that started playing at or after monotonic `t`."""
        return sum(
            h.samples.size / 24000 for h in self.stats.heard if h.t >= t and h.rms >= min_rms
        )

    async def close(self) -> None:
        await self.handler.shutdown()
        for t in self._tasks:
            t.cancel()
        if await reap(*self._tasks):  # a cancel meant for the closer itself
            raise asyncio.CancelledError
