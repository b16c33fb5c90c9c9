"""A bounded, redacted log of what the conversation did (connects, reconnects, goAway, barge-in,
tool calls, errors...), for the diagnostics panel and the session archive.

Entries hold ids, names, sizes, counts and durations — never what the user said or typed, never
image data, never keys: every string goes through `redact` with the connection's secrets, and
only scalar fields are kept.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

KINDS = (
    "connect",
    "reconnect",
    "goaway",
    "speech",
    "text",
    "interrupted",
    "barge-in",
    "turn",
    "tool",
    "error",
    "closed",
)
MAX_STR = 200
REDACTED = "[redacted]"

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"AIza[0-9A-Za-z_\-]{20,}"), REDACTED),  # Google API keys
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 " + REDACTED),
    (
        re.compile(
            r"(?i)\b(api[_-]?key|key|token|secret|password|authorization|access_token)\b(\s*[=:]\s*)[^\s&,;\"']+"
        ),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"data:[\w/+.\-]+;base64,[A-Za-z0-9+/=]+"), "[data]"),  # inline images
    (re.compile(r"[A-Za-z0-9+/=_\-]{64,}"), "[blob]"),  # long base64 / tokens of any kind
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the given secrets and anything key-like or blob-like replaced, shortened."""
    out = str(text)
    for s in secrets:
        if s and len(s) >= 4:
            out = out.replace(s, REDACTED)
    for pat, repl in _PATTERNS:
        out = pat.sub(repl, out)
    if len(out) > MAX_STR:
        out = out[: MAX_STR - 1] + "…"
    return out


@dataclass(frozen=True, slots=True)
class Entry:
    t: float  # session seconds
    kind: str
    msg: str
    fields: tuple[tuple[str, Any], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"t": round(self.t, 3), "kind": self.kind, "msg": self.msg, **dict(self.fields)}


class EventLog:
    """The last `maxlen` entries, redacted on the way in."""

    def __init__(self, maxlen: int = 500, secrets: Iterable[str] = ()) -> None:
        self._entries: deque[Entry] = deque(maxlen=maxlen)
        self._secrets = [s for s in secrets if s]
        self.version = 0
        self.total = 0

    def add_secret(self, secret: str) -> None:
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    def add(self, t: float, kind: str, msg: str = "", **fields: Any) -> Entry:
        clean: list[tuple[str, Any]] = []
        for k, v in fields.items():
            if isinstance(v, bool) or v is None or isinstance(v, int):
                clean.append((k, v))
            elif isinstance(v, float):
                clean.append((k, round(v, 4)))
            elif isinstance(v, (bytes, bytearray, memoryview)):
                clean.append((k + "_bytes", len(v)))  # sizes, never data
            else:
                clean.append((k, redact(str(v), self._secrets)))
        e = Entry(
            float(t), kind if kind in KINDS else "error", redact(msg, self._secrets), tuple(clean)
        )
        self._entries.append(e)
        self.version += 1
        self.total += 1
        return e

    def entries(self) -> list[dict[str, Any]]:
        """Every kept entry, oldest first, as plain dicts (for the archive and tests)."""
        return [e.as_dict() for e in self._entries]

    def raw(self) -> list[Entry]:
        return list(self._entries)

    def to_jsonl(self) -> str:
        return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in self.entries())

    def __len__(self) -> int:
        return len(self._entries)
