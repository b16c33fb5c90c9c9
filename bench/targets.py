"""Every target of issue 8 judged against a result dict (pure): {name: {value, target, met}}.
`met` is None when the figure is missing. Targets are the issue's; they are not tuned here."""

from __future__ import annotations

from typing import Any


def _get(d: Any, *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _le(v: Any, t: float) -> bool | None:
    return None if v is None else bool(v <= t)


def verdicts(res: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}

    def add(name: str, value: Any, target: str, met: bool | None) -> None:
        out[name] = {"value": value, "target": target, "met": met}

    med = _get(res, "barge_in_ms", "app", "median")
    p95 = _get(res, "barge_in_ms", "app", "p95")
    add("barge_in_ms.median", med, "<= 60 ms", _le(med, 60))
    add("barge_in_ms.p95", p95, "<= 100 ms", _le(p95, 100))
    fb = _get(res, "false_barge_ins", "total")
    ctl = (
        _get(res, "false_barge_ins", "control_detected"),
        _get(res, "false_barge_ins", "control_real_speech_onsets"),
    )
    add(
        "false_barge_ins",
        fb,
        "0 (and control_detected == onsets)",
        None if fb is None else bool(fb == 0 and ctl[0] == ctl[1]),
    )
    g = _get(res, "vad_granularity_ms", "vad_granularity_ms")
    add("vad_granularity_ms", g, "20 ms", _le(g, 20))
    up = _get(res, "uplink_ms", "app", "p99")
    ut = _get(res, "uplink_ms", "target_ms")
    add("uplink_ms.p99", up, f"<= {ut} ms (chunk + 2)", None if ut is None else _le(up, ut))
    dl = _get(res, "downlink_ms", "app", "p99")
    dt = _get(res, "downlink_ms", "target_p99_ms")
    add(
        "downlink_ms.p99",
        dl,
        f"<= {dt} ms (5 + jitter cushion)",
        None if dt is None else _le(dl, dt),
    )
    un = _get(res, "underruns", "app", "underruns_per_min")
    add("underruns_per_min", un, "0", None if un is None else bool(un == 0))
    ra = _get(res, "cpu_per_session", "ratio_audio")
    rv = _get(res, "cpu_per_session", "ratio_audio_video")
    add("cpu_per_session.ratio_audio", ra, "<= 1.3x bare echo", _le(ra, 1.3))
    add("cpu_per_session.ratio_audio_video", rv, "<= 0.35x bare echo", _le(rv, 0.35))
    va = _get(res, "cpu_per_session", "av_over_app_audio")
    add("cpu_per_session.av_over_app_audio", va, "<= 1.2x the app's audio-only", _le(va, 1.2))
    for key, need in (("app_audio", 8), ("app_audio_video", 6)):
        n = _get(res, "max_realtime_sessions", key)
        add(
            f"max_realtime_sessions.{key}",
            n,
            f">= {need} in one process",
            None if n is None else bool(n >= need),
        )
    hm = _get(res, "barge_in_policy", "interruption", "app", "handed_after_onset_ms", "median")
    hp = _get(res, "barge_in_policy", "interruption", "app", "handed_after_onset_ms", "p95")
    add("barge_in_policy.interruption_handed.median", hm, "<= 40 ms", _le(hm, 40))
    add("barge_in_policy.interruption_handed.p95", hp, "<= 60 ms", _le(hp, 60))
    bb = _get(res, "browser_bargein", "duck_on_ms", "median")
    add("browser_bargein.duck_on.median", bb, "<= 60 ms (Chromium, onset -> -50 dBFS)", _le(bb, 60))
    st = _get(res, "startup_s", "ratio_median")
    add("startup_s.ratio_median", st, "<= 1.2x bare Gradio+WebRTC", _le(st, 1.2))
    return out
