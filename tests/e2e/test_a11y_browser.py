"""Keyboard and screen-reader use in Debian's Chromium: axe-core finds no serious or critical
violation on any tab, the accessibility tree names and announces what it should, and a whole
conversation (start, type, send, end, results) works from the keyboard alone."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import axe_violations, wait_text

pytestmark = pytest.mark.browser

ACTIVE = """() => { const e = document.activeElement; return {
  tag: e.tagName, id: (e.closest('[id]') || {}).id || '', label: e.getAttribute('aria-label') || '',
  text: (e.innerText || '').trim().slice(0, 40), hidden_bar: !!e.closest('.tab-container.visually-hidden'),
  role: e.getAttribute('role') || '', outline: getComputedStyle(e).outlineStyle,
  outline_px: parseFloat(getComputedStyle(e).outlineWidth) }; }"""

PLACEHOLDER = """() => { const t = document.querySelector('#text-input textarea');
  return [getComputedStyle(t, '::placeholder').color, getComputedStyle(t).backgroundColor]; }"""


def _rgb(css: str) -> tuple[float, ...]:
    return tuple(float(x) for x in re.findall(r"[\d.]+", css)[:3])


def contrast(fg: str, bg: str) -> float:
    def lum(rgb: tuple[float, ...]) -> float:
        c = [x / 255 for x in rgb]
        c = [x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c]
        return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]

    a, b = sorted((lum(_rgb(fg)), lum(_rgb(bg))), reverse=True)
    return (a + 0.05) / (b + 0.05)


def ax_nodes(page) -> list[dict]:
    """Chromium's own accessibility tree (CDP), flattened."""
    cdp = page.context.new_cdp_session(page)
    try:
        return cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()


def ax_find(nodes: list[dict], role: str, name: str | None = None) -> list[dict]:
    out = []
    for n in nodes:
        if n.get("ignored") or n.get("role", {}).get("value") != role:
            continue
        if name is None or n.get("name", {}).get("value") == name:
            out.append(n)
    return out


def ax_prop(node: dict, prop: str) -> object:
    return next(
        (p["value"].get("value") for p in node.get("properties", []) if p["name"] == prop), None
    )


def tab_until(page, pred, limit: int = 25) -> dict:
    for _ in range(limit):
        page.keyboard.press("Tab")
        el = page.evaluate(ACTIVE)
        assert not el["hidden_bar"], "focus went to Gradio's invisible duplicate tab bar"
        if pred(el):
            return el
    raise AssertionError("Tab never reached the element")


def no_violations(page, where: str) -> None:
    # Outputs of a running event are drawn faded (Gradio's "pending"): check the settled page.
    page.wait_for_function("() => !document.querySelector('.pending')", timeout=20000)
    found = axe_violations(page)
    assert not found, f"axe-core on {where}: " + "; ".join(
        f"[{v['impact']}] {v['id']} {v['nodes']}" for v in found
    )


def test_every_tab_passes_axe_and_a_conversation_runs_from_the_keyboard(
    netns, browser_factory, tmp_path
):
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)  # a silent mic
    app = start_app(netns, tmp_path, "--offline")
    try:
        page = browser_factory(wav, loop=True).new_page()
        page.goto(app.url)
        page.locator("#text-input textarea").wait_for()
        page.wait_for_function("() => window.__glA11y === true")
        no_violations(page, "Conversation (idle)")

        # The first Tab lands on the visible tab bar (never the invisible copy), with a ring.
        page.locator("body").focus()
        first = tab_until(page, lambda el: True, limit=1)
        assert first["role"] == "tab" and first["text"] == "Conversation"
        assert first["outline"] == "solid" and first["outline_px"] >= 2
        # Chromium's tree: a named message box, a polite status and transcript.
        nodes = ax_nodes(page)
        assert ax_find(nodes, "textbox", "Message to Gemini")
        [status] = ax_find(nodes, "status")
        assert ax_prop(status, "live") == "polite"
        [log] = ax_find(nodes, "log", "Transcript")
        assert ax_prop(log, "live") == "polite"
        fg, bg = page.evaluate(PLACEHOLDER)
        assert contrast(fg, bg) >= 4.5, (fg, bg)

        # Start from the keyboard: the webcam prompt, then focus moves on to Start conversation.
        tab_until(page, lambda el: "Access Webcam" in el["text"])
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => { const v = document.querySelector('#webrtc video'); return v && v.videoWidth > 0; }",
            timeout=30000,
        )
        page.wait_for_function(
            "() => document.activeElement.getAttribute('aria-label') === 'start stream'",
            timeout=15000,
        )
        page.keyboard.press("Enter")
        wait_text(page, "#status", "Live", timeout_s=30)
        tab_until(page, lambda el: el["id"] == "text-input" and el["tag"] == "TEXTAREA")
        page.keyboard.type("Please draw a diagram of the keyboard flow")
        page.keyboard.press("Enter")  # Enter sends
        page.wait_for_selector(  # its card (the answer is SILENT: no spoken line)
            '#transcript .card[data-tool="draw_diagram"][data-state="ok"]', timeout=30000
        )
        page.wait_for_selector("#diagram .mermaid svg", timeout=20000)
        no_violations(page, "Conversation (live)")
        tab_until(page, lambda el: el["id"] == "end-session")
        page.keyboard.press("Enter")
        # Results open with focus on their heading, not dropped to the page body.
        page.wait_for_function(
            "() => document.activeElement.matches('#results-header h2')", timeout=30000
        )
        wait_text(page, "#results-analysis", "What the transcript shows", timeout_s=30)
        page.wait_for_selector("#results-diagrams .gl-dia-tools", timeout=15000)
        no_violations(page, "Results")
        # The diagram opens large from the keyboard; Escape closes it and focus comes back.
        page.locator(".gl-dia-tools button[data-action=open]").first.focus()
        page.keyboard.press("Enter")
        page.wait_for_selector("#gl-diagram-dialog[open] svg")
        no_violations(page, "Results (diagram dialog)")
        page.keyboard.press("Escape")
        page.wait_for_function("() => document.activeElement.dataset.action === 'open'")

        page.get_by_role("tab", name="Past sessions").click()
        # Listed on the tab's select event (the app logs "past sessions listed n=..."): 30 s,
        # as a loaded machine took seconds for each event of this page.
        page.wait_for_selector("#past-sessions input[type=radio]", timeout=30000)
        no_violations(page, "Past sessions")
        page.locator("#past-sessions input[type=radio]").first.focus()
        page.keyboard.press("Space")
        tab_until(page, lambda el: el["id"] == "past-delete")
        page.keyboard.press("Enter")
        page.wait_for_function(
            "() => document.activeElement.id === 'past-delete-no'", timeout=10000
        )
        no_violations(page, "Past sessions (delete asked)")
        page.keyboard.press("Enter")  # Keep it
        page.wait_for_function("() => document.activeElement.id === 'past-delete'", timeout=10000)
        assert list((app.data_dir / "sessions").glob("*/*/meta.json"))  # kept

        page.get_by_role("tab", name="Survey Builder").click()
        page.wait_for_selector("#survey-outline", timeout=10000)
        no_violations(page, "Survey Builder")

        page.get_by_role("tab", name="Conversation").click()
        page.locator("#diagnostics-toggle input").check()
        page.locator("#metrics-panel").wait_for(state="visible", timeout=10000)
        no_violations(page, "Conversation with diagnostics")
    finally:
        stop_app(app)
