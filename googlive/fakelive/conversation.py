"""One logical Live conversation of the local server: what the model has in context.

A conversation outlives its connections through resumption handles. It keeps the images that
actually entered the model's context (admitted by the turn coverage in force, or sent as client
content or in a function response), the function calls still pending and the tool results that
entered context silently. Bounded; no I/O.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import vision

if TYPE_CHECKING:
    from .connection import _Connection


@dataclass
class ContextImage:
    """An image in the model's context."""

    seq: int
    source: str  # "video", "media", "client_content", "tool_response"
    resolution: str  # the MEDIA_RESOLUTION_* in force for it
    data: bytes
    sight: vision.Sight | None = None
    read_done: bool = False

    @property
    def tokens(self) -> int:
        return vision.tokens_for(self.resolution)


@dataclass
class PendingCall:
    """A function call the model issued and that has no response yet."""

    id: str
    name: str
    blocking: bool
    connection_id: int  # the connection that issued it (a resumed one will not act on it)
    image_seq: int  # the newest context image when the call was issued
    turn: int


@dataclass
class Conversation:
    """One logical session."""

    id: str
    started_at: float
    max_images: int = 64
    turns: int = 0
    connection: _Connection | None = None
    video_seen: bool = False
    images: collections.deque[ContextImage] = field(default_factory=collections.deque)
    image_seq: int = 0
    unbilled_image_tokens: int = 0
    unbilled_tool_tokens: int = 0  # non-blocking tool responses, billed with the next turn
    pending_calls: dict[str, PendingCall] = field(default_factory=dict)
    silent_results: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=16)
    )
    initial_history_done: bool = False

    def admit_image(self, data: bytes, source: str, resolution: str | None) -> ContextImage:
        """Put an image into the model's context; its tokens are billed with the next turn."""
        self.image_seq += 1
        image = ContextImage(self.image_seq, source, vision.resolution_of(resolution), data)
        self.images.append(image)
        while len(self.images) > self.max_images:
            self.images.popleft()
        self.unbilled_image_tokens += image.tokens
        return image

    def newest_image_after(self, seq: int) -> ContextImage | None:
        """The newest context image that entered after image number ``seq``, if any."""
        if self.images and self.images[-1].seq > seq:
            return self.images[-1]
        return None

    def take_image_tokens(self) -> int:
        """Image tokens admitted since the last call (billed once, with one turn)."""
        tokens, self.unbilled_image_tokens = self.unbilled_image_tokens, 0
        return tokens

    def take_tool_tokens(self) -> int:
        tokens, self.unbilled_tool_tokens = self.unbilled_tool_tokens, 0
        return tokens

    def add_pending(self, call: PendingCall, limit: int = 64) -> None:
        self.pending_calls[call.id] = call
        while len(self.pending_calls) > limit:
            self.pending_calls.pop(next(iter(self.pending_calls)))

    def describe(self) -> dict[str, Any]:
        """A summary for tests and logs (counts only)."""
        return {
            "images": len(self.images),
            "pending_calls": len(self.pending_calls),
            "silent_results": len(self.silent_results),
        }
