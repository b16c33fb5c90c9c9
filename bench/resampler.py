"""resampler figure: the app's mic resampler (googlive.media.audio.Resampler, 48 kHz -> 16 kHz in 20 ms
int16 frames; at 48 kHz it takes the FirDecimator path) against references, with soxr HQ
streaming (the path it replaced, `fir_decimation=False`) as the same-run baseline."""

from __future__ import annotations

import math
import time

import numpy as np
import soxr

from googlive.media.audio import Resampler
from tests.signals import periodic_noise_spectrum, render_periodic


def _snr_db(ref: np.ndarray, got: np.ndarray) -> float:
    err = got - ref
    p_sig = float(np.mean(ref**2))
    p_err = float(np.mean(err**2))
    return 200.0 if p_err == 0 else 10.0 * math.log10(p_sig / p_err)


def _stream(pcm: np.ndarray, fir: bool) -> tuple[np.ndarray, float]:
    """(output as float, mean hold-back in ms: input fed minus output handed out, per frame)."""
    rs = Resampler(16000, fir_decimation=fir)
    out, lag = [], []
    fed = 0
    got = 0
    for i in range(0, pcm.size, 960):
        y = rs.process(pcm[i : i + 960], 48000)
        out.append(y)
        fed += pcm[i : i + 960].size
        got += y.size
        lag.append(1000 * (fed / 48000 - got / 16000))
    out.append(rs.flush())
    return np.concatenate(out).astype(np.float64) / 32768, float(np.mean(lag[5:]))


def _cost_us(pcm: np.ndarray, fir: bool, frames: int) -> float:
    rs = Resampler(16000, fir_decimation=fir)
    fr = [pcm[(i * 960) % (pcm.size - 960) :][:960] for i in range(frames)]
    for f in fr[:50]:
        rs.process(f, 48000)
    t0 = time.perf_counter()
    for f in fr:
        rs.process(f, 48000)
    return (time.perf_counter() - t0) / len(fr) * 1e6


def _one(fir: bool, f_max: int, seconds: int, level_db: float, timing_frames: int) -> dict:
    spec = periodic_noise_spectrum(f_max, seed=11)
    x48 = render_periodic(spec, 48000, seconds, level_db)
    x16 = render_periodic(spec, 16000, seconds, level_db)
    pcm = np.clip(np.rint(x48 * 32768), -32768, 32767).astype(np.int16)
    y, hold = _stream(pcm, fir)
    n = min(y.size, x16.size)
    edge = 1600  # skip 0.1 s at each end (filter warm-up / flush)
    vhq = soxr.resample(pcm.astype(np.float64) / 32768, 48000, 16000, quality="VHQ")
    m = min(y.size, vhq.size)
    return {
        "snr_db_vs_analytic": round(_snr_db(x16[edge : n - edge], y[edge : n - edge]), 1),
        "snr_db_vs_soxr_vhq": round(_snr_db(vhq[edge : m - edge], y[edge : m - edge]), 1),
        "mean_hold_back_ms": round(hold, 1),
        "us_per_20ms_frame": round(_cost_us(pcm, fir, timing_frames), 2) if timing_frames else None,
    }


def measure(seconds: int = 3, level_db: float = -20.0, timing_frames: int = 2000) -> dict:
    """SNR of the streaming resampler (int16 in, int16 out) against (a) the same band-limited
    signal rendered analytically at 16 kHz and (b) soxr 'VHQ' one-shot in float64 on the same
    int16 input, for noise band-limited to 7 kHz (the edge of the FIR's passband: -1.4 dB at
    7 kHz) and to 6 kHz (inside its flat passband); hold-back and cost per 20 ms frame.
    The app path is the FIR decimator; the baseline is soxr HQ streaming (what it replaced)."""
    spec = periodic_noise_spectrum(7000, seed=11)
    x16 = render_periodic(spec, 16000, seconds, level_db)
    q_floor = _snr_db(x16, np.rint(x16 * 32768) / 32768)  # int16 quantisation alone
    app7 = _one(True, 7000, seconds, level_db, timing_frames)
    app6 = _one(True, 6000, seconds, level_db, 0)
    base7 = _one(False, 7000, seconds, level_db, timing_frames)
    base6 = _one(False, 6000, seconds, level_db, 0)
    return {
        # top-level keys: the app's path (FirDecimator), 20-7000 Hz noise
        "path": "FirDecimator (48 kHz -> 16 kHz, Kaiser FIR)",
        "snr_db_vs_analytic": app7["snr_db_vs_analytic"],
        "snr_db_vs_soxr_vhq": app7["snr_db_vs_soxr_vhq"],
        "snr_db_vs_analytic_6k": app6["snr_db_vs_analytic"],
        "mean_hold_back_ms": app7["mean_hold_back_ms"],
        "us_per_20ms_frame": app7["us_per_20ms_frame"],
        "int16_quantisation_snr_db": round(q_floor, 1),
        "signal": f"band-limited noise 20-7000 Hz (and 20-6000 Hz: *_6k) at {level_db:g} dBFS, int16 in/out",
        "baseline_soxr_hq_stream": {
            "snr_db_vs_analytic": base7["snr_db_vs_analytic"],
            "snr_db_vs_soxr_vhq": base7["snr_db_vs_soxr_vhq"],
            "snr_db_vs_analytic_6k": base6["snr_db_vs_analytic"],
            "mean_hold_back_ms": base7["mean_hold_back_ms"],
            "us_per_20ms_frame": base7["us_per_20ms_frame"],
        },
        "target": "none set by the issue (SNR vs a high-quality reference and cost are reported)",
    }
