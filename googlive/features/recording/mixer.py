"""Sample-accurate mixing of several voices onto one timeline (pure, no I/O, one thread).

Each voice (here "user" and "model") hands chunks of mono PCM with the session time `t` of
their first sample. The mixer converts them to the output rate and adds them into a buffer
at sample position `round(t * rate)`; gaps are silence and overlaps sum, with saturation to
int16 when the samples leave.

Runs. Consecutive chunks of one voice whose `t` continues the previous chunk (within
`_RUN_TOLERANCE_S`) form a *run*: within a run positions come from sample counts, never from
`t` again, so rounding in `t` cannot open clicks or gaps, and one streaming resampler carries
its filter state across chunks. A chunk that does not continue the run (a barge-in cut, a new
turn, a rate change) closes the run: the resampler's tail is flushed in place and a new run
starts at the chunk's own `t`. A voice that goes quiet therefore ends exactly where its last
sample ends: a barge-in cut is recorded as a cut.

When audio may leave. Mixed audio leaves in order, in whole blocks, and never changes after
it has left. Audio for a position that has already left is *late*: it is dropped and counted.
So the write position (the *cursor*) must wait for every voice that may still send audio for
it. Each chunk comes with its `arrival` time (a monotonic clock read when the caller got it;
by default its `t`, as for audio delivered in real time). A voice is *active* while it has
delivered a chunk within `window_s` (by arrival time) of the newest chunk of any voice; the
cursor advances to the smallest output position among active voices. Within a run a voice
arrives in order, so an active voice is never late, and voices may run any distance apart on
the timeline (the model's audio is handed to WebRTC ahead of the moment it is heard; the
microphone's arrives after it was spoken). A voice that stops delivering (the model finished
its turn, the microphone stalled) stops holding the cursor back once the others have
delivered for `window_s` more: its run is closed and the cursor follows the others. It is
late only if it later resumes with a `t` behind the cursor, which a caller whose `t` tracks
the session's real time does not do. In the first `window_s` after the first chunk nothing
leaves, so a voice that starts a little after the other is not cut. Arrival times only decide
when to stop waiting; where audio goes is decided by `t` and sample counts alone.

Memory is bounded: audio placed more than `max_ahead_s` beyond the cursor is dropped and
counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import soxr

_RUN_TOLERANCE_S = 0.002  # a chunk starting within 2 ms of where the run ends continues it


@dataclass
class _Voice:
    name: str
    rate: int = 0
    stream: soxr.ResampleStream | None = None
    run_open: bool = False
    run_pos: int = 0  # output position of the run's first sample
    in_count: int = 0  # input samples consumed by the run
    out_count: int = 0  # output samples placed by the run
    in_head: int = 0  # output position where the voice's input so far ends
    out_head: int = 0  # output position where the voice's placed output so far ends
    arrival: float | None = None  # arrival time of the voice's newest chunk


class AudioMixer:
    """Mix named mono voices onto one `rate` Hz timeline; see the module docstring.

    Not thread-safe: one thread calls everything.
    """

    def __init__(
        self,
        voices: tuple[str, ...] = ("user", "model"),
        *,
        rate: int = 48000,
        block: int = 960,
        window_s: float = 0.2,
        max_ahead_s: float = 60.0,
    ) -> None:
        if not voices:
            raise ValueError("at least one voice")
        if rate <= 0 or block <= 0 or window_s < 0 or max_ahead_s <= 0:
            raise ValueError("rate, block, max_ahead_s must be positive; window_s >= 0")
        self.rate = rate
        self.block = block
        self._max_ahead = round(max_ahead_s * rate)
        self._voices = {name: _Voice(name) for name in voices}
        self._buf = np.zeros(4 * rate, dtype=np.float32)
        self._off = 0  # index in _buf of the cursor
        self._extent = 0  # samples beyond the cursor that may be non-zero
        self._window_s = window_s
        self._first_arrival: float | None = None
        self._newest_arrival = -math.inf
        self.cursor = 0  # output samples that have left
        self.late_samples = 0  # output samples dropped because their position had left
        self.ahead_samples = 0  # output samples dropped beyond max_ahead_s

    def add(
        self, voice: str, pcm: np.ndarray, rate: int, t: float, arrival: float | None = None
    ) -> None:
        """Place mono `pcm` (int16 scale, any numeric dtype) at session time `t` seconds;
        `arrival` is when it arrived, in seconds of any monotonic clock (default: `t`).

        Raises KeyError for an unknown voice and ValueError for a bad rate or a non-finite `t`.
        """
        v = self._voices[voice]
        if rate <= 0:
            raise ValueError("rate must be positive")
        if not math.isfinite(t):
            raise ValueError("t must be finite")
        x = np.asarray(pcm, dtype=np.float32).reshape(-1)
        arrival = t if arrival is None else arrival
        if self._first_arrival is None:
            self._first_arrival = arrival
        self._newest_arrival = max(self._newest_arrival, arrival)
        v.arrival = arrival if v.arrival is None else max(v.arrival, arrival)
        if x.size == 0:
            return
        pos = round(t * self.rate)
        if v.run_open:
            expected = v.run_pos + v.in_count * self.rate / v.rate
            if rate != v.rate or abs(pos - expected) > _RUN_TOLERANCE_S * self.rate:
                self._close_run(v)
        if not v.run_open:
            v.run_open = True
            v.rate = rate
            v.run_pos = pos
            v.in_count = 0
            v.out_count = 0
            v.stream = (
                None
                if rate == self.rate
                else soxr.ResampleStream(rate, self.rate, 1, dtype="float32", quality="HQ")
            )
        y = x if v.stream is None else v.stream.resample_chunk(x)
        self._place(v.run_pos + v.out_count, y)
        v.in_count += x.size
        v.out_count += y.size
        v.in_head = v.run_pos + round(v.in_count * self.rate / v.rate)
        v.out_head = v.run_pos + v.out_count if v.stream is not None else v.in_head

    def pop_ready(self) -> np.ndarray:
        """Return the mixed int16 audio that may leave now (whole blocks, maybe empty)."""
        if self._first_arrival is None:
            return np.zeros(0, dtype=np.int16)
        now = self._newest_arrival
        active = []
        for v in self._voices.values():
            last = self._first_arrival if v.arrival is None else v.arrival
            if now - last <= self._window_s:
                active.append(v)
            elif v.run_open:
                self._close_run(v)  # gone quiet: put its resampler tail in place now
        if now - self._first_arrival < self._window_s or not active:
            return np.zeros(0, dtype=np.int16)
        ready = min(v.out_head for v in active) - self.cursor
        return self._pop((ready // self.block) * self.block if ready > 0 else 0)

    def flush(self) -> np.ndarray:
        """Close every run and return all remaining audio, padded with silence to a block."""
        for v in self._voices.values():
            if v.run_open:
                self._close_run(v)
        n = self._extent
        return self._pop(-(-n // self.block) * self.block)

    @property
    def buffered_samples(self) -> int:
        """Samples beyond the cursor that may hold audio (memory in use, in samples)."""
        return self._extent

    def _close_run(self, v: _Voice) -> None:
        if v.stream is not None:
            tail = v.stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
            self._place(v.run_pos + v.out_count, tail)
            v.out_count += tail.size
            v.stream = None
        v.out_head = v.run_pos + v.out_count
        v.in_head = max(v.in_head, v.out_head)
        v.run_open = False

    def _place(self, pos: int, y: np.ndarray) -> None:
        rel = pos - self.cursor
        if rel < 0:
            cut = min(-rel, y.size)
            self.late_samples += cut
            y = y[cut:]
            rel = 0
        if rel + y.size > self._max_ahead:
            keep = max(0, self._max_ahead - rel)
            self.ahead_samples += y.size - keep
            y = y[:keep]
        if y.size == 0:
            return
        end = rel + y.size
        self._reserve(end)
        self._buf[self._off + rel : self._off + end] += y
        self._extent = max(self._extent, end)

    def _reserve(self, n: int) -> None:
        # Invariant: everything in _buf from _off + _extent on is zero.
        if self._off + n <= self._buf.size:
            return
        new = np.zeros(max(self._buf.size, 2 * n), dtype=np.float32)
        new[: self._extent] = self._buf[self._off : self._off + self._extent]
        self._buf = new
        self._off = 0

    def _pop(self, n: int) -> np.ndarray:
        if n <= 0:
            return np.zeros(0, dtype=np.int16)
        self._reserve(n)
        out = self._buf[self._off : self._off + n]
        result = np.clip(np.rint(out), -32768, 32767).astype(np.int16)
        self._off += n
        self._extent = max(0, self._extent - n)
        self.cursor += n
        return result
