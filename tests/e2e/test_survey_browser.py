"""Survey Builder end to end in Chromium: build a survey, start the interview, see progress."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser


def test_build_survey_start_interview_and_see_progress(netns, browser_factory, tmp_path):
    """A one-question survey built in the tab runs as the next conversation; a typed answer is
    recorded by the (offline) model through record_answer and shows in the progress panel."""
    # A silent mic: speech on the mic would start turns of its own (and a barge-in over the
    # reply would rightly cancel the pending record_answer call).
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)
    app = start_app(netns, tmp_path, "--offline")
    try:
        page = browser_factory(wav, loop=True).new_page()
        page.goto(app.url)
        page.get_by_role("tab", name="Survey Builder").click()
        page.locator("#survey-title textarea").fill("Colour <b>poll</b>")
        page.locator("#survey-sec-title textarea").fill("Basics")
        page.locator("#survey-sec-add").click()
        wait_text(page, "#survey-outline", "Basics", timeout_s=15)
        page.locator("#survey-q-text textarea").fill("What is your favourite colour?")
        page.locator("#survey-q-add").click()
        outline = wait_text(page, "#survey-outline", "favourite colour", timeout_s=15)
        assert "Colour <b>poll</b>" in outline  # escaped: shown as text, not markup
        assert page.locator("#survey-outline b").count() == 0
        page.locator("#survey-start").click()
        # back on the Conversation tab, with the survey named next to it
        wait_text(page, "#survey-active", "Colour <b>poll</b>", timeout_s=15)
        assert page.locator("#webrtc").is_visible()
        saved = list(
            (app.data_dir / "surveys" / "owners").rglob("*.json")
        )  # private to this visitor
        assert len(saved) == 1
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=30)
        wait_text(page, "#survey-progress", "0/1 answered", timeout_s=15)
        page.locator("#text-input textarea").fill("My answer is blue")
        page.locator("#send-text").click()
        text = wait_text(page, "#survey-progress", "1/1 answered", timeout_s=20)
        assert "My answer is blue" in text
        wait_text(page, "#transcript", "record_answer tool answered ok", timeout_s=20)
        assert "My answer is blue" not in app.log_text()  # answers are never logged
    finally:
        stop_app(app)
