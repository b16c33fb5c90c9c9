"""RMS voice-activity detection with hysteresis, one decision per frame (pure, synchronous).

The detector is meant for barge-in: it must notice a talker within two or three 20 ms frames
and must not fire on steady background (fans, music) or on the model's own voice leaking back
through the microphone. Per frame it computes one sum of squares (split into four sub-blocks)
and a handful of comparisons.

A frame is *loud* when its RMS level is above the onset threshold

    max(noise_floor + threshold_db, min_speech_db [, echo guard while playing])

and its energy is *sustained*: at least `min_active_subblocks` of its four sub-blocks
(5 ms each at 20 ms frames) are above the threshold minus `subblock_slack_db`. That second
test is what keeps keyboard clicks (a few ms of energy, however loud) from counting, even
when a click straddles two frames.

`onset_frames` loud frames in a row start speech; the SpeechStart event points at the first
sample of the first of them. While speaking, a frame keeps speech alive if it is above the
onset threshold minus `release_db` (hysteresis); `hangover_frames` quiet frames in a row end
it, and SpeechEnd points at the first sample after the last voiced frame.

The noise floor follows the level down quickly and up slowly, and is frozen while speech is
active. For the first `warmup_frames` it is the quietest level seen and no onset can fire.
Limitation: a loud sound that starts abruptly and then stays (a radio switched on) looks like
speech until it ends; the floor does not learn it while "speech" is active.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from googlive.media.audio import SILENCE_DB, db, to_float32


@dataclass(frozen=True, slots=True)
class VadConfig:
    """Tuning for `Vad`. Frame counts assume 20 ms frames."""

    threshold_db: float = 12.0
    """Onset needs this much above the noise floor."""
    min_speech_db: float = -45.0
    """... and at least this absolute level (dBFS RMS)."""
    release_db: float = 6.0
    """While speaking, frames down to onset threshold minus this still count as voiced."""
    onset_frames: int = 2
    """Loud frames in a row needed to start speech (2 x 20 ms: decided 40 ms after onset)."""
    hangover_frames: int = 15
    """Quiet frames in a row needed to end speech (15 x 20 ms = 300 ms)."""
    min_active_subblocks: int = 2
    """Of the frame's 4 sub-blocks, how many must carry energy for the frame to be loud."""
    subblock_slack_db: float = 6.0
    """A sub-block carries energy if its level is above the onset threshold minus this."""
    floor_rise_db: float = 0.1
    """Noise floor rise per frame at most (5 dB/s at 20 ms): slow, so speech is not learnt."""
    floor_fall: float = 0.5
    """Fraction of the gap closed per frame when the level is below the floor (fast fall)."""
    initial_floor_db: float = -70.0
    """Floor used before any frame has been seen."""
    warmup_frames: int = 10
    """Frames at the start during which the floor is the quietest level seen; no onsets."""
    echo_margin_db: float = 20.0
    """While playing (no reference level), onset also needs min_speech_db + this (-25 dBFS):
    leaked model audio after browser AEC stays below about -35 dBFS."""
    reference_margin_db: float = 15.0
    """While playing with a reference level, onset also needs reference - this: assumes the
    echo reaching the mic is at least ~20 dB below what is being played."""
    echo_excess_db: float = 10.0
    """With an echo estimate (`echo_db`, googlive.media.echo.EchoGuard), onset needs this much above
    the echo the model's own voice makes at the mic (instead of the fixed guards above)."""
    reference_decay_db: float = 1.0
    """Per-frame decay of the held reference level: echo arrives after the output path delay
    (browser jitter buffer, speaker), so the guard fades over ~300 ms rather than at once."""


@dataclass(frozen=True, slots=True)
class SpeechStart:
    """Speech began at `sample_index` (counted over all samples fed); `level_db` of the
    frame that confirmed it."""

    sample_index: int
    level_db: float


@dataclass(frozen=True, slots=True)
class SpeechEnd:
    """Speech ended at `sample_index`: the first sample after the last voiced frame."""

    sample_index: int


VadEvent = SpeechStart | SpeechEnd


class Vad:
    """Per-frame voice-activity state machine; see the module docstring for the rules."""

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        if self.config.onset_frames < 1 or self.config.hangover_frames < 1:
            raise ValueError("onset_frames and hangover_frames must be >= 1")
        self._floor = self.config.initial_floor_db
        self._level = SILENCE_DB
        self._speaking = False
        self._frames = 0
        self._samples = 0
        self._run = 0  # loud frames in a row (not speaking) / quiet frames in a row (speaking)
        self._run_start = 0  # first sample of the current loud run
        self._voiced_end = 0  # first sample after the last voiced frame
        self._ref_hold = SILENCE_DB
        self._voiced = False

    @property
    def voiced(self) -> bool:
        """The last frame carried the user's sound: loud (not speaking yet) or above the
        release threshold (speaking). Unlike `speaking`, no hangover: the barge-in policy
        measures its own quiet time from this."""
        return self._voiced

    @property
    def speaking(self) -> bool:
        """True between a SpeechStart and the following SpeechEnd."""
        return self._speaking

    @property
    def level_db(self) -> float:
        """RMS level of the last frame, dBFS."""
        return self._level

    @property
    def noise_floor_db(self) -> float:
        """Current noise-floor estimate, dBFS."""
        return self._floor

    @property
    def frames(self) -> int:
        """Non-empty frames fed so far."""
        return self._frames

    @property
    def samples(self) -> int:
        """Samples fed so far."""
        return self._samples

    def threshold_db(
        self,
        *,
        playing: bool = False,
        reference_db: float | None = None,
        echo_db: float | None = None,
    ) -> float:
        """The onset threshold that would apply to the next frame (without updating state)."""
        return self._threshold(playing, reference_db, self._ref_hold, echo_db)

    def _threshold(
        self,
        playing: bool,
        reference_db: float | None,
        ref_hold: float,
        echo_db: float | None = None,
    ) -> float:
        cfg = self.config
        thr = max(self._floor + cfg.threshold_db, cfg.min_speech_db)
        if echo_db is not None:
            return max(thr, echo_db + cfg.echo_excess_db)
        if playing:
            if reference_db is None:
                thr = max(thr, cfg.min_speech_db + cfg.echo_margin_db)
            else:
                thr = max(thr, ref_hold - cfg.reference_margin_db)
        return thr

    def reset(self) -> None:
        """Forget everything except the config (start of a new conversation)."""
        self.__init__(self.config)

    def feed(
        self,
        frame: np.ndarray,
        *,
        playing: bool = False,
        reference_db: float | None = None,
        echo_db: float | None = None,
    ) -> VadEvent | None:
        """Take one mono frame (int16 or float, ideally 20 ms) and return an event, if any.

        `playing`: model audio is being played, so the echo guard applies. `reference_db`:
        level of the model audio being played now (it is peak-held with a slow decay).
        `echo_db`: the level the model's own voice has in this mic frame (EchoGuard); when
        given, it replaces both guards. Empty frames are ignored.
        """
        n = int(np.size(frame))
        if n == 0:
            return None
        y = to_float32(np.asarray(frame)).reshape(-1)
        sq = y * y
        q = n // 4
        if q:
            sub = sq[: 4 * q].reshape(4, q).sum(axis=1) / q
        else:
            sub = None
        level = db(math.sqrt(float(sq.sum()) / n))
        return self._step(level, n, sub, playing, reference_db, echo_db)

    def feed_level(
        self,
        level_db: float,
        n_samples: int,
        *,
        playing: bool = False,
        reference_db: float | None = None,
    ) -> VadEvent | None:
        """Like `feed` for a frame of `n_samples` whose RMS level was computed elsewhere.

        Without the samples the click (sustained-energy) test cannot run: every frame above
        the threshold counts as loud.
        """
        if n_samples <= 0:
            return None
        level = level_db if math.isfinite(level_db) else SILENCE_DB
        return self._step(max(level, SILENCE_DB), int(n_samples), None, playing, reference_db)

    def _step(
        self,
        level: float,
        n: int,
        sub: np.ndarray | None,
        playing: bool,
        reference_db: float | None,
        echo_db: float | None = None,
    ) -> VadEvent | None:
        cfg = self.config
        start = self._samples
        self._samples += n
        self._frames += 1
        self._level = level
        if reference_db is not None and math.isfinite(reference_db):
            self._ref_hold = max(reference_db, self._ref_hold - cfg.reference_decay_db)
        else:
            self._ref_hold = max(SILENCE_DB, self._ref_hold - cfg.reference_decay_db)

        if self._frames <= cfg.warmup_frames:
            self._floor = level if self._frames == 1 else min(self._floor, level)
            self._voiced = False
            return None

        thr = self._threshold(playing, reference_db, self._ref_hold, echo_db)
        event: VadEvent | None = None
        if not self._speaking:
            loud = level > thr
            if loud and sub is not None:
                sub_thr = 10.0 ** ((thr - cfg.subblock_slack_db) / 10.0)
                loud = int(np.count_nonzero(sub > sub_thr)) >= cfg.min_active_subblocks
            self._voiced = loud
            if loud:
                if self._run == 0:
                    self._run_start = start
                self._run += 1
                if self._run >= cfg.onset_frames:
                    self._speaking = True
                    self._run = 0
                    self._voiced_end = self._samples
                    event = SpeechStart(self._run_start, level)
            else:
                self._run = 0
            if not self._speaking:
                self._adapt_floor(level)
        else:
            self._voiced = level > thr - cfg.release_db
            if self._voiced:
                self._run = 0
                self._voiced_end = self._samples
            else:
                self._run += 1
                if self._run >= cfg.hangover_frames:
                    self._speaking = False
                    self._run = 0
                    event = SpeechEnd(self._voiced_end)
        return event

    def _adapt_floor(self, level: float) -> None:
        cfg = self.config
        if level < self._floor:
            self._floor += cfg.floor_fall * (level - self._floor)
        else:
            self._floor = min(level, self._floor + cfg.floor_rise_db)
