"""Helpers shared by the handler- and session-level tests: polling, mic signals, the local
Live server's endpoint, and an event collector for a LiveSession."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from googlive.config import Secret
from googlive.fakelive import FakeLiveServer
from googlive.live.backend import Endpoint
from googlive.live.events import SessionState
from googlive.live.session import LiveSession

MIC_RATE = 48000  # what the browser's mic delivers through FastRTC


async def until(pred: Callable[[], Any], timeout: float = 10.0, step: float = 0.01) -> Any:
    """Poll a condition on state owned by other tasks; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (v := pred()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)
    return v


def is_live(h: Any) -> bool:
    """The handler `h` has a session and it is live."""
    return h.session is not None and h.session.state is SessionState.LIVE


def offline_endpoint(srv: FakeLiveServer, key: str = "k") -> Endpoint:
    """The local Live server as the app's offline backend."""
    return Endpoint(srv.url, srv.ca_cert, Secret(key), offline=True)


# ---- 48 kHz mic signals (int16) ------------------------------------------------------------
def talk(seconds: float, level: float = 0.5, f0: float = 180.0, seed: int = 0) -> np.ndarray:
    """Speech-like audio: a harmonic voice with a syllable envelope."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * MIC_RATE)) / MIC_RATE
    voice = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6)) / k for k in range(1, 6))
    env = 0.7 + 0.3 * np.sin(2 * np.pi * 4 * t)
    x = level * voice / 2.3 * env
    return (x * 32767).astype(np.int16)


def quiet(seconds: float) -> np.ndarray:
    """Room noise well below the VAD's threshold."""
    rng = np.random.default_rng(1)
    return (rng.normal(0, 30, int(seconds * MIC_RATE))).astype(np.int16)


# ---- LiveSession level ---------------------------------------------------------------------
class Collector:
    """Consumes a session's events in the background and lets tests wait on conditions."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.events: list[Any] = []
        self.times: list[float] = []  # monotonic arrival time of each event
        self._changed = asyncio.Condition()
        self.task = asyncio.create_task(self._run(), name="collector")

    async def _run(self) -> None:
        async for ev in self.session.events():
            self.events.append(ev)
            self.times.append(time.monotonic())
            async with self._changed:
                self._changed.notify_all()

    async def wait(self, pred: Callable[[list[Any]], Any], timeout: float = 10.0) -> Any:
        async with asyncio.timeout(timeout):
            async with self._changed:
                while True:
                    hit = pred(self.events)
                    if hit:
                        return hit
                    await self._changed.wait()

    def of(self, cls: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, cls)]

    async def close(self) -> None:
        await self.session.close()
        await asyncio.wait_for(self.task, 5)


def speech16k(seconds: float, level: float = 0.3) -> bytes:
    """A 220 Hz tone with a 3 Hz envelope as 16 kHz PCM16 bytes (the Live API's input)."""
    t = np.arange(int(seconds * 16000)) / 16000
    x = level * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return (x * 32767).astype("<i2").tobytes()


def silence16k(seconds: float) -> bytes:
    return bytes(2 * int(seconds * 16000))


def feed(session: LiveSession, pcm: bytes, chunk_ms: int = 40) -> None:
    """Send 16 kHz PCM16 in `chunk_ms` chunks, all at once."""
    n = 32 * chunk_ms
    for i in range(0, len(pcm), n):
        session.send_audio(pcm[i : i + n])
