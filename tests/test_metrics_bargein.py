"""Barge-in figures in the diagnostics panel: paused/resumed vs dropped (pure rendering and the
tracker), and a backchannel is no latency mark."""

from __future__ import annotations

from googlive.features.metrics.bargein import BargeInStats
from googlive.features.metrics.ui import bargein_html, meters_html
from googlive.media.bargein import PlaybackChange


def test_outcomes_are_counted_apart_with_their_times():
    b = BargeInStats()
    b.add(PlaybackChange("paused", 1, 10.0, withdrawn_s=0.1))
    b.add(PlaybackChange("resumed", 1, 10.6, paused_s=0.6, replay_s=0.15, after_sound_s=0.27))
    b.add(PlaybackChange("paused", 2, 20.0))
    b.add(PlaybackChange("dropped", 2, 20.3, reason="server", paused_s=0.3))
    b.add(PlaybackChange("dropped", 3, 30.0, reason="server"))  # no local pause first
    assert (b.pauses, b.resumed, b.dropped) == (2, 1, {"server": 2})
    assert b.median_resume_ms() == 270.0
    assert b.median_pause_before_drop_ms() == 300.0
    html = bargein_html(b)
    assert 'data-pauses="2"' in html and 'data-resumed="1"' in html and 'data-dropped="2"' in html
    assert "270 ms" in html and "Gemini stopped 2" in html
    assert 'data-last="dropped"' in html and "while playing" in html


def test_meter_line_shows_resumed_and_dropped():
    html = meters_html(-30.0, "paused", 3, 2, 1)
    assert "Model paused" in html and 'data-resumed="2"' in html and 'data-dropped="1"' in html


def test_nothing_yet_is_said_plainly():
    assert "Nothing yet" in bargein_html(BargeInStats())
