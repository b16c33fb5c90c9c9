"""End to end in Debian's Chromium: fake mic and camera → WebRTC → app → local Live server."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import start_conversation, stats, wait_text

pytestmark = pytest.mark.browser


def test_talk_hear_and_interrupt_offline(netns, browser_factory, tmp_path):
    """Speech reaches the handler, the reply is heard in the browser, and speaking over a long
    reply stops the model's audio."""
    # Speech, then 7 s of silence, on a loop: each loop is one user turn.
    wav = make_speech(tmp_path / "speech.wav", "Hello Gemini can you hear me", pad_before=1.0, pad_after=7.0)
    app = start_app(netns, tmp_path, "--offline")
    try:
        ctx = browser_factory(wav, loop=True)
        page = ctx.new_page()
        page.goto(app.url)
        assert "offline demo" in page.locator("#status").inner_text().lower()
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=40)
        # The user's speech turn and the model's (offline demo) reply appear in the transcript.
        text = wait_text(page, "#transcript", "Offline demo", timeout_s=40)
        assert "heard" in text.lower()
        page.wait_for_function(
            "() => document.querySelectorAll('#transcript .line.user').length >= 1 && "
            "document.querySelectorAll('#transcript .line.model').length >= 1", timeout=30000)
        # The browser received the reply's audio.
        page.wait_for_function(
            "async () => { const s = await (%s)(); return s.audio_packets > 20 && s.audio_energy > 0; }"
            % __import__("tests.e2e.helpers", fromlist=["STATS_JS"]).STATS_JS.strip(), timeout=30000)
        s = stats(page)
        assert s["audio_samples"] > 0
        # Ask for a long reply; the next loop of the mic speech interrupts it.
        page.locator("#text-input textarea").fill("Tell me a long story please")
        page.locator("#send-text").click()
        try:
            page.wait_for_function(
                "() => [...document.querySelectorAll('#transcript .line.model')].some("
                "l => l.innerText.includes('long story') && l.querySelector('.cut'))", timeout=40000)
        except Exception:
            page.screenshot(path=str(tmp_path / "fail.png"))
            (tmp_path / "fail.html").write_text(page.locator("#transcript").inner_html())
            raise
        page.wait_for_timeout(300)
        e0 = stats(page)["audio_energy"]
        page.wait_for_timeout(1000)
        e1 = stats(page)["audio_energy"]
        # Model audio stopped: what arrives in the second after the cut is near silence
        # (an average level below about -27 dBFS), although the story was at least 8 s long ...
        assert e1 - e0 < 0.002, (e0, e1)
        # ... and the handler dropped the unplayed rest of it at once.
        cuts = [int(m) for m in re.findall(r"barge-in turn=\d+ dropped_ms=(\d+)", app.log_text())]
        assert cuts and max(cuts) >= 1000, cuts
    finally:
        stop_app(app)
