"""Rendering model- and user-controlled text cannot inject markup, links or directives."""

from __future__ import annotations

import pytest
from markdown_it import MarkdownIt

from googlive.features.tools import DiagramHistory, Snapshot
from googlive.render import (
    TranscriptLine,
    escape_text,
    mermaid_block,
    render_diagram_panel,
    render_snapshot_caption,
    render_transcript_html,
)

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    "![x](http://evil/)",
    "```\n</div><script>alert(1)</script>\n```",
    '%%{init: {"securityLevel":"loose"}}%%',
    "<a href='javascript:alert(1)'>hi</a>",
    "$$\\href{javascript:alert(1)}{x}$$",
]

_MD = MarkdownIt("commonmark", {"html": True})


def _assert_inert(html: str) -> None:
    assert "<" not in html and ">" not in html  # no tag can open, so onerror= etc. stay text
    assert "javascript:" not in html.lower()
    assert "](" not in html and "```" not in html


@pytest.mark.parametrize("payload", HOSTILE)
def test_escape_text_is_inert_as_html_and_markdown(payload: str) -> None:
    """Escaped text has no tags, links, images or fences, also after Markdown rendering."""
    out = escape_text(payload)
    _assert_inert(out)
    rendered = _MD.render(out)
    assert "<script" not in rendered and "<img" not in rendered and "<a " not in rendered
    assert "<code" not in rendered


@pytest.mark.parametrize("payload", HOSTILE)
def test_transcript_lines_are_inert(payload: str) -> None:
    """A hostile transcript line renders as text, in gr.HTML and in gr.Markdown."""
    html = render_transcript_html(
        [TranscriptLine("user", payload, 0.0), TranscriptLine("model", payload, 1.0, 812.4)]
    )
    for rendered in (html, _MD.render(html)):
        low = rendered.lower()
        assert (
            "<script" not in low
            and "<img" not in low
            and "<a " not in low
            and "javascript:" not in low
        )
    assert "812 ms" in html and html.count('class="gl-line') == 2


def test_transcript_newlines_cannot_end_the_html_block() -> None:
    """Blank lines in text become <br>, so Markdown never starts parsing inside the transcript."""
    html = render_transcript_html([TranscriptLine("user", "a\n\n[x](http://evil/)", 0.0)])
    assert "\n" not in html and "<a " not in _MD.render(html)


@pytest.mark.parametrize("payload", HOSTILE)
def test_snapshot_caption_is_inert(payload: str) -> None:
    """The reason in a snapshot caption is escaped."""
    snap = Snapshot("s", 0.0, payload, b"", 640, 480)
    cap = render_snapshot_caption(snap)
    _assert_inert(cap)
    assert "640×480" in cap


def test_mermaid_block_escapes_markup_but_keeps_one_fence() -> None:
    """Labels with tags are entity-escaped inside exactly one ```mermaid fence."""
    # (a label holding an HTML tag is withheld altogether: see test_mermaid_safety.py)
    block = mermaid_block('graph TD\n  A["a < b & c"] --> B["`**md**`"]')
    assert block.startswith("```mermaid\n") and block.endswith("\n```")
    assert block.count("```") == 2
    assert "<" not in block.split("```")[1].split("%%{")[0] and "a &lt; b &amp; c" in block
    assert "-&gt;" in block  # the arrow survives as an entity mermaid decodes


@pytest.mark.parametrize(
    "code",
    [
        '%%{init: {"securityLevel":"loose"}}%%\ngraph TD\n  A-->B',
        'graph TD\n  A-->B\n  click A href "javascript:alert(1)"',
        "graph TD\n  A-->B\n```\n<script>alert(1)</script>\n```mermaid",
        "---\nconfig:\n  securityLevel: loose\n---\ngraph TD\n  A-->B",
    ],
)
def test_mermaid_block_withholds_unsafe_sources(code: str) -> None:
    """Directives, javascript links and fence breakers never reach a mermaid block."""
    block = mermaid_block(code)
    assert "```" not in block and "script" not in block.lower() and "init" not in block


def test_panel_shows_newest_first_and_earlier_versions_in_details() -> None:
    """Newest diagram open at the top; earlier versions collapsed, newest first; titles escaped."""
    h = DiagramHistory()
    h.add("graph TD\n  A-->B", "<b>one</b>", when=0.0)
    h.add("graph TD\n  B-->C", "two [x](javascript:alert(1))", when=1.0)
    h.add("graph TD\n  C-->D", "three", when=2.0)
    md = render_diagram_panel(h.newest_first())
    assert md.index("v3") < md.index("v2") < md.index("v1")
    assert md.count("<details>") == 2 and md.count("```mermaid") == 3
    assert "<b>" not in md and "](" not in md and "javascript:" not in md
    assert md.index("C--&gt;D") < md.index("<details>")


def test_empty_panel() -> None:
    """No diagrams gives a placeholder."""
    assert "No diagram" in render_diagram_panel([])
