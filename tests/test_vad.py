"""Tests for googlive.media.vad: onset/offset timing, and no false triggers on noise, clicks,
music or echo. All signals are synthetic (tests/signals.py) at 48 kHz in 20 ms frames."""

from __future__ import annotations

import numpy as np
import pytest

from googlive.media.audio import to_int16
from googlive.media.vad import SpeechEnd, SpeechStart, Vad, VadConfig
from tests.signals import (
    brown_noise,
    frames,
    keyboard_clicks,
    music,
    pink_noise,
    place,
    speech_like,
    white_noise,
)

RATE = 48000
FRAME = 960
MS = RATE // 1000


def run(x, *, playing=False, reference_db=None, config=None):
    """Feed x frame by frame; return [(frame_index, event)] and the Vad."""
    vad = Vad(config)
    events = []
    for i, fr in enumerate(frames(to_int16(x), FRAME)):
        ev = vad.feed(fr, playing=playing, reference_db=reference_db)
        if ev is not None:
            events.append((i, ev))
    return events, vad


def decided_at(i: int) -> int:
    """Sample index just after frame i: when its decision is available."""
    return (i + 1) * FRAME


BACKGROUNDS = {
    "quiet": lambda s: white_noise(RATE, s, -60),
    "pink-45": lambda s: pink_noise(RATE, s, -45),
    "fan-40": lambda s: brown_noise(RATE, s, -40),
}


@pytest.mark.parametrize("bg", sorted(BACKGROUNDS))
@pytest.mark.parametrize("level", [-25.0, -20.0, -10.0])
@pytest.mark.parametrize("offset", [0, 123, 700])
def test_speech_onset_and_offset_timing(bg, level, offset):
    """Speech at normal level is decided within 60 ms of its true onset (index within one
    frame of it), and ends hangover (300 ms) +- one frame after its true end."""
    onset = RATE + offset
    dur = 2 * RATE
    x = place(BACKGROUNDS[bg](4.0), speech_like(RATE, 2.0, level), onset)
    events, _ = run(x)
    assert [type(e) for _, e in events] == [SpeechStart, SpeechEnd]
    (i0, start), (i1, end) = events
    assert decided_at(i0) - onset <= 60 * MS
    assert abs(start.sample_index - onset) <= FRAME
    assert start.level_db > level - 15
    assert abs(end.sample_index - (onset + dur)) <= FRAME
    assert abs(decided_at(i1) - (onset + dur) - 300 * MS) <= FRAME


@pytest.mark.parametrize(
    "name,signal",
    [
        ("pink-30", lambda: pink_noise(RATE, 10, -30)),
        ("brown-30", lambda: brown_noise(RATE, 10, -30)),
        ("music-30", lambda: music(RATE, 10, -30)),
        ("clicks-20pk", lambda: keyboard_clicks(RATE, 10, -20) + white_noise(RATE, 10, -65)),
        ("fast-clicks-10pk", lambda: keyboard_clicks(RATE, 10, -10, mean_gap_s=0.05)),
        ("clicks-over-fan", lambda: keyboard_clicks(RATE, 10, -20) + pink_noise(RATE, 10, -50)),
    ],
)
def test_no_false_triggers_on_background(name, signal):
    """Steady fan noise, music at -30 dBFS and typing produce no speech events at all."""
    events, _ = run(signal())
    assert events == []


def test_noise_floor_tracks_background():
    """The floor settles within 2 dB of steady background and falls quickly when it stops."""
    x = np.concatenate([pink_noise(RATE, 3, -40), white_noise(RATE, 1, -70)])
    vad = Vad()
    for fr in frames(to_int16(x[: 3 * RATE]), FRAME):
        vad.feed(fr)
    assert abs(vad.noise_floor_db - -40) < 2
    for fr in frames(to_int16(x[3 * RATE : 3 * RATE + RATE // 5]), FRAME):
        vad.feed(fr)
    assert vad.noise_floor_db < -60


def test_slowly_rising_background_is_learnt_not_detected():
    """Background fading in by 20 dB over 4 s is tracked by the floor, not taken as speech."""
    n = 6 * RATE
    ramp = np.clip(np.arange(n) / (4 * RATE), 0, 1)
    x = pink_noise(RATE, 6, -30) * 10 ** (-20 * (1 - ramp) / 20)
    events, vad = run(x)
    assert events == []
    assert vad.noise_floor_db > -34


@pytest.mark.parametrize("level", [-35.0, -38.0])
def test_echo_while_playing_does_not_trigger(level):
    """Model speech leaking back at -35 dBFS does not trigger while playing (fixed guard),
    nor with a reference level of -15 dBFS for what is being played."""
    x = place(white_noise(RATE, 5, -60), speech_like(RATE, 3.0, level, seed=11), RATE)
    assert run(x, playing=True)[0] == []
    assert run(x, playing=True, reference_db=-15.0)[0] == []


def test_same_echo_would_trigger_without_the_guard():
    """The guard is what stops it: not playing, the -35 dBFS echo is speech to the VAD."""
    x = place(white_noise(RATE, 5, -60), speech_like(RATE, 3.0, -35, seed=11), RATE)
    assert any(isinstance(e, SpeechStart) for _, e in run(x)[0])


@pytest.mark.parametrize("reference_db", [None, -15.0])
def test_speech_over_echo_while_playing_is_detected(reference_db):
    """A talker at -20 dBFS barges in over -35 dBFS echo and is detected within 100 ms."""
    onset = 2 * RATE + 300
    echo = speech_like(RATE, 5.0, -35, seed=11)
    x = place(echo + white_noise(RATE, 5, -60), speech_like(RATE, 1.5, -20), onset)
    events, _ = run(x, playing=True, reference_db=reference_db)
    starts = [(i, e) for i, e in events if isinstance(e, SpeechStart)]
    assert len(starts) == 1
    i, start = starts[0]
    assert decided_at(i) - onset <= 100 * MS
    assert abs(start.sample_index - onset) <= 3 * FRAME


def test_quiet_reference_lowers_the_guard():
    """With quiet model audio (reference -40 dBFS) a -30 dBFS talker gets through, while the
    fixed guard (no reference) holds it back: the reference makes barge-in more sensitive."""
    onset = RATE
    x = place(white_noise(RATE, 3, -60), speech_like(RATE, 1.0, -30), onset)
    assert run(x, playing=True)[0] == []
    events, _ = run(x, playing=True, reference_db=-40.0)
    assert isinstance(events[0][1], SpeechStart)


def test_reference_guard_is_held_after_the_reference_drops():
    """The reference is peak-held with a 1 dB/frame decay: echo arriving 100 ms after the
    played audio went quiet is still guarded."""
    vad = Vad()
    for fr in frames(to_int16(white_noise(RATE, 1, -60)), FRAME):
        vad.feed(fr, playing=True, reference_db=-10.0)
    for _ in range(5):
        vad.feed(np.zeros(FRAME, np.int16), playing=True, reference_db=-60.0)
    assert vad.threshold_db(playing=True, reference_db=-60.0) == pytest.approx(
        -10 - 5 - 15, abs=1.01
    )


def test_warmup_blocks_onsets_and_learns_loud_start():
    """Music already playing at start-up is learnt during warm-up: no event, floor near it."""
    events, vad = run(music(RATE, 3, -30))
    assert events == []
    assert vad.noise_floor_db > -40


def test_properties_and_empty_frames():
    """Counters advance per non-empty frame; an empty frame is ignored."""
    vad = Vad()
    assert vad.feed(np.zeros(0, np.int16)) is None
    assert vad.frames == 0
    vad.feed(np.zeros(FRAME, np.int16))
    assert vad.frames == 1 and vad.samples == FRAME
    assert vad.level_db == -120.0
    assert not vad.speaking


def test_feed_level_matches_feed_for_sustained_signals():
    """Precomputed levels give the same events as frames for a sustained signal."""
    from googlive.media.audio import rms_dbfs

    x = to_int16(place(white_noise(RATE, 3, -60), speech_like(RATE, 1.0, -20), RATE))
    a, b = Vad(), Vad()
    ev_a, ev_b = [], []
    for fr in frames(x, FRAME):
        ev_a.append(a.feed(fr))
        ev_b.append(b.feed_level(rms_dbfs(fr), len(fr)))
    assert ev_a == ev_b
    assert sum(e is not None for e in ev_a) == 2


def test_onset_frames_config_changes_latency():
    """onset_frames=3 decides one frame later than the default 2."""
    x = place(white_noise(RATE, 3, -60), speech_like(RATE, 1.0, -20), RATE)
    (i2, _), *_ = run(x)[0]
    (i3, _), *_ = run(x, config=VadConfig(onset_frames=3))[0]
    assert i3 == i2 + 1
