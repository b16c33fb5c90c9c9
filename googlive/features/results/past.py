"""Past sessions as a person reads them (pure): local times, durations, labels and search.

Times are shown in the browser's time zone, which the page sends (an IANA name from
`Intl.DateTimeFormat().resolvedOptions().timeZone`); an unknown or missing name falls back to
UTC and says so. `when_label` is relative near today ("today 20:24", "yesterday 09:05"),
weekday names within the last week, and a date beyond that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SEARCH_FROM = 8  # the search box appears when there are more sessions than this
_TZ_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")


def browser_zone(name: str | None) -> tuple[tzinfo, bool]:
    """(zone, known): the browser's IANA zone, or UTC (known False) for a bad or empty name."""
    if isinstance(name, str) and 0 < len(name) <= 64 and _TZ_NAME.match(name):
        try:
            return ZoneInfo(name), True
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    return UTC, False


def when_label(started_unix: float | None, tz_name: str | None, now: datetime | None = None) -> str:
    """'today 20:24', 'yesterday 20:24', 'Mon 20:24' (within a week), '3 Nov 20:24', or
    '3 Nov 2025 20:24' (another year); ' UTC' is appended when the zone is not known."""
    if not isinstance(started_unix, int | float):
        return "unknown time"
    zone, known = browser_zone(tz_name)
    t = datetime.fromtimestamp(float(started_unix), zone)
    now = (now or datetime.now(UTC)).astimezone(zone)
    days = (now.date() - t.date()).days
    hm = f"{t:%H:%M}"
    if days == 0:
        label = f"today {hm}"
    elif days == 1:
        label = f"yesterday {hm}"
    elif 1 < days < 7:
        label = f"{t:%a} {hm}"
    elif t.year == now.year:
        label = f"{t.day} {t:%b} {hm}"
    else:
        label = f"{t.day} {t:%b} {t.year} {hm}"
    return label if known else label + " UTC"


def duration_label(seconds: float | None) -> str:
    """'45 s', '3 min', '1 h 05 min'."""
    if not isinstance(seconds, int | float) or seconds != seconds or seconds < 0:
        return "unknown length"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, rest = divmod(s, 60)
        return f"{m} min {rest:02d} s" if m < 10 and rest else f"{m} min"
    h, rest = divmod(s, 3600)
    return f"{h} h {rest // 60:02d} min"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@dataclass(frozen=True, slots=True)
class PastRow:
    """One session in the Past sessions list."""

    id: str
    title: str
    label: str  # what the list shows
    search: str  # what the search matches (case-folded)


def past_row(s: Any, tz_name: str | None, now: datetime | None = None) -> PastRow:
    """The list row of an `archive_records.SessionSummary`."""
    started = getattr(s, "started_unix", None)
    bits = [when_label(started, tz_name, now), duration_label(getattr(s, "duration_s", None))]
    turns = getattr(s, "user_turns", None)
    if isinstance(turns, int):
        bits.append(plural(turns, "turn"))
    if getattr(s, "has_recording", False):
        bits.append("recording")
    if getattr(s, "has_analysis", False):  # a failed analysis is saved too
        bits.append("analysed" if getattr(s, "analysis_ok", True) else "analysis failed")
    if not getattr(s, "mine", True):
        bits.append("shared")
    title = str(getattr(s, "title", "") or "Conversation")
    label = f"{title} — {' · '.join(bits)}"
    return PastRow(str(s.id), title, label, label.casefold())


def filter_rows(rows: Sequence[PastRow], query: str | None) -> list[PastRow]:
    """Rows whose label holds every word of `query` (case-insensitive); all rows for ''."""
    words = (query or "").casefold().split()
    return [r for r in rows if all(w in r.search for w in words)]


def pick_update(selected: str | None, shown_ids: set[str]) -> dict[str, Any]:
    """The list's selection in a new listing (the `value` of its gr.update): kept if still
    shown, cleared if not. With nothing selected when the listing was asked for, `value` is
    left out: a pick the user made while the listing was on its way stays (a late search
    result cleared it, and the Delete that followed said "Select a session in the list
    first", seen in our browser test)."""
    if not selected:
        return {}
    return {"value": selected if selected in shown_ids else None}
