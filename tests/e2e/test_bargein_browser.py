"""Barge-in as the user hears it, in Debian's Chromium: a backchannel over an answer leaves the
answer going on, a real interruption silences it within tens of milliseconds (the page duck,
googlive/web/duck.js), against the offline demo on gemini-3.8-live (polite interruption).

The fake mic loops one cycle (tests/e2e/conftest.make_clip): a 6.5 s request, silence while
the demo answers it (the offline demo plays the request back after a chime), a 250 ms "mm hm"
about two seconds into that answer, then a 1.5 s interruption. The mic file starts when the
camera opens, before the call is live, so the test takes the first cycle heard whole with the
answer playing at both sounds (the first one when the call comes up within ~6 s, else the
next, 22 s later)."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from tests.e2e import audio_probe as ap
from tests.e2e.conftest import make_clip, start_app, stop_app
from tests.e2e.helpers import start_conversation

pytestmark = pytest.mark.browser

CYCLE = [
    ("silence", 6.0),  # the first cycle counts if the call is up by then
    (
        "say",
        6.5,
        "Tell me a story about a small robot who learns to paint the sea at night and then "
        "sails home across the quiet bay",
    ),
    ("silence", 2.6),  # the answer starts ~0.7 s into this; ~1.5 s of slack for a slow server
    ("say", 0.25, "mm hm"),
    ("silence", 2.5),  # room for the resumed answer to be heard before the interruption
    ("say", 1.5, "no wait that is not what I asked for"),
    ("silence", 3.0),  # the answer to the interruption ends before the next cycle
]

STREAMS_FOUND = """() => { const s = window.googlive && googlive.duck && googlive.duck.status();
  return !!s && s.pc && s.mic && s.remote && s.channel && s.worklet && s.context === 'running'; }"""

# received audio energy (getStats inbound-rtp totalAudioEnergy) on the page's AudioContext clock
ENERGY_SAMPLER = """() => { window.__energy = []; const d = googlive.duck;
  setInterval(async () => { const t = d.context.currentTime; const s = await d.pc.getStats();
    s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio')
      window.__energy.push([t, r.totalAudioEnergy || 0]); }); }, 50); }"""


JITTER_JS = """async () => { let d = 0, n = 0; const s = await googlive.duck.pc.getStats();
  s.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'audio') {
    d += r.jitterBufferDelay || 0; n += r.jitterBufferEmittedCount || 0; } });
  return n ? 1000 * d / n : -1; }"""


def find_cycles(sounds: list[tuple[float, float]], after: float) -> list[tuple[Any, ...]]:
    """(request, mm-hm, interruption) sounds of every whole cycle starting after `after`."""
    out = []
    for k, (a, b) in enumerate(sounds):
        if a < after or b - a < 2.5 or k + 2 >= len(sounds):
            continue
        m, i = sounds[k + 1], sounds[k + 2]
        if 0.1 <= m[1] - m[0] <= 0.5 and 1.0 <= i[1] - i[0] <= 2.0:
            out.append(((a, b), m, i))
    return out


def energy_rate(samples: list[list[float]], t0: float, t1: float) -> float:
    inside = [(t, e) for t, e in samples if t0 <= t <= t1]
    if len(inside) < 2:
        return 0.0
    (ta, ea), (tb, eb) = inside[0], inside[-1]
    return (eb - ea) / max(1e-3, tb - ta)


def test_backchannel_goes_on_and_an_interruption_is_silenced(netns, browser_factory, tmp_path):
    wav = make_clip(tmp_path / "cycle.wav", CYCLE)
    app = start_app(netns, tmp_path, "--offline")
    try:
        ctx = browser_factory(wav, loop=True)
        ctx.add_init_script(ap.NO_ECHO_CANCELLER_JS)  # see there: the demo answers in our voice
        page = ctx.new_page()
        page.goto(app.url)
        start_conversation(page)
        # The page hook finds FastRTC's connection, both tracks and the data channel.
        page.wait_for_function(STREAMS_FOUND, timeout=40000)
        ap.install(page)
        page.evaluate(ENERGY_SAMPLER)
        start = ap.now(page)
        # The app asked getUserMedia for its mic processing (the test then turned the
        # canceller off underneath; test_conversation_browser checks the real settings).
        hook = page.evaluate("() => googlive.mic.status()")
        assert hook["rewritten"] >= 1 and hook["requested"]["echoCancellation"] is True, hook

        def cycle_done() -> Any:
            """The first cycle heard whole in which the answer was playing at the mm-hm and at
            the interruption (the first cycle's request can be cut short by the call coming up,
            or the server be late once on this shared machine; then the next cycle counts)."""
            lv = reader.levels()
            done = [c for c in find_cycles(ap.sounds(lv), start) if lv.t[-1] > c[2][0] + 2.2]
            for r, m, i in done:
                if lv.model_max(m[0] - 0.4, m[0]) > -35 and lv.model_max(i[0] - 0.4, i[0]) > -35:
                    return lv, (r, m, i)
            if len(done) >= 3:
                jb = page.evaluate(JITTER_JS)
                raise AssertionError(
                    f"the answer was not playing at the mm-hm in 3 cycles: {done}; the page's "
                    f"jitter buffer held {jb:.0f} ms on average (an overloaded machine delays "
                    "the answer by that much)"
                )
            return None

        got = None
        reader = ap.Reader(page)
        for _ in range(160):  # up to three cycles (3 x 22 s) after the call went live
            got = cycle_done()
            if got:
                break
            page.wait_for_timeout(500)
        assert got, (
            f"no whole request / mm-hm / interruption cycle heard: {ap.sounds(ap.read(page))}"
        )
        lv, (req, mm, intr) = got
        np.savez(tmp_path / "levels.npz", t=lv.t, mic=lv.mic, model=lv.model)  # for a failure
        energy = page.evaluate("() => window.__energy")
        events = page.evaluate("() => googlive.duck.events")
        (tmp_path / "duck_events.json").write_text(json.dumps(events))
        where = f"request {req}, mm-hm {mm}, interruption {intr}; duck events {events[-30:]}"

        # The answer was playing when the user said "mm hm" (cycle_done); the page silenced
        # it at once (the server paused it, then resumed it). 0.2 s: the page duck mutes from
        # the page's main thread, which this machine under a full test run delays (0.2 s seen
        # once in six full runs; the bench's median is 54-64 ms); without the duck, what is
        # already on its way keeps playing for 0.27-0.98 s (bench browser_bargein, duck off).
        duck_s = ap.silent_from(lv, mm[0], hold_s=0.15, within_s=1.0)
        assert duck_s is not None and duck_s - mm[0] <= 0.2, (duck_s, where)
        # ... and the answer went on: heard again within 2 s of the sound's end, before the
        # interruption (the server resumes 0.25 s after the sound; then the trip down and the
        # jitter buffer, which this shared machine fills: 1.2 s was missed in two full runs),
        # and the server kept sending it (getStats energy).
        assert lv.model_max(mm[1], mm[1] + 2.0) > -35, where
        before = energy_rate(energy, req[1] + 0.6, mm[0])
        after = energy_rate(energy, mm[1] + 0.4, mm[1] + 2.2)
        assert before > 0 and after > 0.3 * before, (before, after, where)
        assert any(
            e.get("reason") == "resumed" and mm[0] < e["ctxTime"] < mm[1] + 1.8 for e in events
        ), where

        # The real interruption: silent within 0.1 s of its onset and silent from then on
        # (the rest of the answer was dropped, not paused).
        stop = ap.silent_from(lv, intr[0], hold_s=1.5, within_s=1.0)
        assert stop is not None and stop - intr[0] <= 0.1, (stop, where)

        # The server side agrees: the answer was resumed after the mm-hm, then dropped.
        log = app.log_text()
        resumed = re.findall(r"playback resumed turn=(\d+)", log)
        dropped = re.findall(r"playback dropped turn=(\d+) reason=server", log)
        assert set(resumed) & set(dropped), (resumed, dropped)
        turn = max(set(resumed) & set(dropped), key=int)
        page.wait_for_function(
            "(t) => !!document.querySelector(`#transcript .line.model[data-turn='${t}'] .cut`)",
            arg=turn,
            timeout=20000,
        )
    finally:
        stop_app(app)
