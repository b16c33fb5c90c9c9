"""Model-controlled text with HTML, script and Markdown-link payloads shown in the real browser:
nothing executes, no element is injected. The offline server echoes typed text into the model's
transcript, so typing the payload makes the model 'say' it."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import browser_factory, make_speech, netns, start_app, stop_app  # noqa: F401  (fixtures)
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
]


def test_hostile_transcript_text_executes_nothing(netns, browser_factory, tmp_path):  # noqa: F811
    wav = make_speech(tmp_path / "quiet.wav", "hello", pad_before=0.5, pad_after=30.0)
    app = start_app(netns, tmp_path, "--offline")
    try:
        page = browser_factory(wav, loop=False).new_page()
        page.goto(app.url)
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=40)
        for i, payload in enumerate(PAYLOADS):
            page.locator("#text-input textarea").fill(f"p{i} {payload}")
            page.locator("#send-text").click()
            # The model's reply echoes the payload; it must arrive as text.
            wait_text(page, "#transcript", payload, timeout_s=30)
        page.wait_for_timeout(500)  # let any injected handler (onerror/onload) fire if it could
        found = page.evaluate(
            """() => {
                const t = document.querySelector('#transcript');
                return {
                    dialogs: window.__dialogs,
                    imgs: t.querySelectorAll('img').length,
                    scripts: t.querySelectorAll('script').length,
                    svgs: t.querySelectorAll('svg[onload], svg').length,
                    links: [...t.querySelectorAll('a')].map(a => a.getAttribute('href')),
                    handlers: [...t.querySelectorAll('*')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length,
                };
            }"""
        )
        assert found["dialogs"] == 0, found
        assert found["imgs"] == 0 and found["scripts"] == 0 and found["svgs"] == 0, found
        assert found["handlers"] == 0, found
        assert not any(
            (h or "").strip().lower().startswith("javascript:") for h in found["links"]
        ), found
        text = page.locator("#transcript").inner_text()
        assert all(p in text for p in PAYLOADS)  # shown literally, once escaped
    finally:
        stop_app(app)
