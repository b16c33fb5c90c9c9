"""The call's lifecycle in Chromium (offline demo): what the status says at each step, tool
cards in the transcript, the transcript following its newest line, FastRTC's Stop and End
session as the same act (Results with the analysis), a second call that starts clean, and the
phone layout. README screenshots come from here with GOOGLIVE_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import wait_text

pytestmark = pytest.mark.browser

ASSETS = Path(__file__).resolve().parents[2] / "assets"
START = '#webrtc button[aria-label="start stream"]'
LIVE_S = 90  # this machine can be slow: the first call of an app can take a minute
# Every state the status line shows, in order (the page's own and the server's).
STATES = """
(() => {
  window.__states = [];
  const note = () => {
    const s = document.querySelector('#status .st');
    const st = s ? s.dataset.state : null;
    if (st && window.__states[window.__states.length - 1] !== st) window.__states.push(st);
  };
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  note();
})()
"""
# Whether the speaking cue ever said so, and the loudest output level its meter showed.
CUE = """
(() => {
  window.__cue = {speaking: false, level: -120};
  setInterval(() => {
    const c = document.querySelector('#speaking-cue');
    if (!c) return;
    if (c.dataset.speaking === 'true') window.__cue.speaking = true;
    window.__cue.level = Math.max(window.__cue.level, parseFloat(c.dataset.level));
  }, 50);
})()
"""
AT_BOTTOM = "() => { const e = document.getElementById('transcript'); return e.scrollTop + e.clientHeight >= e.scrollHeight - 30; }"


def shot(page, name: str, tmp: Path, **kw) -> None:
    path = ASSETS / name if os.environ.get("GOOGLIVE_UPDATE_SCREENSHOTS") == "1" else tmp / name
    page.screenshot(path=str(path), **kw)


def open_camera(page) -> None:
    page.locator("#webrtc").wait_for(timeout=30000)
    access = page.locator("#webrtc").get_by_text("Click to Access Webcam")
    if access.count():
        access.first.click()
    page.wait_for_function(
        "() => { const v = document.querySelector('#webrtc video'); return v && v.videoWidth > 0; }",
        timeout=30000,
    )


def press_start(page) -> str:
    """Press Start conversation; returns the status state right after the click."""
    return page.evaluate(
        f"() => {{ document.querySelector('{START}').click();"
        " return document.querySelector('#status .st').dataset.state; }"
    )


def wait_live(page) -> None:
    page.wait_for_selector('#status .st[data-state="live"]', timeout=LIVE_S * 1000)


def say(page, text: str, expect: str) -> None:
    """Type `text`, wait for the model line that contains `expect`."""
    page.locator("#text-input textarea").fill(text)
    page.locator("#send-text").click()
    page.wait_for_function(
        "(n) => [...document.querySelectorAll('#transcript .line.model')].some(l => l.innerText.includes(n))",
        arg=expect,
        timeout=60000,  # the reply can wait behind a long answer still playing
    )


def wait_analysis(page) -> str:
    page.wait_for_selector('#results-analysis [data-state="done"]', timeout=60000)
    return page.locator("#results-header .results-head").get_attribute("data-session")


def test_call_lifecycle_stop_end_second_call_and_phone(netns, browser_factory, tmp_path):
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)  # a silent mic
    app = start_app(netns, tmp_path, "--offline")
    try:
        page = browser_factory(wav).new_page()
        page.goto(app.url)
        page.evaluate(STATES)
        page.evaluate(CUE)
        status = page.locator("#status").inner_text()
        assert "Ready — press Start conversation" in status and "Offline demo" in status
        assert "offline demo" in page.locator("#call-backend").inner_text()
        # One "Settings" only (Gradio's footer has one): ours is "Call settings".
        assert page.get_by_text("Call settings", exact=True).count() == 1
        # Typing before a call: refused with a reason, the words kept in the box.
        page.locator("#text-input textarea").fill("are you there?")
        page.locator("#send-text").click()
        wait_text(page, "#text-note", "Press Start conversation first")
        assert page.locator("#text-input textarea").input_value() == "are you there?"

        open_camera(page)
        assert page.locator(START).inner_text().strip() == "Start conversation"
        # From the click on, the status never says "Ready" again while the call connects.
        assert press_start(page) == "connecting"
        wait_live(page)
        assert page.locator(START).inner_text().strip() == "End conversation"
        # draw_diagram's answer is SILENT on 3.8 (googlive/features/tools): the card is what answers.
        page.locator("#text-input textarea").fill("please draw a diagram")
        page.locator("#send-text").click()
        # The tool call shows inline as a card: what was asked, the result, a link to its panel.
        card = page.locator('#transcript .card[data-tool="draw_diagram"]')
        card.wait_for(timeout=10000)
        page.wait_for_selector(
            '#transcript .card[data-tool="draw_diagram"][data-state="ok"]', timeout=10000
        )
        assert "Draw a diagram" in card.inner_text() and "Diagram shown" in card.inner_text()
        assert card.locator('a[href="#diagram"]').count() == 1
        page.wait_for_selector("#diagram svg[aria-roledescription]", timeout=20000)
        page.locator("#text-input textarea").fill("Tell me a long story please")
        page.locator("#send-text").click()
        page.wait_for_selector('#speaking-cue[data-speaking="true"]', timeout=30000)
        # While Gemini's reply plays, the cue says so and its meter moves.
        page.wait_for_function(
            "() => window.__cue.speaking && window.__cue.level > -50", timeout=10000
        )
        shot(page, "screenshot-call.png", tmp_path)  # the viewport: quick, while it speaks
        say(page, "thank you", "thank you")

        # A setting changed during the call applies to the next one, and the page says so.
        page.locator("#record-session input").click()
        wait_text(page, "#next-call-note", "The recording choice applies to your next call")
        page.locator("#record-session input").click()  # back on, for the next call

        # The transcript follows its newest line ... (a short box, so that it overflows soon)
        page.add_style_tag(content="#transcript { max-height: 150px !important; }")
        for i in range(3):
            say(page, f"line number {i}", f"line number {i}")
        assert page.evaluate(
            "() => { const e = document.getElementById('transcript'); return e.scrollHeight > e.clientHeight + 100; }"
        )
        page.wait_for_function(AT_BOTTOM, timeout=5000)
        # ... unless the user scrolled up to read: then it stays where they are.
        page.evaluate(
            "() => { const e = document.getElementById('transcript'); e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); }"
        )
        say(page, "while you read", "while you read")
        assert page.evaluate("() => document.getElementById('transcript').scrollTop") < 40
        page.evaluate(
            "() => { const e = document.getElementById('transcript'); e.scrollTop = e.scrollHeight; e.dispatchEvent(new Event('scroll')); }"
        )
        say(page, "back at the bottom", "back at the bottom")
        page.wait_for_function(AT_BOTTOM, timeout=5000)

        # FastRTC's own button ends the call: archive, analysis, Results.
        page.locator(START).click()  # "ending" may be brief: __states has it (checked below)
        first = wait_analysis(page)
        assert (
            "What the transcript shows" in page.locator("#results-analysis").inner_text()
        )  # offline
        wait_text(page, "#results-transcript", "please draw a diagram")
        page.wait_for_selector('#status .st[data-state="ended"]', timeout=20000)
        assert "Conversation ended" in page.locator("#status").inner_text()
        wait_text(page, "#recording-indicator", "Recording saved")
        seen = page.evaluate("() => window.__states")
        start = seen.index("connecting")
        assert "idle" not in seen[start:], seen
        assert (
            seen[start:].index("live") < seen[start:].index("ending") < seen[start:].index("ended")
        ), seen

        # A second call on the same page starts clean: none of the first call's transcript,
        # diagram or tool cards, from the click on (and again at its first update).
        page.get_by_role("tab", name="Conversation").click()
        open_camera(page)
        assert page.locator("#transcript .line").count() > 0  # the first call's, until now
        assert press_start(page) == "connecting"
        page.wait_for_function(
            "() => !document.querySelector('#transcript .line, #transcript .card')"
            " && document.querySelector('#diagram').innerText.includes('No diagram yet')",
            timeout=10000,
        )
        page.wait_for_function(
            "() => { const s = document.querySelector('#status .st'); return s && s.dataset.mic; }",
            timeout=LIVE_S * 1000,
        )  # the server's first word (the page's own "Connecting…" has no device attributes)
        assert page.locator("#transcript .line, #transcript .card").count() == 0
        assert "No diagram yet" in page.locator("#diagram").inner_text()
        assert "Recording saved" not in page.locator("#recording-indicator").inner_text()
        wait_live(page)
        say(page, "the second call", "the second call")
        # End session ends it the same way.
        page.locator("#end-session").click()
        second = wait_analysis(page)
        assert second != first
        wait_text(page, "#results-transcript", "the second call")
        assert "please draw a diagram" not in page.locator("#results-transcript").inner_text()
        page.wait_for_selector('#status .st[data-state="ended"]', timeout=20000)
        assert len(list((app.data_dir / "sessions").glob("*/*/analysis.json"))) == 2

        # On a phone: the video, its controls and the transcript without scrolling; every tab
        # can be reached.
        phone = browser_factory(wav, viewport={"width": 390, "height": 844}).new_page()
        phone.goto(app.url)
        open_camera(phone)
        phone.evaluate("() => window.scrollTo(0, 0)")
        box = phone.evaluate(
            """(sels) => Object.fromEntries(sels.map(s => {
                 const r = document.querySelector(s).getBoundingClientRect();
                 return [s, [r.top, r.bottom, r.left, r.right]]; }))""",
            ["#webrtc", "#call-bar", "#transcript", "#mic-btn", START],
        )
        assert box["#webrtc"][1] <= box["#call-bar"][0] <= box["#transcript"][0], box
        assert box["#transcript"][0] - box["#webrtc"][1] < 160, box  # directly under the video
        for sel in ("#mic-btn", START):
            assert 0 <= box[sel][0] and box[sel][1] <= 844 and box[sel][3] <= 390, (sel, box)
        shot(phone, "screenshot-mobile.png", tmp_path)
        panels = {
            "Results": "#results-tab",
            "Past sessions": "#past-tab",
            "Survey Builder": "#survey-builder",
            "Conversation": "#webrtc",
        }
        for name, panel in panels.items():
            tab = phone.get_by_role("tab", name=name)
            if tab.count() and tab.is_visible():
                tab.click()
            else:  # Gradio puts the tabs that do not fit into its "…" menu
                phone.locator(".overflow-menu > button").first.click()
                phone.locator(".overflow-dropdown button", has_text=name).first.click()
            phone.locator(panel).wait_for(state="visible", timeout=10000)
    except Exception:
        page.screenshot(path=str(tmp_path / "fail.png"), full_page=True)
        raise
    finally:
        stop_app(app)
