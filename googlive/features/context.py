"""What a feature may see and do of its call: `CallContext`, and `Links` between features.

A feature never gets the handler. It gets a `CallContext`: the session clock, its own tasks,
the page's panels, the transcript (read-only), the newest camera frame, a few read-only
figures of the call, and the one thing it may send the model (an image). Everything else the
handler owns stays private to it, so a feature cannot come to depend on it.

Features that others write to are `Links`, given as explicit constructor arguments by each
feature's factory (see googlive/assemble.py for the order): the archive is built first and
handed to the recording, tools, survey and metrics features; nothing finds a feature by name.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    import numpy as np

    from googlive.config import Settings
    from googlive.conversation import Line
    from googlive.features.results.feature import ArchiveFeature
    from googlive.handler import GeminiHandler
    from googlive.live.session import SessionStats


@dataclass(frozen=True)
class CallInfo:
    """What the call is, fixed when its features are built."""

    owner: str  # "" when the page's settings named none
    model: str
    voice: str
    survey_id: str
    offline: bool  # the local demo server, not Gemini
    data_dir: Path
    secrets: tuple[str, ...] = ()  # the keys in play, for redaction only; never shown or logged


class CallContext:
    """One call, as its features see it (built by the handler in `start_up`)."""

    def __init__(self, handler: GeminiHandler, info: CallInfo) -> None:
        self._h = handler
        self.info = info

    # ---- the call's clock, tasks and page --------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The app's settings (read-only)."""
        return self._h.settings

    def time(self) -> float:
        """Session time in seconds (the clock every hook's `t` uses)."""
        return self._h.session_time()

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """A task owned by the call: cancelled and awaited when the call shuts down."""
        return self._h.spawn(coro, name)

    def set_panel(self, name: str, value: Any) -> None:
        """Set one of the page's panels; it is sent with the next page update."""
        self._h.conv.set_panel(name, value)

    def wake(self) -> None:
        """Send panel changes now, not with the next Live event (a periodic meter)."""
        self._h.wake()

    def set_latency(self, turn: int, ms: float) -> None:
        """Show a model line's response latency."""
        self._h.conv.set_latency(turn, ms)

    @property
    def lines(self) -> Sequence[Line]:
        """The transcript as the page shows it, oldest first (read-only)."""
        return self._h.conv.lines

    # ---- the camera and the model ----------------------------------------------------------
    def latest_frame(self) -> tuple[np.ndarray | None, float]:
        """The newest camera frame the handler kept (BGR) and its monotonic time."""
        return self._h.latest_frame, self._h.latest_frame_t

    def send_image(self, jpeg: bytes) -> None:
        """Send the model one image now (queued before any tool answer that follows)."""
        session = self._h.session
        if session is None:
            raise RuntimeError("no session")
        session.send_image(jpeg)

    # ---- figures of the call (read-only) ---------------------------------------------------
    def live_stats(self) -> SessionStats | None:
        session = self._h.session
        return session.stats if session is not None else None

    @property
    def user_turn(self) -> int:
        """The Live session's current turn number (0 before it started)."""
        session = self._h.session
        return session.turn if session is not None else 0

    @property
    def playing_turn(self) -> int | None:
        """The model turn whose audio is playing now."""
        return self._h.playback.current_turn

    @property
    def popped_turn(self) -> int | None:
        """The model turn of the frame just handed to WebRTC (in `on_played`)."""
        return self._h.playback.popped_turn

    @property
    def barge_ins(self) -> int:
        return self._h.barge_ins

    def activity(self) -> str:
        """Who is sounding: "paused" (the model, held for the user), "user", "model" or
        "listening"."""
        h = self._h
        if h.policy.paused:
            return "paused"
        if h.user_speaking:
            return "user"
        if h.playback.playing:
            return "model"
        return "listening"

    def level_db(self) -> float:
        """The mic's level (dBFS) from the VAD."""
        return self._h.level_db()


@dataclass
class Links:
    """The features of one call that later ones are given, filled in build order."""

    archive: ArchiveFeature | None = None
