"""googlive.media.bargein: the barge-in policy with explicit times (no event loop), and the resume point."""

from __future__ import annotations

import numpy as np
import pytest

from googlive.media.bargein import (
    BargeInConfig,
    BargeInPolicy,
    CutTurnPolicy,
    Drop,
    Pause,
    Resume,
    resume_backup,
)

FRAME = 0.02


def talk(p: BargeInPolicy, t0: float, seconds: float, playing: int | None = 1) -> list:
    """The user sounds from t0 for `seconds`: onset confirmed on the second frame (as the VAD
    does), voiced frames until the end. Returns every action."""
    out = []
    t = t0 + FRAME
    out += p.on_mic(t, True)
    t += FRAME
    out += p.on_onset(t, playing)
    out += p.on_mic(t, True)
    while t + FRAME <= t0 + seconds + 1e-9:
        t += FRAME
        out += p.on_mic(t, True)
    return out


def quiet(p: BargeInPolicy, t0: float, seconds: float) -> list:
    out = []
    t = t0
    while t + FRAME <= t0 + seconds + 1e-9:
        t += FRAME
        out += p.on_mic(t, False)
    return out


def test_backchannel_pauses_then_resumes_after_the_grace_window():
    """A 260 ms "mm-hm" pauses at its confirmed onset and resumes once 250 ms of quiet passed."""
    p = BargeInPolicy()
    acts = talk(p, 10.0, 0.26)
    assert acts == [Pause(1, pytest.approx(10.04))]
    assert p.paused and p.last_voiced == pytest.approx(10.26)
    acts = quiet(p, 10.26, 1.0)
    assert len(acts) == 1 and isinstance(acts[0], Resume)
    r = acts[0]
    assert r.turn == 1
    assert r.t - 10.26 == pytest.approx(0.26, abs=1e-6)  # the first frame end >= grace_s of quiet
    assert r.paused_s == pytest.approx(r.t - 10.04)
    assert not p.paused and p.resumes == 1


def test_a_short_gap_inside_the_speech_does_not_resume():
    """Quiet shorter than the grace window (between two words) keeps the pause."""
    p = BargeInPolicy()
    talk(p, 0.0, 0.3)
    assert quiet(p, 0.3, 0.2) == []
    assert talk(p, 0.5, 0.3, playing=None) == []  # the onset while paused changes nothing
    assert p.paused and p.pauses == 1


def test_server_interrupted_for_the_paused_turn_drops_it():
    p = BargeInPolicy()
    talk(p, 0.0, 0.3)
    acts = p.on_interrupted(1, 0.35, playing_turn=None)
    assert acts == [Drop(1, 0.35, "server", pytest.approx(0.31))]
    assert not p.paused
    assert quiet(p, 0.35, 1.0) == []  # nothing to resume any more
    assert p.drops == {"server": 1}


def test_server_interrupted_while_playing_drops_the_turn_being_heard():
    """No local onset (the server's VAD heard it first): the turn playing is dropped at once,
    also when `interrupted` came after that turn's turnComplete (it is still playing out)."""
    p = BargeInPolicy()
    assert p.on_interrupted(4, 1.0, playing_turn=4) == [Drop(4, 1.0, "server")]
    # interrupted for a turn nobody is hearing (already played out): nothing to stop
    assert p.on_interrupted(3, 1.1, playing_turn=5) == []
    assert p.on_interrupted(3, 1.2, playing_turn=None) == []


def test_interrupted_for_another_turn_keeps_the_pause():
    p = BargeInPolicy()
    talk(p, 0.0, 0.1, playing=7)
    assert p.on_interrupted(6, 0.2, playing_turn=None) == []
    assert p.paused_turn == 7


def test_a_new_model_turn_while_paused_drops_the_paused_one():
    p = BargeInPolicy()
    talk(p, 0.0, 0.3, playing=2)
    assert p.on_model_audio(2, 0.2) == []  # more of the same answer: kept
    acts = p.on_model_audio(3, 0.4)
    assert acts == [Drop(2, 0.4, "new_turn", pytest.approx(0.36))]
    assert p.on_model_audio(4, 0.5) == []  # not paused any more


def test_talking_past_the_limit_drops():
    """Still sounding talk_limit_s after the pause: the user has taken the floor."""
    cfg = BargeInConfig(talk_limit_s=1.0)
    p = BargeInPolicy(cfg)
    acts = talk(p, 0.0, 3.0)
    drops = [a for a in acts if isinstance(a, Drop)]
    assert len(drops) == 1 and drops[0].reason == "talk_limit"
    assert drops[0].t == pytest.approx(0.04 + 1.0, abs=FRAME)
    assert not any(isinstance(a, Resume) for a in acts + quiet(p, 3.0, 1.0))


def test_gaps_shorter_than_grace_count_as_still_talking():
    """ "yeah... yeah... right" with 140 ms gaps for 2.5 s: one pause, dropped at the limit."""
    p = BargeInPolicy()
    acts = talk(p, 0.0, 0.26)
    t = 0.26
    while t < 2.5:
        acts += quiet(p, t, 0.14)
        t += 0.14
        for _ in range(13):  # 260 ms of sound
            t += FRAME
            acts += p.on_mic(t, True)
    assert [type(a) for a in acts] == [Pause, Drop]
    assert acts[1].reason == "talk_limit"


def test_onset_with_nothing_playing_does_nothing():
    p = BargeInPolicy()
    assert talk(p, 0.0, 0.3, playing=None) == []
    assert quiet(p, 0.3, 1.0) == []
    assert p.pauses == 0


def test_pause_then_resume_then_pause_again():
    p = BargeInPolicy()
    talk(p, 0.0, 0.2)
    assert [type(a) for a in quiet(p, 0.2, 0.5)] == [Resume]
    assert [type(a) for a in talk(p, 1.0, 0.2)] == [Pause]
    assert p.pauses == 2 and p.resumes == 1


def test_cut_turn_baseline_drops_on_onset_and_never_resumes():
    p = CutTurnPolicy()
    acts = talk(p, 0.0, 0.25)
    assert acts == [Drop(1, pytest.approx(0.04), "local")]
    assert quiet(p, 0.25, 1.0) == []


def test_config_is_validated():
    with pytest.raises(ValueError):
        BargeInConfig(backup_s=0.5, backup_max_s=0.4)
    with pytest.raises(ValueError):
        BargeInConfig(talk_limit_s=0)


# ---- resume point -------------------------------------------------------------------------
RATE = 24000


def word(ms: float, amp: float = 0.2, f: float = 220.0) -> np.ndarray:
    n = int(RATE * ms / 1000)
    return amp * np.sin(2 * np.pi * f * np.arange(n) / RATE)


def gap(ms: float) -> np.ndarray:
    return np.zeros(int(RATE * ms / 1000))


def test_resume_backs_up_to_the_start_of_the_cut_word():
    heard = np.concatenate([word(300), gap(60), word(130)])  # cut 130 ms into a word
    back = resume_backup(heard, RATE)
    assert back == pytest.approx(int(0.13 * RATE), abs=RATE // 100)


def test_resume_point_in_int16_and_with_a_quiet_not_silent_gap():
    x = np.concatenate([word(200), word(50, amp=0.005), word(90)])  # gap 32 dB down
    back = resume_backup((x * 32767).astype(np.int16), RATE)
    assert back == pytest.approx(int(0.09 * RATE), abs=RATE // 100)


def test_fluent_speech_without_a_gap_backs_up_the_fixed_stretch():
    assert resume_backup(word(1000), RATE) == int(0.2 * RATE)


def test_word_start_further_back_than_the_maximum_is_not_used():
    heard = np.concatenate([gap(50), word(600)])
    assert resume_backup(heard, RATE) == int(0.2 * RATE)


def test_cut_inside_a_gap_resumes_in_place_and_short_history_is_respected():
    assert resume_backup(np.concatenate([word(300), gap(40)]), RATE) == 0
    assert resume_backup(word(50), RATE) == int(0.05 * RATE)  # never more than was heard
    assert resume_backup(np.zeros(0), RATE) == 0


def test_the_last_syllable_of_a_complete_turn_is_not_paused():
    """Talking over the final 100 ms of a finished answer: no pause (it ends by itself); with
    more left, or with the turn still coming, it pauses."""
    p = BargeInPolicy()
    assert p.on_onset(1.0, 3, left_s=0.1) == []
    assert p.on_onset(1.0, 3, left_s=0.5) == [Pause(3, 1.0)]
    p = BargeInPolicy()
    assert p.on_onset(1.0, 3, left_s=None) == [Pause(3, 1.0)]
