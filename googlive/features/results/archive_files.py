"""The files of a session folder: JSON documents (atomic), JSON lines (a torn last line is
skipped), and the regular files of its subfolders and its recording (symlinks never followed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from googlive.features.results.archive_layout import ITEM_ID_RE, RECORDING_RE
from googlive.fsutil import atomic_write_bytes


def json_line(record: Mapping[str, Any]) -> str:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if "\n" in text:  # json.dumps escapes newlines in strings; belt and braces
        raise ValueError("record would span lines")
    return text + "\n"


def atomic_write_json(path: Path, data: Mapping[str, Any]) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False)
    atomic_write_bytes(path, text.encode("utf-8"))


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def read_jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    """Read a JSON-lines file; return (records, number of unreadable lines skipped).

    A torn last line (a write cut short by a kill) or any other undecodable line is
    skipped and counted, never raised. A missing file reads as empty.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    records: list[dict[str, Any]] = []
    skipped = 0
    for chunk in raw.split(b"\n"):
        if not chunk.strip():
            continue
        try:
            obj = json.loads(chunk.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            skipped += 1
            continue
        if isinstance(obj, dict):
            records.append(obj)
        else:
            skipped += 1
    return records, skipped


def regular_files(folder: Path, suffix: str) -> list[Path]:
    if not folder.is_dir() or folder.is_symlink():
        return []
    out = [
        f
        for f in folder.iterdir()
        if f.suffix == suffix
        and ITEM_ID_RE.fullmatch(f.stem)
        and f.is_file()
        and not f.is_symlink()
    ]
    return sorted(out, key=lambda f: f.name)


def find_recording(p: Path) -> Path | None:
    candidates = [
        f
        for f in p.iterdir()
        if RECORDING_RE.fullmatch(f.name)
        and f.is_file()
        and not f.is_symlink()
        and f.stat().st_size > 0
    ]
    return sorted(candidates)[0] if candidates else None
