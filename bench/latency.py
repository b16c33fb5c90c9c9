"""vad_granularity_ms, uplink_ms, downlink_ms and underruns (app handler vs demo baseline).

uplink_ms: per 20 ms mic frame, its arrival at GeminiHandler.receive() -> the audio chunk that
holds its last sample written to the Live socket (LiveSession._send_item returned for it). It
includes the chunking wait (uplink_chunk_ms) and the resampler's delay. Also reported: each
chunk's oldest-sample age when written. Baseline: the same handler sending every frame as it
comes (no chunking), as the FastRTC demo does.

downlink_ms / underruns: the handler's playback is driven directly with a bursty synthetic
source (40 ms chunks 3x faster than real time in bursts of 6-16, then gaps of 100-300 ms),
as the local Live server cannot make gaps. The app handler is the real GeminiHandler, so its
PlaybackBuffer has the configured jitter cushion (googlive.handler.JITTER_CUSHION_MS). downlink_ms is measured on chunks that arrive when
nothing of their turn is buffered ahead of them (so the wait is the handler's, not the audio
queued before it): AudioOut.received_at -> its first frame returned by emit(). Underruns are
counted at the simulated browser: a gap > 25 ms between consecutive frames of one turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

import numpy as np

from bench.harness import INPUTS, DemoBaselineHandler, TaggedPeer, make_handler, to_int16, until
from bench.stats import p50_p99
from googlive.config import Settings
from googlive.fakelive.voice import tones
from googlive.handler import JITTER_CUSHION_MS, GeminiHandler
from googlive.live.events import AudioOut, TurnComplete
from googlive.media.vad import SpeechStart, Vad
from tests.signals import speech_like, white_noise

RATE = 48000


# ---- VAD --------------------------------------------------------------------------------


def vad_figures(trials: int = 40) -> dict:
    """How often the VAD decides (the frame it is fed) and how long after a speech onset."""
    h_frame = 960  # fastrtc hands GeminiHandler.receive 960 samples at 48 kHz
    rng = np.random.default_rng(3)
    lat = []
    for k in range(trials):
        v = Vad()
        lead = 0.5 + float(rng.uniform(0, 0.02))  # onset anywhere inside a frame
        x = white_noise(RATE, 2.0, -60.0, seed=k)
        s = speech_like(RATE, 1.0, -20.0, seed=k)
        o = int(lead * RATE)
        x[o : o + s.size] += s
        pcm = to_int16(x)
        for i in range(0, pcm.size - h_frame + 1, h_frame):
            ev = v.feed(pcm[i : i + h_frame])
            if isinstance(ev, SpeechStart):
                lat.append(1000 * ((i + h_frame) - o) / RATE)  # decision at end of that frame
                break
    return {
        "vad_granularity_ms": 1000 * h_frame / RATE,
        "baseline_granularity_ms": 60.0,
        "baseline_note": "FastRTC demo asks fastrtc for 16 kHz input: 960-sample frames = 60 ms"
        " (fastrtc 0.0.34, see FASTRTC_NOTES.md); not re-measured here",
        "decision_after_onset_ms": p50_p99(lat, 1),
        "target_ms": 20,
    }


# ---- uplink -----------------------------------------------------------------------------


class _UplinkProbe(GeminiHandler):
    """The app's handler, unchanged, with probes: when each mic frame arrives at receive(), and
    when each audio chunk it queued is written to the Live socket (LiveSession._send_item
    returned for it)."""

    per_frame = False

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.arrivals: list[float] = []  # perf_counter when mic frame i reached receive()
        self.chunks: dict[int, tuple[int, int]] = {}  # id(payload) -> (first 16k sample, samples)
        self.written: list[tuple[float, int, int]] = []  # (perf_counter written, first, samples)
        self._sent16 = 0

    def copy(self) -> _UplinkProbe:  # pragma: no cover
        return type(self)(self.settings, self.endpoint)

    async def receive(self, frame: tuple[int, np.ndarray]) -> None:
        if self.session is not None:
            self.arrivals.append(time.perf_counter())
        await super().receive(frame)

    def wrap_session(self) -> None:
        s = self.session
        assert s is not None
        if self.per_frame:
            self._uplink_bytes = 2  # send whatever each frame produced at once
        orig_send, orig_item = s.send_audio, s._send_item

        def send_audio(pcm: bytes) -> None:
            self.chunks[id(pcm)] = (self._sent16, len(pcm) // 2)
            self._sent16 += len(pcm) // 2
            orig_send(pcm)

        async def send_item(session: Any, item: Any) -> None:
            await orig_item(session, item)
            if item.kind == "audio" and id(item.payload) in self.chunks:
                first, n = self.chunks.pop(id(item.payload))
                self.written.append((time.perf_counter(), first, n))

        s.send_audio = send_audio  # type: ignore[method-assign]
        s._send_item = send_item  # type: ignore[method-assign]


class _PerFrameProbe(_UplinkProbe):
    per_frame = True


def uplink_figures(
    arrivals: list[float], written: list[tuple[float, int, int]]
) -> tuple[list[float], list[float]]:
    """(per mic frame: arrival -> the chunk holding its LAST 16 kHz sample written, ms;
        per chunk: age of its OLDEST sample when written = written - arrival of its frame, ms).
    16 kHz output sample k is input time k/16000 (the resampler compensates its delay), i.e.
    48 kHz sample 3k, carried by 20 ms mic frame 3k // 960."""
    per_frame: list[float] = []
    per_chunk: list[float] = []
    ends = [(first + n, t) for t, first, n in sorted(written, key=lambda w: w[1])]
    j = 0
    for f, arr in enumerate(arrivals):
        last16 = (960 * (f + 1)) // 3 - 1
        while j < len(ends) and ends[j][0] <= last16:
            j += 1
        if j == len(ends):
            break  # the rest was still in the chunking buffer when the run ended
        per_frame.append(1000 * (ends[j][1] - arr))
    for t, first, _n in written:
        f = (3 * first) // 960
        if f < len(arrivals):
            per_chunk.append(1000 * (t - arrivals[f]))
    return per_frame, per_chunk


async def _uplink_run(srv: Any, cls: type, seconds: float) -> tuple[list[float], list[float]]:
    h = cls(Settings(), make_handler("app", srv).endpoint)
    peer = TaggedPeer(h, INPUTS, mic_always_on=False)
    await peer.start()
    try:
        await until(lambda: h.session is not None and h.session.state.value == "live", 15)
        h.wrap_session()
        audio = to_int16(
            speech_like(RATE, seconds, -20.0, seed=2) + white_noise(RATE, seconds, -60.0)
        )
        await peer.send_mic(audio)
        await asyncio.sleep(0.3)
        return uplink_figures(h.arrivals, h.written)
    finally:
        await peer.close()


@contextlib.asynccontextmanager
async def external_live_server() -> Any:
    """The local Live server in a process of its own (`python -m googlive.fakelive`), as the
    real one is remote: its work on what we send must not queue in our event loop."""
    import json
    import subprocess
    import sys
    from types import SimpleNamespace

    from bench.cpu import ROOT

    p = subprocess.Popen(  # noqa: ASYNC220 - once, before anything is timed
        [sys.executable, "-m", "googlive.fakelive", "--api-key", "k", "--log-level", "WARNING"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = await asyncio.wait_for(asyncio.to_thread(p.stdout.readline), 30)  # type: ignore[union-attr]
        info = json.loads(line)
        yield SimpleNamespace(url=info["url"], ca_cert=info["ca_cert"])
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


async def uplink(seconds: float) -> dict:
    async with external_live_server() as srv:
        # first use of the socket path in this process (pydantic/base64/TLS warm-up) can cost
        # up to ~1 s once: a short throw-away run, so neither figure carries it
        cold, _ = await _uplink_run(srv, _PerFrameProbe, 0.5)
        # one after the other: each run has the event loop (and the cores) to itself
        app_f, app_c = await _uplink_run(srv, _UplinkProbe, seconds)
        base_f, base_c = await _uplink_run(srv, _PerFrameProbe, seconds)
    chunk = Settings().uplink_chunk_ms
    return {
        "app": p50_p99(app_f, 1),
        "baseline_send_every_frame": p50_p99(base_f, 1),
        "oldest_sample_age_per_chunk": {
            "app": p50_p99(app_c, 1),
            "baseline_send_every_frame": p50_p99(base_c, 1),
        },
        "cold_first_frame_ms": round(cold[0], 1) if cold else None,
        "chunk_ms": chunk,
        "target_ms": chunk + 2,
        "target_on": "p99",
        "definition": "per 20 ms mic frame: its arrival at GeminiHandler.receive() -> the chunk holding its last"
        " sample written to the Live socket (LiveSession._send_item returned); includes the chunking wait"
        " and the resampler's delay; local Live server in its own process",
    }


# ---- downlink + underruns -----------------------------------------------------------------


class _NoEndpoint:
    offline = True


async def _downlink_run(kind: str, seconds: float, seed: int) -> dict:
    cls = DemoBaselineHandler if kind == "baseline" else GeminiHandler
    h = cls(Settings(), _NoEndpoint())  # type: ignore[arg-type]
    peer = TaggedPeer(h, INPUTS, mic_always_on=False)
    lat: list[float] = []
    lat_all: list[float] = []

    # chunk boundaries: samples of each turn pushed so far
    pushed: dict[int, int] = {}
    emitted: dict[int, int] = {}
    marks: list[
        tuple[int, int, float, bool]
    ] = []  # (turn, start sample in turn, received_at, empty)

    def on_frame(frame: np.ndarray, turn: int | None) -> None:
        if turn is None:
            return
        start = emitted.get(turn, 0)
        emitted[turn] = start + frame.size
        now = time.perf_counter()
        while marks and marks[0][0] == turn and marks[0][1] < start + frame.size:
            _, _, rec, empty = marks.pop(0)
            (lat if empty else lat_all).append(1000 * (now - rec))

    def drained() -> bool:
        left = h.playback.buffered_samples if kind == "app" else len(h._out)
        return left == 0 and not peer.queued_audio()

    peer.on_frame = on_frame
    peer._tasks.append(asyncio.create_task(peer._pull(), name="bench-pull"))
    peer._tasks.append(asyncio.create_task(peer._play(), name="bench-play"))
    rng = random.Random(seed)
    src = (np.asarray(tones(30.0)) * 32767).astype(np.int16)
    chunk = 960  # 40 ms at 24 kHz
    t_end = time.monotonic() + seconds
    turn = 100
    pos = 0
    try:
        while time.monotonic() < t_end:
            turn += 1
            turn_len = rng.uniform(4.0, 7.0)
            sent = 0.0
            while sent < turn_len:
                for _ in range(rng.randint(6, 16)):
                    pcm = src[pos % (src.size - chunk) :][:chunk]
                    pos += chunk
                    # nothing of this turn ahead of it: not in the handler, not in the
                    # (simulated) WebRTC queue; otherwise its wait is that audio playing out
                    empty = (
                        pushed.get(turn, 0) - emitted.get(turn, 0)
                    ) <= 0 and not peer.queued_audio()
                    marks.append((turn, pushed.get(turn, 0), time.perf_counter(), empty))
                    pushed[turn] = pushed.get(turn, 0) + chunk
                    h.handle_event(AudioOut(pcm.tobytes(), 24000, turn, time.perf_counter()))
                    h._wake.set()
                    sent += chunk / 24000
                    await asyncio.sleep(chunk / 24000 / 3)
                await asyncio.sleep(rng.uniform(0.1, 0.3))
            h.handle_event(TurnComplete(turn, None))
            h._wake.set()
            # the next turn starts once this one has played out (as after a user's reply)
            with contextlib.suppress(TimeoutError):
                await until(drained, 15.0, 0.02)
            await asyncio.sleep(0.1)
        # underruns at the browser: gap > 25 ms between consecutive frames of one turn
        by_turn: dict[Any, list[float]] = {}
        for hd in peer.stats.heard:
            by_turn.setdefault(peer.turn_of.get(id(hd.samples)), []).append(hd.t)
        gaps = 0
        played_s = 0.0
        for t, ts in by_turn.items():
            if t is None:
                continue
            played_s += 0.02 * len(ts)
            gaps += sum(1 for a, b in zip(ts, ts[1:], strict=False) if b - a > 0.025)
        return {
            "lat_empty": lat,
            "lat_queued": lat_all,
            "underruns": gaps,
            "played_s": played_s,
            "turns": turn - 100,
            "handler_underruns": getattr(h.playback, "underruns", None) if kind == "app" else None,
        }
    finally:
        await peer.close()


async def downlink(seconds: float, streams: int = 3) -> dict:
    """`streams` app handlers and as many baseline handlers run side by side (seeds shared
    pairwise, so app and baseline see the same arrivals), to get more minutes of playback."""
    runs = await asyncio.gather(
        *[_downlink_run(k, seconds, 5 + i) for i in range(streams) for k in ("app", "baseline")]
    )
    app = [r for i, r in enumerate(runs) if i % 2 == 0]
    base = [r for i, r in enumerate(runs) if i % 2 == 1]

    def fig(rs: list[dict]) -> dict:
        under = sum(r["underruns"] for r in rs)
        played = sum(r["played_s"] for r in rs)
        per_min = 60 * under / played if played else None
        return {
            "downlink_ms": p50_p99([x for r in rs for x in r["lat_empty"]], 2),
            "underruns": under,
            "underruns_per_min": None if per_min is None else round(per_min, 2),
            "played_s": round(played, 1),
            "turns": sum(r["turns"] for r in rs),
        }

    a = fig(app)
    a["playback_buffer_underruns"] = sum(r["handler_underruns"] or 0 for r in app)
    a["jitter_cushion_ms"] = JITTER_CUSHION_MS
    return {
        "app": a,
        "baseline_fastrtc_demo": fig(base),
        "source": "per turn (4-7 s of audio): bursts of 6-16 x 40 ms chunks at 3x real time, gaps 100-300 ms;"
        f" {streams} app + {streams} baseline handlers side by side; next turn after the last has played",
        "jitter_cushion_ms": JITTER_CUSHION_MS,
        "target": {"downlink_p99_ms": 5 + JITTER_CUSHION_MS, "underruns_per_min": 0},
    }


def run(quick: bool) -> dict:
    t0 = time.monotonic()
    out: dict[str, Any] = {"vad": vad_figures(40 if quick else 200)}
    out["uplink_ms"] = asyncio.run(uplink(4.0 if quick else 15.0))
    out["downlink"] = asyncio.run(downlink(20.0 if quick else 60.0))
    out["_elapsed_s"] = round(time.monotonic() - t0, 1)
    return out
