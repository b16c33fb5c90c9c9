"""Finding 2 in real Chromium: hostile Mermaid from the model puts no HTML element on the page
and makes no request to another origin.

Each case of the corpus (tests/reliability/hostile_diagrams.py) goes into the app's real
Diagram panel, on the app's real page with its CSP (tests/reliability/diagram_app.py):
- "gated": the app's path. The safety gate withholds it;
- "ungated": the gate bypassed, so the browser side alone is tested with the same text (labels
  drawn as SVG text, mermaid's sanitiser, the CSP): still no HTML element, no request out.
Benign diagrams still render as SVG (a gate that refused everything would pass the rest).
"""

from __future__ import annotations

import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, _free_port, browser_factory, netns  # noqa: F401  (fixtures)
from tests.reliability.hostile_diagrams import BENIGN, HOSTILE
from tests.reliability.util import record

pytestmark = pytest.mark.browser

CSP_SPY = """
window.__csp = [];
window.__rejections = 0;
window.__rejected = [];
window.addEventListener('unhandledrejection', e => { window.__rejections++;
  window.__rejected.push(String(e.reason && (e.reason.message || e.reason)).slice(0, 200)); });
document.addEventListener('securitypolicyviolation', e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + (e.blockedURI === 'eval' ? ' at ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber : '')));
"""

FOUND_JS = """
() => {
  const p = document.querySelector('#diagram');
  const q = s => p.querySelectorAll(s).length;
  return {
    html: q('img, form, input, button, textarea, select, iframe, object, embed, details, script, video, audio'),
    links: q('a[href], a[*|href]'),
    foreign_html: [...p.querySelectorAll('foreignObject')].filter(f => f.querySelector('*')).length,
    svg: q('svg[aria-roledescription]'),
    withheld: p.innerText.includes('withheld'),
    text: p.innerText.slice(0, 300),
    rejected: window.__rejected.slice(-3),
  };
}
"""


def silence(path: Path) -> Path:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(b"\0\0" * 48000)
    return path


def start_page_app(ns, tmp: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    log = tmp / "diagram-app.log"
    argv = ns.wrap(
        [sys.executable, "-m", "tests.reliability.diagram_app", str(port), str(tmp / "data")]
    )
    proc = subprocess.Popen(
        argv,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={
            "PYTHONUNBUFFERED": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "PATH": "/usr/bin:/bin",
            "GRADIO_TEMP_DIR": str(tmp / "gradio-tmp"),
        },
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text(errors="replace")[-3000:])
        probe = subprocess.run(
            ns.wrap(
                [
                    sys.executable,
                    "-c",
                    f"import urllib.request;urllib.request.urlopen('{url}/',timeout=2)",
                ]
            ),
            capture_output=True,
        )
        if probe.returncode == 0:
            return proc, url, log
        time.sleep(0.3)  # polling a starting server: the condition is checked each round
    proc.kill()
    raise RuntimeError("diagram app did not start")


def show(page, case: str) -> dict:
    page.locator("#test-case textarea").fill(case)
    errors_before = page.evaluate("() => window.__rejections")
    page.locator("#test-show").click()
    name = case.split(":")[0]
    # Done when the gate's notice shows, or mermaid has drawn its SVG, or mermaid gave up.
    # Not on `data-processed`: mermaid.run sets it *before* its asynchronous render and puts the
    # SVG in only after (mermaid 11 runThrowsErrors), so under load it is seen with no SVG yet.
    # A diagram mermaid cannot draw ends as the rejection of Gradio's un-awaited
    # `mermaid.run` (runThrowsErrors throws its first error after the loop); its reason is
    # kept in `rejected` (a benign diagram ended that way once in a full run: the reason tells
    # whether mermaid or its loading failed).
    done = """([n, before]) => { const p = document.querySelector('#diagram');
                if (!p || !p.innerText.includes('case ' + n)) return false;
                if (p.innerText.includes('withheld')) return true;
                const m = p.querySelector('.mermaid');
                return (m !== null && m.querySelector('svg') !== null)
                    || window.__rejections > before; }"""
    page.wait_for_function(done, arg=[name, errors_before], timeout=20000)
    page.wait_for_timeout(300)  # an inserted <img>/<image> would request its URL at once
    # Once more: in a full run a benign case had an SVG at the first check and none 300 ms
    # later, as if the panel was drawn again; the count is taken on the drawing it settles on.
    page.wait_for_function(done, arg=[name, errors_before], timeout=20000)
    return page.evaluate(FOUND_JS)


def test_hostile_diagrams_render_no_html_and_fetch_nothing(netns, browser_factory, tmp_path):  # noqa: F811
    proc, url, log = start_page_app(netns, tmp_path)
    try:
        ctx = browser_factory(silence(tmp_path / "s.wav"))
        ctx.add_init_script(CSP_SPY)
        page = ctx.new_page()
        requests: list[str] = []
        failed: dict[str, str] = {}
        page.on("request", lambda r: requests.append(r.url))
        page.on("requestfailed", lambda r: failed.__setitem__(r.url, r.failure or ""))
        page.goto(url)
        page.locator("#test-show").wait_for(timeout=30000)
        load_violations = page.evaluate("() => window.__csp.slice()")
        results: dict[str, dict] = {}
        sent: dict[str, list[str]] = {}
        # Every gated case before any ungated one: a late request from an ungated render (the
        # browser-level defence) must not be counted against the gated case drawn after it.
        cases = (
            [f"{n}:gated" for n in HOSTILE]
            + [f"{n}:gated" for n in BENIGN]
            + [f"{n}:ungated" for n in HOSTILE]
        )
        for case in cases:
            before = len(requests)
            results[case] = show(page, case)
            sent[case] = [u for u in requests[before:] if not u.startswith((url, "data:", "blob:"))]
        violations = page.evaluate("() => window.__csp")
    finally:
        proc.terminate()
        proc.wait(15)
    record(
        "diagram_browser",
        {
            "cases": len(results),
            "requests": len(requests),
            "outside_by_case": {k: v for k, v in sent.items() if v},
            "failures": {u: f for u, f in failed.items() if not u.startswith(url)},
            "csp_violations_at_load": load_violations,
            "csp_violations": violations,
            "svg_withheld": {k: (v["svg"], v["withheld"]) for k, v in results.items()},
            "ungated_links": [k for k, v in results.items() if v["links"]],
            "rejected": {k: v["rejected"] for k, v in results.items() if v["rejected"]},
        },
    )
    assert load_violations == [], load_violations  # the page itself needs nothing the CSP forbids
    for case, urls in sent.items():
        if case.endswith(":gated"):
            assert urls == [], (case, urls)  # the app's path never even tries
        else:  # the browser side alone: anything mermaid still tried was never sent
            assert all(failed.get(u) == "csp" for u in urls), (case, urls, failed)
    for case, found in results.items():
        assert found["html"] == 0 and found["foreign_html"] == 0, (case, found)
        # Links: Gradio initialises mermaid with securityLevel "antiscript", which draws
        # `click ... href` as <a href> (a directive cannot change securityLevel): only the
        # gate stops those, so only the gated path must have none.
        if case.endswith(":gated"):
            assert found["links"] == 0, (case, found)
    for name in HOSTILE:
        assert results[f"{name}:gated"]["withheld"], (name, results[f"{name}:gated"])
    for name in BENIGN:
        found = results[f"{name}:gated"]
        assert found["svg"] == 1 and not found["withheld"], f"{name}: {found}"
