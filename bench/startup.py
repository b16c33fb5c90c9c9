"""startup_s: `python app.py --offline` to the first HTTP 200 on its page, against a bare
Gradio + fastrtc WebRTC app (bench/bare_app.py) started the same way, alternating runs."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import httpx

from bench.cpu import ROOT, free_port
from bench.stats import ratio, summarize

ERRORS: dict[str, str] = {}


def _once(argv_fn, timeout: float = 20.0, name: str = "") -> float | None:  # type: ignore[no-untyped-def]
    port = free_port()
    env = dict(os.environ, GOOGLIVE_LOG="WARNING", GRADIO_ANALYTICS_ENABLED="False")
    env.pop("GEMINI_API_KEY", None)
    env.pop("GOOGLE_API_KEY", None)
    t0 = time.perf_counter()
    p = subprocess.Popen(
        argv_fn(port), cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        with httpx.Client(timeout=2) as c:
            while time.perf_counter() - t0 < timeout:
                if p.poll() is not None:
                    lines = [
                        ln
                        for ln in p.stderr.read().decode(errors="replace").splitlines()
                        if ln.strip()
                    ]
                    ERRORS[name] = (lines[-1] if lines else f"exit {p.returncode}")[:300]
                    return None
                try:
                    if c.get(f"http://127.0.0.1:{port}/").status_code == 200:
                        return time.perf_counter() - t0
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        ERRORS[name] = "no HTTP 200 within the timeout"
        return None
    finally:
        p.terminate()
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def run(trials: int) -> dict:
    data = tempfile.mkdtemp(prefix="googlive-bench-start-")
    app, bare = [], []
    for _ in range(trials):
        a = _once(
            lambda port: [
                sys.executable,
                "app.py",
                "--offline",
                "--port",
                str(port),
                "--data-dir",
                data,
                "--no-ice-servers",
            ],
            name="app",
        )
        b = _once(lambda port: [sys.executable, "-m", "bench.bare_app", str(port)], name="baseline")
        if a is not None:
            app.append(a)
        if b is not None:
            bare.append(b)
    sa, sb = summarize(app, 2), summarize(bare, 2)
    return {
        "app_s": sa,
        "baseline_bare_gradio_webrtc_s": sb,
        "ratio_median": ratio(sa["median"], sb["median"]),  # type: ignore[arg-type]
        "target_ratio": 1.2,
        "failed_starts": {"app": trials - len(app), "baseline": trials - len(bare)},
        "start_errors": dict(ERRORS),
        "timeout_s": 20.0,
    }
