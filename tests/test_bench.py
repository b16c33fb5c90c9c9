"""The cheapest pure parts of the benchmark (bench/), so its code cannot rot. The full bench
(`python -m bench`) is not part of the test suite."""

from __future__ import annotations

import asyncio

import numpy as np

from bench import resampler
from bench.bargein import _count, _echo
from bench.latency import vad_figures
from bench.stats import p50_p99, percentile, ratio, summarize


def test_stats_helpers():
    assert percentile([], 50) is None
    assert percentile([3.0], 95) == 3.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(range(101), 95) == 95.0
    s = summarize([5, 1, 3])
    assert s == {"n": 3, "median": 3.0, "p95": 4.8, "min": 1.0, "max": 5.0}
    assert summarize([])["median"] is None
    assert p50_p99([1, 2, 3])["p50"] == 2.0
    assert ratio(1, 0) is None and ratio(None, 2) is None and ratio(1, 4) == 0.25


def test_resampler_figure():
    r = resampler.measure(seconds=1, timing_frames=100)
    assert r["snr_db_vs_analytic"] > 70  # int16-limited at -20 dBFS (~81 dB)
    assert r["snr_db_vs_soxr_vhq"] > 70
    assert 0 < r["us_per_20ms_frame"] < 5000


def test_vad_figure_and_false_barge_in_counter():
    v = vad_figures(trials=5)
    assert v["vad_granularity_ms"] == 20.0
    assert v["decision_after_onset_ms"]["n"] == 5
    assert asyncio.run(_count(_echo(2.0, "voice", 40, -35.0, 1))) == 0
    talk = np.zeros(2 * 48000)
    talk[48000:] = 0.3 * np.sin(2 * np.pi * 200 * np.arange(48000) / 48000)
    assert asyncio.run(_count(talk)) == 1
