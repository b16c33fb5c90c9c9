"""A key typed in Call settings, in Chromium: the page says which backend a call will use; under
--offline the key is ignored (said next to the field, never sent to the demo server); without
a network, Gemini with that key fails after a few attempts with "Can't reach Gemini" instead of
reconnecting for ever, and a typed message is refused with a reason meanwhile."""

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


def test_typed_key_offline_and_unreachable(netns, browser_factory, tmp_path):
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    demo = start_app(netns, tmp_path / "a", "--offline", "--time-limit", "20")
    try:
        page = browser_factory(wav).new_page()
        page.goto(demo.url)
        wait_text(page, "#call-backend", "the offline demo")
        type_key(page, "AIza-not-for-the-demo")
        # Said next to the key field as soon as it is typed ...
        wait_text(page, "#key-status", "The offline demo ignores API keys")
        assert "the offline demo" in page.locator("#call-backend").inner_text()
        # ... and the call runs on the demo: the demo server accepts only its own key, so a
        # typed key sent there would have failed the call ("rejected the API key").
        open_camera(page)
        press_start(page)
        wait_live(page)
        assert "rejected" not in page.locator("#status").inner_text()
        assert "ignores API keys" in page.locator("#key-status").inner_text()
        # The call timer warns before the time limit, which ends the call like End session
        # (Results with the analysis), in seconds for a limit under a minute.
        assert page.locator("#call-timer").get_attribute("data-limit") == "20"
        note = page.locator('#call-notice [data-notice="limit"]')
        note.wait_for(timeout=30000)
        assert "left" in note.inner_text() and "time limit of 20 s" in note.inner_text()
        assert "warn" in (page.locator("#call-timer").get_attribute("class") or "")
        page.wait_for_selector('#results-analysis [data-state="done"]', timeout=60000)
        page.wait_for_selector('#status .st[data-state="ended"]', timeout=20000)
        assert "Time limit of 20 s reached" in page.locator("#status").inner_text()
    finally:
        stop_app(demo)

    # No key on the server (the offline demo by default) and no network: a typed key means
    # Gemini, which cannot be reached.
    bare = start_app(netns, tmp_path / "b")
    try:
        page = browser_factory(wav).new_page()
        page.goto(bare.url)
        wait_text(page, "#call-backend", "this server has no Gemini API key")
        type_key(page, "AIza-a-key-for-gemini")
        wait_text(page, "#call-backend", "Gemini, with the API key you entered")
        assert page.locator("#key-status").inner_text().strip() == ""
        open_camera(page)
        assert press_start(page) == "connecting"
        page.wait_for_function(
            "() => { const s = document.querySelector('#status .st');"
            " return s && s.dataset.mic && s.innerText.includes('Connecting to Gemini'); }",
            timeout=90000,
        )
        # While it is still trying, a typed message is refused and kept.
        page.locator("#text-input textarea").fill("hello?")
        page.locator("#send-text").click()
        note = wait_text(page, "#text-note", "not sent")
        assert "connecting" in note.lower() or "failed" in note.lower()
        assert page.locator("#text-input textarea").input_value() == "hello?"
        page.wait_for_selector('#status .st[data-state="failed"]', timeout=60000)
        status = page.locator("#status").inner_text()
        assert "Can't reach Gemini — check the connection" in status, status
        assert "Reconnecting" not in status
        # The call was hung up for the user: the button offers a new one, Results stay closed.
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
        stop_app(bare)
