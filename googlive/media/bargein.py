"""The one barge-in policy: when model audio stops, and whether it comes back (pure, synchronous).

Every path that stops model audio goes through `BargeInPolicy`: the local VAD onset (the
handler's mic path) and the server's `interrupted` (the handler's event path). The handler
applies the actions it returns to the playback buffer and to FastRTC's queue; the policy never
touches audio itself, and takes every time as an argument (session seconds), so it is tested
with explicit times and no event loop.

States (of the turn the user is hearing, `turn`):

    active ──local onset──▶ paused ──quiet for grace_s, no interruption──▶ active (Resume)
       │                      │
       │                      ├── server `interrupted` for that turn ──▶ Drop("server")
       │                      ├── audio of a newer model turn ─────────▶ Drop("new_turn")
       │                      └── still sounding talk_limit_s after the pause ▶ Drop("talk_limit")
       └── server `interrupted` for the turn playing ─────────────────────▶ Drop("server")

- **Pause** on the local onset: what the user hears stops within the mic frame that confirmed
  the onset (the handler stops handing frames to WebRTC and clears FastRTC's queue) but no
  audio is thrown away: the paused turn and what keeps arriving for it stay buffered.
- **Resume** when the user's sound ended (`grace_s` of quiet after the last voiced mic frame)
  and no interruption came: the model (gemini-3.8-live's polite interruption) treated it as a
  backchannel or a cough and goes on with the same answer, so the user hears it go on too.
  Playback backs up to the start of the cut word (`resume_backup`, at most `backup_max_s`).
- **Drop** when the interruption is real: the server said so for the turn actually playing
  (also when `interrupted` comes after that turn's `turnComplete` while its audio is still
  playing out of the buffer), the model started a new turn (it has moved on), or the user kept
  making sound for `talk_limit_s` after the pause.

Why these numbers (defaults of `BargeInConfig`):
- `grace_s` 0.25 s: a real interruption is answered by the server while the user is still
  talking (gemini-3.1 / 2.5 interrupt on the speech onset; 3.8 after about half a second of
  speech, see the local server's 3.8 profile), so when the sound has ended, 250 ms more covers
  an `interrupted` that was decided at the very end of the speech and is still on its way
  (uplink chunk 40 ms + a network round trip). Resume then lands at ~0.27 s after the sound
  ended (0.25 s + the 20 ms mic frame), under the 0.4 s the issue allows; a longer grace would
  make every "mm-hm" leave a noticeable hole.
- `talk_limit_s` 2.0 s: backchannels, coughs and laughs are short (a "mm-hm" is ~0.3 s, a laugh
  rarely over 1.5 s); a user who is still sounding 2 s after the pause has taken the floor, and
  a polite server has decided by then (3.8 interrupts after well under a second of real
  speech). Without this limit, an answer could resume after the user spoke for a minute (a
  server that never sends `interrupted`, e.g. mid-reconnect). The limit is a backstop: the
  server's decision normally comes first.
- Resume point: the start of the cut word — the end of the last quiet gap (10 ms windows
  >= 20 dB below the surrounding speech, or below -50 dBFS) within `backup_max_s` (0.4 s)
  before the cut; if there is none (fluent speech with no gap), `backup_s` (0.2 s), about one
  syllable. Resuming mid-syllable is what makes a resumed answer sound broken; repeating a
  short stretch the user already heard is what people do themselves.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class BargeInConfig:
    """Tuning for `BargeInPolicy` (see the module docstring for why these values)."""

    grace_s: float = 0.25
    """Quiet after the user's last voiced frame before a paused answer resumes."""
    talk_limit_s: float = 2.0
    """A user still sounding this long after the pause has taken the floor: drop."""
    backup_s: float = 0.2
    """Resume this far before the cut when no word start is found."""
    backup_max_s: float = 0.4
    """Never back up further than this (a word start further back is not looked for)."""
    tail_s: float = 0.2
    """A complete turn with less than this left to play is not paused at an onset: it ends by
    itself within that time, and a pause would only bring its last syllable back after the
    user spoke."""

    def __post_init__(self) -> None:
        if (
            self.grace_s < 0
            or self.talk_limit_s <= 0
            or not 0 <= self.backup_s <= self.backup_max_s
        ):
            raise ValueError("grace_s >= 0, talk_limit_s > 0 and 0 <= backup_s <= backup_max_s")


@dataclass(frozen=True, slots=True)
class Pause:
    """Stop what the user hears of `turn` now; keep its audio."""

    turn: int
    t: float


@dataclass(frozen=True, slots=True)
class Resume:
    """Play `turn` again from where it paused (backing up to the cut word's start)."""

    turn: int
    t: float
    paused_s: float
    after_sound_s: float = 0.0
    """From the end of the user's last voiced frame to this resume."""


@dataclass(frozen=True, slots=True)
class Drop:
    """Throw away the rest of `turn`. `reason`: "server" | "new_turn" | "talk_limit" | "local"
    (the last only for the cut-the-turn baseline policy). `paused_s` is how long it had been
    paused (None if it was playing)."""

    turn: int
    t: float
    reason: str
    paused_s: float | None = None


Action = Pause | Resume | Drop


@dataclass(frozen=True, slots=True)
class PlaybackChange:
    """What the user hears of the model changed (handed to features' `on_playback`).

    kind: "paused" (the user started sounding over it; audio scheduled after `t` was taken
    back from the output, never heard, and is kept to be played on resume), "resumed" (it
    goes on: `replay_s` of audio the user had heard is played again, from the start of the cut
    word) or "dropped" (the rest of the turn is thrown away; `reason` from `Drop`). `t` is the
    session time it was applied; `paused_s` how long it had been paused (None: it was playing);
    `withdrawn_s` audio taken back from the output queue (`withdrawn_frames` frames: the most
    recent ones handed over); `dropped_s` audio thrown away.
    """

    kind: str
    turn: int
    t: float
    reason: str = ""
    paused_s: float | None = None
    withdrawn_s: float = 0.0
    dropped_s: float = 0.0
    replay_s: float = 0.0
    after_sound_s: float | None = None
    """For "resumed": from the end of the user's sound to the resume."""
    withdrawn_frames: int = 0
    """Frames taken back from the output queue: the last ones passed to `on_played`."""


PLAYBACK_MESSAGE_TYPE = "googlive_playback"


def playback_message(state: str, turn: int | None, seq: int) -> str:
    """The data-channel message telling the page what the user should hear: `state` is
    "playing" | "paused" | "dropped" | "idle". FastRTC's page code passes messages of a type it
    does not know to its change callback, which ignores them (fastrtc 0.0.34
    templates/component/index-*.js, the data channel's onmessage and `on_change_cb`)."""
    return json.dumps({"type": PLAYBACK_MESSAGE_TYPE, "state": state, "turn": turn, "seq": seq})


class BargeInPolicy:
    """The barge-in state machine (see the module docstring). Feed it events; apply what it
    returns. `playing_turn` arguments are the turn the user is hearing now (None if no model
    audio is being played)."""

    def __init__(self, config: BargeInConfig | None = None) -> None:
        self.config = config or BargeInConfig()
        self.paused_turn: int | None = None
        self.paused_at = 0.0
        self.last_voiced = -math.inf  # end time of the user's last voiced mic frame
        self.pauses = 0
        self.resumes = 0
        self.drops: dict[str, int] = {}

    @property
    def paused(self) -> bool:
        return self.paused_turn is not None

    @property
    def state(self) -> str:
        return "paused" if self.paused else "active"

    # ---- inputs --------------------------------------------------------------------------
    def on_onset(
        self, t: float, playing_turn: int | None, left_s: float | None = None
    ) -> list[Action]:
        """The local VAD confirmed the user started to sound at time `t`. `left_s`: what is
        left to play of `playing_turn` if that turn is complete (None: more may come)."""
        self.last_voiced = max(self.last_voiced, t)
        if self.paused or playing_turn is None:
            return []
        if left_s is not None and left_s < self.config.tail_s:
            return []
        self.paused_turn = playing_turn
        self.paused_at = t
        self.pauses += 1
        return [Pause(playing_turn, t)]

    def on_mic(self, t_end: float, voiced: bool) -> list[Action]:
        """A mic frame ending at `t_end` was (not) voiced: sound ended → resume; sound going
        on past the limit → drop."""
        if voiced:
            self.last_voiced = t_end
        return self.tick(t_end)

    def on_interrupted(self, turn: int, t: float, playing_turn: int | None) -> list[Action]:
        """The server says `turn` was interrupted (possibly after its turnComplete)."""
        if self.paused_turn == turn:
            return [self._drop("server", t)]
        if playing_turn == turn:
            return [self._count(Drop(turn, t, "server"))]
        return []  # not what the user hears: nothing to stop (the handler still cuts its audio)

    def on_model_audio(self, turn: int, t: float) -> list[Action]:
        """Audio of `turn` arrived. A newer turn than the paused one: the model moved on."""
        if self.paused_turn is not None and turn > self.paused_turn:
            return [self._drop("new_turn", t)]
        return []

    def tick(self, t: float) -> list[Action]:
        """Time passed: resume after the grace window, or drop past the talk limit."""
        if self.paused_turn is None:
            return []
        cfg = self.config
        if t - self.last_voiced >= cfg.grace_s:
            turn, paused_s = self.paused_turn, t - self.paused_at
            self.paused_turn = None
            self.resumes += 1
            return [Resume(turn, t, paused_s, t - self.last_voiced)]
        if t - self.paused_at >= cfg.talk_limit_s:
            return [self._drop("talk_limit", t)]
        return []

    def reset(self) -> None:
        """Forget a pause (e.g. the buffer lost the paused turn some other way)."""
        self.paused_turn = None

    # ---- helpers -------------------------------------------------------------------------
    def _drop(self, reason: str, t: float) -> Drop:
        assert self.paused_turn is not None
        d = Drop(self.paused_turn, t, reason, t - self.paused_at)
        self.paused_turn = None
        return self._count(d)

    def _count(self, d: Drop) -> Drop:
        self.drops[d.reason] = self.drops.get(d.reason, 0) + 1
        return d


class CutTurnPolicy(BargeInPolicy):
    """The policy before issue 19, for baselines: a local onset drops the rest of the turn at
    once (never resumes); the server's `interrupted` drops its turn."""

    def on_onset(
        self, t: float, playing_turn: int | None, left_s: float | None = None
    ) -> list[Action]:
        self.last_voiced = max(self.last_voiced, t)
        if playing_turn is None:
            return []
        self.pauses += 1  # counted as a barge-in
        return [self._count(Drop(playing_turn, t, "local"))]


def resume_backup(heard: np.ndarray, rate: int, config: BargeInConfig | None = None) -> int:
    """Samples to back up from the end of `heard` (the turn's audio the user heard, most
    recent last) so that playback resumes at the start of the cut word.

    The cut word starts where the last quiet gap before the cut ends: a 10 ms window >= 20 dB
    below the loudest window of the searched stretch, or below -50 dBFS. Searched: the last
    `backup_max_s`. No gap there (fluent speech): `backup_s`. Never more than was heard.
    """
    cfg = config or BargeInConfig()
    x = np.asarray(heard)
    if x.size == 0:
        return 0
    win = max(1, rate // 100)
    span = min(x.size, int(round(cfg.backup_max_s * rate)))
    seg = x[x.size - span :].astype(np.float64)
    if np.issubdtype(x.dtype, np.integer):
        seg /= 32768.0
    n = seg.size // win
    fallback = min(x.size, int(round(cfg.backup_s * rate)))
    if n < 2:
        return fallback
    head = seg.size - n * win  # whole windows aligned to the cut (the end)
    ms = np.mean(seg[head:].reshape(n, win) ** 2, axis=1)
    level = 10.0 * np.log10(np.maximum(ms, 1e-12))
    quiet = (level < level.max() - 20.0) | (level < -50.0)
    if quiet[-1]:
        return 0  # cut inside a gap: the next word has not started
    gaps = np.flatnonzero(quiet)
    if gaps.size == 0:
        return fallback
    # the word starts right after the last quiet window
    return int((n - 1 - gaps[-1]) * win)


__all__ = [
    "Action",
    "BargeInConfig",
    "BargeInPolicy",
    "CutTurnPolicy",
    "Drop",
    "PLAYBACK_MESSAGE_TYPE",
    "Pause",
    "PlaybackChange",
    "Resume",
    "playback_message",
    "resume_backup",
]
