"""End to end in Debian's Chromium: fake mic and camera → WebRTC → app → local Live server."""

from __future__ import annotations

import re

import pytest

from googlive.ui import AUDIO_CONSTRAINTS
from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import STATS_JS, start_conversation, stats, wait_text

ENERGY_PROBE = """
(() => {
  const get = GET_STATS;
  window.__energy = [];
  const tick = async () => { const s = await get(); window.__energy.push([performance.now(), s.audio_energy]); };
  window.__energyTimer = setInterval(tick, 100);
  const seen = () => [...document.querySelectorAll('#transcript .line.model')].some(
    l => l.innerText.includes('long story') && l.querySelector('.cut'));
  const obs = new MutationObserver(() => { if (window.__cutAt === undefined && seen()) window.__cutAt = performance.now(); });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
})()
"""


def rate(samples: list[list[float]], t0: float, t1: float) -> float:
    """Energy per second received between page times t0 and t1 (ms)."""
    inside = [(t, e) for t, e in samples if t0 <= t <= t1]
    if len(inside) < 2:
        return 0.0
    (ta, ea), (tb, eb) = inside[0], inside[-1]
    return (eb - ea) / max(1e-3, (tb - ta) / 1000)


def max_rate(samples: list[list[float]], t0: float, t1: float, window_ms: float) -> float:
    starts = [t for t, _ in samples if t0 <= t <= t1 - window_ms] or [t0]
    return max(rate(samples, a, min(t1, a + window_ms)) for a in starts)


pytestmark = pytest.mark.browser


def test_talk_hear_and_interrupt_offline(netns, browser_factory, tmp_path):
    """Speech reaches the handler, the reply is heard in the browser, and speaking over a long
    reply stops the model's audio."""
    # Speech, then 7 s of silence, on a loop: each loop is one user turn.
    wav = make_speech(
        tmp_path / "speech.wav", "Hello Gemini can you hear me", pad_before=1.0, pad_after=7.0
    )
    app = start_app(netns, tmp_path, "--offline")
    try:
        ctx = browser_factory(wav, loop=True)
        page = ctx.new_page()
        page.goto(app.url)
        assert "offline demo" in page.locator("#status").inner_text().lower()
        tabs = page.evaluate(
            "() => [...document.querySelectorAll('[role=tab]')].map(e => e.innerText.trim())"
        )
        assert len(tabs) == len(set(tabs)) and "Conversation" in tabs, tabs  # each tab drawn once
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=40)
        # The page hook (googlive/web/) found FastRTC's connection, tracks and data channel,
        # and the mic runs with the app's processing; the camera with its 15 fps cap.
        page.wait_for_function(
            "() => { const s = googlive.duck.status(); return s.pc && s.mic && s.remote && "
            "s.channel && s.worklet; }",
            timeout=15000,
        )
        mic = page.evaluate(
            """() => ({audio: googlive.duck.micTrack.getSettings(), video: googlive.duck.pc
              .getSenders().filter(s => s.track && s.track.kind === 'video')
              .map(s => s.track.getSettings())})"""
        )
        assert all(mic["audio"][k] == v for k, v in AUDIO_CONSTRAINTS.items()), mic
        assert mic["video"] and all(v["frameRate"] <= 15 for v in mic["video"]), mic
        # The self-view is the page's own camera (googlive/web/selfview.js) in FastRTC's
        # <video>; the server sends no video back (googlive/media/rtcvideo.py, checked below). The
        # call is recorded (the default), so the camera's rate is not capped.
        page.wait_for_function("() => googlive.selfView.status().element", timeout=15000)
        view = page.evaluate(
            "() => ({...googlive.selfView.status(), "
            "width: document.querySelector('#webrtc video').videoWidth})"
        )
        assert view["local"] == {"kind": "video", "live": True} and view["width"] > 0, view
        assert view["sentMaxFps"] is None, view
        # The user's speech turn and the model's (offline demo) reply appear in the transcript.
        text = wait_text(page, "#transcript", "Offline demo", timeout_s=40)
        assert "heard" in text.lower()
        page.wait_for_function(
            "() => document.querySelectorAll('#transcript .line.user').length >= 1 && "
            "document.querySelectorAll('#transcript .line.model').length >= 1",
            timeout=30000,
        )
        # The browser received the reply's audio.
        page.wait_for_function(
            f"async () => {{ const s = await ({STATS_JS.strip()})(); return s.audio_packets > 20 && s.audio_energy > 0; }}",
            timeout=30000,
        )
        s = stats(page)
        assert s["audio_samples"] > 0
        assert s["video_frames"] == 0, s  # no self-view re-encoded by the server
        # Ask for a long reply; the next loop of the mic speech interrupts it. From here the
        # page samples the received audio energy every 100 ms and notes when the cut shows.
        page.evaluate(ENERGY_PROBE.replace("GET_STATS", STATS_JS.strip()))
        page.locator("#text-input textarea").fill("Tell me a long story please")
        page.locator("#send-text").click()
        try:
            page.wait_for_function("() => window.__cutAt !== undefined", timeout=40000)
        except Exception:
            page.screenshot(path=str(tmp_path / "fail.png"))
            (tmp_path / "fail.html").write_text(page.locator("#transcript").inner_html())
            raise
        page.wait_for_function("() => performance.now() > window.__cutAt + 1400", timeout=5000)
        samples = page.evaluate("() => window.__energy")
        cut = page.evaluate("() => window.__cutAt")
        story_start = next(t for t, e in samples if e > samples[0][1] + 1e-4)
        # Energy per second while the story played (its loudest 0.5 s window) and after the cut.
        before = max_rate(samples, story_start, cut - 150, 500)
        after = rate(samples, cut + 300, cut + 1300)
        # Model audio stopped: the second after the cut carries a small fraction of the
        # story's energy, although the story was at least 8 s long ...
        assert before > 0, samples
        assert after < 0.1 * before, (before, after)
        # ... and the handler dropped the unplayed rest of it at once.
        # (paused at the onset, then dropped: the looped sentence is a real interruption)
        cuts = [
            int(m)
            for m in re.findall(
                r"playback dropped turn=\d+ reason=\w+ dropped_ms=(\d+)", app.log_text()
            )
        ]
        assert cuts and max(cuts) >= 200, cuts  # whatever was left of the story, ≥ 10 frames
    finally:
        stop_app(app)
