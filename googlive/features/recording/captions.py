"""WebVTT captions for a session recording (pure).

`webvtt(lines)` turns transcript lines (role, text, start_s, end_s; seconds on the recording's
timeline, the same `t` the recorder uses) into a WebVTT file that a `<track kind="captions">`
next to the recording's `<video>` shows in step with the audio.

What it guarantees, whatever the text holds:
- text is escaped per the WebVTT spec: `&` -> `&amp;`, `<` -> `&lt;`, `>` -> `&gt;`, so no
  tag can be opened and `-->` cannot appear in a cue; line breaks, tabs and other control
  characters become spaces (a blank line would end the cue), NUL and lone surrogates are
  replaced;
- each cue is one speaker, written as a voice span: `<v User>...</v>` or `<v Gemini>...</v>`;
- text is wrapped at `width` characters (words longer than that are split) into cues of at
  most `max_lines` lines; a line too long for one cue becomes consecutive cues that share its
  time in proportion to their length;
- timings are valid: cues are in start order, start >= 0, end > start. A line with no
  duration (end <= start, or no end) gets one from its length (reading speed
  `_CHARS_PER_S`, between `_MIN_CUE_S` and `_MAX_CUE_S`), cut short where the same speaker's
  next line starts. Different speakers may overlap (talking over each other, a barge-in);
  players show overlapping cues together. Lines with empty text or non-finite times are left
  out.
"""

from __future__ import annotations

import math
import re
import textwrap
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_CHARS_PER_S = 15.0
_MIN_CUE_S = 1.0
_MAX_CUE_S = 6.0

VOICE_NAMES = {"user": "User", "model": "Gemini"}


@dataclass(frozen=True, slots=True)
class CaptionLine:
    """One transcript line on the recording's timeline. `role` is "user" or "model"."""

    role: str
    text: str
    start_s: float
    end_s: float | None = None


def webvtt(lines: Iterable[Any], *, width: int = 42, max_lines: int = 2) -> str:
    """Return a WebVTT document for `lines` (see the module docstring for the guarantees).

    Each item is a `CaptionLine`, any object with `role`, `text`, `start_s` and `end_s`
    attributes, or a `(role, text, start_s, end_s)` tuple. A role other than user/model is
    named "Speaker".
    """
    if width < 8 or max_lines < 1:
        raise ValueError("width must be >= 8 and max_lines >= 1")
    items = [c for c in (_coerce(x) for x in lines) if c is not None]
    items.sort(key=lambda c: c.start_s)  # stable: equal starts keep their order
    cues: list[tuple[int, int, str]] = []
    for line, start, end in _fix_durations(items):
        voice = VOICE_NAMES.get(line.role, "Speaker")
        wrapped = textwrap.wrap(
            line.text, width=width, break_long_words=True, break_on_hyphens=False
        )
        chunks = [wrapped[i : i + max_lines] for i in range(0, len(wrapped), max_lines)]
        sizes = [len(" ".join(c)) for c in chunks]
        t0, done = start, 0
        for chunk, size in zip(chunks, sizes, strict=True):
            done += size
            t1 = max(t0 + 1, start + round((end - start) * done / sum(sizes)))
            body = "\n".join(_escape(s) for s in chunk)
            cues.append((t0, t1, f"<v {voice}>{body}</v>"))
            t0 = t1
    cues.sort(key=lambda c: c[0])  # stable: a split line's parts stay in order
    out = ["WEBVTT", ""]
    for n, (t0, t1, body) in enumerate(cues, 1):
        out += [str(n), f"{_ts(t0)} --> {_ts(t1)}", body, ""]
    return "\n".join(out)


def _coerce(x: Any) -> CaptionLine | None:
    if isinstance(x, tuple):
        role, text, start, end = (list(x) + [None] * 4)[:4]
    else:
        role, text, start, end = x.role, x.text, x.start_s, getattr(x, "end_s", None)
    role = str(getattr(role, "value", role)).lower()
    text = _clean(str(text))
    try:
        start = float(start)
        end = None if end is None else float(end)
    except (TypeError, ValueError):
        return None
    if not text or not math.isfinite(start) or (end is not None and not math.isfinite(end)):
        return None
    return CaptionLine(role, text, max(0.0, start), end)


def _fix_durations(items: list[CaptionLine]) -> list[tuple[CaptionLine, int, int]]:
    """Each line with its (start, end) in whole milliseconds, end > start."""
    result = []
    for i, c in enumerate(items):
        start = _ms(c.start_s)
        end = _ms(c.end_s) if c.end_s is not None else start
        if end <= start:
            want = min(_MAX_CUE_S, max(_MIN_CUE_S, len(c.text) / _CHARS_PER_S))
            end = start + round(want * 1000)
            nxt = next((d for d in items[i + 1 :] if d.role == c.role), None)
            if nxt is not None and _ms(nxt.start_s) > start:
                end = min(end, _ms(nxt.start_s))
        result.append((c, start, end))
    return result


_SPACES = re.compile(r"\s+")


def _clean(text: str) -> str:
    """Collapse all whitespace and control characters to single spaces; replace NUL and
    lone surrogates with U+FFFD."""
    chars = []
    for ch in text:
        cat = unicodedata.category(ch)
        if ch == "\0" or cat == "Cs":
            chars.append("\ufffd")
        elif cat in ("Cc", "Zl", "Zp"):
            chars.append(" ")
        else:
            chars.append(ch)
    return _SPACES.sub(" ", "".join(chars)).strip()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _ms(t: float) -> int:
    return round(t * 1000)


def _ts(ms: int) -> str:
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"
