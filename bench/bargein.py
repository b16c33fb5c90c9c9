"""barge_in_ms and false_barge_ins.

barge_in_ms: a long reply ("tell me a long story") plays from the local Live server; at a random
point the simulated user starts talking (speech-like signal, -20 dBFS). The figure is the
model audio of that reply that the simulated browser plays from the speech onset on, plus what
is still in its queue when the trial ends (that will be played too): "model audio after the
user started talking". App handler vs the FastRTC demo baseline (bench.harness), same server,
same signal, same onsets, run side by side.

false_barge_ins: the handler's own receive() path (its VAD, `playing` set) fed mic audio that
contains no user speech: the model's reply leaking back (echo at about -35 dBFS, delayed 20-60
ms) and background noise (fan, keyboard, music). Every barge-in counted is a false one.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from typing import Any

import numpy as np
import soxr

from bench.harness import INPUTS, DemoBaselineHandler, TaggedPeer, make_handler, to_int16, until
from bench.stats import summarize
from googlive.config import Settings
from googlive.fakelive import FakeLiveConfig, FakeLiveServer
from googlive.fakelive.voice import chime, tones
from googlive.handler import GeminiHandler
from tests.signals import (
    brown_noise,
    keyboard_clicks,
    music,
    pink_noise,
    scale_to_dbfs,
    speech_like,
    white_noise,
)

RATE = 48000


class _Side:
    """One handler (app or baseline) and its simulated browser, kept for every trial: one Live
    session each, as a user asking for several stories in one conversation."""

    def __init__(self, srv: FakeLiveServer, kind: str) -> None:
        self.kind = kind
        self.h = make_handler(kind, srv)
        self.peer = TaggedPeer(self.h, INPUTS)

    async def start(self) -> None:
        await self.peer.start()
        await until(lambda: self.h.session is not None and self.h.session.state.value == "live", 20)

    def last_turn(self) -> int:
        return max((t for _, t, _ in self.peer.emit_log if t is not None), default=-1)

    async def trial(self, delay_s: float, seed: int, speech_turns: Any) -> dict:
        h, peer = self.h, self.peer
        speech = to_int16(speech_like(RATE, 0.6, -20.0, seed=seed))
        before = self.last_turn()
        t_ask = time.monotonic()
        barge0 = h.barge_ins
        h.send_text("tell me a long story")

        def story_heard() -> Any:  # the new reply's turn, once 0.3 s of it was heard
            turns = {
                peer.turn_of.get(id(x.samples))
                for x in peer.stats.heard
                if x.t >= t_ask and x.rms >= 30
            }
            turns = {t for t in turns if t is not None and t > before}
            if not turns:
                return None
            t = min(turns)
            played, _ = peer.audible_of_turn_after(t_ask, t)
            return (t,) if played > 0.3 else None  # a tuple: turn 0 is falsy

        (story,) = await until(story_heard, 15)
        await asyncio.sleep(delay_s)
        # say() returns when the frame holding the first speech sample is delivered; that
        # sample was captured one frame (20 ms) earlier: the ground-truth onset.
        onset = await peer.say(speech) - 0.02
        await peer.said()
        await asyncio.sleep(0.8)
        played, queued = peer.audible_of_turn_after(onset, story)
        handed = sum(n for t, turn, n in peer.emit_log if t >= onset and turn == story) / 24000
        detect = None
        if self.kind == "app" and len(h.barge_in_log) > barge0:
            detect = 1000 * (h.barge_in_log[barge0]["t"] + h.t0 - onset)
        # the server answers the user's speech with a turn of its own: let it start (so it
        # cannot cut the next story), then drop what the baseline still has queued from this
        # story (already counted above; it would otherwise delay the next trial)
        with contextlib.suppress(TimeoutError):
            await until(speech_turns, 5)
        if isinstance(h, DemoBaselineHandler):
            h._out.clear()
        peer._clear()
        return {
            "ms": 1000 * (played + queued),
            "played_ms": 1000 * played,
            "handed_ms": 1000 * handed,
            "detect_ms": detect,
            "barge_ins": h.barge_ins - barge0,
        }


async def measure_barge_in(trials: int, seed: int = 1, max_delay_s: float = 3.5) -> dict:
    rng = random.Random(seed)
    res: dict[str, list[dict]] = {"app": [], "baseline": []}
    async with FakeLiveServer(api_key="k", config=FakeLiveConfig()) as srv:
        app, base = _Side(srv, "app"), _Side(srv, "baseline")
        try:
            await asyncio.gather(app.start(), base.start())
            for i in range(trials):
                d = rng.uniform(0.2, max_delay_s)
                want = srv.stats.speech_turns + 2  # both sides' speech makes a server turn

                def speech_turns(w: int = want) -> bool:
                    return srv.stats.speech_turns >= w

                a, b = await asyncio.gather(
                    app.trial(d, seed + i, speech_turns), base.trial(d, seed + i, speech_turns)
                )
                res["app"].append(a)
                res["baseline"].append(b)
        finally:
            await asyncio.gather(app.peer.close(), base.peer.close())
        interrupted = srv.stats.interrupted_sent
    app_ms = [r["ms"] for r in res["app"]]
    base_ms = [r["ms"] for r in res["baseline"]]
    return {
        "app": summarize(app_ms, 1),
        "baseline_fastrtc_demo": summarize(base_ms, 1),
        "app_detected": sum(1 for r in res["app"] if r["barge_ins"] >= 1),
        "app_detect_ms": summarize(
            [r["detect_ms"] for r in res["app"] if r["detect_ms"] is not None], 1
        ),
        "app_handed_to_webrtc_ms": summarize([r["handed_ms"] for r in res["app"]], 1),
        "baseline_handed_to_webrtc_ms": summarize([r["handed_ms"] for r in res["baseline"]], 1),
        "server_interrupted_sent": interrupted,
        "trials": trials,
        "setup": f"one Live session per side for all trials; onset 0.2-{max_delay_s:.1f} s into the story",
        "target": {"median_ms": 60, "p95_ms": 100},
    }


# ---- false barge-ins ---------------------------------------------------------------------


def _reply_24k(seconds: float, kind: str, seed: int) -> np.ndarray:
    if kind == "tones":  # what the local Live server says
        x = np.concatenate([chime(), tones(seconds)]).astype(np.float64)
    else:  # speech-like model voice
        x = speech_like(24000, seconds, -20.0, seed=seed)
    return x


def _echo(seconds: float, kind: str, delay_ms: float, level_db: float, seed: int) -> np.ndarray:
    reply = soxr.resample(_reply_24k(seconds, kind, seed), 24000, RATE)
    d = int(RATE * delay_ms / 1000)
    out = np.zeros(int(seconds * RATE))
    seg = reply[: out.size - d]
    out[d : d + seg.size] = seg
    out = scale_to_dbfs(out, level_db)
    return out + white_noise(RATE, seconds, -60.0, seed=seed + 100)


def _conditions(seconds: float) -> dict[str, np.ndarray]:
    c: dict[str, np.ndarray] = {}
    for delay in (20, 40, 60):
        c[f"echo_voice_-35dBFS_{delay}ms"] = _echo(seconds, "voice", delay, -35.0, delay)
        c[f"echo_tones_-35dBFS_{delay}ms"] = _echo(seconds, "tones", delay, -35.0, delay)
    floor = white_noise(RATE, seconds, -60.0, seed=9)
    c["fan_pink_-30dBFS"] = pink_noise(RATE, seconds, -30.0) + floor
    c["fan_brown_-30dBFS"] = brown_noise(RATE, seconds, -30.0) + floor
    c["keyboard_peak_-20dBFS"] = keyboard_clicks(RATE, seconds, -20.0) + floor
    c["music_-30dBFS"] = music(RATE, seconds, -30.0) + floor
    c["music_-30_plus_echo_-35_40ms"] = music(RATE, seconds, -30.0) + _echo(
        seconds, "voice", 40, -35.0, 3
    )
    return c


async def _count(mic: np.ndarray, *, speech_at: float | None = None) -> int:
    """Feed `mic` (float, 48 kHz) through a real GeminiHandler.receive() with model audio
    playing (no session: receive stops after the VAD/barge-in step). Returns barge-ins."""
    h = GeminiHandler(Settings(), _NoEndpoint())  # type: ignore[arg-type]
    turn = 1
    h.playback.push(np.zeros(24000 * 3600, np.int16), turn)
    pcm = to_int16(mic)
    for i in range(0, pcm.size - 959, 960):
        await h.receive((RATE, pcm[i : i + 960].reshape(1, -1)))
        if not h.playback.playing:  # a barge-in cleared it: the model keeps talking
            turn += 1
            h.playback.push(np.zeros(24000 * 3600, np.int16), turn)
    return h.barge_ins


class _NoEndpoint:
    offline = True

    def client(self, key: object = None) -> None:  # never called: no start_up
        raise RuntimeError("not used")


async def measure_false(seconds: float) -> dict:
    out: dict[str, int] = {}
    for name, mic in _conditions(seconds).items():
        out[name] = await _count(mic)
    # positive control: the same pipeline must still hear a real talker over echo and music
    talk = np.zeros(int(seconds * RATE))
    for k in range(int(seconds // 3)):
        s = speech_like(RATE, 0.8, -20.0, seed=20 + k)
        talk[int((k * 3 + 1) * RATE) : int((k * 3 + 1) * RATE) + s.size] = s
    control_mic = talk + _echo(seconds, "voice", 40, -35.0, 5) + music(RATE, seconds, -30.0)
    control = await _count(control_mic)
    return {
        "total": sum(out.values()),
        "by_condition": out,
        "seconds_per_condition": seconds,
        "control_real_speech_onsets": int(seconds // 3),
        "control_detected": control,
        "baseline_fastrtc_demo": "n/a: no local VAD (relies on the server's VAD only)",
        "target": 0,
    }


def run(trials: int, false_seconds: float) -> dict:
    t0 = time.monotonic()
    b = asyncio.run(measure_barge_in(trials))
    f = asyncio.run(measure_false(false_seconds))
    return {"barge_in_ms": b, "false_barge_ins": f, "_elapsed_s": round(time.monotonic() - t0, 1)}


def run_barge_in(trials: int) -> dict:
    return asyncio.run(measure_barge_in(trials))


def run_false(seconds: float) -> dict:
    return asyncio.run(measure_false(seconds))
