"""bench/replicas.py: the figure from its runs (pure), and a balancer config haproxy accepts."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from bench.replicas import figures, haproxy_config


def _run(n: int, fps: float, client: float = 50.0) -> dict:
    return {
        "n": n,
        "audio_frames_per_s_min": fps,
        "client_mic_frames_per_s_min": client,
        "client_limited": client < 49,
        "per_replica": [n],
        "replica_cpu_s_per_s": [0.1],
    }


def test_figure_is_the_largest_n_that_keeps_up_for_each_replica_count():
    m = {
        "runs": {
            "1_replica": [_run(1, 50), _run(2, 49.8), _run(3, 40)],
            "2_replicas": [
                _run(1, 50),
                _run(2, 50),
                _run(3, 49.9),
                _run(4, 47, client=47.5),
                _run(6, 30),
            ],
        }
    }
    f = figures(m)
    assert f["realtime_sessions_1_replica"] == 2
    assert f["realtime_sessions_2_replicas"] == 4  # 47 of the 47.5 its client sent keeps up
    assert f["ratio"] == 2.0 and f["client_limited_runs"] == ["2_replicas@4"]
    broken = figures(
        {"runs": {"1_replica": [{"n": 1, "error": "ReadTimeout: "}], "2_replicas": []}}
    )
    assert broken["realtime_sessions_1_replica"] == 0 and broken["ratio"] is None


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy is not installed")
def test_bench_balancer_config_is_valid(tmp_path):
    cfg = tmp_path / "bench.cfg"
    cfg.write_text(haproxy_config(18000, [18001, 18002], tmp_path))
    res = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
