"""Render the table of bench/RESULTS.md from a `python -m bench` JSON:
python -m bench.results_md bench/RESULTS.json > table.md (the analysis below it is written by hand)."""

from __future__ import annotations

import json
import sys
from typing import Any


def _g(d: Any, *p: str) -> Any:
    for k in p:
        d = d.get(k) if isinstance(d, dict) else None
    return d


def rows(r: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    t = r.get("targets", {})

    def met(k: str) -> str:
        m = _g(t, k, "met")
        return "—" if m is None else ("met" if m else "**not met**")

    b = r.get("barge_in_ms", {})
    out = [
        (
            "barge_in_ms median (ms)",
            f"{_g(b, 'app', 'median')}",
            f"{_g(b, 'baseline_fastrtc_demo', 'median')} (FastRTC demo)",
            "≤ 60",
            met("barge_in_ms.median"),
        ),
        (
            "barge_in_ms p95 (ms)",
            f"{_g(b, 'app', 'p95')}",
            f"{_g(b, 'baseline_fastrtc_demo', 'p95')} (FastRTC demo)",
            "≤ 100",
            met("barge_in_ms.p95"),
        ),
    ]
    f = r.get("false_barge_ins", {})
    out.append(
        (
            "false_barge_ins (11 conditions)",
            f"{f.get('total')} (control {f.get('control_detected')}/{f.get('control_real_speech_onsets')})",
            "n/a (no local VAD)",
            "0",
            met("false_barge_ins"),
        )
    )
    v = r.get("vad_granularity_ms", {})
    out.append(
        (
            "vad_granularity_ms",
            f"{v.get('vad_granularity_ms')}",
            f"{v.get('baseline_granularity_ms')} (demo, documented)",
            "20",
            met("vad_granularity_ms"),
        )
    )
    u = r.get("uplink_ms", {})
    out.append(
        (
            "uplink_ms p50 / p99",
            f"{_g(u, 'app', 'p50')} / {_g(u, 'app', 'p99')}",
            f"{_g(u, 'baseline_send_every_frame', 'p50')} / {_g(u, 'baseline_send_every_frame', 'p99')} (every frame sent)",
            f"p99 ≤ {u.get('target_ms')}",
            met("uplink_ms.p99"),
        )
    )
    d = r.get("downlink_ms", {})
    out.append(
        (
            "downlink_ms p50 / p99",
            f"{_g(d, 'app', 'p50')} / {_g(d, 'app', 'p99')}",
            f"{_g(d, 'baseline_fastrtc_demo', 'p50')} / {_g(d, 'baseline_fastrtc_demo', 'p99')} (demo, no cushion)",
            f"p99 ≤ {d.get('target_p99_ms')} (5 + {d.get('jitter_cushion_ms')} cushion)",
            met("downlink_ms.p99"),
        )
    )
    un = r.get("underruns", {})
    out.append(
        (
            "underruns per min of playback",
            f"{_g(un, 'app', 'underruns_per_min')} ({_g(un, 'app', 'underruns')} in {_g(un, 'app', 'played_s')} s)",
            f"{_g(un, 'baseline_fastrtc_demo', 'underruns_per_min')} ({_g(un, 'baseline_fastrtc_demo', 'underruns')} in {_g(un, 'baseline_fastrtc_demo', 'played_s')} s)",
            "0",
            met("underruns_per_min"),
        )
    )
    c = r.get("cpu_per_session", {})
    out.append(
        (
            "cpu_per_session audio (core·s/s, N=1)",
            f"{c.get('app_audio')} (ratio {c.get('ratio_audio')})",
            f"{c.get('echo_audio')} (bare echo)",
            "ratio ≤ 1.3",
            met("cpu_per_session.ratio_audio"),
        )
    )
    out.append(
        (
            "cpu_per_session audio+video",
            f"{c.get('app_audio_video')} (ratio {c.get('ratio_audio_video')}; "
            f"{c.get('av_over_app_audio')}× the app's audio)",
            f"{c.get('echo_audio_video')} (bare echo)",
            "ratio ≤ 0.35; ≤ 1.2× audio",
            f"{met('cpu_per_session.ratio_audio_video')}; "
            f"{met('cpu_per_session.av_over_app_audio')}",
        )
    )
    m = r.get("max_realtime_sessions", {})
    for key, label, need in (("audio", "audio", 8), ("audio_video", "audio+video", 6)):
        out.append(
            (
                f"max_realtime_sessions {label}",
                f"{m.get('app_' + key)} (first failed {_g(m, 'first_failed', 'app_' + key)}: "
                f"{_g(m, 'limited_by', 'app_' + key)})",
                f"{m.get('echo_' + key)} (echo; first failed "
                f"{_g(m, 'first_failed', 'echo_' + key)})",
                f"≥ {need}",
                met(f"max_realtime_sessions.app_{key}"),
            )
        )
    rs = r.get("rss_per_session_mb", {})
    if rs:
        out.append(
            (
                "RSS per extra session (MB), audio / audio+video",
                f"{rs.get('app_audio')} / {rs.get('app_audio_video')}",
                f"{rs.get('echo_audio')} / {rs.get('echo_audio_video')} (echo)",
                "—",
                "—",
            )
        )
    a = r.get("audio_stages", {})
    if a:
        u = a.get("uplink_serialise_us_per_40ms_chunk", {})
        out.append(
            (
                "audio_stages: receive() µs per 20 ms frame; realtimeInput µs per chunk",
                f"{a.get('receive_total_us')}; {u.get('app_direct')} (direct)",
                f"—; {u.get('baseline_sdk_send_realtime_input')} (SDK)",
                "—",
                "—",
            )
        )
    s = r.get("startup_s", {})
    out.append(
        (
            "startup_s median",
            f"{_g(s, 'app_s', 'median')} (n={_g(s, 'app_s', 'n')})",
            f"{_g(s, 'baseline_bare_gradio_webrtc_s', 'median')} (bare Gradio+WebRTC)",
            "ratio ≤ 1.2",
            f"{met('startup_s.ratio_median')} (ratio {s.get('ratio_median')})",
        )
    )
    rs = r.get("resampler", {})
    bs = rs.get("baseline_soxr_hq_stream", {})
    out.append(
        (
            "resampler SNR vs analytic, 20-7000 / 20-6000 Hz (dB)",
            f"{rs.get('snr_db_vs_analytic')} / {rs.get('snr_db_vs_analytic_6k')} (FIR)",
            f"{bs.get('snr_db_vs_analytic')} / {bs.get('snr_db_vs_analytic_6k')} (soxr HQ)",
            f"— (int16 bound {rs.get('int16_quantisation_snr_db')})",
            "—",
        )
    )
    out.append(
        (
            "resampler hold-back (ms) / µs per 20 ms frame",
            f"{rs.get('mean_hold_back_ms')} / {rs.get('us_per_20ms_frame')}",
            f"{bs.get('mean_hold_back_ms')} / {bs.get('us_per_20ms_frame')}",
            "—",
            "—",
        )
    )
    rc = r.get("recording_cpu", {})
    out.append(
        (
            "recording_cpu (writer core·s/s) a+v / audio",
            f"{_g(rc, 'video', 'writer_cpu_per_s')} / {_g(rc, 'audio_only', 'writer_cpu_per_s')}",
            "0 (recording off)",
            "—",
            "—",
        )
    )
    return out


def table(r: dict[str, Any]) -> str:
    lines = ["| figure | app | same-run baseline | target | verdict |", "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(x)} |" for x in rows(r)]
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(json.load(open(sys.argv[1]))))
