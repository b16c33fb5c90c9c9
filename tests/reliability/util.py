"""Shared helpers for the reliability suite: event collection, polling, counters."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from googlive.live.retry import Backoff
from tests.util import Collector, feed, silence16k, speech16k, until  # noqa: F401  (shared helpers)

MODEL = "gemini-3.8-live"
FAST = Backoff(base_s=0.05, cap_s=0.2, max_attempts=6, stable_s=30)
RESULTS = Path(__file__).with_name("results")


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


def live_tasks(
    prefixes: tuple[str, ...] = ("handler-", "live-", "peer-", "tool:"),
) -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith(prefixes) and not t.done()]


def record(name: str, data: dict[str, Any]) -> None:
    """Keep a run's figures in tests/reliability/results/<name>.json (for RESULTS.md)."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))
