"""googlive.media.echo.EchoGuard with the VAD: the model's own voice fed back at the mic never counts
as the user; the user speaking over it still does (synchronous, explicit times)."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from googlive.media.echo import EchoGuard, sub_block_ms
from googlive.media.vad import SpeechStart, Vad
from tests.signals import scale_to_dbfs, speech_like, white_noise

R_OUT, R_MIC = 24000, 48000


def model_voice(seconds: float, seed: int = 1) -> np.ndarray:
    """Words with gaps: 0.4-0.9 s of speech-like voice, 60-250 ms pauses."""
    rng = np.random.default_rng(seed)
    out, n = [], 0
    while n < seconds * R_OUT:
        w = speech_like(R_OUT, rng.uniform(0.4, 0.9), -18.0, seed=int(rng.integers(1 << 30)))
        g = np.zeros(int(R_OUT * rng.uniform(0.06, 0.25)))
        out += [w, g]
        n += w.size + g.size
    return np.concatenate(out)[: int(seconds * R_OUT)]


def run(
    echo_db: float,
    delay_s: float,
    *,
    seconds: float = 8.0,
    user: list[tuple[float, np.ndarray]] = (),  # type: ignore[assignment]
    guard: bool = True,
) -> list[float]:
    """Play `model_voice`, feed back its echo at `echo_db` after `delay_s` (+ room noise and
    the user's bursts at their times); return the VAD onsets (s)."""
    ref = model_voice(seconds)
    echo = soxr.resample(ref, R_OUT, R_MIC)
    d = int(delay_s * R_MIC)
    mic = np.zeros(int(seconds * R_MIC))
    mic[d:] = echo[: mic.size - d]
    mic = scale_to_dbfs(mic, echo_db) + white_noise(R_MIC, seconds, -65.0, seed=3)
    for at, x in user:
        a = int(at * R_MIC)
        mic[a : a + x.size] += x[: mic.size - a]
    eg, vad, onsets = EchoGuard(), Vad(), []
    for k in range(int(seconds / 0.02)):
        eg.played(ref[k * 480 : (k + 1) * 480], k * 0.02)  # handed at the same pace it plays
        frame = mic[k * 960 : (k + 1) * 960]
        e = eg.predict_db(sub_block_ms(frame), k * 0.02, learn=not vad.speaking) if guard else None
        ev = vad.feed(frame, playing=True, echo_db=e)
        if isinstance(ev, SpeechStart):
            onsets.append(ev.sample_index / R_MIC)
    return onsets


@pytest.mark.parametrize("echo_db", [-20.0, -26.0, -35.0])
@pytest.mark.parametrize("delay_s", [0.08, 0.25])
def test_the_models_own_echo_never_counts_as_the_user(echo_db, delay_s):
    assert run(echo_db, delay_s) == []


def test_without_the_guard_a_loud_echo_would_pause_the_model():
    """The fixed -25 dBFS guard alone (no reference) is fooled by a -20 dBFS echo: the
    condition above is a real one."""
    assert len(run(-20.0, 0.15, guard=False)) > 0


@pytest.mark.parametrize(("echo_db", "user_db"), [(-20.0, -10.0), (-26.0, -16.0), (-35.0, -25.0)])
def test_the_user_talking_over_the_echo_is_still_heard(echo_db, user_db):
    """Three real utterances, 10 dB above the echo (a talker nearer the mic than the speaker
    is), over the model's voice: each is caught within 250 ms, after the guard has learnt the
    echo path (from 2 s on). Energy alone cannot tell a talker from an echo as loud as they
    are while the model talks without a gap; that takes the browser's echo cancellation."""
    at = [2.5, 4.5, 6.5]
    user = [(t, speech_like(R_MIC, 0.7, user_db, seed=50 + i)) for i, t in enumerate(at)]
    onsets = run(echo_db, 0.15, user=user)
    assert len(onsets) == 3, onsets
    assert all(0 <= o - t <= 0.25 for o, t in zip(onsets, at, strict=True)), onsets


def test_the_guard_learns_the_delay_and_the_coupling():
    eg = EchoGuard()
    ref = model_voice(4.0)
    mic = np.zeros(ref.size)
    lag = int(0.2 * R_OUT)
    mic[lag:] = 0.1 * ref[:-lag]  # -20 dB coupling, 200 ms
    for k in range(ref.size // 480):
        eg.played(ref[k * 480 : (k + 1) * 480], k * 0.02)
        eg.predict_db(
            sub_block_ms(soxr.resample(mic[k * 480 : (k + 1) * 480], R_OUT, R_MIC)), k * 0.02
        )
    assert eg.lag is not None and eg.lag * 0.005 == pytest.approx(0.2, abs=0.006)
    assert 10 * np.log10(eg.coupling) == pytest.approx(-20.0, abs=2.0)


def test_no_prediction_when_nothing_was_played_lately():
    eg = EchoGuard()
    eg.played(np.full(480, 3000, np.int16), 0.0)
    assert eg.predict_db(np.full(4, 1e-4), 0.1) is not None
    assert eg.predict_db(np.full(4, 1e-4), 5.0) is None
