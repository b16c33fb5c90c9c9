"""An app with no key of its own (the offline demo by default) and no network, in Chromium: the
page says which backend a call will use; a call's time limit warns first and then ends it like
End session, in seconds for a limit under a minute; with a key typed in Call settings the call
goes to Gemini, which cannot be reached: it fails after a few attempts with "Can't reach
Gemini" instead of reconnecting for ever, and a typed message is refused with a reason
meanwhile. (Under --offline a typed key is ignored: tests/e2e/test_call_media.py.)"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import wait_text
from tests.e2e.test_call_lifecycle import START, open_camera, press_start, wait_live

pytestmark = pytest.mark.browser


def type_key(page, key: str) -> None:
    if not page.locator("#api-key input").is_visible():
        page.get_by_text("Call settings", exact=True).click()
    page.locator("#api-key input").fill(key)


def test_time_limit_and_a_typed_key_for_unreachable_gemini(netns, browser_factory, tmp_path):
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)
    app = start_app(netns, tmp_path, "--time-limit", "20")
    try:
        page = browser_factory(wav).new_page()
        page.goto(app.url)
        wait_text(page, "#call-backend", "this server has no Gemini API key")

        # The call timer warns before the time limit, which then ends the call like End
        # session (Results with the analysis); a limit under a minute is said in seconds.
        open_camera(page)
        press_start(page)
        wait_live(page)
        assert page.locator("#call-timer").get_attribute("data-limit") == "20"
        note = page.locator('#call-notice [data-notice="limit"]')
        note.wait_for(timeout=30000)
        assert "left" in note.inner_text() and "time limit of 20 s" in note.inner_text()
        assert "warn" in (page.locator("#call-timer").get_attribute("class") or "")
        page.wait_for_selector('#results-analysis [data-state="done"]', timeout=60000)
        page.wait_for_selector('#status .st[data-state="ended"]', timeout=20000)
        assert "Time limit of 20 s reached" in page.locator("#status").inner_text()

        # A typed key means Gemini, which this machine cannot reach.
        page.get_by_role("tab", name="Conversation").click()
        type_key(page, "AIza-a-key-for-gemini")
        wait_text(page, "#call-backend", "Gemini, with the API key you entered")
        assert page.locator("#key-status").inner_text().strip() == ""
        open_camera(page)
        assert press_start(page) == "connecting"
        page.wait_for_function(
            "() => { const s = document.querySelector('#status .st');"
            " return s && s.dataset.mic && (s.innerText.includes('Connecting to Gemini')"
            " || s.dataset.state === 'failed'); }",
            timeout=90000,
        )
        # Trying (3 attempts, ~2 s here: the page can be a panel update behind and first show
        # the failure), then failed; a typed message is refused and kept either way.
        page.locator("#text-input textarea").fill("hello?")
        page.locator("#send-text").click()
        note = wait_text(page, "#text-note", "not sent")
        assert "connecting" in note.lower() or "failed" in note.lower()
        assert page.locator("#text-input textarea").input_value() == "hello?"
        page.wait_for_selector('#status .st[data-state="failed"]', timeout=60000)
        status = page.locator("#status").inner_text()
        assert "Can't reach Gemini — check the connection" in status, status
        assert "Reconnecting" not in status
        # The call was hung up for the user: the button offers a new one, Results stay shut.
        page.wait_for_function(
            "(sel) => document.querySelector(sel).innerText.includes('Start conversation')",
            arg=START,
            timeout=20000,
        )
        assert page.get_by_role("tab", name="Conversation").get_attribute("aria-selected") == (
            "true"
        )
        assert "Can't reach Gemini" in page.locator("#status").inner_text()  # still says why
        assert not page.locator("#transcript .line").count()
        # Without the key, the next call would be the demo again.
        type_key(page, "")
        wait_text(page, "#call-backend", "the offline demo")
    finally:
        stop_app(app)
