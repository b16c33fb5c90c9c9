"""audioStreamEnd timing: once per pause of the mic, never without audio written first."""

from __future__ import annotations

import pytest

from googlive.live.audioend import AudioStreamEnd


def test_end_is_due_a_pause_after_the_last_frame_and_only_once():
    """Frames at 40 ms keep it open; 1 s after the last one the end is due, then not again."""
    m = AudioStreamEnd(pause_s=1.0)
    assert m.wait_s(0.0, audio_pending=False) is None  # nothing streamed yet
    for i in range(10):
        m.on_frame(i * 0.04)
        m.on_written()
    last = 9 * 0.04
    assert m.wait_s(last + 0.5, audio_pending=False) == pytest.approx(0.5)
    assert m.wait_s(last + 1.0, audio_pending=False) <= 0
    m.on_sent()
    assert m.wait_s(last + 5.0, audio_pending=False) is None  # no duplicate end
    assert m.ends_sent == 1


def test_audio_coming_back_reopens_the_stream():
    """After an end, the next frame written reopens it; a second pause gives a second end."""
    m = AudioStreamEnd(pause_s=1.0)
    m.on_frame(0.0)
    m.on_written()
    m.on_sent()
    m.on_frame(3.0)
    assert m.wait_s(3.0, audio_pending=True) is None  # queued, not yet written
    m.on_written()
    assert m.wait_s(3.2, audio_pending=False) == pytest.approx(0.8)
    assert m.wait_s(4.0, audio_pending=False) <= 0


def test_pending_audio_defers_the_end():
    """While audio waits in the outbox (e.g. a slow socket), no end is due."""
    m = AudioStreamEnd(pause_s=1.0)
    m.on_frame(0.0)
    m.on_written()
    assert m.wait_s(2.0, audio_pending=True) is None


def test_a_new_connection_has_nothing_to_end_until_audio_is_written_on_it():
    """A reconnect: the old stream is gone with its connection. Audio queued meanwhile is
    written on the new one, and a mic that stopped during the reconnect is ended right after."""
    m = AudioStreamEnd(pause_s=1.0)
    m.on_frame(0.0)
    m.on_written()
    m.on_connected()  # the resumed connection
    assert m.wait_s(5.0, audio_pending=False) is None
    m.on_written()  # the queued audio went out on it
    assert m.wait_s(5.0, audio_pending=False) < 0  # the mic stopped at t=0: end at once
