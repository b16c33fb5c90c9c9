"""Playback buffer for model speech (pure, synchronous): 24 kHz PCM16 in, fixed frames out.

The Live API delivers a turn's audio faster than real time and in bursts; the output track
wants one frame every 20 ms. `PlaybackBuffer` sits between them: `push` chunks tagged with
their turn, `pop` one frame per tick, `clear` on barge-in. It keeps exact accounting, so
that at any moment

    pushed_samples == played_samples + dropped_samples + buffered_samples

and `played_in_turn(turn)` is exactly how much of a turn reached the output (what the user
actually heard, give or take the output path's own latency).

Pause and resume (barge-in, see googlive/media/bargein.py). `pause()` makes `pop` give nothing while
keeping every buffered sample and accepting new pushes (bounded by `max_buffer_s`), so a paused
answer can go on. The last `history_s` of popped audio is remembered: `unplay(n, heard=False)`
puts the last `n` popped samples back at the head because they never reached the user (they
were still in FastRTC's queue when it was cleared): they leave `played_samples`.
`unplay(n, heard=True)` puts back audio the user did hear, to be heard again (a resume backing
up to the start of the cut word): counted in `replayed_samples`. With both, the accounting is

    pushed_samples + replayed_samples == played_samples + dropped_samples + buffered_samples

Turn rules. Turn ids are increasing integers. A turn is *in progress* from its first
accepted push until `end_turn(turn)` has been called and its audio has drained, or until it
is cut. Pushing a newer turn implicitly ends older ones. Pushes for a turn that was cut, or
that has already ended, are dropped and counted.

Jitter cushion (`prebuffer_ms`). With 0, the first frame of a turn is released as soon as
one full frame is buffered, so a gap in arrival right after that is an audible underrun.
With e.g. 60 ms, the first frame waits until 60 ms of the turn is buffered (or the turn has
ended), which absorbs arrival gaps up to 60 ms at the cost of 60 ms more response latency
(and the same again after every underrun, when the cushion is rebuilt).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from googlive.media.audio import as_mono, from_pcm16_bytes, to_int16


class PlaybackBuffer:
    """Bounded FIFO of one speaker's PCM16 mono audio, released in fixed frames."""

    def __init__(
        self,
        rate: int = 24000,
        frame_ms: int = 20,
        max_buffer_s: float = 60.0,
        prebuffer_ms: int = 0,
        history_s: float = 1.0,
    ) -> None:
        if rate <= 0 or frame_ms <= 0 or max_buffer_s <= 0 or prebuffer_ms < 0 or history_s < 0:
            raise ValueError("rate, frame_ms and max_buffer_s must be positive")
        self.rate = rate
        self.frame_samples = rate * frame_ms // 1000
        self.capacity = int(max_buffer_s * rate)
        self.prebuffer_samples = rate * prebuffer_ms // 1000
        self._chunks: deque[tuple[int, np.ndarray]] = deque()
        self._head_offset = 0  # samples of _chunks[0] already played
        self._buffered = 0
        self._per_turn_buffered: dict[int, int] = {}
        self._open: set[int] = set()  # turns in progress (accepted audio, not drained/cut)
        self._ended: set[int] = set()  # turns marked complete
        self._cut: set[int] = set()
        self._cut_upto: int | None = None  # clear() cut every turn <= this
        self._max_turn: int | None = None
        self._started: set[int] = set()  # turns past their prebuffer
        self._stalled = False
        self._current: int | None = None
        self._played_per_turn: dict[int, int] = {}
        self._paused = False
        self._history: deque[tuple[int, np.ndarray]] = deque()  # popped real samples, newest last
        self._history_samples = 0
        self._history_cap = int(history_s * rate)
        self.last_real_samples = 0
        """Real (non-padding) samples in the frame the last successful `pop` returned."""
        self.replayed_samples = 0
        """Samples the user had heard, put back by `unplay(heard=True)` to be heard again."""
        self.unplayed_samples = 0
        """Samples put back by `unplay(heard=False)` (popped, never heard)."""
        self.pushed_samples = 0
        """Samples offered to `push`, accepted or not."""
        self.played_samples = 0
        """Real (non-padding) samples returned by `pop`."""
        self.padded_samples = 0
        """Zero samples added to complete the last frame of ended turns."""
        self.dropped_samples = 0
        """Overflow + cut/late pushes + samples discarded by `clear`/`cut_turn`."""
        self.underruns = 0
        """Times playback of a started turn ran dry before the turn ended (stall events)."""
        self.missed_frames = 0
        """`pop` calls that returned None during such a stall (20 ms gaps heard)."""

    # -- state ---------------------------------------------------------------------------

    @property
    def buffered_samples(self) -> int:
        """Samples waiting to be played."""
        return self._buffered

    @property
    def buffered_s(self) -> float:
        """Seconds of audio waiting to be played."""
        return self._buffered / self.rate

    @property
    def playing(self) -> bool:
        """True while audio is buffered or a turn is in progress."""
        return self._buffered > 0 or bool(self._open)

    @property
    def paused(self) -> bool:
        """True between `pause()` and `resume()`: `pop` gives nothing, nothing is lost."""
        return self._paused

    @property
    def audible(self) -> bool:
        """Model audio is being played now: `playing` and not paused."""
        return self.playing and not self._paused

    @property
    def current_turn(self) -> int | None:
        """The turn of the audio at the head of the buffer, else the last turn played."""
        if self._chunks:
            return self._chunks[0][0]
        return self._current

    @property
    def popped_turn(self) -> int | None:
        """The turn of the frame the last successful `pop` returned."""
        return self._current

    def played_in_turn(self, turn: int) -> int:
        """Real samples of `turn` returned by `pop` so far."""
        return self._played_per_turn.get(turn, 0)

    def is_cut(self, turn: int) -> bool:
        """True if later pushes for `turn` will be dropped."""
        return turn in self._cut or (self._cut_upto is not None and turn <= self._cut_upto)

    # -- input ---------------------------------------------------------------------------

    def push(self, pcm: bytes | bytearray | memoryview | np.ndarray, turn: int) -> int:
        """Queue PCM16 little-endian bytes (or an int16/float array) for `turn`.

        Returns the number of samples accepted; the rest (beyond capacity, or all of it for a
        cut or ended turn) is dropped and counted.
        """
        if isinstance(pcm, bytes | bytearray | memoryview):
            x = from_pcm16_bytes(pcm)
        else:
            x = to_int16(as_mono(np.asarray(pcm)))
            if x is pcm:
                x = x.copy()  # the caller may reuse its array
        n = int(x.size)
        self.pushed_samples += n
        if n == 0:
            return 0
        if self.is_cut(turn) or turn in self._ended:
            self.dropped_samples += n
            return 0
        if self._max_turn is None or turn > self._max_turn:
            for old in list(self._open):
                if old < turn:
                    self._end(old)
            self._max_turn = turn
        take = min(n, self.capacity - self._buffered)
        self.dropped_samples += n - take
        if take <= 0:
            return 0
        self._chunks.append((turn, x[:take] if take < n else x))
        self._buffered += take
        self._per_turn_buffered[turn] = self._per_turn_buffered.get(turn, 0) + take
        self._open.add(turn)
        return take

    def end_turn(self, turn: int) -> None:
        """Mark `turn` complete: its last partial frame will be padded with zeros."""
        self._end(turn)

    def _end(self, turn: int) -> None:
        self._ended.add(turn)
        if not self._per_turn_buffered.get(turn):
            self._close(turn)

    def _close(self, turn: int) -> None:
        self._open.discard(turn)
        self._started.discard(turn)
        self._per_turn_buffered.pop(turn, None)

    # -- output --------------------------------------------------------------------------

    def pop(self) -> np.ndarray | None:
        """Return the next frame (int16, exactly `frame_samples`), or None if none is ready.

        A frame never mixes two turns: an ended turn's tail is zero-padded; a turn in
        progress with less than a frame buffered gives None (an underrun once it has
        started playing). Nothing while paused. O(frame) per call.
        """
        if self._paused:
            return None
        if not self._chunks:
            self._note_starved()
            return None
        turn = self._chunks[0][0]
        have = self._per_turn_buffered.get(turn, 0)
        ended = turn in self._ended
        if turn not in self._started:
            need = max(self.frame_samples, self.prebuffer_samples)
            if have < need and not ended:
                self._note_starved()
                return None
            self._started.add(turn)
        if have < self.frame_samples and not ended:
            self._note_starved()
            return None
        self._stalled = False
        out = np.zeros(self.frame_samples, dtype=np.int16)
        filled = 0
        while filled < self.frame_samples and self._chunks and self._chunks[0][0] == turn:
            chunk = self._chunks[0][1]
            take = min(self.frame_samples - filled, chunk.size - self._head_offset)
            out[filled : filled + take] = chunk[self._head_offset : self._head_offset + take]
            filled += take
            self._head_offset += take
            if self._head_offset == chunk.size:
                self._chunks.popleft()
                self._head_offset = 0
        self._buffered -= filled
        self._per_turn_buffered[turn] = have - filled
        self.played_samples += filled
        self.padded_samples += self.frame_samples - filled
        self._played_per_turn[turn] = self._played_per_turn.get(turn, 0) + filled
        self._current = turn
        self.last_real_samples = filled
        self._remember(turn, out[:filled])
        if ended and self._per_turn_buffered[turn] == 0:
            self._close(turn)
        return out

    def _remember(self, turn: int, samples: np.ndarray) -> None:
        if not self._history_cap or not samples.size:
            return
        if self._history and self._history[-1][0] != turn:
            self._history.clear()  # only the turn being heard can be put back
            self._history_samples = 0
        self._history.append((turn, samples))
        self._history_samples += samples.size
        while (
            self._history and self._history_samples - self._history[0][1].size >= self._history_cap
        ):
            self._history_samples -= self._history.popleft()[1].size

    def _note_starved(self) -> None:
        # Only a turn that has started playing and is still expected can underrun; waiting
        # for the prebuffer cushion at the start of a turn is latency, not a gap.
        if not self._open:
            self._stalled = False
            return
        if not self._stalled:
            if not any(t in self._started for t in self._open):
                return
            self._stalled = True
            self.underruns += 1
            if self.prebuffer_samples:
                self._started.clear()  # rebuild the cushion before resuming
        self.missed_frames += 1

    # -- pause / resume ------------------------------------------------------------------

    def pause(self) -> None:
        """Stop releasing frames; keep everything (see the module docstring)."""
        self._paused = True
        self._stalled = False

    def resume(self) -> None:
        """Release frames again, from where `pause` (and any `unplay`) left the head."""
        self._paused = False

    def recent(self, turn: int) -> np.ndarray:
        """The last popped samples of `turn` still remembered (at most `history_s`), oldest
        first; empty if the last popped audio was of another turn."""
        if not self._history or self._history[-1][0] != turn:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate([x for _, x in self._history])

    def unplay(self, n: int, *, heard: bool) -> int:
        """Put the last `n` popped real samples of the last popped turn back at the head of the
        buffer (at most what is remembered; nothing for a cut turn). `heard`: the user heard
        them (a resume's backup: counted in `replayed_samples`); else they never reached the
        user (cleared from the output queue: they leave `played_samples`). Returns the samples
        put back."""
        if n <= 0 or not self._history:
            return 0
        turn = self._history[-1][0]
        if self.is_cut(turn):
            return 0
        parts: list[np.ndarray] = []
        left = n
        while left > 0 and self._history:
            t, x = self._history[-1]
            if x.size <= left:
                self._history.pop()
                parts.append(x)
                left -= x.size
            else:
                self._history[-1] = (t, x[: x.size - left])
                parts.append(x[x.size - left :])
                left = 0
        back = np.concatenate(parts[::-1]) if len(parts) > 1 else parts[0]
        k = int(back.size)
        self._history_samples -= k
        if self._head_offset:
            t0, c0 = self._chunks[0]
            self._chunks[0] = (t0, c0[self._head_offset :])
            self._head_offset = 0
        self._chunks.appendleft((turn, back))
        self._buffered += k
        self._per_turn_buffered[turn] = self._per_turn_buffered.get(turn, 0) + k
        self._open.add(turn)
        if heard:
            self.replayed_samples += k
        else:
            self.unplayed_samples += k
            self.played_samples -= k
            self._played_per_turn[turn] = self._played_per_turn.get(turn, 0) - k
        return k

    # -- barge-in ------------------------------------------------------------------------

    def clear(self, *, cut: bool = True) -> int:
        """Drop everything buffered (barge-in) and return how many samples were dropped.

        With `cut` (the default), every turn pushed so far is also cut, so audio of the
        interrupted turn still in flight is dropped when it arrives; newer turns play.
        """
        dropped = self._buffered
        self.dropped_samples += dropped
        self._chunks.clear()
        self._head_offset = 0
        self._buffered = 0
        self._per_turn_buffered.clear()
        if cut and self._max_turn is not None:
            self._cut_upto = self._max_turn
            self._open.clear()
            self._started.clear()
        else:
            for t in list(self._open):
                self._started.discard(t)
        self._stalled = False
        return dropped

    def cut_turn(self, turn: int) -> int:
        """Drop `turn`'s buffered audio and every later push for it; return samples dropped."""
        self._cut.add(turn)
        dropped = self._per_turn_buffered.get(turn, 0)
        if dropped:
            if self._chunks[0][0] == turn:
                self._head_offset = 0  # the partly played head chunk goes
            self._chunks = deque(c for c in self._chunks if c[0] != turn)
            self._buffered -= dropped
            self.dropped_samples += dropped
        self._close(turn)
        return dropped
