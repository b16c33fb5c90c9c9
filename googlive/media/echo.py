"""Echo guard: how loud the model's own voice is at the mic right now (pure, synchronous).

A user without headphones hears the model from the speakers, and the mic picks it up. The
browser's echo cancellation removes most of it (when it is on: see docs/ARCHITECTURE.md,
"Echo"), but what is left, or all of it with cancellation off, must not pause the model.
`EchoGuard` knows exactly what the model said and when it was handed to WebRTC (`played`);
the echo is that signal, delayed (browser jitter buffer, output device, room, mic, uplink)
and attenuated. Per 5 ms slot it keeps the reference energy and learns, from the mic:

- the **delay**: the lag (0 to `max_delay_s`) at which the mic's amplitude envelope correlates
  best with the reference's (exponentially forgotten statistics, time constant `forget_s`);
- the **coupling**: the echo-to-reference energy ratio at that lag (least squares).

`predict_db` gives, for one mic frame, the level the echo alone would have: the reference at
the learned lag (±10 ms, held with a 200 dB/s decay for room reverberation) times the
coupling. The VAD then needs the mic `margin_db` above that to count a frame as the user's
(see Vad.feed(echo_db=...)). So the model's voice never pauses the model, while a user who
speaks into a gap between the model's syllables is heard at once.

Until the lag is trusted (correlation >= `min_corr` after >= `min_learn_s` of reference), a
lag-free bound is used: the loudest reference in the whole delay window times an
upper-quantile estimate of the mic/reference ratio. It starts at 0 dB (as loud as played: no
false pause on the first words) and comes down within ~2 s when the mic stays quiet (echo
cancellation on). Learning runs on slots with reference energy while the user is not talking
(the caller passes `learn=False` while its VAD is in speech): the user's voice would bias the
coupling upwards and make the guard deaf.

Times are session seconds: `played(frame, t)` with the time the frame will be heard at the
browser (the handler's play clock), `predict_db(..., t_start)` with the mic frame's start
(from sample counts). A constant offset between the two clocks is simply part of the delay.
"""

from __future__ import annotations

import math

import numpy as np

SLOT_S = 0.005
_RING = 8192  # slots of reference kept (41 s)
_EPS = 1e-12


class EchoGuard:
    """Learns the echo path from (reference, mic) and predicts the echo level of a mic frame."""

    def __init__(
        self,
        *,
        max_delay_s: float = 0.6,
        forget_s: float = 3.0,
        min_corr: float = 0.5,
        min_learn_s: float = 1.0,
        smear_slots: int = 2,
        reverb_db_per_slot: float = 1.0,
        start_coupling_db: float = 0.0,
    ) -> None:
        self.lags = np.arange(int(round(max_delay_s / SLOT_S)) + 1)
        self.alpha = SLOT_S / forget_s
        self.min_corr = min_corr
        self.min_learn = int(min_learn_s / SLOT_S)
        self.smear = smear_slots
        self.reverb = 10.0 ** (-reverb_db_per_slot / 10.0)
        self._ref = np.zeros(_RING)
        self._ids = np.full(_RING, -1, dtype=np.int64)
        n = self.lags.size
        self._sx = self._sxx = 0.0
        self._sy, self._syy, self._sxy = np.zeros(n), np.zeros(n), np.zeros(n)
        self._sye, self._sxye = np.zeros(n), np.zeros(n)  # energy domain, for the coupling
        self.learned = 0  # slots learned from
        self.bound_db = start_coupling_db  # upper-quantile mic/reference ratio (lag-free)
        self.lag: int | None = None  # trusted lag, slots
        self.corr = 0.0
        self.coupling = 0.0  # echo/reference energy ratio at the lag
        self._hold = 0.0
        self._last_ref_slot = -(10**9)

    # ---- reference -------------------------------------------------------------------------
    def played(self, frame: np.ndarray, t: float, rate: int = 24000) -> None:
        """A model frame handed over, to be heard at session time `t`."""
        x = np.asarray(frame, dtype=np.float64).reshape(-1)
        if np.issubdtype(np.asarray(frame).dtype, np.integer):
            x = x / 32768.0
        per = max(1, int(rate * SLOT_S))
        k = x.size // per
        if k == 0:
            return
        ms = np.mean(x[: k * per].reshape(k, per) ** 2, axis=1)
        s0 = int(round(t / SLOT_S))
        slots = np.arange(s0, s0 + k)
        self._ref[slots % _RING] = ms
        self._ids[slots % _RING] = slots
        self._last_ref_slot = max(self._last_ref_slot, s0 + k - 1)

    def _ref_at(self, slots: np.ndarray) -> np.ndarray:
        idx = slots % _RING
        return np.where(self._ids[idx] == slots, self._ref[idx], 0.0)

    @property
    def active(self) -> bool:
        """Some reference is recent enough to still be heard as echo."""
        return self._last_ref_slot >= 0

    # ---- mic -------------------------------------------------------------------------------
    def predict_db(self, sub_ms: np.ndarray, t_start: float, *, learn: bool = True) -> float | None:
        """Echo level (dBFS RMS) expected in a mic frame whose sub-block mean squares are
        `sub_ms` (consecutive, starting at session time `t_start`); None if no model audio
        can be echoing now. Learns from the frame first (unless `learn` is False)."""
        subs = np.asarray(sub_ms, dtype=np.float64).reshape(-1)
        n = subs.size
        if n == 0:
            return None
        m0 = int(round(t_start / SLOT_S))
        dur = max(1, int(round(0.02 / SLOT_S / n)))  # slots per sub-block (1 at 20 ms / 4)
        if m0 - self._last_ref_slot > self.lags[-1] + self.smear + 60:
            self._hold = 0.0
            return None  # nothing played within the delay window (+300 ms of reverb)
        preds = []
        for i, x in enumerate(subs):
            m = m0 + i * dur
            y = self._ref_at(m - self.lags)
            ymax = float(y.max())
            if learn and ymax > 1e-7:
                self._learn(float(x), y, ymax)
            preds.append(self._predict(m, ymax))
        self._retune()
        p = max(preds)
        return 10.0 * math.log10(max(p, _EPS))

    def _learn(self, x: float, y: np.ndarray, ymax: float) -> None:
        a = self.alpha
        xa, ya = math.sqrt(x), np.sqrt(y)
        self._sx += a * (xa - self._sx)
        self._sxx += a * (x - self._sxx)
        self._sy += a * (ya - self._sy)
        self._syy += a * (y - self._syy)
        self._sxy += a * (xa * ya - self._sxy)
        self._sye += a * (y * y - self._sye)
        self._sxye += a * (x * y - self._sxye)
        self.learned += 1
        # upper quantile (~80 %) of the mic / loudest-reference ratio, 0.5 dB steps
        r = 10.0 * math.log10(max(x, _EPS) / ymax)
        self.bound_db += 0.4 if r > self.bound_db else -0.1

    def _retune(self) -> None:
        if self.learned < self.min_learn:
            return
        vx = self._sxx - self._sx**2
        vy = self._syy - self._sy**2
        cov = self._sxy - self._sx * self._sy
        corr = cov / np.sqrt(np.maximum(vx * vy, _EPS))
        best = int(np.argmax(corr))
        self.corr = float(corr[best])
        if self.corr >= self.min_corr:
            self.lag = best
            self.coupling = max(0.0, float(self._sxye[best] / max(self._sye[best], _EPS)))
        else:
            self.lag = None

    def _predict(self, m: int, ymax: float) -> float:
        if self.lag is None:
            p = ymax * 10.0 ** (self.bound_db / 10.0)
        else:
            c = m - self.lag
            near = self._ref_at(np.arange(c - self.smear, c + self.smear + 1))
            p = float(near.max()) * self.coupling
        self._hold = max(p, self._hold * self.reverb)
        return self._hold


def sub_block_ms(frame: np.ndarray, parts: int = 4) -> np.ndarray:
    """Mean squares of `parts` consecutive sub-blocks of a mono frame (int16 or float)."""
    x = np.asarray(frame).reshape(-1)
    y = (
        x.astype(np.float64) / 32768.0
        if np.issubdtype(x.dtype, np.integer)
        else x.astype(np.float64)
    )
    q = y.size // parts
    if q == 0:
        return np.zeros(0)
    return np.mean(y[: parts * q].reshape(parts, q) ** 2, axis=1)


__all__ = ["EchoGuard", "sub_block_ms"]
