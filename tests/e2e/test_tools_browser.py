"""Tools end to end in Chromium: typed requests make the offline server call draw_diagram and
take_picture; the diagram renders through gradio's mermaid, the snapshot shows the fake camera."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import pytest

from tests.e2e.conftest import start_app, stop_app
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser


def silence(path: Path, seconds: float = 3.0) -> Path:
    """A silent 48 kHz mono WAV for the fake mic: no speech turn interrupts the typed ones."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(b"\0\0" * int(48000 * seconds))
    return path


def type_message(page, text: str) -> None:
    page.locator("#text-input textarea").fill(text)
    page.locator("#send-text").click()


def test_typed_requests_draw_a_diagram_and_take_a_snapshot(netns, browser_factory, tmp_path):
    t0 = time.monotonic()
    app = start_app(netns, tmp_path, "--offline")
    t_app = time.monotonic() - t0
    try:
        page = browser_factory(silence(tmp_path / "silence.wav")).new_page()
        page.goto(app.url)
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=30)
        t_live = time.monotonic() - t0
        try:
            type_message(page, "please draw a diagram")
            # gradio's Markdown hands the ```mermaid block to mermaid, which replaces it with an SVG.
            # (mermaid marks its SVGs with aria-roledescription; gradio's icons are SVGs too.
            # Labels are SVG text, wrapped into one <tspan> per line: "This placeholder|diagram".)
            page.wait_for_function(
                "() => [...document.querySelectorAll('#diagram svg[aria-roledescription]')]"
                ".some(s => s.textContent.toLowerCase().includes('this placeholder'))",
                timeout=20000,
            )
            assert "Offline demo diagram" in page.locator("#diagram").inner_text()
            wait_text(page, "#transcript", "draw_diagram tool answered ok", timeout_s=20)
            t_diagram = time.monotonic() - t0

            type_message(page, "take a picture")
            img = page.wait_for_selector("#snapshots img", timeout=20000)
            page.wait_for_function(
                "() => { const i = document.querySelector('#snapshots img'); return i && i.complete && i.naturalWidth > 0; }",
                timeout=10000,
            )
            assert img.get_attribute("src").startswith("data:image/jpeg;base64,")
            width = page.evaluate("() => document.querySelector('#snapshots img').naturalWidth")
            assert 0 < width <= 320, width
            assert "you asked me to look" in page.locator("#snapshots").inner_text()
            wait_text(page, "#transcript", "take_picture tool answered ok", timeout_s=20)
            # The diagram panel kept its diagram while the picture was taken.
            assert page.locator("#diagram svg[aria-roledescription]").count() >= 1
        except Exception:
            page.screenshot(path=str(tmp_path / "fail.png"))
            raise
        log = app.log_text()
        assert "draw_diagram id=" in log and "take_picture id=" in log
        assert "please draw a diagram" not in log  # user text is never logged
    finally:
        stop_app(app)
    total = time.monotonic() - t0
    print(
        f"timings: app up {t_app:.1f} s, live {t_live:.1f} s, diagram {t_diagram:.1f} s, total {total:.1f} s"
    )
    assert total - t_app < 40, total
