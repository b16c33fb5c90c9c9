"""Finding 2, the gate itself: `check_safety` refuses every hostile diagram of the corpus (HTML
tags, also entity-encoded; front matter anywhere but a title block on line 1; directives;
click/href/javascript:; url()/images that would be fetched) and accepts ordinary diagrams with
arrows, <<annotations>>, 'a < b', <br> and URLs as text. The browser test renders both."""

from __future__ import annotations

import pytest

from googlive.features.tools.mermaid_check import check_mermaid, check_safety
from tests.reliability.hostile_diagrams import BENIGN, HOSTILE


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_diagram_is_refused_with_a_line_and_a_reason(name):
    errors = check_safety(HOSTILE[name])
    assert errors, name
    assert all(e.message for e in errors)
    assert not check_mermaid(HOSTILE[name]).ok


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_ordinary_diagram_passes(name):
    assert check_safety(BENIGN[name]) == []
    assert check_mermaid(BENIGN[name]).ok


def test_messages_tell_the_model_what_to_do():
    (err,) = check_safety('graph TD\n  A["<img src=x>"] --> B')
    assert err.line == 2 and "found '<img'" in err.message and "a < b" in err.message
    assert check_safety(" \n---\nconfig:\n  x: 1\n---\ngraph TD\n A-->B")[0].line == 2
    deep = "&amp;" * 3 + "lt;img"
    assert check_safety(f'graph TD\n  A["{deep.replace("&amp;", "&amp;amp;", 1)}"] --> B')
    nested = "&" + "amp;" * 12 + "lt;b"
    assert "too many times" in check_safety(f'graph TD\n  A["{nested}"]')[0].message
