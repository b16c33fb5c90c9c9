"""The cheap, pure parts of the benchmark (bench/), so its code cannot rot; real bench code on
short inputs. The full bench (`python -m bench`) is not part of the test suite."""

from __future__ import annotations

import asyncio

import numpy as np

from bench import resampler
from bench.bargein import _count, _echo
from bench.latency import uplink_figures, vad_figures
from bench.stats import p50_p99, percentile, ratio, summarize
from bench.targets import verdicts


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
    r = resampler.measure(seconds=1, timing_frames=50)
    assert r["snr_db_vs_analytic_6k"] > 70  # FIR passband: int16-limited at -20 dBFS (~81 dB)
    assert r["snr_db_vs_analytic"] > 30  # 20-7000 Hz: the FIR's -1.4 dB at 7 kHz shows
    assert r["baseline_soxr_hq_stream"]["snr_db_vs_analytic"] > 70
    assert r["mean_hold_back_ms"] < 5 < r["baseline_soxr_hq_stream"]["mean_hold_back_ms"]
    assert 0 < r["us_per_20ms_frame"] < 5000


def test_uplink_figures_from_arrivals_and_writes():
    # mic frames every 20 ms; 40 ms chunks (640 samples at 16 kHz) written 1 ms after the frame
    # that completes them. Frame f's last 16 kHz sample is 320 f + 319.
    arrivals = [0.02 * f for f in range(6)]
    written = [
        (0.02 * 1 + 0.001, 0, 640),
        (0.02 * 3 + 0.001, 640, 640),
        (0.02 * 5 + 0.001, 1280, 640),
    ]
    per_frame, per_chunk = uplink_figures(arrivals, written)
    assert np.allclose(per_frame, [21, 1, 21, 1, 21, 1])
    assert np.allclose(per_chunk, [21, 21, 21])  # oldest sample of each chunk: 1 chunk-frame back
    # the last frame's audio not yet written: left out, not counted as zero
    assert len(uplink_figures(arrivals, written[:2])[0]) == 4


def test_targets_judged_from_a_result():
    res = {
        "barge_in_ms": {"app": {"median": 40.0, "p95": 120.0}},
        "false_barge_ins": {"total": 0, "control_detected": 3, "control_real_speech_onsets": 3},
        "uplink_ms": {"app": {"p99": 41.0}, "target_ms": 42},
        "underruns": {"app": {"underruns_per_min": 2.5}},
        "cpu_per_session": {"ratio_audio": 1.1, "ratio_audio_video": 0.3, "av_over_app_audio": 1.5},
        "max_realtime_sessions": {"app_audio": 8, "app_audio_video": 5},
    }
    v = verdicts(res)
    assert v["barge_in_ms.median"]["met"] is True and v["barge_in_ms.p95"]["met"] is False
    assert v["false_barge_ins"]["met"] is True
    assert v["uplink_ms.p99"]["met"] is True
    assert v["underruns_per_min"]["met"] is False
    assert v["cpu_per_session.ratio_audio"]["met"] is True
    assert v["cpu_per_session.ratio_audio_video"]["met"] is True
    assert v["cpu_per_session.av_over_app_audio"]["met"] is False
    assert v["max_realtime_sessions.app_audio"]["met"] is True
    assert v["max_realtime_sessions.app_audio_video"]["met"] is False
    assert v["startup_s.ratio_median"]["met"] is None  # missing figure: not judged


def test_vad_figure_and_false_barge_in_counter():
    v = vad_figures(trials=5)
    assert v["vad_granularity_ms"] == 20.0
    assert v["decision_after_onset_ms"]["n"] == 5
    assert asyncio.run(_count(_echo(2.0, "voice", 40, -35.0, 1))) == 0
    talk = np.zeros(2 * 48000)
    talk[48000:] = 0.3 * np.sin(2 * np.pi * 200 * np.arange(48000) / 48000)
    assert asyncio.run(_count(talk)) == 1


def test_browser_bargein_analysis_splits_trials_by_the_duck_state():
    """bench.browser_bargein.analyse: onset -> the model below -50 dBFS for 0.3 s, per duck
    state in force at the onset; a sound over no model audio is not a trial."""
    from bench.browser_bargein import SEGMENT_S, analyse
    from tests.e2e.audio_probe import Levels

    t = np.arange(0, 20, 128 / 44100)
    mic = np.full(t.size, -110.0)
    model = np.full(t.size, -15.0)
    for onset, stop in ((2.0, 2.03), (8.0, 8.3), (14.0, None)):
        mic[(t >= onset) & (t < onset + SEGMENT_S)] = -20.0
        if stop is not None:
            model[(t >= stop) & (t < onset + SEGMENT_S + 0.5)] = -120.0
    model[(t >= 13.0) & (t < 14.0)] = -120.0  # nothing playing before the third sound
    res = analyse(Levels(t, mic, model), [(1.0, True), (6.0, False)])
    assert len(res["duck_on"]) == 1 and abs(res["duck_on"][0] - 30) < 4
    assert len(res["duck_off"]) == 1 and abs(res["duck_off"][0] - 300) < 4
    assert len(res["skipped"]) == 1


def test_issue_19_targets_are_judged():
    res = {
        "barge_in_policy": {
            "interruption": {"app": {"handed_after_onset_ms": {"median": 0.0, "p95": 80.0}}}
        },
        "browser_bargein": {"duck_on_ms": {"median": 54.0}},
    }
    v = verdicts(res)
    assert v["barge_in_policy.interruption_handed.median"]["met"] is True
    assert v["barge_in_policy.interruption_handed.p95"]["met"] is False
    assert v["browser_bargein.duck_on.median"]["met"] is True


def test_cpu_search_climbs_until_a_run_fails_then_bisects(monkeypatch):
    from bench import cpu

    calls: list[int] = []

    async def fake_run(srv, n, video, window, warmup):
        calls.append(n)
        ok = n <= 7
        return {
            "n": n,
            "cpu_per_session": 0.1,
            "audio_frames_per_s_min": 50.0 if ok else 30.0,
            "audio_out_frames_per_s_min": 50.0,
            "uplink_backlog_growth_ms_max": 0.0,
            "client_mic_frames_per_s_min": 50.0,
            "client_limited": False,
            "rss_mb": 100.0 + 3 * n,
        }

    monkeypatch.setattr(cpu, "_session_run", fake_run)
    runs = asyncio.run(cpu._search(None, False, 1.0, 0.0, cpu.LADDER))
    # up the ladder past what passed, a failure tried twice, then the gap 6..8 bisected
    assert calls == [1, 2, 4, 6, 8, 8, 7]
    f = cpu.figures({"runs": {"app_audio": runs}, "ladder": list(cpu.LADDER)})
    assert f["max_realtime_sessions"]["app_audio"] == 7
    assert f["max_realtime_sessions"]["first_failed"]["app_audio"] == 8
    assert f["max_realtime_sessions"]["limited_by"]["app_audio"] == "server"
    assert f["rss_per_session_mb"]["app_audio"] == 3.0
    # the uplink backlog growing is falling behind even at full frame rates
    assert not cpu._keeps_up(
        {
            "audio_frames_per_s_min": 50.0,
            "audio_out_frames_per_s_min": 50.0,
            "uplink_backlog_growth_ms_max": 400.0,
            "client_mic_frames_per_s_min": 50.0,
        }
    )


def test_audio_stages_times_every_stage_of_the_mic_path():
    from bench import stages

    r = stages.measure(20)
    us = r["us_per_frame"]
    assert set(us) >= {"fastrtc_frame_to_ndarray", "vad_feed", "resampler_48k_to_16k"}
    assert all(v >= 0 for v in us.values()) and us["resampler_48k_to_16k"] > 0, r
    assert r["receive_total_us"] > 0
    ser = r["uplink_serialise_us_per_40ms_chunk"]
    assert ser["app_direct"] > 0 and ser["baseline_sdk_send_realtime_input"] > 0
