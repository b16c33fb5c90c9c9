"""Findings 1, 5 and 6 with two visitors in two real Chromium profiles on the real app.

Visitor A saves a survey. Visitor B does not see it in the library, cannot fetch its file by
path, and importing a file with A's survey id then saving it gives B a survey of B's own: A's
file is untouched and A still opens A's own survey. A then holds a conversation on the page: no
CSP violation, no request to another origin; a typed message over the limit is refused with the
limit named and stays in the box.
"""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import browser_factory, make_speech, netns, start_app, stop_app  # noqa: F401  (fixtures)
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser

SPY = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""


def library(page) -> list[str]:
    page.locator("#survey-library input").click()
    page.locator("ul.options li").first.wait_for(timeout=10000)
    items = page.locator("ul.options li").all_inner_texts()
    page.keyboard.press("Escape")
    return items


def build_survey(page, title: str) -> None:
    page.get_by_role("tab", name="Survey Builder").click()
    page.locator("#survey-title textarea").fill(title)
    page.locator("#survey-sec-title textarea").fill("Basics")
    page.locator("#survey-sec-add").click()
    wait_text(page, "#survey-outline", "Basics", timeout_s=15)
    page.locator("#survey-q-text textarea").fill("What do you think?")
    page.locator("#survey-q-add").click()
    wait_text(page, "#survey-outline", "What do you think", timeout_s=15)
    page.locator("#survey-save").click()


def test_two_visitors_surveys_are_private_and_the_page_keeps_its_csp(
    netns, browser_factory, tmp_path
):  # noqa: F811
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)
    app = start_app(netns, tmp_path, "--offline")
    try:
        a_ctx = browser_factory(wav, loop=True)
        a_ctx.add_init_script(SPY)
        a = a_ctx.new_page()
        outside: list[str] = []
        a.on(
            "request",
            lambda r: (
                outside.append(r.url) if not r.url.startswith((app.url, "data:", "blob:")) else None
            ),
        )
        a.goto(app.url)
        wait_text(a, "#identity", "belong to this browser", timeout_s=30)
        build_survey(a, "A's secret poll")
        a.wait_for_function(
            "() => [...document.querySelectorAll('#survey-library input')].some(i => i.value.includes(\"A's secret poll\"))",
            timeout=15000,
        )
        (a_file,) = list((app.data_dir / "surveys" / "owners").rglob("*.json"))
        a_bytes = a_file.read_bytes()
        a_id = json.loads(a_bytes)["id"]
        assert len(a_id) >= 24  # not guessable

        b = browser_factory(wav, loop=True).new_page()
        b.goto(app.url)
        wait_text(b, "#identity", "belong to this browser", timeout_s=30)
        b.get_by_role("tab", name="Survey Builder").click()
        b.wait_for_timeout(500)  # the library refresh on load has run (owner State change)
        assert not any("A's secret poll" in item for item in library(b))
        fetch = "async (u) => { const r = await fetch(u); return [r.status, await r.text()]; }"
        status, config = b.evaluate(fetch, "/config")
        assert status == 200 and "A's secret poll" not in config and a_id not in config
        for path in (str(a_file), str(a_file.resolve())):
            status, text = b.evaluate(fetch, "/gradio_api/file=" + path)
            assert status == 403 and "secret poll" not in text
        # B imports a file carrying A's survey id and saves it.
        hostile = json.loads(a_bytes)
        hostile["title"] = "B's takeover"
        f = tmp_path / "takeover.json"
        f.write_text(json.dumps(hostile))
        b.locator("#survey-builder").get_by_text("Import / export JSON").click()
        b.locator("#survey-import input[type=file]").set_input_files(str(f))
        wait_text(b, "#survey-outline", "B's takeover", timeout_s=15)
        b.locator("#survey-save").click()
        b.wait_for_function(
            "() => [...document.querySelectorAll('#survey-library input')].some(i => i.value.includes(\"B's takeover\"))",
            timeout=15000,
        )
        saved = sorted((app.data_dir / "surveys" / "owners").rglob("*.json"))
        assert len(saved) == 2 and a_file.read_bytes() == a_bytes  # A's survey untouched
        assert {p.parent for p in saved} != {a_file.parent}  # B's own folder

        # A, after a reload, still has A's survey and not B's.
        a.reload()
        wait_text(a, "#identity", "belong to this browser", timeout_s=30)
        a.get_by_role("tab", name="Survey Builder").click()
        a.wait_for_timeout(500)
        items = library(a)
        assert any("A's secret poll" in i for i in items) and not any(
            "takeover" in i for i in items
        ), items

        # A conversation on A's page under the CSP.
        a.get_by_role("tab", name="Conversation").click()
        start_conversation(a)
        wait_text(a, "#status", "Live", timeout_s=40)
        a.locator("#text-input textarea").fill("hello there")
        a.locator("#send-text").click()
        wait_text(a, "#transcript", "hello there", timeout_s=30)
        long = "x" * 4001
        a.locator("#text-input textarea").fill(long)
        a.locator("#send-text").click()
        a.get_by_text("limited to 4,000 characters").first.wait_for(timeout=10000)
        assert a.locator("#text-input textarea").input_value() == long
        assert long not in a.locator("#transcript").inner_text()
        violations = a.evaluate("() => window.__csp")
        assert violations == [], violations
        assert outside == [], outside
    finally:
        stop_app(app)
