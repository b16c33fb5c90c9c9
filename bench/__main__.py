"""python -m bench [--quick] [--plot] [--only NAME,...]: every figure with its same-run baseline,
printed as ONE JSON object on stdout (progress on stderr). See bench/README.md."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
import traceback
from typing import Any

SECTIONS = ("resampler", "barge_in", "latency", "recording", "cpu", "startup")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--quick", action="store_true", help="fewer trials and shorter windows (< 3 min on 2 cores)")
    p.add_argument("--plot", action="store_true", help="write bench/out/bench.png (and assets/bench.png)")
    p.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SECTIONS)}")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("googlive", "aioice", "aiortc", "fastrtc", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    only = [s for s in a.only.split(",") if s] or list(SECTIONS)
    q = a.quick
    t0 = time.monotonic()
    res: dict[str, Any] = {
        "quick": q,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "cpu_model": _cpu_model()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    errors: dict[str, str] = {}

    def section(name: str, fn: Any) -> None:
        if name not in only:
            return
        s = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            out = fn()
            res.update(out) if isinstance(out, dict) and name in ("barge_in", "latency", "cpu") else res.__setitem__(name, out)
        except Exception as e:
            errors[name] = f"{type(e).__name__}: {str(e)[:300]}"
            traceback.print_exc(file=sys.stderr)
        res.setdefault("elapsed_s", {})[name] = round(time.monotonic() - s, 1)

    from bench import bargein, cpu, latency, recording, resampler, startup

    section("resampler", lambda: resampler.measure())
    section("barge_in", lambda: bargein.run(5 if q else 20, 10.0 if q else 60.0))
    section("latency", lambda: _flatten_latency(latency.run(q)))
    section("recording", lambda: {"recording_cpu": recording.run(3.0 if q else 10.0)}["recording_cpu"])
    res["recording_cpu"] = res.pop("recording", None)
    section("cpu", lambda: cpu.run(q))
    section("startup", lambda: startup.run(1 if q else 5))
    res["startup_s"] = res.pop("startup", None)
    for k in [k for k in res if k.startswith("_elapsed")]:
        res.pop(k)
    res["errors"] = errors
    res["elapsed_s"]["total"] = round(time.monotonic() - t0, 1)
    if a.plot:
        from bench.plot import plot

        res["plot"] = str(plot(res))
    print(json.dumps(res, indent=1))
    return 0


def _flatten_latency(r: dict[str, Any]) -> dict[str, Any]:
    v = r["vad"]
    d = r["downlink"]
    return {
        "vad_granularity_ms": v,
        "uplink_ms": r["uplink_ms"],
        "downlink_ms": {"app": d["app"]["downlink_ms"], "baseline_fastrtc_demo": d["baseline_fastrtc_demo"]["downlink_ms"],
                        "definition": "AudioOut.received_at -> first frame returned by emit(), chunks with nothing of their turn buffered ahead"},
        "underruns": {k: {kk: vv for kk, vv in d[k].items() if kk != "downlink_ms"} for k in ("app", "baseline_fastrtc_demo")}
        | {"source": d["source"], "target_per_min": 0},
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
