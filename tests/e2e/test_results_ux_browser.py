"""Results and Past sessions as a person uses them, in Debian's Chromium (offline demo):

a survey interview ends in Results that show each question with its recorded answer, the
transcript line and time it came from, and what is still unanswered; snapshot thumbnails with
captions and a full-size view; a player with a poster frame that is not black and the
captions as a track; diagrams that open large, download as SVG and whose source copies; a zip
with captions.vtt. Past sessions lists them at once in the browser's time zone, searches,
renames and deletes. With GOOGLIVE_UPDATE_SCREENSHOTS=1 it refreshes the README screenshots.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from googlive.features.results.past import when_label
from tests.e2e.conftest import make_speech, start_app, stop_app
from tests.e2e.helpers import start_conversation, wait_text

pytestmark = pytest.mark.browser

ASSETS = Path(__file__).resolve().parents[2] / "assets"
TZ = "Asia/Tokyo"  # the browser's zone, not the server's (UTC here)

POSTER_STATS = """async () => {
  const v = document.querySelector('#results-video video');
  const url = v && v.getAttribute('poster');
  if (!url) return null;
  const img = new Image(); img.src = url; await img.decode();
  const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let s = 0; for (let i = 0; i < d.length; i += 4) s += (d[i] + d[i + 1] + d[i + 2]) / 3;
  const track = v.querySelector('track[kind=captions]');
  const vtt = track ? await (await fetch(track.src)).text() : '';
  return {mean: s / (d.length / 4), width: c.width, vtt: vtt};
}"""


def shot(page, name: str, tmp: Path, height: int = 1250) -> None:
    """The top of the page (what a README reader needs to see), at a fixed size."""
    target = ASSETS / name if os.environ.get("GOOGLIVE_UPDATE_SCREENSHOTS") == "1" else tmp / name
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(
        path=str(target), clip={"x": 0, "y": 0, "width": 1400, "height": height}, full_page=True
    )


def add_older_sessions(session: Path, n: int) -> list[str]:
    """Copies of a finished session under the same owner, on earlier days, with own titles."""
    ids = []
    now = datetime.now(UTC)
    for k in range(1, n + 1):
        # Whole days back: k calendar days earlier in every zone (Tokyo has no DST). With an
        # hour more per day, "yesterday" became "Tue" in the hour after midnight in Tokyo.
        when = now - timedelta(days=k)
        sid = f"{when:%Y%m%dT%H%M%SZ}-{k:06x}"
        copy = session.parent / sid
        shutil.copytree(session, copy, ignore=shutil.ignore_patterns("recording.*", "poster.jpg"))
        meta = json.loads((copy / "meta.json").read_text())
        meta.update(
            session_id=sid, started=f"{when:%Y-%m-%dT%H:%M:%SZ}", started_unix=when.timestamp()
        )
        meta.pop("t0_unix", None)
        (copy / "meta.json").write_text(json.dumps(meta))
        (copy / "survey.json").unlink()
        (copy / "title.json").write_text(
            json.dumps({"title": "Garden party plans" if k == 3 else f"Check-in {k}"})
        )
        ids.append(sid)
    return ids


def test_survey_results_and_past_sessions(netns, browser_factory, tmp_path):
    wav = make_speech(tmp_path / "quiet.wav", "", pad_before=0.5, pad_after=0.5)  # a silent mic
    app = start_app(netns, tmp_path, "--offline")
    try:
        ctx = browser_factory(wav, loop=True, timezone_id=TZ)
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=app.url)
        page = ctx.new_page()
        page.goto(app.url)
        # A survey interview from a template.
        page.get_by_role("tab", name="Survey Builder").click()
        page.locator("#survey-library input").click()
        page.get_by_role("option", name="Product feedback").first.click()
        page.locator("#survey-load").click()
        wait_text(page, "#survey-outline", "How often", timeout_s=15)
        page.locator("#survey-start").click()
        wait_text(page, "#survey-active", "Product feedback", timeout_s=15)
        start_conversation(page)
        wait_text(page, "#status", "Live", timeout_s=30)
        for msg, tool in (
            ("My answer is every day, mostly for reports", "record_answer"),
            ("Please take a picture of my desk", "take_picture"),
            ("Draw a diagram of the flow", "draw_diagram"),
        ):
            page.locator("#text-input textarea").fill(msg)
            page.locator("#send-text").click()
            # The tool's card (draw_diagram's answer is SILENT: no spoken line to wait for).
            page.wait_for_selector(
                f'#transcript .card[data-tool="{tool}"][data-state="ok"]', timeout=30000
            )
        page.locator("#end-session").click()
        wait_text(page, "#results-analysis", "What the transcript shows", timeout_s=40)
        page.wait_for_selector('#status .st[data-state="ended"]', timeout=20000)
        [session] = [p.parent for p in (app.data_dir / "sessions").glob("*/*/meta.json")]
        meta = json.loads((session / "meta.json").read_text())

        # Header: local time in the browser's zone, turns counted as the user took them.
        # (the header can draw after the analysis text: seen once with the empty header up)
        header = wait_text(page, "#results-header", "3 turns from you", timeout_s=15)
        assert when_label(meta["started_unix"], TZ) in header and "3 turns from you" in header
        # Survey answers: the recorded one with its transcript line and time, the rest unanswered.
        survey = page.locator("#results-survey")
        assert "1 of 8 questions answered" in survey.inner_text()
        q1 = survey.locator('[data-qid="q1"]')
        assert q1.get_attribute("data-state") == "recorded"
        assert "My answer is every day, mostly for reports" in q1.locator(".sv-a").inner_text()
        evidence = q1.locator(".sv-ev li").first.inner_text()
        assert evidence.startswith("00:0") and "every day, mostly for reports" in evidence
        assert survey.locator('[data-state="unanswered"]').count() == 7
        # The offline analysis: counted from the transcript, no filler, no placeholder twice.
        analysis = page.locator("#results-analysis").inner_text()
        # Counted from the saved transcript (draw_diagram's SILENT answer adds no reply).
        lines = [json.loads(x) for x in (session / "transcript.jsonl").read_text().splitlines()]
        replies = sum(1 for ln in lines if ln.get("role") == "model")
        assert replies >= 2, lines
        said = f"{replies} repl{'y' if replies == 1 else 'ies'}"
        assert f"3 turns from you (3 typed) and {said}" in analysis, analysis
        assert (
            "turn(s)" not in analysis
            and "due: 00:00" not in analysis  # a line typed in the first second is at 00:00
            and "Gemini would list" not in analysis
        )

        # Snapshots: a thumbnail with its caption, then the full-size view with a download.
        # The gallery can draw a moment after the analysis text (0 thumbnails seen at this point
        # in a full run), so wait for its first thumbnail, then count.
        thumbs = page.locator("#results-snapshots .grid-container .thumbnail-item")
        thumbs.first.wait_for(timeout=15000)
        assert thumbs.count() == 1
        caption = thumbs.first.inner_text()
        assert caption.startswith("00:") and "taking a picture" in caption
        assert thumbs.first.bounding_box()["width"] < 400  # a thumbnail, not the full width
        thumbs.first.click()
        # The full-size view opens, then shows the stored picture at its own size: the camera's
        # 640x480 (the page hints the camera "detail", so a busy browser drops frames, not
        # pixels: 480x360 was stored before, seen in full runs).
        [shot_file] = (session / "snapshots").glob("*.jpg")
        with Image.open(shot_file) as im:
            assert im.size == (640, 480), im.size
        page.locator("#results-snapshots .preview img").first.wait_for(timeout=20000)
        page.wait_for_function(
            "() => { const i = document.querySelector('#results-snapshots .preview img');"
            " return i && i.complete && i.naturalWidth === 640; }",
            timeout=20000,
        )
        assert page.locator(
            '#results-snapshots .preview button[aria-label="Download"]'
        ).is_visible()
        page.locator('#results-snapshots .preview button[aria-label="Close"]').click()

        # The player: a poster that is not black, and the captions as its track.
        page.wait_for_function(
            "() => { const v = document.querySelector('#results-video video');"
            " return v && v.getAttribute('poster'); }",
            timeout=15000,
        )
        stats = page.evaluate(POSTER_STATS)
        assert stats["mean"] > 16 and stats["width"] >= 320, stats
        assert stats["vtt"].startswith("WEBVTT") and "My answer is every day" in stats["vtt"]

        # Diagrams: open large (Escape closes), download as SVG, copy the source.
        page.wait_for_selector("#results-diagrams .gl-dia-tools", timeout=15000)
        page.locator(".gl-dia-tools button[data-action=open]").first.click()
        page.wait_for_selector("#gl-diagram-dialog[open] svg")
        big = page.locator("#gl-diagram-dialog svg").bounding_box()
        small = page.locator("#results-diagrams .mermaid svg").first.bounding_box()
        assert big["width"] > small["width"]
        page.keyboard.press("Escape")
        page.wait_for_selector("#gl-diagram-dialog", state="hidden")
        with page.expect_download() as dl:
            page.locator(".gl-dia-tools button[data-action=download]").first.click()
        svg = Path(dl.value.path()).read_text()
        assert (
            dl.value.suggested_filename == "diagram-1.svg"
            and svg.startswith("<?xml")
            and "<svg" in svg
        )
        code = page.locator("#results-diagram-source")
        assert "flowchart TD" in code.inner_text()
        code.locator('button[aria-label="Copy diagram source"]').click()
        assert page.evaluate("() => navigator.clipboard.readText()").startswith("flowchart TD")

        # The zip holds the captions.
        page.locator("#results-zip").click()
        link = page.locator("#results-zip-file a[download]").first
        link.wait_for(timeout=15000)
        with page.expect_download() as dl:
            link.click()
        with zipfile.ZipFile(dl.value.path()) as zf:
            names = {n.split("/", 1)[1] for n in zf.namelist()}
        assert {"captions.vtt", "survey.json", "analysis.json", "recording.webm"} <= names
        shot(page, "screenshot-results.png", tmp_path, 1300)

        # Past sessions: ten of them, newest first, searchable, in the browser's time zone.
        older = add_older_sessions(session, 9)
        page.get_by_role("tab", name="Past sessions").click()
        page.locator("#past-refresh").click()
        page.wait_for_function(
            "() => document.querySelectorAll('#past-sessions input[type=radio]').length === 10",
            timeout=15000,
        )
        radios = page.locator("#past-sessions input[type=radio]")
        assert [radios.nth(i).get_attribute("value") for i in range(10)] == [session.name, *older]
        labels = page.locator("#past-sessions label").all_inner_texts()
        assert labels[0].startswith("Product feedback — today ") and "3 turns" in labels[0]
        assert labels[1].startswith("Check-in 1 — yesterday ")
        search = page.locator("#past-search textarea, #past-search input").first
        assert search.is_visible()
        search.fill("garden")
        page.wait_for_function(
            "() => document.querySelectorAll('#past-sessions input[type=radio]').length === 1"
        )
        assert page.locator("#past-sessions label").inner_text().startswith("Garden party plans — ")
        # Delete asks first, then removes the files and says what went.
        page.locator("#past-sessions label").first.click()
        page.locator("#past-delete").click()
        wait_text(page, "#past-delete-note", "Garden party plans", timeout_s=10)
        page.locator("#past-delete-yes").click()
        status = wait_text(page, "#past-status", "Deleted", timeout_s=10)
        assert "“Garden party plans”" in status and "gone from this server" in status
        assert not (session.parent / older[2]).exists()
        search.fill("")
        page.wait_for_function(
            "() => document.querySelectorAll('#past-sessions input[type=radio]').length === 9"
        )
        # Rename the interview; the Results header follows.
        page.locator("#past-sessions label").first.click()
        page.locator("#past-rename").click()
        box = page.locator("#past-rename-text textarea, #past-rename-text input").first
        box.wait_for(state="visible")
        box.fill("Customer call with Sam")
        box.press("Enter")
        wait_text(page, "#past-status", "Renamed to “Customer call with Sam”", timeout_s=10)
        assert (
            page.locator("#past-sessions label")
            .first.inner_text()
            .startswith("Customer call with Sam — today")
        )
        assert json.loads((session / "title.json").read_text()) == {
            "title": "Customer call with Sam"
        }
        wait_text(page, "#results-header", "Customer call with Sam", timeout_s=10)
        page.locator("#past-sessions label").first.click()
        shot(page, "screenshot-past-sessions.png", tmp_path, 760)
        # Open results from the list.
        page.locator("#past-sessions label").nth(1).click()
        page.locator("#past-open").click()
        wait_text(page, "#results-header", "Check-in 1", timeout_s=15)
        page.wait_for_function(
            "() => document.activeElement.matches('#results-header h2')", timeout=10000
        )
    finally:
        stop_app(app)
