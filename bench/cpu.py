"""cpu_per_session and max_realtime_sessions: aiortc clients against the app's handler and a bare
FastRTC echo, each served by its own process (bench.rtc_server); the local Live server runs in
this (the client) process so its CPU is not charged to the app.

Each client sends 48 kHz mono Opus (speech-like 2 s, quiet 2 s, looped) and, for audio+video,
a 640x480 camera at 30 fps (VP8), and consumes what comes back. After a warm-up, the server
process's CPU time (user+system, all threads) over a window / window / sessions is the cost;
each session's audio frames received by its handler per second tells whether it keeps up
(>= 49/s).

Size: over 400 lines: the CPU and session-limit bench: aiortc clients, the climb and its real-
time test.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
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
from googlive.media.frames import VIDEO_RATE_MESSAGE
from googlive.testing.procs import stop_process
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
    """A 30 fps camera; `max_fps` (set when the server asks, as googlive/web/selfview.js
    sets the browser's RTCRtpSender maxFramerate) lowers what is encoded and sent."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        super().__init__()
        self.frames = frames
        self.n = 0
        self.max_fps: float | None = None
        self._last_sent = 0.0

    async def recv(self) -> av.VideoFrame:
        while True:
            pts, tb = await self.next_timestamp()
            if self.max_fps is None or time.monotonic() - self._last_sent >= 1 / self.max_fps:
                break  # the browser's encoder drops the frames over its maxFramerate
        self._last_sent = time.monotonic()
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
        cam = None
        if self.video:
            if _CAM is None:
                _CAM = _camera()
            cam = CamTrack(_CAM)
            self.pc.addTrack(cam)
        channel = self.pc.createDataChannel("text")

        @channel.on("message")
        def on_message(msg: Any) -> None:
            # what the page does with the server's camera-rate message (selfview.js)
            if cam is None or not isinstance(msg, str) or VIDEO_RATE_MESSAGE not in msg:
                return
            with contextlib.suppress(ValueError):
                m = json.loads(msg)
                if m.get("type") == VIDEO_RATE_MESSAGE:
                    fps = m.get("max_fps")
                    cam.max_fps = float(fps) if isinstance(fps, int | float) and fps > 0 else None

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
        stop_process(self.proc)


async def _session_run(
    srv: Server, n: int, video: bool, window: float, warmup: float
) -> dict[str, Any]:
    before = len((await srv.stats())["sessions"])
    rss_idle = (await srv.stats()).get("rss_mb")
    clients = [Client(srv.port, video) for _ in range(n)]
    try:
        for c in clients:
            await c.connect()
        deadline = time.monotonic() + 30 + n
        while True:
            s = (await srv.stats())["sessions"][before:]
            # model audio (then the keepalive) flows back: the app sends nothing before the
            # first reply, so a window opened earlier would count its silence as falling behind
            if (
                len(s) >= n
                and all(x["audio_in"] > 0 for x in s)
                and all(c.recv_audio > 0 for c in clients)
            ):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} sessions did not start")
            await asyncio.sleep(0.2)
        await asyncio.sleep(warmup)

        def sample(st: dict[str, Any]) -> tuple[list[int], list[int], list[int], list[int]]:
            mine = st["sessions"][before : before + n]
            return (
                [x["audio_in"] for x in mine],
                [x["video_in"] for x in mine],
                [c.mic.sent for c in clients],
                [c.recv_audio for c in clients],
            )

        s0 = await srv.stats()
        (a0, v0, m0, o0), t0 = sample(s0), time.monotonic()
        LAG.clear()
        await asyncio.sleep(window)
        lag = sorted(LAG)
        s1 = await srv.stats()
        (a1, v1, m1, o1), t1 = sample(s1), time.monotonic()
        dt = t1 - t0

        def rates(x0: list[int], x1: list[int]) -> list[float]:
            return [(b - a) / dt for a, b in zip(x0, x1, strict=True)]

        # frames the client sent that the handler has not received: growing = latency growing
        # (or frames lost), in ms over the window
        backlog_growth_ms = [
            20.0 * ((mb - ab) - (ma - aa)) for ma, aa, mb, ab in zip(m0, a0, m1, a1, strict=True)
        ]
        client_rate = min(rates(m0, m1))
        lag_p95 = lag[int(0.95 * (len(lag) - 1))] if lag else 0.0
        rss = s1.get("rss_mb")
        return {
            "n": n,
            "cpu_per_session": round((s1["cpu_s"] - s0["cpu_s"]) / dt / n, 3),
            "audio_frames_per_s_min": round(min(rates(a0, a1)), 1),
            "audio_out_frames_per_s_min": round(min(rates(o0, o1)), 1),
            "uplink_backlog_growth_ms_max": round(max(backlog_growth_ms), 1),
            "video_fps_in_min": round(min(rates(v0, v1)), 1),
            "client_mic_frames_per_s_min": round(client_rate, 1),
            "client_loop_lag_ms_p95": round(lag_p95, 1),
            "client_limited": client_rate < 49 or lag_p95 > CLIENT_LAG_LIMIT_MS,
            "rss_mb": rss,
            "rss_mb_before": rss_idle,
        }
    finally:
        for c in clients:
            await c.close()
        await asyncio.sleep(0.5 + 0.05 * n)  # let the server tear the sessions down


LAG: list[float] = []
CLIENT_LAG_LIMIT_MS = 40.0
"""The clients' event loop (this process) late by more than this at p95: the clients, not the
server, are what falls behind (they share the machine's cores with it)."""


async def _lag_monitor() -> None:
    """How late this process's event loop wakes from a 10 ms sleep, in ms, into LAG."""
    while True:
        t = time.monotonic()
        await asyncio.sleep(0.01)
        LAG.append(1000 * (time.monotonic() - t - 0.01))


LADDER = (1, 2, 4, 6, 8, 10, 12, 16, 20, 24, 32)
"""Sessions tried, upward until one fails the real-time test (then the gap is bisected)."""


async def _search(
    srv: Server, video: bool, window: float, warmup: float, ladder: tuple[int, ...]
) -> list[dict[str, Any]]:
    """Runs at growing N until one does not keep up (or errs), then bisects the gap between
    the last N that kept up and the first that did not. Every run is returned, in order."""
    runs: list[dict[str, Any]] = []

    async def one(n: int) -> bool:
        for attempt in range(2):  # a failed run is repeated once: this machine is shared
            try:
                r = await _session_run(srv, n, video, window, warmup)
            except Exception as e:  # report, stop climbing
                r = {"n": n, "error": f"{type(e).__name__}: {str(e)[:200]}"}
            # a run where the client itself could not send in real time says more about
            # this machine than about the server: it does not count as kept up
            r["keeps_up"] = "error" not in r and not r["client_limited"] and _keeps_up(r)
            r["attempt"] = attempt + 1
            runs.append(r)
            if r["keeps_up"]:
                return True
        return False

    ok, bad = 0, None
    for n in ladder:
        if await one(n):
            ok = n
        else:
            bad = n
            break
    while bad is not None and bad - ok > 1:
        mid = (ok + bad) // 2
        if await one(mid):
            ok = mid
        else:
            bad = mid
    return runs


async def measure(quick: bool, record: bool = False) -> dict[str, Any]:
    # each kind x modality climbs LADDER until a run fails the real-time test; the windows are
    # short with --quick (the search itself is the same)
    window, warmup, warmup_av = (3.0, 1.0, 1.5) if quick else (8.0, 3.0, 3.0)
    out: dict[str, Any] = {
        "window_s": window,
        "warmup_s": {"audio": warmup, "audio_video": warmup_av},
        "ladder": list(LADDER),
        "echo_ladder": [1] if quick else list(LADDER),
        "runs": {},
    }
    async with FakeLiveServer(api_key="k", config=FakeLiveConfig(max_av_session_s=None)) as live:
        # both server processes start together (their imports overlap), then are measured one
        # at a time: the app's server is stopped before the echo's runs begin
        servers = {
            kind: Server(kind, live if kind == "app" else None, record=record)
            for kind in ("app", "echo")
        }
        monitor = asyncio.create_task(_lag_monitor())
        try:
            await asyncio.gather(*(s.ready() for s in servers.values()))
            for kind, srv in servers.items():
                for mod in ("audio", "audio_video"):
                    av = mod == "audio_video"
                    # --quick: the echo only at N = 1 (its cpu_per_session, the ratios'
                    # baseline); its session limit is climbed in the full run
                    ladder = (1,) if quick and kind == "echo" else LADDER
                    out["runs"][f"{kind}_{mod}"] = await _search(
                        srv, av, window, warmup_av if av else warmup, ladder
                    )
                srv.close()
        finally:
            monitor.cancel()
            for srv in servers.values():
                srv.close()
    return out


BACKLOG_LIMIT_MS = 100.0
"""A session whose uplink backlog (frames sent, not yet received by the handler) grew by more
than this over the window is falling behind, whatever its frame rate."""


def _keeps_up(r: dict[str, Any]) -> bool:
    """The real-time test: every session's handler receives >= 49 audio frames/s, its client
    receives >= 49 frames/s back, and no session's uplink backlog grows by more than
    BACKLOG_LIMIT_MS over the window. Frame rates are judged against what the client actually
    sent: the clients share this 2-core machine, so a client that falls behind
    (client_limited) is not charged to the server."""
    need = 49.0 * min(1.0, r["client_mic_frames_per_s_min"] / 50.0) - 0.5  # counting jitter
    return (
        r["audio_frames_per_s_min"] >= need
        and r.get("audio_out_frames_per_s_min", need) >= need
        and r.get("uplink_backlog_growth_ms_max", 0.0) <= BACKLOG_LIMIT_MS
    )


def figures(m: dict[str, Any]) -> dict[str, Any]:
    runs = m["runs"]

    def one(key: str) -> float | None:
        r = [x for x in runs.get(key, []) if x.get("n") == 1 and "cpu_per_session" in x]
        r.sort(key=lambda x: not x.get("keeps_up"))  # the attempt that kept up, if one did
        return r[0]["cpu_per_session"] if r else None

    def ok_runs(key: str) -> list[dict[str, Any]]:
        return [r for r in runs.get(key, []) if r.get("keeps_up")]

    def maxrt(key: str) -> int:
        ok = [r["n"] for r in ok_runs(key)]
        return max(ok) if ok else 0

    def first_fail(key: str) -> int | None:
        good = {r["n"] for r in ok_runs(key)}
        bad = [r["n"] for r in runs.get(key, []) if r["n"] not in good]
        return min(bad) if bad else None

    def rss_per_session(key: str) -> float | None:
        # RSS with N sessions connected, largest N that kept up against N = 1
        ok = sorted((r for r in ok_runs(key) if r.get("rss_mb") is not None), key=lambda r: r["n"])
        if len(ok) < 2 or ok[-1]["n"] == ok[0]["n"]:
            return None
        return round((ok[-1]["rss_mb"] - ok[0]["rss_mb"]) / (ok[-1]["n"] - ok[0]["n"]), 2)

    keys = ("app_audio", "echo_audio", "app_audio_video", "echo_audio_video")
    cps: dict[str, Any] = {k: one(k) for k in keys}
    cps["ratio_audio"] = ratio(cps["app_audio"], cps["echo_audio"])
    cps["ratio_audio_video"] = ratio(cps["app_audio_video"], cps["echo_audio_video"])
    cps["av_over_app_audio"] = ratio(cps["app_audio_video"], cps["app_audio"])
    cps["target"] = {"ratio_audio_video": 0.35, "av_over_app_audio": 1.2, "ratio_audio": 1.3}
    mrs: dict[str, Any] = {k: maxrt(k) for k in keys}
    if m.get("echo_ladder") == [1]:  # --quick: the echo was not climbed
        mrs["echo_audio"] = mrs["echo_audio_video"] = None
    mrs["first_failed"] = {k: first_fail(k) for k in keys}
    mrs["ladder"] = m.get("ladder")
    mrs["target"] = {"app_audio": 8, "app_audio_video": 6}
    mrs["client_limited_runs"] = [
        f"{k}@{r['n']}" for k, rs in runs.items() for r in rs if r.get("client_limited")
    ]
    mrs["limited_by"] = {
        k: None
        if first_fail(k) is None
        else next(
            (
                "error"
                if "error" in r
                else "client (could not send in real time)"
                if r.get("client_limited")
                else "server"
                for r in reversed(runs[k])
                if r["n"] == first_fail(k)
            ),
            None,
        )
        for k in keys
    }
    rss = {k: rss_per_session(k) for k in keys}
    rss["definition"] = (
        "server RSS (MB) with N sessions connected: (largest N that kept up - N=1) / (N - 1)"
    )
    return {
        "cpu_per_session": cps,
        "max_realtime_sessions": mrs,
        "rss_per_session_mb": rss,
        "cpu_runs": m,
    }


def run(quick: bool) -> dict[str, Any]:
    t0 = time.monotonic()
    res = figures(asyncio.run(measure(quick)))
    res["_elapsed_s"] = round(time.monotonic() - t0, 1)
    return res
