"""Voice-to-voice latency per model turn, as the user experiences it.

From the end of the user's speech (local VAD offset, session time from sample counts) or the
moment a typed message was sent, to the session time at which the first audio frame of the next
model turn is handed to the browser. Pure state; the feature feeds it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TurnLatency:
    turn: int
    ms: float
    source: str  # "speech" | "text"


class LatencyTracker:
    """Pairs "the user finished" marks with the first played frame of the next model turn."""

    def __init__(self, keep: int = 20) -> None:
        self.recent: deque[TurnLatency] = deque(maxlen=keep)
        self.by_turn: dict[int, TurnLatency] = {}
        self._pending: tuple[float, str] | None = None
        self._last_turn: int | None = None
        self.version = 0

    @property
    def pending(self) -> tuple[float, str] | None:
        return self._pending

    def user_done(self, t: float, source: str) -> None:
        """The user stopped speaking (`source` "speech") or sent text ("text") at time `t`.
        A later mark replaces an unanswered one: latency counts from the user's last word."""
        self._pending = (t, source)

    def forget_since(self, t: float) -> None:
        """Drop an unanswered mark made at or after `t`: the speech that made it was a
        backchannel over an answer that went on (no reply is owed to it)."""
        if self._pending is not None and self._pending[0] >= t:
            self._pending = None

    def played(self, turn: int | None, t: float) -> TurnLatency | None:
        """A model frame of `turn` is handed to the browser, to be heard at `t`. Called per
        frame: the common case (same turn as the previous frame) is one comparison."""
        if turn is None or turn == self._last_turn:
            return None
        self._last_turn = turn
        pending = self._pending
        if pending is None or turn in self.by_turn or t < pending[0]:
            return None
        self._pending = None
        lat = TurnLatency(turn, max(0.0, (t - pending[0]) * 1000.0), pending[1])
        self.by_turn[turn] = lat
        if len(self.by_turn) > 4096:  # bounded over very long sessions
            for k in sorted(self.by_turn)[:2048]:
                del self.by_turn[k]
        self.recent.append(lat)
        self.version += 1
        return lat

    def values_ms(self) -> list[float]:
        return [x.ms for x in self.recent]
