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

# cheap pure figures first, then the real-time ones, then the multi-process ones
SECTIONS = (
    "resampler",
    "audio_stages",
    "vad",
    "false_barge_ins",
    "echo_false_pauses",
    "latency",
    "barge_in",
    "barge_in_policy",
    "tools",
    "recording",
    "cpu",
    "replicas",
    "startup",
    "browser_bargein",
)
# left out of --quick unless named in --only (replicas: haproxy+4 apps; browser_bargein: Chromium, ~3 min)
SLOW = ("replicas", "browser_bargein")
ALIASES = {
    "barge_in": ("barge_in", "false_barge_ins", "barge_in_policy", "echo_false_pauses"),
    "latency": ("latency", "vad"),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument(
        "--quick",
        action="store_true",
        help="fewer trials and shorter windows (~5 min on 2 cores: cpu climbs sessions)",
    )
    p.add_argument(
        "--plot", action="store_true", help="write bench/out/bench.png (and assets/bench.png)"
    )
    p.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SECTIONS)}")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for noisy in ("googlive", "aioice", "aiortc", "fastrtc", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    only = [x for s in a.only.split(",") if s for x in ALIASES.get(s, (s,))] or [
        s for s in SECTIONS if not (a.quick and s in SLOW)
    ]
    q = a.quick
    t0 = time.monotonic()
    res: dict[str, Any] = {
        "quick": q,
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_model": _cpu_model(),
            "load_avg_1_5_15_at_start": _load(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    errors: dict[str, str] = {}

    def section(name: str, fn: Any) -> None:
        if name not in only:
            return
        s = time.monotonic()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            res.update(fn())
        except Exception as e:
            errors[name] = f"{type(e).__name__}: {str(e)[:300]}"
            traceback.print_exc(file=sys.stderr)
        res.setdefault("elapsed_s", {})[name] = round(time.monotonic() - s, 1)

    from bench import bargein, cpu, latency, recording, replicas, resampler, stages, startup, tools

    section("resampler", lambda: {"resampler": resampler.measure()})
    section("audio_stages", lambda: stages.run(q))
    section("vad", lambda: {"vad_granularity_ms": latency.vad_figures(40 if q else 200)})
    section("false_barge_ins", lambda: {"false_barge_ins": bargein.run_false(10.0 if q else 60.0)})
    section(
        "echo_false_pauses",
        lambda: {"echo_false_pauses": bargein.measure_echo(10.0 if q else 30.0)},
    )
    section("latency", lambda: _latency(q))
    section("barge_in", lambda: {"barge_in_ms": bargein.run_barge_in(8 if q else 20)})
    section("barge_in_policy", lambda: {"barge_in_policy": bargein.run_policy(3 if q else 8)})
    section("tools", lambda: tools.run(q))
    section("recording", lambda: {"recording_cpu": recording.run(3.0 if q else 10.0)})
    section("cpu", lambda: cpu.run(q))
    section("replicas", lambda: {"replicas": replicas.run(q)})
    section("startup", lambda: {"startup_s": startup.run(2 if q else 5)})
    section("browser_bargein", lambda: {"browser_bargein": _browser_bargein(q)})
    res["machine"]["load_avg_1_5_15_at_end"] = _load()
    for k in [k for k in res if k.startswith("_elapsed")]:
        res.pop(k)
    res["errors"] = errors
    from bench.targets import verdicts

    res["targets"] = verdicts(res)
    res["elapsed_s"]["total"] = round(time.monotonic() - t0, 1)
    if a.plot:
        from bench.plot import plot

        res["plot"] = str(plot(res))
    print(json.dumps(res, indent=1))
    return 0


def _browser_bargein(quick: bool) -> dict[str, Any]:
    from bench import browser_bargein

    return browser_bargein.run(6 if quick else 12)


def _latency(quick: bool) -> dict[str, Any]:
    import asyncio

    from bench import latency

    up = asyncio.run(latency.uplink(4.0 if quick else 15.0))
    d = asyncio.run(latency.downlink(20.0 if quick else 60.0))
    return {
        "uplink_ms": up,
        "downlink_ms": {
            "app": d["app"]["downlink_ms"],
            "baseline_fastrtc_demo": d["baseline_fastrtc_demo"]["downlink_ms"],
            "jitter_cushion_ms": d["jitter_cushion_ms"],
            "target_p99_ms": d["target"]["downlink_p99_ms"],
            "definition": "AudioOut.received_at -> first frame returned by emit(), chunks with nothing of their"
            " turn ahead of them (neither in the handler nor in the WebRTC queue)",
        },
        "underruns": {
            k: {kk: vv for kk, vv in d[k].items() if kk != "downlink_ms"}
            for k in ("app", "baseline_fastrtc_demo")
        }
        | {
            "source": d["source"],
            "target_per_min": 0,
            "definition": "gap > 25 ms between consecutive frames of one turn at the simulated browser, per minute played",
        },
    }


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


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
