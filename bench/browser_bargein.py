"""What the user hears at a barge-in, measured in Debian's Chromium: fake-mic speech onset →
the model's audio at the page below -50 dBFS, with the page duck (googlive/web/duck.js) on and
off in the same run (alternate trials), against the offline demo (gemini-3.8-live profile).

Needs what the browser tests need: root (a private network namespace), /usr/bin/chromium,
Python playwright. Slow (about 30 s of setup + 6.1 s per trial): not in --quick.

The fake mic plays speech-like segments (tests/signals.speech_like, -20 dBFS, never silent,
10 ms attack) of 3.5 s, each followed by 2.6 s of silence. Segment k is a request; the demo
answers it by playing it back after a 0.35 s chime, starting ~0.6 s after it ended, so segment
k+1 starts ~2 s into that answer (as the server hands it over; the page hears it a jitter
buffer later, up to ~1 s on a loaded machine) and interrupts it (3.8 interrupts speech past
0.6 s); it is in turn the next request. The answer is gapless speech-like audio, so "below
-50 dBFS for 0.3 s" can only be the barge-in, never a pause between words.

Per trial, on the page's AudioContext clock (tests/e2e/audio_probe.py: one level per 128-sample
render quantum of the mic track the page sends and of the model track it plays, after the
duck): onset = first quantum of the segment above -40 dBFS; silenced = first quantum from
which the model stays below -50 dBFS for 0.3 s. A trial counts if the model was audible
(> -35 dBFS) in the 0.3 s before the onset and not already below -50 dBFS in its last 50 ms.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from bench.stats import summarize
from tests.signals import speech_like

SEGMENT_S = 3.5
GAP_S = 2.6
RATE = 48000

JB_JS = """async () => { let d = 0, n = 0; const s = await googlive.duck.pc.getStats();
  s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') {
    d += r.jitterBufferDelay || 0; n += r.jitterBufferEmittedCount || 0; } });
  return [d, n]; }"""


def write_mic(path: Path, segments: int) -> Path:
    parts = []
    for k in range(segments):
        x = speech_like(RATE, SEGMENT_S, -20.0, seed=100 + k)
        parts += [x, np.zeros(int(GAP_S * RATE))]
    pcm = (np.clip(np.concatenate(parts), -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return path


def analyse(lv: Any, toggles: list[tuple[float, bool]]) -> dict[str, list[float]]:
    """Onset → silenced (ms) per trial, split by the duck state in force at the onset."""
    from tests.e2e import audio_probe as ap

    out: dict[str, list[float]] = {"duck_on": [], "duck_off": [], "skipped": []}
    for onset, end in ap.sounds(lv, min_gap_s=0.5):
        if end - onset < 0.8 * SEGMENT_S:
            continue
        state = [on for t, on in toggles if t <= onset]
        if not state:
            continue
        if lv.model_max(onset - 0.3, onset) <= -35 or lv.model_max(onset - 0.05, onset) <= -50:
            out["skipped"].append(onset)  # the model was not playing: not a barge-in
            continue
        stop = ap.silent_from(lv, onset, hold_s=0.3, within_s=2.0)
        if stop is None:
            out["skipped"].append(onset)
            continue
        out["duck_on" if state[-1] else "duck_off"].append(1000 * (stop - onset))
    return out


def run(trials: int = 12, dump: Path | None = None, aec: bool = True) -> dict[str, Any]:
    """`trials` per side (duck on, duck off), alternating. `dump`: a folder to keep the level
    series, the duck's events and the toggles in (for a closer look). `aec=False` turns the
    browser's echo canceller off (it hears the model as far end while the user talks over it:
    a check that it does not shift the measured onsets)."""
    from playwright.sync_api import sync_playwright

    from tests.e2e import audio_probe as ap
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, start_app, stop_app
    from tests.e2e.helpers import start_conversation, wait_text
    from tests.e2e.netns import NetNamespace

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is needed (apt-get install chromium)")
    n_seg = 2 * trials + 6  # the first few go by while the call comes up
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as d, NetNamespace() as ns:
        tmp = Path(d)
        wav = write_mic(tmp / "mic.wav", n_seg)
        app = start_app(ns, tmp, "--offline")
        pw = sync_playwright().start()
        try:
            ctx = pw.chromium.launch_persistent_context(
                str(tmp / "profile"),
                executable_path=str(ns.browser_wrapper(tmp)),
                headless=True,
                args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}%noloop"],
            )
            if not aec:
                ctx.add_init_script(ap.NO_ECHO_CANCELLER_JS)
            page = ctx.new_page()
            page.goto(app.url)
            start_conversation(page)
            page.wait_for_function(
                "() => { const s = window.googlive && googlive.duck && googlive.duck.status();"
                " return !!s && s.mic && s.remote && s.worklet && s.context === 'running'; }",
                timeout=40000,
            )
            ap.install(page)
            wait_text(page, "#status", "Live", timeout_s=40)
            reader = ap.Reader(page)
            toggles: list[tuple[float, bool]] = []
            on = True
            deadline = time.monotonic() + n_seg * (SEGMENT_S + GAP_S) + 20
            while time.monotonic() < deadline:
                lv = reader.levels()
                res = analyse(lv, toggles)
                if min(len(res["duck_on"]), len(res["duck_off"])) >= trials:
                    break
                # switch the duck between segments: in the gap after the last onset seen
                snd = ap.sounds(lv, min_gap_s=0.5)
                t_now = float(lv.t[-1]) if lv.t.size else 0.0
                last_end = snd[-1][1] if snd else -1.0
                # (the probe's data lags up to ~0.3 s: switch early in the gap, never near the
                # next onset)
                in_gap = snd and 0.3 < t_now - last_end < 0.9
                if not toggles or (in_gap and toggles[-1][0] < last_end):
                    page.evaluate("(on) => { googlive.duck.enabled = on; }", on)
                    toggles.append((ap.now(page), on))
                    on = not on
                page.wait_for_timeout(200)
            lv = reader.levels()
            res = analyse(lv, toggles)
            jb_s, jb_n = page.evaluate(JB_JS)
            events = page.evaluate("() => googlive.duck.events")
            if dump is not None:
                dump.mkdir(parents=True, exist_ok=True)
                np.savez(dump / "levels.npz", t=lv.t, mic=lv.mic, model=lv.model)
                (dump / "events.json").write_text(
                    json.dumps({"events": events, "toggles": toggles})
                )
                (dump / "app.log").write_text(app.log_text())
            ctx.close()
        finally:
            pw.stop()
            stop_app(app)
    detect = [1000 * (e["detectAt"] - e["at"]) for e in events if e.get("kind") == "onset"]
    # onset -> the page's mute applied (main thread, context clock: ~3 ms granularity)
    muted = [
        1000 * (b["ctxTime"] - a["at"])
        for a, b in zip(events, events[1:], strict=False)
        if a.get("kind") == "onset" and b.get("kind") == "duck" and b.get("reason") == "onset"
    ]
    return {
        "trials_per_side": trials,
        "browser_echo_cancellation": aec,
        "duck_on_ms": summarize(res["duck_on"], 1),
        "duck_off_ms": summarize(res["duck_off"], 1),
        "skipped_onsets": len(res["skipped"]),
        "page_onset_detection_ms": summarize(detect, 1),
        "page_onset_to_mute_ms": summarize(muted, 1),
        "jitter_buffer_delay_ms_mean": round(1000 * jb_s / jb_n, 1) if jb_n else None,
        "ratio_off_on_median": (
            round(statistics.median(res["duck_off"]) / statistics.median(res["duck_on"]), 1)
            if res["duck_on"] and res["duck_off"] and statistics.median(res["duck_on"]) > 0
            else None
        ),
        "target": {"duck_on_median_ms": 60},
        "elapsed_s": round(time.monotonic() - started, 1),
    }
