"""What the user hears, measured inside Chromium: a level probe on the page's mic and model
tracks, on the page's own AudioContext clock (the one googlive/web/duck.js runs on).

`install(page)` adds an AudioWorklet to `googlive.duck.context` fed by the mic track the page
sends (`duck.micTrack`) and the model's track it plays (`duck.remoteTrack`); every 128-sample
render quantum (2.7 ms at 48 kHz) it records (context time, mic dBFS, model dBFS). The model's
level is read from the track itself, i.e. after the duck (duck.js mutes by disabling that
track, so every sink — the <video> element FastRTC plays it on, and this probe — gets the same
silence). `read(page)` returns the series as numpy arrays. The analysis functions are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PROBE_WORKLET = r"""
class GoogliveProbe extends AudioWorkletProcessor {
  constructor() { super(); this.buf = new Float64Array(3 * 64); this.n = 0; }
  static db(ch) {
    if (!ch || !ch.length) return -120;
    let s = 0;
    for (let i = 0; i < ch.length; i++) s += ch[i] * ch[i];
    return 10 * Math.log10(s / ch.length + 1e-12);
  }
  process(inputs) {
    const i = 3 * this.n;
    this.buf[i] = currentTime;
    this.buf[i + 1] = GoogliveProbe.db(inputs[0] && inputs[0][0]);
    this.buf[i + 2] = GoogliveProbe.db(inputs[1] && inputs[1][0]);
    if (++this.n === 64) { this.port.postMessage(this.buf.slice()); this.n = 0; }
    return true;
  }
}
registerProcessor("googlive-probe", GoogliveProbe);
"""

INSTALL_JS = """
async (code) => {
  const d = window.googlive && window.googlive.duck;
  if (!d || !d.context || !d.micTrack || !d.remoteTrack) throw new Error('duck streams not found');
  const ctx = d.context;
  const url = URL.createObjectURL(new Blob([code], {type: 'application/javascript'}));
  await ctx.audioWorklet.addModule(url);
  const node = new AudioWorkletNode(ctx, 'googlive-probe', {numberOfInputs: 2, numberOfOutputs: 1,
    outputChannelCount: [1], channelCount: 1, channelCountMode: 'explicit'});
  ctx.createMediaStreamSource(new MediaStream([d.micTrack])).connect(node, 0, 0);
  ctx.createMediaStreamSource(new MediaStream([d.remoteTrack])).connect(node, 0, 1);
  node.connect(ctx.destination);
  const p = window.__probe = {chunks: [], t0perf: performance.now(), t0ctx: ctx.currentTime};
  node.port.onmessage = (e) => p.chunks.push(Array.from(e.data));
  return ctx.sampleRate;
}
"""

NO_ECHO_CANCELLER_JS = """(() => { const md = navigator.mediaDevices, prev = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => prev(c && c.audio ? {...c, audio: {...(c.audio === true ? {} : c.audio),
    echoCancellation: false}} : c); })();"""
"""An init script: the browser's echo canceller off, whatever the page asks for. The offline
demo answers with the user's own recorded voice, the worst case for a canceller's double-talk
detector: it can take the user's "mm hm" over that answer for echo (seen once with it on: the
250 ms "mm hm" reached the page as 12 ms above -40 dBFS). googlive's mic.js wraps getUserMedia
on top of this, so the page's request still reads as the app's."""

READ_JS = "() => (window.__probe ? window.__probe.chunks.flat() : [])"

NOW_JS = "() => window.googlive.duck.context.currentTime"


def install(page: Any) -> float:
    """Start the probe; returns the context's sample rate."""
    return float(page.evaluate(INSTALL_JS, PROBE_WORKLET))


def now(page: Any) -> float:
    """The page's AudioContext time now."""
    return float(page.evaluate(NOW_JS))


@dataclass
class Levels:
    t: np.ndarray  # context seconds, one per render quantum
    mic: np.ndarray  # dBFS
    model: np.ndarray  # dBFS

    def window(self, a: float, b: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        m = (self.t >= a) & (self.t < b)
        return self.t[m], self.mic[m], self.model[m]

    def model_max(self, a: float, b: float) -> float:
        _, _, x = self.window(a, b)
        return float(x.max()) if x.size else -120.0


def read(page: Any) -> Levels:
    flat = np.asarray(page.evaluate(READ_JS), dtype=np.float64).reshape(-1, 3)
    return Levels(flat[:, 0], flat[:, 1], flat[:, 2])


class Reader:
    """Reads the probe's series incrementally (a long run's whole series is slow to fetch)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.chunks = 0
        self.parts: list[np.ndarray] = []

    def levels(self) -> Levels:
        new = self.page.evaluate(
            "(k) => { const c = window.__probe.chunks; return [c.length, c.slice(k).flat()]; }",
            self.chunks,
        )
        self.chunks = int(new[0])
        if new[1]:
            self.parts.append(np.asarray(new[1], dtype=np.float64).reshape(-1, 3))
        flat = np.concatenate(self.parts) if self.parts else np.zeros((0, 3))
        return Levels(flat[:, 0], flat[:, 1], flat[:, 2])


def sounds(
    lv: Levels, *, on_db: float = -40.0, off_db: float = -50.0, min_gap_s: float = 0.35
) -> list[tuple[float, float]]:
    """The mic's sounds as (onset, end) context times: onset at the first quantum above
    `on_db`; a sound ends once the level stayed below `off_db` for `min_gap_s` (gaps between
    words are shorter)."""
    out: list[tuple[float, float]] = []
    start = None
    last_loud = -1.0
    for t, x in zip(lv.t, lv.mic, strict=True):
        if start is None:
            if x > on_db:
                start, last_loud = t, t
        else:
            if x > off_db:
                last_loud = t
            elif t - last_loud >= min_gap_s:
                out.append((float(start), float(last_loud)))
                start = None
    if start is not None:
        out.append((float(start), float(last_loud)))
    return out


def silent_from(
    lv: Levels, t0: float, *, level_db: float = -50.0, hold_s: float = 0.3, within_s: float = 2.0
) -> float | None:
    """The first time at or after `t0` from which the model stays below `level_db` for at least
    `hold_s` (so a gap between words does not count); None if none within `within_s`."""
    t, _, x = lv.window(t0, t0 + within_s + hold_s)
    quiet = x < level_db
    for i in np.flatnonzero(quiet):
        end = t[i] + hold_s
        j = np.searchsorted(t, end)
        if j > t.size - 1 and t[-1] < end - 0.01:
            return None  # not enough data after it
        if quiet[i:j].all():
            return float(t[i])
    return None
