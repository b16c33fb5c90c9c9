"""The recorder's pure parts: the sample-accurate mixer and the video slot picker."""

from __future__ import annotations

import numpy as np
import pytest

from googlive.features.recording.mixer import AudioMixer
from googlive.features.recording.video import SlotPicker, slot_of

R = 48000


def feed(mixer: AudioMixer, voice: str, x: np.ndarray, rate: int, t0: float, chunk: int) -> None:
    """Feed `x` in chunks with t from the sample count, as a caller must."""
    for i in range(0, x.size, chunk):
        mixer.add(voice, x[i : i + chunk], rate, t0 + i / rate)


def drain(mixer: AudioMixer) -> np.ndarray:
    return np.concatenate([mixer.pop_ready(), mixer.flush()]).astype(np.float64)


def test_a_48k_voice_lands_on_the_exact_sample() -> None:
    """An impulse at t=0.5 s comes out at sample 24000, with silence before it."""
    m = AudioMixer(("user",))
    x = np.zeros(R, np.int16)
    x[100] = 10000
    feed(m, "user", x, R, 0.5 - 100 / R, 960)
    y = drain(m)
    assert np.flatnonzero(y).tolist() == [24000]


def test_a_24k_voice_is_resampled_without_delay() -> None:
    """A 24 kHz tone burst starting at t=0.25 s starts at sample 12000 of the 48 kHz mix."""
    m = AudioMixer(("model",))
    n = np.arange(4800)
    x = np.concatenate([np.zeros(6000), 8000 * np.sin(2 * np.pi * 1000 * n / 24000)])
    feed(m, "model", x.astype(np.int16), 24000, 0.0, 480)
    y = drain(m)
    onset = int(np.argmax(np.abs(y) > 1000))
    assert abs(onset - 12000) <= 3
    assert y.size >= 12000 + 9600


def test_positions_come_from_sample_counts_not_jittery_t() -> None:
    """Chunks whose t is off by up to 1 ms still join seamlessly: no gap, no doubled sample."""
    m = AudioMixer(("user",))
    rng = np.random.default_rng(0)
    for i in range(100):
        jitter = rng.uniform(-0.001, 0.001) if i else 0.0
        m.add("user", np.full(960, 1000, np.int16), R, i * 0.02 + jitter)
    y = drain(m)
    assert np.all(y[10 : 96000 - 10] == 1000)


def test_gaps_are_silence_and_overlaps_saturate() -> None:
    """Two full-scale voices overlapping clip at int16 limits; a gap between chunks is zero."""
    m = AudioMixer(("user", "model"))
    m.add("user", np.full(4800, 30000, np.int16), R, 0.0)
    m.add("model", np.full(4800, 30000, np.int16), R, 0.05)
    m.add("user", np.full(960, -20000, np.int16), R, 0.5)
    y = drain(m)
    assert np.all(y[:2400] == 30000)
    assert np.all(y[2400:4800] == 32767)
    assert np.all(y[4800:7200] == 30000)
    assert np.all(y[7200:24000] == 0)
    assert np.all(y[24000:24960] == -20000)


def test_nothing_leaves_before_the_mixing_window() -> None:
    """For `window_s` after the first chunk nothing leaves, so a voice starting late mixes in."""
    m = AudioMixer(("user", "model"), window_s=0.2)
    m.add("user", np.full(4800, 100, np.int16), R, 0.0)  # 0.1 s
    assert m.pop_ready().size == 0
    m.add("model", np.full(4800, 100, np.int16), R, 0.05)
    assert m.late_samples == 0


def test_a_silent_voice_does_not_hold_the_cursor_back() -> None:
    """With the model never talking, user audio leaves as it arrives, in whole blocks."""
    m = AudioMixer(("user", "model"), window_s=0.2)
    out = 0
    for i in range(100):  # 2 s of user only
        m.add("user", np.zeros(960, np.int16), R, i * 0.02)
        out += m.pop_ready().size
    assert out == 2 * R  # the model never sent anything: it is not waited for


def test_a_voice_running_ahead_is_never_late() -> None:
    """Model audio handed 0.5 s ahead of the microphone (more than the window) all lands."""
    m = AudioMixer(("user", "model"), window_s=0.2)
    for i in range(100):
        m.add("user", np.zeros(960, np.int16), R, i * 0.02)
        m.add("model", np.full(480, 1000, np.int16), 24000, 0.5 + i * 0.02, arrival=i * 0.02)
        m.pop_ready()
    assert m.late_samples == 0


def test_a_voice_that_stops_holds_the_others_back_at_most_the_window() -> None:
    """The model stops at 1 s; the user's audio then leaves no more than 0.2 s behind."""
    m = AudioMixer(("user", "model"), window_s=0.2)
    for i in range(100):
        m.add("user", np.zeros(960, np.int16), R, i * 0.02)
        if i < 50:
            m.add("model", np.zeros(480, np.int16), 24000, i * 0.02)
        m.pop_ready()
        if i > 70:
            assert (i + 1) * 960 - m.cursor <= 0.2 * R + 960
    assert m.late_samples == 0


def test_audio_for_time_already_written_is_dropped_and_counted() -> None:
    """A chunk behind the cursor is cut at the cursor; the missing part is counted."""
    m = AudioMixer(("user", "model"), window_s=0.2)
    for i in range(50):
        m.add("user", np.zeros(960, np.int16), R, i * 0.02)
        m.pop_ready()
    assert m.cursor >= R // 2
    m.add("model", np.full(960, 1000, np.int16), R, 0.1)
    assert m.late_samples == 960


def test_a_barge_in_cut_ends_the_voice_where_its_last_sample_ends() -> None:
    """Model audio at 24 kHz that stops mid-tone leaves silence right after the cut."""
    m = AudioMixer(("user", "model"), window_s=0.2)
    n = np.arange(24000)
    tone = (8000 * np.sin(2 * np.pi * 2000 * n / 24000)).astype(np.int16)
    out = []
    for i in range(150):  # 3 s of microphone silence
        m.add("user", np.zeros(960, np.int16), R, i * 0.02)
        if 50 <= i < 80:  # model plays 1.0 .. 1.6 s, then is cut
            j = (i - 50) * 480
            m.add("model", tone[j : j + 480], 24000, i * 0.02)
        out.append(m.pop_ready())
    out.append(m.flush())
    y = np.concatenate(out).astype(np.float64)
    assert np.abs(y[int(1.01 * R) : int(1.59 * R)]).max() > 7000
    assert np.abs(y[int(1.602 * R) :]).max() < 200  # resampler ringing only, then nothing
    assert np.abs(y[: int(0.998 * R)]).max() < 200


def test_memory_is_bounded_by_max_ahead() -> None:
    """Audio placed further ahead than `max_ahead_s` is dropped and counted."""
    m = AudioMixer(("user",), max_ahead_s=1.0)
    m.add("user", np.ones(960, np.int16), R, 5.0)
    assert m.ahead_samples == 960 and m.buffered_samples == 0


@pytest.mark.parametrize("fps", [10, 15, 30])
def test_slot_picker_shows_each_slot_the_nearest_frame(fps: int) -> None:
    """30 fps input: each slot gets the newest frame within half a slot; late slots skipped."""
    picker: SlotPicker[int] = SlotPicker(fps)
    shown: dict[int, int] = {}
    skipped = 0
    for k in range(90):
        final, s = picker.offer(k / 30, k)
        skipped += s
        shown.update(final)
    shown.update(picker.flush())
    for slot, k in shown.items():
        assert abs(k / 30 - slot / fps) <= 0.5 / fps + 1e-9
    assert len(shown) + skipped == 90
    assert slot_of(2.5, 15) == 38  # a tie goes to the later slot


def test_slot_picker_rejects_frames_going_back_in_time() -> None:
    """A frame older than one already final is skipped, not shown out of order."""
    picker: SlotPicker[str] = SlotPicker(15)
    picker.offer(1.0, "a")
    picker.offer(2.0, "b")  # makes "a" final
    final, skipped = picker.offer(0.5, "old")
    assert final == [] and skipped == 1
