"""Tests for googlive.media.playback.PlaybackBuffer: framing, accounting, turns, underruns,
prebuffer and barge-in."""

from __future__ import annotations

import numpy as np

from googlive.media.audio import pcm16_bytes
from googlive.media.playback import PlaybackBuffer

F = 480  # 20 ms at 24 kHz


def ramp(n: int, start: int = 1) -> np.ndarray:
    return (np.arange(start, start + n) % 30000).astype(np.int16)


def balanced(b: PlaybackBuffer) -> bool:
    return (
        b.pushed_samples + b.replayed_samples
        == b.played_samples + b.dropped_samples + b.buffered_samples
    )


def test_frames_are_exact_and_in_order_across_chunks():
    """Odd-sized chunks (bytes or arrays) come out as 480-sample frames in order."""
    b = PlaybackBuffer()
    x = ramp(1000)
    b.push(pcm16_bytes(x[:333]), 1)
    b.push(x[333:], 1)
    f1, f2 = b.pop(), b.pop()
    assert f1.dtype == np.int16 and len(f1) == F and len(f2) == F
    assert np.array_equal(np.concatenate([f1, f2]), x[:960])
    assert b.pop() is None  # 40 samples left, turn not ended
    b.end_turn(1)
    last = b.pop()
    assert np.array_equal(last[:40], x[960:]) and not last[40:].any()
    assert b.pop() is None
    assert b.played_samples == 1000 and b.padded_samples == 440
    assert b.played_in_turn(1) == 1000
    assert not b.playing and balanced(b)


def test_clear_accounting():
    """After clear(), played + dropped + buffered == pushed and clear returns the drop."""
    b = PlaybackBuffer()
    b.push(ramp(24000), 1)
    for _ in range(10):
        b.pop()
    assert b.clear() == 24000 - 10 * F
    assert b.buffered_samples == 0 and b.dropped_samples == 24000 - 10 * F
    assert b.played_in_turn(1) == 10 * F
    assert balanced(b) and not b.playing


def test_clear_cuts_in_flight_audio_but_not_new_turns():
    """After a barge-in, late chunks of the interrupted turn are dropped; turn 2 plays."""
    b = PlaybackBuffer()
    b.push(ramp(2 * F), 1)
    b.pop()
    b.clear()
    assert b.push(ramp(F), 1) == 0
    assert b.pop() is None and b.underruns == 0
    assert b.push(ramp(F), 2) == F
    assert b.pop() is not None and b.current_turn == 2
    assert balanced(b)


def test_cut_turn_drops_buffered_and_later_chunks_of_that_turn_only():
    """cut_turn removes that turn's audio, keeps the next turn's, and blocks later pushes."""
    b = PlaybackBuffer()
    b.push(ramp(3 * F), 1)
    b.pop()
    b.push(ramp(F, start=5000), 2)
    assert b.cut_turn(1) == 2 * F
    assert b.push(ramp(F), 1) == 0
    f = b.pop()
    assert np.array_equal(f, ramp(F, start=5000))
    assert b.dropped_samples == 3 * F and b.played_in_turn(1) == F and b.played_in_turn(2) == F
    assert balanced(b)


def test_overflow_is_dropped_and_counted():
    """Beyond max_buffer_s the overflow is dropped; push returns what was accepted."""
    b = PlaybackBuffer(max_buffer_s=0.1)  # 2400 samples
    assert b.push(ramp(2000), 1) == 2000
    assert b.push(ramp(1000), 1) == 400
    assert b.dropped_samples == 600 and b.buffered_s == 0.1
    assert balanced(b)


def test_underruns_only_while_a_turn_is_in_progress():
    """Idle pops are not underruns; a started turn running dry is one stall, and every
    None pop during it is a missed frame; an ended turn draining is not an underrun."""
    b = PlaybackBuffer()
    for _ in range(5):
        assert b.pop() is None
    assert b.underruns == 0
    b.push(ramp(F), 1)
    assert b.pop() is not None
    assert b.playing
    for _ in range(3):
        assert b.pop() is None
    assert b.underruns == 1 and b.missed_frames == 3
    b.push(ramp(F), 1)
    assert b.pop() is not None
    b.end_turn(1)
    assert b.pop() is None and not b.playing
    assert b.underruns == 1 and b.missed_frames == 3


def test_prebuffer_waits_then_absorbs_a_gap():
    """With a 60 ms cushion the first frame waits for 60 ms of audio (not an underrun), and
    a 40 ms arrival gap afterwards plays through without an underrun; without the cushion the
    same arrival pattern underruns."""

    def scenario(prebuffer_ms: int) -> tuple[PlaybackBuffer, list[bool]]:
        b = PlaybackBuffer(prebuffer_ms=prebuffer_ms)
        got = []
        # arrivals per 20 ms tick: 20 ms, 20 ms, 20 ms, gap, gap, 40 ms, 40 ms, then end
        arrivals = [F, F, F, 0, 0, 2 * F, 2 * F, 0, 0, 0, 0, 0]
        for tick, n in enumerate(arrivals):
            if n:
                b.push(ramp(n), 1)
            if tick == 7:
                b.end_turn(1)
            got.append(b.pop() is not None)
        return b, got

    cushioned, got = scenario(60)
    assert got[:3] == [False, False, True]
    assert cushioned.underruns == 0 and cushioned.played_samples == 7 * F
    bare, got_bare = scenario(0)
    assert got_bare[0] is True
    assert bare.underruns >= 1


def test_prebuffer_released_early_when_turn_ends():
    """A turn shorter than the cushion plays as soon as it is marked complete."""
    b = PlaybackBuffer(prebuffer_ms=60)
    b.push(ramp(F), 1)
    assert b.pop() is None
    b.end_turn(1)
    assert b.pop() is not None and b.underruns == 0


def test_new_turn_ends_the_old_one_and_frames_never_mix_turns():
    """Pushing turn 2 ends turn 1: its tail is padded, turn 2 starts on a fresh frame."""
    b = PlaybackBuffer()
    b.push(ramp(F + 100), 1)
    b.push(ramp(F, start=9000), 2)
    b.pop()
    tail = b.pop()
    assert not tail[100:].any() and b.played_in_turn(1) == F + 100
    assert np.array_equal(b.pop(), ramp(F, start=9000))
    assert b.push(ramp(10), 1) == 0  # turn 1 ended: late audio is dropped


def test_long_buffer_of_small_chunks_drains_exactly():
    """A full 60 s buffer of 20 ms chunks drains frame by frame with exact accounting."""
    b = PlaybackBuffer()
    for _ in range(3000):
        b.push(ramp(F), 1)
    for _ in range(3000):
        assert len(b.pop()) == F
    assert b.played_samples == 60 * 24000 and balanced(b)


def test_pause_keeps_everything_and_accepts_new_audio():
    """While paused nothing is released, nothing is lost, no underrun is counted, and audio that
    keeps arriving for the paused turn is kept; after resume it all plays in order."""
    b = PlaybackBuffer()
    x = ramp(10 * F)
    b.push(x[: 4 * F], 1)
    assert np.array_equal(b.pop(), x[:F])
    b.pause()
    assert b.paused and b.playing and not b.audible
    assert b.pop() is None and b.pop() is None
    b.push(x[4 * F :], 1)
    assert b.underruns == 0 and b.missed_frames == 0 and b.dropped_samples == 0
    b.resume()
    out = [b.pop() for _ in range(9)]
    assert np.array_equal(np.concatenate(out), x[F:])
    assert b.played_in_turn(1) == 10 * F and balanced(b)


def test_unplay_unheard_frames_returns_them_exactly_to_the_head():
    """Frames popped but cleared from the output queue go back in front, in order, and leave
    the played count: popping again yields the identical samples."""
    b = PlaybackBuffer()
    x = ramp(6 * F + 100)
    b.push(x, 1)
    for _ in range(3):
        b.pop()
    assert b.unplay(2 * F, heard=False) == 2 * F
    assert b.played_in_turn(1) == F and b.played_samples == F and b.unplayed_samples == 2 * F
    assert balanced(b)
    b.end_turn(1)
    rest = []
    while (f := b.pop()) is not None:
        rest.append(f)
    got = np.concatenate(rest)[: 5 * F + 100]
    assert np.array_equal(got, x[F:])
    assert b.played_in_turn(1) == x.size and balanced(b) and not b.playing


def test_unplay_heard_replays_and_is_counted_as_replayed():
    """A resume backing up repeats audio the user heard: played counts it twice, replayed once."""
    b = PlaybackBuffer()
    x = ramp(5 * F)
    b.push(x, 1)
    b.end_turn(1)
    b.pop(), b.pop()
    b.pause()
    assert b.unplay(F // 2, heard=True) == F // 2
    b.resume()
    f = b.pop()
    assert np.array_equal(f, np.concatenate([x[F + F // 2 : 2 * F], x[2 * F : 2 * F + F // 2]]))
    assert b.replayed_samples == F // 2 and balanced(b)
    while b.pop() is not None:
        pass
    assert b.played_in_turn(1) == x.size + F // 2 and balanced(b)


def test_unplay_after_the_turn_drained_reopens_it_and_never_mixes_turns():
    """An ended turn that already drained can be put back (its tail was never heard) and plays
    before the next turn; history never crosses turns; a cut turn cannot be put back."""
    b = PlaybackBuffer()
    b.push(ramp(2 * F), 1)
    b.end_turn(1)
    b.pop(), b.pop()
    assert not b.playing
    assert b.unplay(F, heard=False) == F
    assert b.playing and b.current_turn == 1
    b.push(ramp(F, start=7), 2)
    f1, f2 = b.pop(), b.pop()
    assert np.array_equal(f1, ramp(2 * F)[F:]) and np.array_equal(f2, ramp(F, start=7))
    assert b.recent(1).size == 0 and b.recent(2).size == F
    assert b.unplay(10 * F, heard=False) == F  # only what turn 2 has in history
    b.cut_turn(2)
    assert b.unplay(F, heard=False) == 0 and balanced(b)


def test_history_is_bounded():
    """Only the last history_s of popped audio is remembered."""
    b = PlaybackBuffer(history_s=0.1)  # 2400 samples = 5 frames
    b.push(ramp(20 * F), 1)
    for _ in range(20):
        b.pop()
    kept = b.recent(1).size
    assert 5 * F <= kept <= 6 * F
    assert b.unplay(100 * F, heard=True) == kept and b.recent(1).size == 0 and balanced(b)
