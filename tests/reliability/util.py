"""Shared helpers for the reliability suite: event collection, polling, counters."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from googlive.live import LiveSession
from googlive.retry import Backoff

MODEL = "gemini-3.8-live"
FAST = Backoff(base_s=0.05, cap_s=0.2, max_attempts=6, stable_s=30)
RESULTS = Path(__file__).with_name("results")


class Collector:
    """Consumes a session's events in a task of its own and lets tests wait on conditions."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.events: list[Any] = []
        self.times: list[float] = []
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


async def until(pred: Callable[[], Any], timeout: float = 10.0, step: float = 0.01) -> Any:
    """Poll a condition on state owned by other tasks or threads; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (v := pred()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)
    return v


def speech16k(seconds: float, level: float = 0.3) -> bytes:
    t = np.arange(int(seconds * 16000)) / 16000
    x = level * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    return (x * 32767).astype("<i2").tobytes()


def silence16k(seconds: float) -> bytes:
    return bytes(2 * int(seconds * 16000))


def feed(session: LiveSession, pcm: bytes, chunk_ms: int = 40) -> None:
    n = 32 * chunk_ms
    for i in range(0, len(pcm), n):
        session.send_audio(pcm[i : i + n])


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_sockets() -> int:
    """Sockets this process holds open (entries of /proc/self/fd that are sockets)."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def live_tasks(prefixes: tuple[str, ...] = ("handler-", "live-", "peer-", "tool:")) -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith(prefixes) and not t.done()]


def record(name: str, data: dict[str, Any]) -> None:
    """Keep a run's figures in tests/reliability/results/<name>.json (for RESULTS.md)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))
