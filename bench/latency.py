"""vad_granularity_ms, uplink_ms, downlink_ms and underruns (app handler vs demo baseline).

uplink_ms: per chunk written to the Live socket, the age of its OLDEST sample at the moment it
was written: (time the chunk was queued - arrival of the mic frame that carried its first
sample) + LiveSession.stats.uplink_lag_s (queued -> written). It includes the chunking wait
and the resampler's hold-back. Baseline: the same handler sending every frame as it comes
(no chunking), as the FastRTC demo does.

downlink_ms / underruns: the handler's playback is driven directly with a bursty synthetic
source (40 ms chunks 3x faster than real time in bursts of 6-16, then gaps of 100-300 ms),
as the local Live server cannot make gaps. downlink_ms is measured on chunks that arrive when
nothing of their turn is buffered ahead of them (so the wait is the handler's, not the audio
queued before it): AudioOut.received_at -> its first frame returned by emit(). Underruns are
counted at the simulated browser: a gap > 25 ms between consecutive frames of one turn.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import numpy as np

from bench.harness import INPUTS, DemoBaselineHandler, TaggedPeer, make_handler, to_int16, until
from bench.stats import p50_p99
from googlive.config import Settings
from googlive.events import AudioOut, TurnComplete
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.fakelive.voice import tones
from googlive.handler import GeminiHandler
from googlive.vad import SpeechStart, Vad
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
    per_frame = False

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.arrivals: list[float] = []
        self.queued: list[tuple[float, int]] = []  # (perf_counter when queued, first 16k sample)
        self._sent16 = 0

    def copy(self) -> _UplinkProbe:  # pragma: no cover
        return type(self)(self.settings, self.endpoint)

    async def receive(self, frame: tuple[int, np.ndarray]) -> None:
        if self.session is not None:
            self.arrivals.append(time.perf_counter())
            if self.per_frame:
                self._uplink_bytes = 2  # send whatever the frame produced at once
        await super().receive(frame)

    def wrap_session(self) -> None:
        assert self.session is not None
        orig = self.session.send_audio

        def send_audio(pcm: bytes) -> None:
            self.queued.append((time.perf_counter(), self._sent16))
            self._sent16 += len(pcm) // 2
            orig(pcm)

        self.session.send_audio = send_audio  # type: ignore[method-assign]


class _PerFrameProbe(_UplinkProbe):
    per_frame = True


async def _uplink_run(srv: FakeLiveServer, cls: type, seconds: float) -> list[float]:
    h = cls(Settings(), make_handler("app", srv).endpoint)
    peer = TaggedPeer(h, INPUTS, mic_always_on=False)
    await peer.start()
    try:
        await until(lambda: h.session is not None and h.session.state.value == "live", 15)
        h.wrap_session()
        audio = to_int16(speech_like(RATE, seconds, -20.0, seed=2) + white_noise(RATE, seconds, -60.0))
        await peer.send_mic(audio)
        await asyncio.sleep(0.3)
        lags = list(h.session.stats.uplink_lag_s)
        ages = []
        for (tq, s16), lag in zip(h.queued, lags[-len(h.queued):] if len(lags) >= len(h.queued) else lags):
            f = (s16 * 3) // 960
            if f < len(h.arrivals):
                ages.append(1000 * (tq - h.arrivals[f] + lag))
        return ages
    finally:
        await peer.close()


async def uplink(seconds: float) -> dict:
    async with FakeLiveServer(api_key="k", config=FakeLiveConfig()) as srv:
        app, base = await asyncio.gather(_uplink_run(srv, _UplinkProbe, seconds), _uplink_run(srv, _PerFrameProbe, seconds))
    chunk = Settings().uplink_chunk_ms
    return {
        "app": p50_p99(app, 1),
        "baseline_send_every_frame": p50_p99(base, 1),
        "chunk_ms": chunk,
        "target_ms": chunk + 2,
        "definition": "age of the oldest sample of each chunk when written to the Live socket",
    }


# ---- downlink + underruns -----------------------------------------------------------------

class _NoEndpoint:
    offline = True


async def _downlink_run(kind: str, seconds: float, seed: int) -> dict:
    cls = DemoBaselineHandler if kind == "baseline" else GeminiHandler
    h = cls(Settings(), _NoEndpoint())  # type: ignore[arg-type]
    peer = TaggedPeer(h, INPUTS, mic_always_on=False)
    pending: list[tuple[int, float, bool]] = []  # (turn, received_at, arrived to an empty buffer)
    lat: list[float] = []
    lat_all: list[float] = []
    first_frame_of: dict[int, int] = {}

    # chunk boundaries: samples of each turn pushed so far
    pushed: dict[int, int] = {}
    emitted: dict[int, int] = {}
    marks: list[tuple[int, int, float, bool]] = []  # (turn, start sample in turn, received_at, empty)

    def on_frame(frame: np.ndarray, turn: int | None) -> None:
        if turn is None:
            return
        start = emitted.get(turn, 0)
        emitted[turn] = start + frame.size
        now = time.perf_counter()
        while marks and marks[0][0] == turn and marks[0][1] < start + frame.size:
            _, _, rec, empty = marks.pop(0)
            (lat if empty else lat_all).append(1000 * (now - rec))

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
                    empty = (pushed.get(turn, 0) - emitted.get(turn, 0)) <= 0
                    marks.append((turn, pushed.get(turn, 0), time.perf_counter(), empty))
                    pushed[turn] = pushed.get(turn, 0) + chunk
                    h.handle_event(AudioOut(pcm.tobytes(), 24000, turn, time.perf_counter()))
                    h._wake.set()
                    sent += chunk / 24000
                    await asyncio.sleep(chunk / 24000 / 3)
                await asyncio.sleep(rng.uniform(0.1, 0.3))
            h.handle_event(TurnComplete(turn, None))
            h._wake.set()
            await asyncio.sleep(max(0.0, sent - 0.5))  # let most of it play
            await asyncio.sleep(1.0)
        await asyncio.sleep(1.0)
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
            gaps += sum(1 for a, b in zip(ts, ts[1:]) if b - a > 0.025)
        return {
            "lat_empty": lat,
            "lat_queued": lat_all,
            "underruns": gaps,
            "played_s": played_s,
            "handler_underruns": getattr(h.playback, "underruns", None) if kind == "app" else None,
        }
    finally:
        await peer.close()


async def downlink(seconds: float) -> dict:
    app, base = await asyncio.gather(_downlink_run("app", seconds, 5), _downlink_run("baseline", seconds, 5))

    def fig(r: dict) -> dict:
        per_min = 60 * r["underruns"] / r["played_s"] if r["played_s"] else None
        return {
            "downlink_ms": p50_p99(r["lat_empty"], 2),
            "underruns": r["underruns"],
            "underruns_per_min": None if per_min is None else round(per_min, 2),
            "played_s": round(r["played_s"], 1),
        }

    a = fig(app)
    a["playback_buffer_underruns"] = app["handler_underruns"]
    return {
        "app": a,
        "baseline_fastrtc_demo": fig(base),
        "source": "bursts of 6-16 x 40 ms chunks at 3x real time, gaps 100-300 ms, turns 4-7 s",
        "target": {"downlink_ms": "<= 5 + jitter cushion (app cushion: PlaybackBuffer prebuffer_ms=0)", "underruns_per_min": 0},
    }


def run(quick: bool) -> dict:
    t0 = time.monotonic()
    out: dict[str, Any] = {"vad": vad_figures(40 if quick else 200)}
    out["uplink_ms"] = asyncio.run(uplink(4.0 if quick else 15.0))
    out["downlink"] = asyncio.run(downlink(10.0 if quick else 60.0))
    out["_elapsed_s"] = round(time.monotonic() - t0, 1)
    return out
