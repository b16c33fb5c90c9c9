"""The Survey Builder as a person uses it, in Debian's Chromium: a blank survey of one's own,
fields only for the kind chosen, errors in plain words, counts that read right, Save that says
so, keeps the selection and asks before replacing, and the start hint gone during the call."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser

TOASTS = "() => document.querySelectorAll('.toast-body, [data-testid=\"toast-body\"]').length"


def pick(page, elem_id: str, option: str) -> None:
    page.locator(f"#{elem_id} input").click()
    page.get_by_role("option", name=option).first.click()


def outline_id(page) -> str:
    m = re.search(r"id ([0-9a-z-]+) ·", page.locator("#survey-outline").inner_text())
    assert m, page.locator("#survey-outline").inner_text()
    return m.group(1)


def test_building_saving_and_running_a_survey(netns, browser_factory, tmp_path):
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)
    app = start_app(netns, tmp_path, "--offline")
    try:
        ctx = browser_factory(wav, loop=True)
        page, other = ctx.new_page(), browser_factory(wav, loop=True).new_page()
        for p in (page, other):
            p.goto(app.url)
            p.get_by_role("tab", name="Survey Builder").click()
            p.wait_for_function(
                "() => /id [0-9a-f]{24} /.test(document.querySelector('#survey-outline').innerText)"
            )
        assert outline_id(page) != outline_id(other)  # not one "untitled" id for everybody
        other.close()

        page.locator("#survey-title textarea").fill("Support follow-up")
        page.locator("#survey-sec-title textarea").fill("Experience")
        page.locator("#survey-sec-add").click()
        wait_text(page, "#survey-outline", "Experience", timeout_s=15)
        # Fields follow the kind: options only for choices, the scale only for scales.
        assert (
            not page.locator("#survey-q-options").is_visible()
            and not page.locator("#survey-q-scale").is_visible()
        )
        pick(page, "survey-q-kind", "Single choice")
        page.locator("#survey-q-options").wait_for(state="visible")
        assert not page.locator("#survey-q-scale").is_visible()
        pick(page, "survey-q-kind", "Scale")
        page.locator("#survey-q-scale").wait_for(state="visible")
        assert not page.locator("#survey-q-options").is_visible()
        pick(page, "survey-q-kind", "Single choice")
        page.locator("#survey-q-options").wait_for(state="visible")
        # A refusal in plain words, in the box above the form, and no toast.
        page.locator("#survey-q-text textarea").fill("Was the problem solved?")
        page.locator("#survey-q-options textarea").fill("Yes")
        page.locator("#survey-q-add").click()
        err = wait_text(page, "#survey-error", "needs at least 2 options", timeout_s=15)
        assert (
            "Question 1 in “Experience” needs at least 2 options." in err and "sections[" not in err
        )
        assert page.evaluate(TOASTS) == 0
        page.locator("#survey-q-options textarea").fill("Yes\nPartly\nNo")
        page.locator("#survey-q-add").click()
        outline = wait_text(page, "#survey-outline", "1 section, 1 question", timeout_s=15)
        assert "(s)" not in outline and "1 questions" not in outline
        assert page.locator("#survey-error").inner_text().strip() == ""
        pick(page, "survey-q-kind", "Open answer")
        page.locator("#survey-q-text textarea").fill("What could we do better?")
        page.locator("#survey-q-add").click()
        wait_text(page, "#survey-outline", "2 questions", timeout_s=15)
        # Select the first question, Save: confirmed, and the selection stays.
        pick(page, "survey-question", "1. Was the problem solved?")
        page.wait_for_function(
            "() => document.querySelector('#survey-q-text textarea').value === 'Was the problem solved?'"
        )
        page.locator("#survey-save").click()
        wait_text(page, "#survey-error", "Saved “Support follow-up”.", timeout_s=15)
        assert page.locator("#survey-question input").input_value() == "1. Was the problem solved?"
        assert page.locator("#survey-q-text textarea").input_value() == "Was the problem solved?"
        assert page.evaluate(TOASTS) == 0
        # Changed and saved again: asked first; Cancel keeps the file, Replace it writes it.
        [saved] = list((app.data_dir / "surveys").rglob("*.json"))
        before = saved.read_text()
        page.locator("#survey-q-text textarea").fill("Was your problem solved?")
        page.locator("#survey-q-update").click()
        wait_text(page, "#survey-outline", "Was your problem solved?", timeout_s=15)
        page.locator("#survey-save").click()
        wait_text(page, "#survey-ask-note", "Replace your saved “Support follow-up”", timeout_s=15)
        page.wait_for_function("() => document.activeElement.id === 'survey-ask-yes'", timeout=5000)
        page.locator("#survey-ask-no").click()
        wait_text(page, "#survey-error", "Not saved", timeout_s=10)
        assert saved.read_text() == before
        page.locator("#survey-save").click()
        page.locator("#survey-ask-yes").wait_for(state="visible")
        page.locator("#survey-ask-yes").click()
        wait_text(page, "#survey-error", "Saved “Support follow-up”.", timeout_s=15)
        assert "Was your problem solved?" in saved.read_text()
        assert len(list((app.data_dir / "surveys").rglob("*.json"))) == 1

        # Run it: the hint to press record shows until the call is live, then goes.
        page.locator("#survey-start").click()
        active = wait_text(page, "#survey-active", "Support follow-up", timeout_s=15)
        assert "(2 questions)" in active
        assert page.locator("#survey-active .survey-start-hint").is_visible()
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=30)
        page.wait_for_function(
            "() => { const h = document.querySelector('#survey-active .survey-start-hint'); return h && !h.offsetParent; }",
            timeout=10000,
        )
        assert "Support follow-up" in page.locator("#survey-active").inner_text()
    finally:
        stop_app(app)
