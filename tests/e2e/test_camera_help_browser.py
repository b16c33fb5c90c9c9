"""When the camera does not open, the page says why (Debian's Chromium): no camera at all, or
camera and microphone not allowed for the site. The words come from googlive/web/call.js in
`#call-notice` (a polite live region); focus still moves on to Start conversation (a11y.JS),
since the call goes on without the missing device."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import CHROMIUM_FLAGS, make_speech, start_app, stop_app
from tests.e2e.helpers import wait_text

pytestmark = pytest.mark.browser

BASE = [f for f in CHROMIUM_FLAGS if not f.startswith(("--use-fake-device", "--use-fake-ui"))]


def test_no_camera_and_denied_permission_are_explained(netns, browser_factory, tmp_path):
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)
    app = start_app(netns, tmp_path, "--offline")
    try:
        cases = (
            # Fake devices, but no camera among them.
            (
                [
                    *BASE,
                    "--use-fake-ui-for-media-stream",
                    "--use-fake-device-for-media-stream=device-count=0",
                ],
                {},
                ("absent", "Camera was not found"),
            ),
            # A camera, but the site is not allowed to use it.
            (
                [*BASE, "--use-fake-device-for-media-stream"],
                {"permissions": []},
                ("denied", "Camera access is blocked for this site"),
            ),
        )
        for flags, options, (why, needle) in cases:
            ctx = browser_factory(wav, flags=flags, **options)
            if not options:
                ctx.grant_permissions(["camera", "microphone"], origin=app.url)
            else:
                ctx.clear_permissions()
            page = ctx.new_page()
            page.goto(app.url)
            page.wait_for_function("() => window.__glA11y === true", timeout=30000)
            if options:  # a visitor who answered "Block" to the prompt
                cdp = ctx.new_cdp_session(page)
                for name in ("camera", "microphone"):
                    cdp.send(
                        "Browser.setPermission",
                        {"permission": {"name": name}, "setting": "denied", "origin": app.url},
                    )
            page.locator("#webrtc button", has_text="Click to Access Webcam").click()
            note = page.locator('#call-notice [data-device="camera"]')
            note.wait_for(timeout=20000)
            text = wait_text(page, "#call-notice", needle, timeout_s=20)
            assert note.get_attribute("data-why") == why, text
            assert page.locator("#call-notice").get_attribute("aria-live") == "polite"
            page.wait_for_function(
                "() => document.activeElement && document.activeElement.matches("
                "'#webrtc button[aria-label=\"start stream\"]')",
                timeout=10000,
            )
            page.close()
    finally:
        stop_app(app)
