"""What LiveSession has to send, in order, kept across reconnects. Pure (no I/O, no clock).

An item leaves the outbox only once written (`pop(item)`), so what a dropped connection did
not take goes out on the next one. Bounds: mic audio keeps the newest `max_audio_bytes` and
drops (and counts) the oldest; webcam video keeps only the newest pending frame; everything
else (texts, stills, tool answers, activity signals) is never dropped.

A still (take_picture) must be the newest image the model has when it reads the tool's
answer that follows it, or the model would look at a later, coarser stream frame instead:
from `still()` until the next `tool()` (or `still_hold_s`), a webcam frame waits behind the
answer instead of going before it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

STILL_HOLD_S = 3.0  # longest a stream frame waits for the answer that follows a still


@dataclass
class Out:
    kind: str  # audio | video | text | image | tool | activity_start | activity_end
    payload: Any = None
    queued_at: float = 0.0


class Outbox:
    """The pending items of one LiveSession (see the module docstring)."""

    def __init__(self, max_audio_bytes: int, *, still_hold_s: float = STILL_HOLD_S) -> None:
        self.max_audio_bytes = max_audio_bytes
        self.still_hold_s = still_hold_s
        self.items: deque[Out] = deque()
        self.audio_bytes = 0
        self.audio_dropped_bytes = 0
        self.video_dropped = 0
        self._hold_until: float | None = None  # a still was queued: stream frames wait
        self._held: Out | None = None

    def __len__(self) -> int:
        return len(self.items)

    def head(self) -> Out | None:
        return self.items[0] if self.items else None

    def pop(self, item: Out) -> bool:
        """`item` was written: remove it if it is still the head. True if it was."""
        if not self.items or self.items[0] is not item:
            return False
        self.items.popleft()
        if item.kind == "audio":
            self.audio_bytes -= len(item.payload)
        return True

    # ---- queueing ----------------------------------------------------------------------------
    def audio(self, pcm: bytes, now: float) -> None:
        self.items.append(Out("audio", pcm, now))
        self.audio_bytes += len(pcm)
        while self.audio_bytes > self.max_audio_bytes and self._drop_oldest_audio():
            pass

    def video(self, jpeg: bytes, now: float) -> None:
        item = Out("video", jpeg, now)
        if self._hold_until is not None and now < self._hold_until:
            if self._held is not None:
                self.video_dropped += 1
            self._held = item
            return
        self._release_hold()
        for i, pending in enumerate(self.items):
            if pending.kind == "video":
                del self.items[i]
                self.video_dropped += 1
                break
        self.items.append(item)

    def still(self, jpeg: bytes, now: float) -> None:
        self.items.append(Out("image", jpeg, now))
        self._hold_until = now + self.still_hold_s

    def tool(self, response: Any, now: float) -> None:
        self.items.append(Out("tool", response, now))
        self._release_hold()

    def other(self, kind: str, payload: Any, now: float) -> None:
        self.items.append(Out(kind, payload, now))

    def _release_hold(self) -> None:
        held, self._held, self._hold_until = self._held, None, None
        if held is not None:
            self.items.append(held)

    def _drop_oldest_audio(self) -> bool:
        for i, item in enumerate(self.items):
            if item.kind == "audio":
                del self.items[i]
                self.audio_bytes -= len(item.payload)
                self.audio_dropped_bytes += len(item.payload)
                return True
        return False


__all__ = ["STILL_HOLD_S", "Out", "Outbox"]
