"""The Live session's bounded event queue, and what it may drop when the consumer stalls.

Events off the socket go in with `put`, which waits while the queue holds `maxsize` items:
the socket reader slows down rather than losing anything. State changes and errors go in with
`put_nowait` (they come from code that must not block), which may use `reserve` slots beyond
`maxsize`; only when those are full too does it make room, by dropping the oldest item that
can be lost (`victim`): model audio first (a late chunk is worth nothing to a stalled page),
then a state change or recoverable error that a newer one supersedes. A tool call, a
transcript line, a turn's end, an interruption, usage and the final error are never dropped,
so the queue holds at most `maxsize + reserve` items plus those that could not be dropped
(at most one fatal error and the close marker: everything else comes through `put`).

`victim` is pure; `EventQueue` is single-consumer (the handler's event pump).
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

from googlive.live.events import AudioOut, SessionError, StateChanged


def victim(items: Sequence[Any]) -> int | None:
    """Index of the item to drop to make room, or None when nothing may be dropped."""
    for i, item in enumerate(items):
        if isinstance(item, AudioOut):
            return i
    for kind in (StateChanged, SessionError):
        idx = [
            i
            for i, item in enumerate(items)
            if isinstance(item, kind) and (kind is StateChanged or item.recoverable)
        ]
        if len(idx) > 1:  # the newest one stays: it is what the page must show
            return idx[0]
    return None


class EventQueue:
    """Bounded FIFO with `put` (waits when full), `put_nowait` (drops by `victim` when the
    reserve is used up too), `get` and `get_nowait`. `dropped` counts drops by type name."""

    def __init__(self, maxsize: int, reserve: int = 64) -> None:
        if maxsize < 1 or reserve < 0:
            raise ValueError(f"maxsize must be >= 1 and reserve >= 0 (got {maxsize}, {reserve})")
        self.maxsize = maxsize
        self.reserve = reserve
        self.dropped: Counter[str] = Counter()
        self._items: deque[Any] = deque()
        self._not_empty = asyncio.Event()
        self._not_full = asyncio.Event()
        self._not_full.set()

    def qsize(self) -> int:
        return len(self._items)

    async def put(self, item: Any) -> None:
        while len(self._items) >= self.maxsize:
            self._not_full.clear()
            await self._not_full.wait()
        self._append(item)

    def put_nowait(self, item: Any) -> None:
        if len(self._items) >= self.maxsize + self.reserve:
            i = victim(self._items)
            if i is not None:
                self.dropped[type(self._items[i]).__name__] += 1
                del self._items[i]
        self._append(item)

    async def get(self) -> Any:
        while not self._items:
            self._not_empty.clear()
            await self._not_empty.wait()
        return self._pop()

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._pop()

    def _append(self, item: Any) -> None:
        self._items.append(item)
        self._not_empty.set()

    def _pop(self) -> Any:
        item = self._items.popleft()
        if len(self._items) < self.maxsize:
            self._not_full.set()
        return item
