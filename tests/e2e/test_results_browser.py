"""End session in Debian's Chromium: a short offline-demo conversation, End session, and the
Results view shows the transcript and the analysis."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser


def test_end_session_shows_results_with_transcript_and_analysis(netns, browser_factory, tmp_path):
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)  # a silent mic
    app = start_app(netns, tmp_path, "--offline")
    started = time.monotonic()  # from the app answering to the Results view complete
    try:
        page = browser_factory(wav, loop=True).new_page()
        page.goto(app.url)
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=30)
        page.locator("#text-input textarea").fill("Please remember the blue notebook")
        page.locator("#send-text").click()
        wait_text(page, "#transcript", "you said", timeout_s=20)
        page.locator("#end-session").click()
        # The Results tab opens with the transcript, then the analysis replaces its progress note.
        text = wait_text(page, "#results-transcript", "blue notebook", timeout_s=20)
        assert "You" in text and "Gemini" in text
        summary = wait_text(page, "#results-analysis", "What the transcript shows", timeout_s=30)
        assert "Analysing" not in summary and "1 turn from you (1 typed)" in summary
        assert page.locator('#results-analysis [data-state="done"]').count() == 1
        # The conversation was closed on the server, and the archive holds the analysis.
        sessions = list((app.data_dir / "sessions").glob("*/*/analysis.json"))
        assert len(sessions) == 1
        assert "handler closed" in app.log_text()
        # ... and the browser's WebRTC connection ended too.
        page.wait_for_function(
            "() => (window.__pcs || []).length > 0 && window.__pcs.every("
            "pc => ['closed', 'failed', 'disconnected'].includes(pc.connectionState))",
            timeout=10000,
        )
        took = time.monotonic() - started
    finally:
        stop_app(app)
    assert took < 45, took
