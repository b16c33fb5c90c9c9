"""recording_cpu: googlive.features.recording.recorder.measure_recording_cpu (extra CPU of recording a session)."""

from __future__ import annotations

from typing import Any


def run(seconds: float) -> dict[str, Any]:
    from googlive.features.recording.recorder import measure_recording_cpu

    r = measure_recording_cpu(seconds)
    out: dict[str, Any] = {k: {kk: round(vv, 4) for kk, vv in v.items()} for k, v in r.items()}
    out["seconds"] = seconds
    out["reading"] = "writer_cpu_per_s = extra CPU seconds per session-second with recording on"
    return out
