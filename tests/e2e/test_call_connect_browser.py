"""A call that cannot connect says so, in Debian's Chromium: the browser finds no network path
to the server (here: the page may only use a TURN relay and has none), and instead of
"Connecting…" for good the status says what happened and what to do."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser

# Every peer connection of the page may only use relay candidates, and it has no TURN server:
# it gathers nothing, so no candidate pair can ever work (as behind a firewall that blocks UDP).
NO_PATH_JS = """
(() => {
  const Orig = window.RTCPeerConnection;
  window.RTCPeerConnection = function(cfg, ...rest) {
    return new Orig({...(cfg || {}), iceServers: [], iceTransportPolicy: "relay"}, ...rest);
  };
  window.RTCPeerConnection.prototype = Orig.prototype;
})();
"""


def test_a_call_with_no_network_path_fails_with_what_to_do(netns, browser_factory, tmp_path):
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)
    app = start_app(netns, tmp_path, "--offline", "--connect-timeout", "4")
    try:
        ctx = browser_factory(wav, loop=True)
        ctx.add_init_script(NO_PATH_JS)
        page = ctx.new_page()
        page.goto(app.url)
        start_conversation(page)
        text = wait_text(page, "#status", "Could not connect the call", timeout_s=60)
        assert "no network path" in text and "Start conversation" in text, text
        assert page.locator('#status .st[data-state="failed"]').count() == 1
        # The start button is back (FastRTC's own "failed" handling ran), and the status is
        # still the reason: no later update put "Ready" or "Connecting…" over it.
        page.wait_for_function(
            """() => { const b = document.querySelector('#webrtc button[aria-label="start stream"]');
                       return b && !b.querySelector('[title="stop recording"], [title="spinner"]'); }""",
            timeout=15000,
        )
        assert page.locator('#status .st[data-state="failed"]').count() == 1
        # The server freed the abandoned slot; no conversation was started or archived.
        assert "webrtc slot freed (not_connected)" in app.log_text()
        assert not list((app.data_dir / "sessions").glob("*/*/meta.json"))
    finally:
        stop_app(app)
