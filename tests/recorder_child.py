"""A synthetic session for the recorder tests, and the child process of the kill test.

`session_events` yields what a handler would hand the recorder, in time order: microphone
frames (48 kHz, 20 ms), model frames as played (24 kHz, 20 ms, only during the model's
turns), camera frames (BGR, `in_fps`). Every `t` comes from a sample or frame count.

Usage as the kill-test child: python tests/recorder_child.py OUT.webm READY_S
Records the endless synthetic session as fast as the writer keeps up, with the recorder's
clock following the timeline. Once READY_S seconds of timeline have been fed and written,
prints "READY <fed seconds> <audio seconds written>" and goes on recording until killed
(it gives up by itself after 60 s of timeline).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from googlive.features.recording.recorder import SessionRecorder

USER_TONE_HZ = 1000.0
MODEL_TONE_HZ = 2000.0
STEP_S = 0.02


def _in(t: float, spans: Sequence[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in spans)


def _mask(tt: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    on = np.zeros(tt.shape, dtype=bool)
    for a, b in spans:
        on |= (tt >= a - 1e-9) & (tt < b - 1e-9)
    return on


def session_events(
    duration_s: float,
    *,
    user_beeps: Sequence[tuple[float, float]] = (),
    model_turns: Sequence[tuple[float, float]] = (),
    model_beeps: Sequence[tuple[float, float]] = (),
    flashes: Sequence[tuple[float, float]] = (),
    video_size: tuple[int, int] | None = (640, 480),
    in_fps: int = 30,
) -> Iterator[tuple]:
    """Yield ("user", pcm, 48000, t), ("model", pcm, 24000, t) and ("video", bgr, t) in time
    order for `duration_s` seconds. Beeps are sines (user 1 kHz, model 2 kHz, amplitude 8000)
    over the given (start, end) spans; the model only plays inside `model_turns`, so a turn
    ending inside a beep is a barge-in cut. Camera frames are white inside `flashes`, black
    elsewhere (`video_size=None`: no camera)."""
    w, h = video_size or (0, 0)
    white = np.full((h, w, 3), 255, np.uint8)
    black = np.zeros((h, w, 3), np.uint8)
    n_user = n_video = 0
    model_runs = [[a, b, 0] for a, b in model_turns]
    steps = round(duration_s / STEP_S)
    for _ in range(steps):
        t = n_user / 48000
        tu = t + np.arange(960) / 48000
        on = _mask(tu, user_beeps)
        yield "user", (8000 * np.sin(2 * np.pi * USER_TONE_HZ * tu) * on).astype(np.int16), 48000, t
        n_user += 960
        for run in model_runs:
            start, end, n = run
            tm = start + n / 24000
            if tm < end - 1e-9 and tm < t + STEP_S - 1e-9:
                k = min(480, round((end - tm) * 24000))
                tt = tm + np.arange(k) / 24000
                on = _mask(tt, model_beeps)
                pcm = (8000 * np.sin(2 * np.pi * MODEL_TONE_HZ * tt) * on).astype(np.int16)
                yield "model", pcm, 24000, tm
                run[2] += k
        if video_size is not None:
            while n_video / in_fps < t + STEP_S - 1e-9:
                tv = n_video / in_fps
                yield "video", (white if _in(tv, flashes) else black), tv
                n_video += 1


def feed(rec: SessionRecorder, events: Iterator[tuple], now: list[float]) -> None:
    """Hand `events` to `rec`, advancing `now[0]` (the recorder's clock) with the timeline and
    letting the writer catch up every 100 ms of timeline, as real time would."""
    last_wait = 0.0
    for ev in events:
        if ev[0] == "video":
            _, frame, t = ev
            now[0] = max(now[0], t)
            rec.add_video(frame, t)
        else:
            voice, pcm, rate, t = ev
            now[0] = max(now[0], t)
            (rec.add_user_audio if voice == "user" else rec.add_model_audio)(pcm, rate, t)
        if now[0] - last_wait >= 0.1:
            rec.wait_idle(10.0)
            last_wait = now[0]


def main() -> None:
    out, ready_s = Path(sys.argv[1]), float(sys.argv[2])
    now = [0.0]
    rec = SessionRecorder(out, video=True, fps=15, size=(320, 240), clock=lambda: now[0])
    rec.start()
    events = session_events(
        60.0,
        user_beeps=[(k + 0.2, k + 0.4) for k in range(60)],
        model_turns=[(0.5, 60.0)],
        model_beeps=[(k + 0.6, k + 0.8) for k in range(60)],
        flashes=[(k + 0.2, k + 0.3) for k in range(60)],
        video_size=(320, 240),
    )

    def report_when_ready(events: Iterator[tuple]) -> Iterator[tuple]:
        reported = False
        for ev in events:
            if not reported and now[0] >= ready_s:
                rec.wait_idle(10.0)
                audio_s = rec.stats.audio_samples / rec.audio_rate
                print(f"READY {now[0]:.3f} {audio_s:.3f}", flush=True)
                reported = True
            yield ev

    feed(rec, report_when_ready(events), now)
    rec.close()


if __name__ == "__main__":
    main()
