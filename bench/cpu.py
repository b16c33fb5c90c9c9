"""cpu_per_session and max_realtime_sessions: aiortc clients against the app's handler and a bare
FastRTC echo, each served by its own process (bench.rtc_server); the local Live server runs in
this (the client) process so its CPU is not charged to the app.

Each client sends 48 kHz mono Opus (speech-like 2 s, quiet 2 s, looped) and, for audio+video,
a 640x480 camera at 30 fps (VP8), and consumes what comes back. After a warm-up, the server
process's CPU time (user+system, all threads) over a window / window / sessions is the cost;
each session's audio frames received by its handler per second tells whether it keeps up
(>= 49/s).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import os
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import av
import httpx
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)

from bench.harness import to_int16
from bench.stats import ratio
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from tests.signals import speech_like, white_noise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MicTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, pcm: np.ndarray) -> None:
        super().__init__()
        self.pcm = pcm
        self.i = 0
        self.t0: float | None = None
        self.sent = 0

    async def recv(self) -> av.AudioFrame:
        if self.t0 is None:
            self.t0 = time.monotonic()
        due = self.t0 + self.i * 0.02
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        start = (self.i * 960) % (self.pcm.size - 960)
        frame = av.AudioFrame.from_ndarray(
            self.pcm[start : start + 960].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = 48000
        frame.pts = self.i * 960
        frame.time_base = fractions.Fraction(1, 48000)
        self.i += 1
        self.sent += 1
        return frame


class CamTrack(VideoStreamTrack):
    def __init__(self, frames: list[np.ndarray]) -> None:
        super().__init__()
        self.frames = frames
        self.n = 0

    async def recv(self) -> av.VideoFrame:
        pts, tb = await self.next_timestamp()
        f = av.VideoFrame.from_ndarray(self.frames[self.n % len(self.frames)], format="bgr24")
        f.pts, f.time_base = pts, tb
        self.n += 1
        return f


def _camera() -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    base = rng.integers(40, 200, (480, 640, 3), dtype=np.uint8)
    out = []
    for i in range(30):
        img = base.copy()
        img[200:280, 20 * i : 20 * i + 80] = 255
        out.append(img)
    return out


_MIC: np.ndarray | None = None
_CAM: list[np.ndarray] | None = None


def _mic() -> np.ndarray:
    global _MIC
    if _MIC is None:
        talk = speech_like(48000, 2.0, -20.0, seed=3)
        _MIC = to_int16(np.concatenate([talk, np.zeros(96000)]) + white_noise(48000, 4.0, -60.0))
    return _MIC


class Client:
    def __init__(self, port: int, video: bool) -> None:
        self.port = port
        self.video = video
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.mic = MicTrack(_mic())
        self.tasks: list[asyncio.Task[Any]] = []
        self.recv_audio = 0

    async def connect(self) -> None:
        global _CAM
        self.pc.addTrack(self.mic)
        if self.video:
            if _CAM is None:
                _CAM = _camera()
            self.pc.addTrack(CamTrack(_CAM))
        self.pc.createDataChannel("text")

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            self.tasks.append(asyncio.create_task(self._sink(track), name="bench-sink"))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        body = {
            "sdp": self.pc.localDescription.sdp,
            "type": "offer",
            "webrtc_id": uuid.uuid4().hex[:10],
        }
        async with httpx.AsyncClient(timeout=20) as c:
            r = await c.post(f"http://127.0.0.1:{self.port}/webrtc/offer", json=body)
        ans = r.json()
        if "sdp" not in ans:
            raise RuntimeError(f"offer refused: {str(ans)[:200]}")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=ans["sdp"], type=ans["type"]))

    async def _sink(self, track: Any) -> None:
        with contextlib.suppress(Exception):
            while True:
                await track.recv()
                if track.kind == "audio":
                    self.recv_audio += 1

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        for t in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.pc.close()


class Server:
    def __init__(self, kind: str, live: FakeLiveServer | None, record: bool = False) -> None:
        self.kind = kind
        self.port = free_port()
        argv = [sys.executable, "-m", "bench.rtc_server", "--kind", kind, "--port", str(self.port)]
        if live is not None:
            argv += ["--live-url", live.url, "--live-ca", live.ca_cert]
        if record:
            argv.append("--record")
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    async def ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as c:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(
                        f"{self.kind} server exited: {self.proc.stderr.read().decode()[-800:]}"
                    )
                with contextlib.suppress(Exception):
                    if (
                        await c.get(f"http://127.0.0.1:{self.port}/bench/stats")
                    ).status_code == 200:
                        return
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.kind} server did not start")

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=5) as c:
            return (await c.get(f"http://127.0.0.1:{self.port}/bench/stats")).json()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


async def _session_run(
    srv: Server, n: int, video: bool, window: float, warmup: float
) -> dict[str, Any]:
    before = len((await srv.stats())["sessions"])
    clients = [Client(srv.port, video) for _ in range(n)]
    try:
        for c in clients:
            await c.connect()
        deadline = time.monotonic() + 20
        while True:
            s = (await srv.stats())["sessions"][before:]
            if len(s) >= n and all(x["audio_in"] > 0 for x in s):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} sessions did not start")
            await asyncio.sleep(0.2)
        await asyncio.sleep(warmup)
        s0, m0, t0 = await srv.stats(), [c.mic.sent for c in clients], time.monotonic()
        await asyncio.sleep(window)
        s1, m1, t1 = await srv.stats(), [c.mic.sent for c in clients], time.monotonic()
        dt = t1 - t0
        a0 = [x["audio_in"] for x in s0["sessions"][before : before + n]]
        a1 = [x["audio_in"] for x in s1["sessions"][before : before + n]]
        v0 = [x["video_in"] for x in s0["sessions"][before : before + n]]
        v1 = [x["video_in"] for x in s1["sessions"][before : before + n]]
        fps = [(b - a) / dt for a, b in zip(a0, a1, strict=True)]
        return {
            "n": n,
            "cpu_per_session": round((s1["cpu_s"] - s0["cpu_s"]) / dt / n, 3),
            "audio_frames_per_s_min": round(min(fps), 1),
            "video_fps_in_min": round(min((b - a) / dt for a, b in zip(v0, v1, strict=True)), 1),
            "client_mic_frames_per_s_min": round(
                min((b - a) / dt for a, b in zip(m0, m1, strict=True)), 1
            ),
            "client_limited": min((b - a) / dt for a, b in zip(m0, m1, strict=True)) < 49,
        }
    finally:
        for c in clients:
            await c.close()
        await asyncio.sleep(0.5)  # let the server tear the sessions down before the next run


async def measure(quick: bool, record: bool = False) -> dict[str, Any]:
    # quick: audio N = 1, 2, 4; audio+video N = 1, 2 (on 2 cores 2 a+v sessions already fall
    # behind, see max_realtime_sessions); larger N is only tried while the smaller one keeps up
    ns = (
        {"audio": [1, 2, 4], "audio_video": [1, 2]}
        if quick
        else {"audio": [1, 2, 3, 4, 6, 8], "audio_video": [1, 2, 3, 4]}
    )
    # warm-up: audio settles within 1 s; a+v needs longer (VP8 decoder start, first key frames)
    window, warmup, warmup_av = (3.0, 1.0, 1.5) if quick else (10.0, 3.0, 3.0)
    out: dict[str, Any] = {
        "window_s": window,
        "warmup_s": {"audio": warmup, "audio_video": warmup_av},
        "sessions_tried": ns,
        "runs": {},
    }
    async with FakeLiveServer(api_key="k", config=FakeLiveConfig(max_av_session_s=None)) as live:
        # both server processes start together (their imports overlap), then are measured one
        # at a time: the app's server is stopped before the echo's runs begin
        servers = {
            kind: Server(kind, live if kind == "app" else None, record=record)
            for kind in ("app", "echo")
        }
        try:
            await asyncio.gather(*(s.ready() for s in servers.values()))
            for kind, srv in servers.items():
                for mod in ("audio", "audio_video"):
                    key = f"{kind}_{mod}"
                    runs = []
                    for n in ns[mod]:
                        try:
                            av = mod == "audio_video"
                            r = await _session_run(srv, n, av, window, warmup_av if av else warmup)
                        except Exception as e:  # report, keep going
                            r = {"n": n, "error": f"{type(e).__name__}: {str(e)[:200]}"}
                        runs.append(r)
                        if "error" in r or not _keeps_up(r):
                            break  # larger N only falls further behind
                    out["runs"][key] = runs
                srv.close()
        finally:
            for srv in servers.values():
                srv.close()
    return out


def _keeps_up(r: dict[str, Any]) -> bool:
    """>= 49 audio frames/s per session, judged against what the client actually sent: the
    clients share this 2-core machine, so a client that falls behind (client_limited) is not
    charged to the server."""
    need = 49.0 * min(1.0, r["client_mic_frames_per_s_min"] / 50.0)
    return r["audio_frames_per_s_min"] >= need - 0.5  # one frame of counting jitter in a 3 s window


def figures(m: dict[str, Any]) -> dict[str, Any]:
    runs = m["runs"]

    def one(key: str) -> float | None:
        r = runs.get(key, [])
        return r[0].get("cpu_per_session") if r else None

    def maxrt(key: str) -> int:
        ok = [r["n"] for r in runs.get(key, []) if "error" not in r and _keeps_up(r)]
        return max(ok) if ok else 0

    cps = {
        "app_audio": one("app_audio"),
        "echo_audio": one("echo_audio"),
        "app_audio_video": one("app_audio_video"),
        "echo_audio_video": one("echo_audio_video"),
    }
    cps["ratio_audio"] = ratio(cps["app_audio"], cps["echo_audio"])
    cps["ratio_audio_video"] = ratio(cps["app_audio_video"], cps["echo_audio_video"])
    cps["target"] = {"ratio_audio_video": 0.5, "ratio_audio": 1.3}
    mrs = {k: maxrt(k) for k in ("app_audio", "echo_audio", "app_audio_video", "echo_audio_video")}
    mrs["tried"] = m["sessions_tried"]
    mrs["target"] = "none set by the issue (reported app vs echo)"
    mrs["client_limited_runs"] = [
        f"{k}@{r['n']}" for k, rs in runs.items() for r in rs if r.get("client_limited")
    ]
    return {"cpu_per_session": cps, "max_realtime_sessions": mrs, "cpu_runs": m}


def run(quick: bool) -> dict[str, Any]:
    t0 = time.monotonic()
    res = figures(asyncio.run(measure(quick)))
    res["_elapsed_s"] = round(time.monotonic() - t0, 1)
    return res
