"""replicas: how many sessions keep up in real time with 1 replica and with 2 behind haproxy.

The same aiortc clients as cpu_per_session (48 kHz Opus mic, audio only) post their offers to
haproxy (deploy/trial.py's directives, round robin; no stickiness needed for one request),
which passes each to a replica: a `bench.rtc_server --kind app` process (the app's handler and
features) per replica, all talking to one local Live server in this process. For N = 1, 2, 3,
... the figure is the largest N at which every session's handler receives >= 49 audio
frames/s (judged against what its client sent, as in bench/cpu.py). Clients, replicas and the
Live server share this machine's cores: on 2 cores a second replica adds what the GIL of one
process leaves idle, not a second machine. `per_replica` shows how the sessions were spread.
Not part of --quick (about 2 minutes); run it with `python -m bench --only replicas`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cpu import Client, Server, _keeps_up, free_port
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.testing.procs import stop_process

NS = (1, 2, 3, 4, 6, 8)


def haproxy_config(port: int, servers: list[int], run: Path) -> str:
    lines = "\n".join(
        f"    server r{i + 1} 127.0.0.1:{p} check inter 1s" for i, p in enumerate(servers)
    )
    return f"""global
    maxconn 2000
    stats socket {run / "haproxy.sock"} mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 5s
    retries 2
    option redispatch
frontend bench
    bind 127.0.0.1:{port}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk
    http-check send meth GET uri /bench/stats
    http-response set-header X-Googlive-Replica %[srv_name]
{lines}
"""


class Balancer:
    def __init__(self, servers: list[Server]) -> None:
        if shutil.which("haproxy") is None:
            raise RuntimeError("haproxy is needed (apt-get install haproxy)")
        self.run = Path(tempfile.mkdtemp(prefix="gl-bench-"))
        self.port = free_port()
        cfg = self.run / "haproxy.cfg"
        cfg.write_text(haproxy_config(self.port, [s.port for s in servers], self.run))
        self.proc = subprocess.Popen(
            ["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    async def ready(self, n: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"haproxy exited: {self.proc.stderr.read().decode()[-500:]}")
            with contextlib.suppress(OSError):
                if self._up() >= n:
                    return
            await asyncio.sleep(0.2)
        raise TimeoutError("haproxy did not see the replicas up")

    def _up(self) -> int:
        import socket

        with socket.socket(socket.AF_UNIX) as s:
            s.connect(str(self.run / "haproxy.sock"))
            s.sendall(b"show stat\n")
            out = b""
            while chunk := s.recv(65536):
                out += chunk
        return sum(
            1 for ln in out.decode().splitlines() if ln.startswith("replicas,r") and ",UP," in ln
        )

    def close(self) -> None:
        stop_process(self.proc)
        shutil.rmtree(self.run, ignore_errors=True)


async def _run(
    servers: list[Server], lb: Balancer, n: int, window: float, warmup: float
) -> dict[str, Any]:
    async def stats() -> list[dict[str, Any]]:
        return [await s.stats() for s in servers]

    before = [len(s["sessions"]) for s in await stats()]
    clients = [Client(lb.port, video=False) for _ in range(n)]
    try:
        for c in clients:
            await c.connect()
        deadline = time.monotonic() + 20
        while True:
            st = await stats()
            fresh = [x for s, b in zip(st, before, strict=True) for x in s["sessions"][b:]]
            if len(fresh) >= n and all(x["audio_in"] > 0 for x in fresh):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} sessions did not start")
            await asyncio.sleep(0.2)
        await asyncio.sleep(warmup)
        s0, m0, t0 = await stats(), [c.mic.sent for c in clients], time.monotonic()
        await asyncio.sleep(window)
        s1, m1, t1 = await stats(), [c.mic.sent for c in clients], time.monotonic()
        dt = t1 - t0
        fps, per_replica, cpu = [], [], []
        for a, b, first in zip(s0, s1, before, strict=True):
            mine = list(zip(a["sessions"][first:], b["sessions"][first:], strict=False))
            per_replica.append(len(mine))
            fps += [(y["audio_in"] - x["audio_in"]) / dt for x, y in mine]
            cpu.append(round((b["cpu_s"] - a["cpu_s"]) / dt, 3))
        client_min = min((b - a) / dt for a, b in zip(m0, m1, strict=True))
        return {
            "n": n,
            "audio_frames_per_s_min": round(min(fps), 1),
            "per_replica": per_replica,
            "replica_cpu_s_per_s": cpu,
            "client_mic_frames_per_s_min": round(client_min, 1),
            "client_limited": client_min < 49,
        }
    finally:
        for c in clients:
            await c.close()
        await asyncio.sleep(0.5)


async def measure(
    window: float = 5.0, warmup: float = 2.0, ns: tuple[int, ...] = NS
) -> dict[str, Any]:
    out: dict[str, Any] = {"window_s": window, "warmup_s": warmup, "tried": list(ns), "runs": {}}
    async with FakeLiveServer(api_key="k", config=FakeLiveConfig(max_av_session_s=None)) as live:
        for replicas in (1, 2):
            key = f"{replicas}_replica{'s' if replicas > 1 else ''}"
            servers = [Server("app", live) for _ in range(replicas)]
            lb = None
            try:
                await asyncio.gather(*(s.ready(90) for s in servers))
                lb = Balancer(servers)
                await lb.ready(replicas)
                runs = []
                for n in ns:
                    r = {}
                    for attempt in (1, 2):  # one retry: an offer can time out on a busy machine
                        try:
                            r = await _run(servers, lb, n, window, warmup)
                            r["attempt"] = attempt
                            break
                        except Exception as e:  # report, stop at this N
                            r = {
                                "n": n,
                                "error": f"{type(e).__name__}: {str(e)[:200]}",
                                "attempt": attempt,
                            }
                    runs.append(r)
                    if "error" in r or not _keeps_up(r):
                        break
                out["runs"][key] = runs
            except Exception as e:  # this configuration failed: say so, measure the next
                out["runs"][key] = [{"n": 0, "error": f"{type(e).__name__}: {str(e)[:200]}"}]
            finally:
                if lb is not None:
                    lb.close()
                for s in servers:
                    s.close()
    return out


def figures(m: dict[str, Any]) -> dict[str, Any]:
    def best(key: str) -> int:
        ok = [r["n"] for r in m["runs"].get(key, []) if "error" not in r and _keeps_up(r)]
        return max(ok) if ok else 0

    one, two = best("1_replica"), best("2_replicas")
    return {
        "realtime_sessions_1_replica": one,
        "realtime_sessions_2_replicas": two,
        "ratio": round(two / one, 2) if one else None,
        "cores": os.cpu_count(),
        "client_limited_runs": [
            f"{k}@{r['n']}" for k, rs in m["runs"].items() for r in rs if r.get("client_limited")
        ],
        "definition": "largest N (of tried) at which every audio session's handler receives >= 49 frames/s, "
        "N aiortc clients through haproxy to 1 or 2 app replicas on this machine",
        "runs": m,
    }


def run(quick: bool) -> dict[str, Any]:
    t0 = time.monotonic()
    res = figures(asyncio.run(measure(3.0 if quick else 5.0, 1.0 if quick else 2.0)))
    res["elapsed_s"] = round(time.monotonic() - t0, 1)
    return res


if __name__ == "__main__":
    import json

    print(json.dumps(run(False), indent=1))
