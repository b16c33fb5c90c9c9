"""Barge-in figures for the diagnostics panel (pure): what became of each time the user talked
over the model — paused then resumed (a backchannel: the answer went on) or dropped (a real
interruption, with its reason) — and how long each took. Fed googlive.media.bargein.PlaybackChange."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Outcome:
    turn: int
    kind: str  # "resumed" | "dropped"
    reason: str  # for dropped: server | new_turn | talk_limit | local
    paused_ms: float | None  # None: dropped while playing (no local pause came first)
    after_sound_ms: float | None = None  # resumed: from the end of the user's sound
    replay_ms: float = 0.0


def _ms(s: float | None) -> float | None:
    return None if s is None else 1000.0 * s


class BargeInStats:
    """Counts and recent outcomes; `version` changes whenever something is added."""

    def __init__(self, keep: int = 20) -> None:
        self.pauses = 0
        self.resumed = 0
        self.dropped: dict[str, int] = {}
        self.recent: deque[Outcome] = deque(maxlen=keep)
        self.version = 0

    def add(self, change: Any) -> Outcome | None:
        kind = change.kind
        if kind == "paused":
            self.pauses += 1
            self.version += 1
            return None
        if kind == "resumed":
            self.resumed += 1
            out = Outcome(
                change.turn,
                "resumed",
                "",
                _ms(change.paused_s),
                _ms(change.after_sound_s),
                1000.0 * change.replay_s,
            )
        elif kind == "dropped":
            self.dropped[change.reason] = self.dropped.get(change.reason, 0) + 1
            out = Outcome(change.turn, "dropped", change.reason, _ms(change.paused_s))
        else:
            return None
        self.recent.append(out)
        self.version += 1
        return out

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def median_resume_ms(self) -> float | None:
        vals = [
            o.after_sound_ms
            for o in self.recent
            if o.kind == "resumed" and o.after_sound_ms is not None
        ]
        return statistics.median(vals) if vals else None

    def median_pause_before_drop_ms(self) -> float | None:
        vals = [o.paused_ms for o in self.recent if o.kind == "dropped" and o.paused_ms is not None]
        return statistics.median(vals) if vals else None
