"""Reading one session folder back into an `ArchivedSession` (`load_session`)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from googlive.features.results.archive_files import (
    find_recording,
    read_json,
    read_jsonl,
    regular_files,
)
from googlive.features.results.archive_layout import (
    ANALYSIS_FILE,
    DIAGRAMS_DIR,
    EVENTS_FILE,
    META_FILE,
    SNAPSHOTS_DIR,
    SURVEY_FILE,
    TITLE_FILE,
    TRANSCRIPT_FILE,
    SessionNotFound,
    is_valid_session_id,
)
from googlive.features.results.archive_records import (
    ArchivedSession,
    DiagramInfo,
    SnapshotInfo,
    TranscriptLine,
)


def load_session(path: str | os.PathLike[str]) -> ArchivedSession:
    """Read a whole session folder back. Torn or undecodable JSON lines are skipped and counted.

    Raises `SessionNotFound` when `path` is not a session folder.
    """
    p = Path(path)
    if not is_valid_session_id(p.name) or p.is_symlink() or not p.is_dir():
        raise SessionNotFound("no such session")
    meta = read_json(p / META_FILE) or {}
    t_recs, skipped_t = read_jsonl(p / TRANSCRIPT_FILE)
    events, skipped_e = read_jsonl(p / EVENTS_FILE)
    transcript: list[TranscriptLine] = []
    walls: list[float] = []
    t0_guesses: list[float] = []
    for rec in t_recs:
        try:
            lat = rec.get("latency_ms")
            transcript.append(
                TranscriptLine(
                    role=str(rec["role"]),
                    text=str(rec["text"]),
                    t_s=float(rec["t_s"]),
                    turn=int(rec["turn"]),
                    latency_ms=float(lat) if isinstance(lat, int | float) else None,
                )
            )
        except (KeyError, TypeError, ValueError):
            skipped_t += 1
            continue
        if isinstance(rec.get("wall"), int | float):
            walls.append(float(rec["wall"]))
            t0_guesses.append(float(rec["wall"]) - float(rec["t_s"]))
    walls += [float(e["wall"]) for e in events if isinstance(e.get("wall"), int | float)]
    snapshots = [
        SnapshotInfo(id=img.stem, path=img, meta=read_json(img.with_suffix(".json")) or {})
        for img in regular_files(p / SNAPSHOTS_DIR, ".jpg")
    ]
    diagrams: list[DiagramInfo] = []
    for src in regular_files(p / DIAGRAMS_DIR, ".mmd"):
        info = read_json(src.with_suffix(".json")) or {}
        t = info.get("t")
        diagrams.append(
            DiagramInfo(
                id=src.stem,
                source=src.read_text(encoding="utf-8", errors="replace"),
                title=str(info.get("title", "")),
                t=float(t) if isinstance(t, int | float) else None,
            )
        )
    recording = find_recording(p)
    custom = (read_json(p / TITLE_FILE) or {}).get("title")
    session = ArchivedSession(
        path=p,
        session_id=p.name,
        meta=meta,
        transcript=transcript,
        events=events,
        snapshots=snapshots,
        diagrams=diagrams,
        recording=recording,
        analysis=read_json(p / ANALYSIS_FILE),
        survey=read_json(p / SURVEY_FILE),
        skipped_lines=skipped_t + skipped_e,
        last_wall=max(walls, default=None),
        custom_title=" ".join(custom.split()) or None if isinstance(custom, str) else None,
        t0_unix=_t0_unix(meta, t0_guesses),
    )
    return session


def _t0_unix(meta: Mapping[str, Any], guesses: list[float]) -> float | None:
    """The wall clock at session time 0: meta's `t0_unix` (written by the archive feature),
    else the earliest line's write time minus its session time (a line is written at or after
    it starts, so the smallest difference is the closest), else the folder's start time."""
    t0 = meta.get("t0_unix")
    if isinstance(t0, int | float):
        return float(t0)
    if guesses:
        return min(guesses)
    started = meta.get("started_unix")
    return float(started) if isinstance(started, int | float) else None
