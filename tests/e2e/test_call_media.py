"""What leaves the browser, as the local Live server sees it (tests/e2e/live_child.py keeps its
counters in a file): mute and camera off stop audio and frames, a shared screen's frames reach
the model (a marker drawn into it is read by the server) and the self-view; without camera or
microphone permission the page says why and the call still works audio-only or text-only;
under --offline a typed key is ignored and sent nowhere."""

from __future__ import annotations

import base64
import io
import time

import pytest

from googlive.fakelive.vision import draw_marker
from googlive.media.frames import MODEL_CAMERA_FPS
from tests.e2e.conftest import make_speech, start_app, start_live_child, stop_app
from tests.e2e.helpers import wait_text
from tests.e2e.test_call_keys import type_key
from tests.e2e.test_call_lifecycle import LIVE_S, open_camera, press_start, say, wait_live

pytestmark = pytest.mark.browser

CODE = (5, 3, 1)
QUIET_S = 2.5  # how long "nothing arrives" is watched for


def screen_script() -> str:
    """getDisplayMedia answered with a canvas showing a blue marker with CODE (what a shared
    screen would be; headless Chromium has no screen to pick)."""
    buf = io.BytesIO()
    draw_marker((1280, 720), "blue", CODE, period=8).save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    return f"""
(() => {{
  if (!navigator.mediaDevices) return;
  navigator.mediaDevices.getDisplayMedia = async () => {{
    const img = new Image();
    img.src = "{url}";
    await img.decode();
    const c = document.createElement('canvas');
    c.width = 1280; c.height = 720;
    const g = c.getContext('2d');
    const draw = () => g.drawImage(img, 0, 0);
    draw();
    setInterval(draw, 100);
    window.__screenShared = (window.__screenShared || 0) + 1;
    return c.captureStream(10);
  }};
}})();
"""


# Camera frames the browser has sent on its connections (outbound-rtp framesSent).
FRAMES_SENT = """
async () => {
  let n = 0;
  for (const pc of googlive.peerConnections) {
    (await pc.getStats()).forEach((r) => {
      if (r.type === 'outbound-rtp' && r.kind === 'video') n += r.framesSent || 0;
    });
  }
  return n;
}
"""


# The average colour of the middle of the self-view (the page's own camera or screen track,
# googlive/web/selfview.js: the server sends no video back).
SELF_VIEW = """
() => {
  const v = document.querySelector('#webrtc video');
  const c = document.createElement('canvas');
  c.width = 32; c.height = 32;
  const g = c.getContext('2d');
  g.drawImage(v, v.videoWidth * 0.4, v.videoHeight * 0.05, v.videoWidth * 0.2, v.videoHeight * 0.2, 0, 0, 32, 32);
  const d = g.getImageData(0, 0, 32, 32).data;
  const m = [0, 0, 0];
  for (let i = 0; i < d.length; i += 4) { m[0] += d[i]; m[1] += d[i + 1]; m[2] += d[i + 2]; }
  return m.map(x => x / (d.length / 4));
}
"""


def until(pred, timeout: float = 20.0, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)


def unchanged(live, key: str, seconds: float = QUIET_S) -> tuple[int, int]:
    """The counter `key` at the start and at the end of `seconds` of watching."""
    a = live.stats()[key]
    time.sleep(seconds)  # watching for something that must not happen
    return a, live.stats()[key]


def test_mute_camera_off_screen_share_and_missing_devices(netns, browser_factory, tmp_path):
    wav = make_speech(
        tmp_path / "speech.wav", "Hello Gemini can you hear me", pad_before=0.5, pad_after=1.5
    )
    live = start_live_child(netns, tmp_path)
    # not recorded: the camera is capped at the model's rate (with a recording it is not,
    # tests/e2e/test_conversation_browser.py)
    app = start_app(
        netns, tmp_path, "--offline", "--no-record", *live.app_args(), env=live.app_env()
    )
    page = None
    try:
        page = browser_factory(wav, init_script=screen_script()).new_page()
        page.goto(app.url)
        # Under --offline a typed key is ignored, said next to the field, and sent nowhere: the
        # local server accepts only its own key, so the call would fail if it went there.
        type_key(page, "AIza-not-for-the-demo")
        wait_text(page, "#key-status", "The offline demo ignores API keys")
        assert "the offline demo" in page.locator("#call-backend").inner_text()
        open_camera(page)
        assert press_start(page) == "connecting"
        wait_live(page)
        assert "rejected" not in page.locator("#status").inner_text()
        a0 = live.stats()["audio_bytes"]
        until(lambda: live.stats()["audio_bytes"] > a0 + 32000)  # the mic reaches the server

        # The server asks for MODEL_CAMERA_FPS frames a second and the page caps the video
        # sender at that (googlive/web/selfview.js): the browser encodes and sends no more.
        page.wait_for_function(
            f"() => googlive.selfView.status().sentMaxFps === {MODEL_CAMERA_FPS}", timeout=15000
        )
        f0, t0 = page.evaluate(FRAMES_SENT), time.monotonic()
        time.sleep(3)  # the window the send rate is measured over
        sent_rate = (page.evaluate(FRAMES_SENT) - f0) / (time.monotonic() - t0)
        assert 0 < sent_rate <= MODEL_CAMERA_FPS + 0.7, sent_rate

        # Mute: the page says so, and no audio reaches the Live server until unmuted.
        page.locator("#mic-btn").click()
        assert page.locator("#mic-btn").get_attribute("aria-pressed") == "true"
        page.wait_for_selector('#status .st[data-mic="off"]', timeout=15000)
        assert "Mic muted" in page.locator("#status").inner_text()
        time.sleep(0.5)  # what was already on its way
        before, after = unchanged(live, "audio_bytes")
        assert after == before, (before, after)
        page.locator("#mic-btn").click()
        page.wait_for_selector('#status .st[data-mic="on"]', timeout=15000)
        until(lambda: live.stats()["audio_bytes"] > after + 16000)

        # Camera off: no frames reach the server, the model is told, the transcript notes it.
        until(lambda: live.stats()["video_frames"] > 2)
        page.locator("#cam-btn").click()
        page.wait_for_selector('#status .st[data-camera="off"]', timeout=15000)
        wait_text(page, "#transcript", "Camera off", timeout_s=15)
        time.sleep(1.2)  # a frame already encoded may still be on its way
        before, after = unchanged(live, "video_frames")
        assert after == before, (before, after)
        assert any("camera off" in t for t in live.stats()["texts"])
        page.locator("#cam-btn").click()
        page.wait_for_selector('#status .st[data-camera="on"]', timeout=15000)
        until(lambda: live.stats()["video_frames"] > after)

        # Share screen: its frames go to the model (the server reads the marker in them) and
        # show in the self-view, at the camera's pace; Stop sharing brings the camera back.
        page.locator("#screen-btn").click()
        page.wait_for_selector('#status .st[data-screen="on"]', timeout=15000)
        assert page.locator("#screen-btn").inner_text() == "Stop sharing"
        t_share = time.monotonic()
        until(lambda: (live.stats()["sight"] or {}).get("colour") == "blue", timeout=45)
        until(lambda: tuple(live.stats()["sight"]["code"] or ()) == CODE, timeout=20)
        print(f"screen marker read by the server {time.monotonic() - t_share:.1f} s after sharing")
        until(lambda: (lambda m: m[2] > 120 and m[2] > 1.5 * m[1])(page.evaluate(SELF_VIEW)))
        assert any("sharing their screen" in t for t in live.stats()["texts"])
        f0, t0 = live.stats()["video_frames"], time.monotonic()
        time.sleep(3)
        rate = (live.stats()["video_frames"] - f0) / (time.monotonic() - t0)
        assert rate <= 1.5, rate  # <= 1 frame a second, as from the camera
        page.locator("#screen-btn").click()
        page.wait_for_selector('#status .st[data-screen="off"]', timeout=15000)
        until(lambda: (live.stats()["sight"] or {}).get("colour") not in (None, "blue"))
        page.locator("#end-session").click()
        page.wait_for_selector('#status .st[data-state="ended"]', timeout=30000)

        # No camera permission: the page says why and how to fix it; an audio-only call works
        # (speech reaches the server and is answered) and sends no frames.
        cam = browser_factory(wav, grant=["microphone"]).new_page()
        cam.goto(app.url)
        open_camera(cam)
        note = cam.locator('#call-notice [data-device="camera"]')
        note.wait_for(timeout=15000)
        assert note.get_attribute("data-why") == "denied"
        assert "site settings" in note.inner_text() and "without video" in note.inner_text()
        assert cam.locator("#cam-btn").is_disabled()
        s0 = live.stats()
        assert press_start(cam) == "connecting"
        wait_live(cam)
        cam.wait_for_selector('#status .st[data-camera="missing"]', timeout=15000)
        cam.wait_for_function(
            "() => document.querySelectorAll('#transcript .line.model').length >= 1",
            timeout=LIVE_S * 1000,
        )
        s1 = live.stats()
        assert s1["audio_bytes"] > s0["audio_bytes"] + 32000
        assert s1["video_frames"] == s0["video_frames"], (s0["video_frames"], s1["video_frames"])
        cam.locator("#end-session").click()
        cam.wait_for_selector('#status .st[data-state="ended"]', timeout=30000)

        # Neither camera nor microphone: a typed conversation works, and no audio is sent.
        none = browser_factory(wav, grant=[]).new_page()
        none.goto(app.url)
        open_camera(none)
        none.locator('#call-notice [data-device="mic"]').wait_for(timeout=15000)
        assert "you can still type" in none.locator("#call-notice").inner_text().lower()
        s0 = live.stats()
        assert press_start(none) == "connecting"
        wait_live(none)
        none.wait_for_selector('#status .st[data-mic="missing"]', timeout=15000)
        say(none, "typing works without devices", "typing works without devices")
        s1 = live.stats()
        assert s1["audio_bytes"] == s0["audio_bytes"] and s1["video_frames"] == s0["video_frames"]
    except Exception:
        if page is not None:
            page.screenshot(path=str(tmp_path / "fail.png"), full_page=True)
        raise
    finally:
        stop_app(app)
        live.stop()
