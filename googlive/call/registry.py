"""The app's calls, by WebRTC id: running ones and the last ones that ended.

FastRTC forgets a connection the moment its peer connection closes, but the page still has
things to do with that call afterwards: the component's Stop and the End session button are
one act (archive, analyse, open Results) whichever comes first, and the page shows the call's
final status. `CallRegistry` keeps, per call, its owner, its conversation, its archive folder
and the (endpoint, key) it used, and lets exactly one of those page events claim the ending.

Bounded (`MAX_CALLS`, the oldest first; an ended call goes after `ENDED_KEEP_S`); a call is
only ever given to the browser that owns it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from googlive.conversation import Conversation
    from googlive.handler import GeminiHandler

SERVICE = "calls"
MAX_CALLS = 128
ENDED_KEEP_S = 600.0  # an ended call is forgotten after this long (its page has moved on)
CLOSE_WAIT_S = 30.0  # longest the page waits for a call's archive to be complete


@dataclass
class CallRecord:
    webrtc_id: str
    owner: str
    conv: Conversation
    handler: GeminiHandler | None  # None once the call has ended
    archive_path: Path | None = None
    cred: tuple[Any, Any] | None = None  # (endpoint, key) the call used, for the analysis
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    claimed: bool = False
    ended_at: float | None = None  # monotonic

    @property
    def running(self) -> bool:
        return self.handler is not None

    async def wait_closed(self, timeout: float = CLOSE_WAIT_S) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.closed.wait()
        return self.closed.is_set()


class CallRegistry:
    """See the module docstring. Used from the event loop only."""

    def __init__(self, limit: int = MAX_CALLS, keep_s: float = ENDED_KEEP_S) -> None:
        self.limit = limit
        self.keep_s = keep_s
        self._calls: OrderedDict[str, CallRecord] = OrderedDict()

    def __len__(self) -> int:
        return len(self._calls)

    def started(self, webrtc_id: str, handler: GeminiHandler) -> CallRecord | None:
        if not webrtc_id:
            return None
        rec = CallRecord(webrtc_id, handler.args.owner, handler.conv, handler)
        self.update(rec, handler)
        self._calls[webrtc_id] = rec
        self._calls.move_to_end(webrtc_id)
        now = time.monotonic()
        for wid, old in list(self._calls.items()):
            if old.ended_at is not None and now - old.ended_at >= self.keep_s:
                del self._calls[wid]
        while len(self._calls) > self.limit:
            self._calls.popitem(last=False)
        return rec

    @staticmethod
    def update(rec: CallRecord, handler: GeminiHandler) -> None:
        rec.archive_path = handler.archive_path()
        rec.cred = (handler.live_endpoint, handler.live_key)

    def ended(self, webrtc_id: str, handler: GeminiHandler) -> None:
        """The call's handler has shut down: its archive is complete."""
        rec = self._calls.get(webrtc_id)
        if rec is None or rec.handler is not handler:
            return
        self.update(rec, handler)
        rec.handler = None  # drop the heavy parts; keep what the page still needs
        rec.ended_at = time.monotonic()
        rec.closed.set()

    def get(self, webrtc_id: str | None, owner: str | None) -> CallRecord | None:
        """This owner's call `webrtc_id`, running or ended; never another browser's."""
        if not webrtc_id or not owner:
            return None
        rec = self._calls.get(webrtc_id)
        return rec if rec is not None and rec.owner == owner else None

    def claim(self, webrtc_id: str | None, owner: str | None) -> tuple[CallRecord | None, bool]:
        """(the call, True) for the first page event that ends it; (the call, False) for the
        ones after; (None, False) when this owner has no such call."""
        rec = self.get(webrtc_id, owner)
        if rec is None:
            return None, False
        first = not rec.claimed
        rec.claimed = True
        return rec, first


def registry(services: dict[str, Any]) -> CallRegistry:
    """The app's registry (one per process), created on first use."""
    reg = services.get(SERVICE)
    if not isinstance(reg, CallRegistry):
        reg = services[SERVICE] = CallRegistry()
    return reg
