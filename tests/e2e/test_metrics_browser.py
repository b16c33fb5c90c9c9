"""The diagnostics panel in Chromium: hidden by default, one toggle shows latency and usage."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser

SHOT = Path(__file__).resolve().parents[2] / "assets" / "screenshot-diagnostics.png"
# Records the level shown the first time the meter says "You are speaking" (it may only say so
# between two 100 ms updates, so a one-off selector wait can miss it).
SEEN_PROBE = """
(() => {
  const check = () => {
    const el = document.querySelector("#metrics-meters [data-state='user']");
    if (el && window.__seenUser === undefined) {
      const lv = document.querySelector("#metrics-meters [data-level]");
      window.__seenUser = lv ? parseInt(lv.getAttribute('data-level')) : -120;
    }
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true});
  check();
})()
"""


def test_diagnostics_panel_shows_latency_and_usage(netns, browser_factory, tmp_path):
    # Speech on a loop (every ~5 s), so it is heard whenever the call happens to connect.
    wav = make_speech(
        tmp_path / "speech.wav", "Hello Gemini how are you today", pad_before=1.0, pad_after=3.5
    )
    app = start_app(netns, tmp_path, "--offline")
    try:
        page = browser_factory(wav, loop=True).new_page()
        page.goto(app.url)
        assert not page.locator("#metrics-panel").is_visible()  # off for a plain user
        page.locator("#diagnostics-toggle input").check()
        page.locator("#metrics-panel").wait_for(state="visible", timeout=10000)
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=30)
        # The meters are live: the mic's speech (3 s in) shows as level and "You are speaking".
        page.evaluate(SEEN_PROBE)
        page.wait_for_function("() => window.__seenUser !== undefined", timeout=20000)
        assert page.evaluate("() => window.__seenUser") > -60
        page.locator("#text-input textarea").fill("Hello, how are you?")
        page.locator("#send-text").click()
        page.wait_for_selector("#metrics-latency [data-latency-ms]", timeout=20000)
        page.wait_for_selector("#metrics-usage [data-session-tokens]", timeout=20000)
        ms = int(
            page.locator("#metrics-latency [data-latency-ms]").first.get_attribute(
                "data-latency-ms"
            )
        )
        tokens = int(
            page.locator("#metrics-usage [data-session-tokens]").first.get_attribute(
                "data-session-tokens"
            )
        )
        assert 0 < ms < 10000 and tokens > 0
        # The model line in the transcript carries the same figure.
        wait_text(page, "#transcript", f"{ms} ms", timeout_s=10)
        assert not re.search(
            r"\$\d", page.locator("#metrics-usage").inner_text()
        )  # the offline demo is free
        page.locator("#metrics-eventlog-acc button").first.click()
        page.wait_for_selector("#metrics-eventlog .ev[data-kind='connect']", timeout=10000)
        page.wait_for_timeout(1200)  # let the reply play out so the screenshot shows a settled page
        shot = (
            SHOT if os.environ.get("GOOGLIVE_UPDATE_SCREENSHOTS") == "1" else tmp_path / SHOT.name
        )
        page.screenshot(path=str(shot), full_page=True)
    finally:
        stop_app(app)
