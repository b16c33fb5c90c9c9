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

Size: over 400 lines: barge_in_ms, false_barge_ins and the policy bench share one simulated
conversation.
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


# ---- issue 19: pause / resume / drop, beside today's cut-the-turn policy ---------------------


def _cut_policy_handler(srv: FakeLiveServer) -> GeminiHandler:
    """Today's behaviour before issue 19, for the same-run baseline: a local onset cuts the
    turn at once (CutTurnPolicy), the fixed -25 dBFS echo guard (no reference)."""
    from googlive.media.bargein import CutTurnPolicy

    h = make_handler("app", srv)
    h.policy = CutTurnPolicy()
    h.echo_guard = False
    return h


def _cough(seconds: float = 0.3) -> np.ndarray:
    n = int(seconds * RATE)
    x = np.random.default_rng(5).normal(0, 0.3, n) * np.exp(-np.arange(n) / (0.08 * RATE))
    return np.clip(x, -1, 1)


class _Sent:
    """Counts the samples the server sent per turn (hooked on the handler's events)."""

    def __init__(self, h: GeminiHandler) -> None:
        self.by_turn: dict[int, int] = {}
        self.complete: set[int] = set()
        orig = h.handle_event

        def handle(ev: Any) -> None:
            from googlive.live.events import AudioOut, TurnComplete

            if isinstance(ev, AudioOut):
                self.by_turn[ev.turn] = self.by_turn.get(ev.turn, 0) + len(ev.pcm) // 2
            elif isinstance(ev, TurnComplete):
                self.complete.add(ev.turn)
            orig(ev)

        h.handle_event = handle  # type: ignore[method-assign]


async def _policy_trial(
    srv: FakeLiveServer, kind: str, sound: str, delay_s: float, seed: int
) -> dict:
    h = _cut_policy_handler(srv) if kind == "cut_turn_baseline" else make_handler("app", srv)
    sent = _Sent(h)
    peer = TaggedPeer(h, INPUTS)
    emitted_at: dict[int, float] = {}  # id(frame) -> when emit() handed it over
    peer.on_frame = lambda f, turn: emitted_at.__setitem__(id(f), time.monotonic())
    await peer.start()
    try:
        await until(lambda: h.session is not None and h.session.state.value == "live", 20)
        h.send_text("tell me a long story")
        await until(lambda: peer.heard_after(0) > 0.5, 15)
        story = h.playback.popped_turn
        await asyncio.sleep(delay_s)
        if sound == "backchannel":
            x = speech_like(RATE, 0.25, -20.0, seed=seed)
        elif sound == "cough":
            x = scale_to_dbfs(_cough(0.3), -18.0)
        else:  # a real interruption: 1.2 s of speech
            x = speech_like(RATE, 1.2, -20.0, seed=seed)
        onset = await peer.say(to_int16(x)) - 0.02  # the first sample was captured a frame earlier
        await peer.said()
        end = onset + x.size / RATE
        await asyncio.sleep(1.2)
        # Of the story, from the onset until the sound ended: what emit() handed over (some of
        # it taken back from the output queue at the pause), what of that was not taken back,
        # and what the simulated browser played (frames queued before the onset included).
        handed_all = (
            sum(n for t, turn, n in peer.emit_log if onset <= t < end and turn == story) / 24000
        )
        of_story = [hd for hd in peer.stats.heard if peer.turn_of.get(id(hd.samples)) == story]
        handed = (
            sum(
                hd.samples.size
                for hd in of_story
                if onset <= emitted_at.get(id(hd.samples), -1.0) < end
            )
            / 24000
        )
        heard = sum(hd.samples.size for hd in of_story if onset <= hd.t < end and hd.rms >= 30)
        resumed = next(
            (
                hd.t
                for hd in peer.stats.heard
                if hd.t >= end and hd.rms >= 30 and peer.turn_of.get(id(hd.samples)) == story
            ),
            None,
        )
        with contextlib.suppress(TimeoutError):
            await until(lambda: story in sent.complete, 10)
        total = sent.by_turn.get(story, 0)
        pb = h.playback
        will_play = pb._per_turn_buffered.get(story, 0) if not pb.is_cut(story) else 0
        replayed = sum(c.replay_s for c in h.playback_log if c.turn == story) * 24000
        kept = (pb.played_in_turn(story) - replayed + will_play) / total if total else None
        return {
            "handed_after_onset_ms": 1000 * handed,
            "handed_incl_taken_back_ms": 1000 * handed_all,
            "heard_after_onset_ms": 1000 * heard / 24000,
            "kept_pct": None if kept is None else 100 * min(1.0, kept),
            "resume_after_sound_ms": None if resumed is None else 1000 * (resumed - end),
            "outcome": [c.kind for c in h.playback_log if c.turn == story],
        }
    finally:
        await peer.close()


async def measure_policy(trials: int, seed: int = 3) -> dict:
    rng = random.Random(seed)
    out: dict[str, dict[str, list[dict]]] = {}
    async with FakeLiveServer(
        api_key="k", config=FakeLiveConfig()
    ) as srv:  # gemini-3.8-live profile
        for sound in ("interruption", "backchannel", "cough"):
            for i in range(trials):
                d = rng.uniform(0.2, 1.5)
                for kind in ("app", "cut_turn_baseline"):
                    r = await _policy_trial(srv, kind, sound, d, seed + i)
                    out.setdefault(sound, {}).setdefault(kind, []).append(r)

    def fig(rows: list[dict], key: str) -> Any:
        vals = [r[key] for r in rows if r[key] is not None]
        return summarize(vals, 1) if vals else None

    res: dict[str, Any] = {
        "trials": trials,
        "server_profile": "gemini-3.8-live (polite interruption)",
    }
    for sound, sides in out.items():
        res[sound] = {
            kind: {
                "handed_after_onset_ms": fig(rows, "handed_after_onset_ms"),
                "handed_incl_taken_back_ms": fig(rows, "handed_incl_taken_back_ms"),
                "heard_after_onset_ms": fig(rows, "heard_after_onset_ms"),
                "kept_pct": fig(rows, "kept_pct"),
                "resume_after_sound_ms": fig(rows, "resume_after_sound_ms"),
                "resumed": sum(1 for r in rows if "resumed" in r["outcome"]),
                "dropped": sum(1 for r in rows if "dropped" in r["outcome"]),
            }
            for kind, rows in sides.items()
        }
    res["target"] = {
        "interruption_handed_median_ms": 40,
        "interruption_handed_p95_ms": 60,
        "kept_pct_min": 99,
        "resume_max_ms": 400,
    }
    return res


def run_policy(trials: int) -> dict:
    return asyncio.run(measure_policy(trials))


# ---- false pauses on the model's own echo ---------------------------------------------------


def _model_voice(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    parts, n = [], 0
    while n < seconds * 24000:
        w = speech_like(24000, rng.uniform(0.4, 0.9), -18.0, seed=int(rng.integers(1 << 30)))
        g = np.zeros(int(24000 * rng.uniform(0.06, 0.25)))
        parts += [w, g]
        n += w.size + g.size
    return np.concatenate(parts)[: int(seconds * 24000)]


def _echo_run(
    echo_db: float,
    delay_s: float,
    seconds: float,
    guard: bool,
    seed: int,
    user: list[tuple[float, np.ndarray]] | None = None,
) -> int:
    """The handler's mic path (EchoGuard + VAD as in GeminiHandler.receive, or today's fixed
    guard) with the model playing and its echo at `echo_db` after `delay_s`. Returns onsets."""
    from googlive.media.echo import EchoGuard, sub_block_ms
    from googlive.media.vad import SpeechStart, Vad

    ref = _model_voice(seconds, seed)
    echo = soxr.resample(ref, 24000, RATE)
    d = int(delay_s * RATE)
    mic = np.zeros(int(seconds * RATE))
    mic[d:] = echo[: mic.size - d]
    mic = scale_to_dbfs(mic, echo_db) + white_noise(RATE, seconds, -65.0, seed=seed + 1)
    for at, x in user or []:
        a = int(at * RATE)
        mic[a : a + x.size] += x[: mic.size - a]
    eg, vad, n = EchoGuard(), Vad(), 0
    for k in range(int(seconds / 0.02)):
        eg.played(ref[k * 480 : (k + 1) * 480], k * 0.02)
        frame = mic[k * 960 : (k + 1) * 960]
        e = eg.predict_db(sub_block_ms(frame), k * 0.02, learn=not vad.speaking) if guard else None
        if isinstance(vad.feed(frame, playing=True, echo_db=e), SpeechStart):
            n += 1
    return n


def measure_echo(seconds: float) -> dict:
    """False pauses with the model's own voice fed back at -20..-35 dBFS (delays 60-300 ms),
    without echo cancellation (the raw echo) and with it (the echo 30 dB down, a typical
    AEC3 echo return loss enhancement: MODELLED, not Chromium's canceller itself); app (echo
    guard) beside today's fixed -25 dBFS guard. Control: real speech (1.2 s) 10 dB above the echo."""
    levels, delays = (-20.0, -25.0, -30.0, -35.0), (0.06, 0.15, 0.3)
    res: dict[str, Any] = {"seconds_per_condition": seconds}
    for aec, att in (("without_aec", 0.0), ("with_aec_modelled_30dB", 30.0)):
        for kind, guard in (("app", True), ("fixed_guard_baseline", False)):
            by = {
                f"{lv:.0f}dBFS_{int(dl * 1000)}ms": _echo_run(lv - att, dl, seconds, guard, 11)
                for lv in levels
                for dl in delays
            }
            res.setdefault(aec, {})[kind] = {"total": sum(by.values()), "by_condition": by}
    at = [float(t) for t in np.arange(2.5, seconds - 1.5, 2.5)]
    ctl = {}
    for lv in levels:
        user = [
            (float(t), speech_like(RATE, 1.2, lv + 10.0, seed=60 + i)) for i, t in enumerate(at)
        ]
        ctl[f"{lv:.0f}dBFS"] = {
            "onsets": len(at),
            "caught": _echo_run(lv, 0.15, seconds, True, 11, user),
        }
    res["control_app_real_speech_10dB_over_echo"] = ctl
    res["target"] = {"false_pauses": 0}
    return res
