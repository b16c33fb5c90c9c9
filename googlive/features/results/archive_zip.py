"""The zip export of one session (`export_zip`), with its human-readable transcript.txt."""

from __future__ import annotations

import logging
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

from googlive.features.results.archive_files import regular_files
from googlive.features.results.archive_layout import (
    ANALYSIS_FILE,
    CAPTIONS_FILE,
    DIAGRAMS_DIR,
    EVENTS_FILE,
    EVENTS_LOG_FILE,
    META_FILE,
    SNAPSHOTS_DIR,
    SURVEY_FILE,
    TITLE_FILE,
    TRANSCRIPT_FILE,
    format_clock,
)
from googlive.features.results.archive_read import load_session
from googlive.features.results.archive_records import ArchivedSession, estimated_duration

logger = logging.getLogger(__name__)


def render_transcript_text(session: ArchivedSession) -> str:
    """Human-readable transcript: a header, then ``[mm:ss] Speaker: text`` lines.

    Snapshots and diagrams with a known time are interleaved as bracketed notes.
    """
    header = [
        f"Session {session.session_id}",
        f"Started: {session.started or 'unknown'}",
        f"Duration: {format_clock(estimated_duration(session))}",
    ]
    if session.survey and isinstance(session.survey.get("title"), str):
        header.append(f"Survey: {session.survey['title']}")
    entries: list[tuple[float, int, str]] = []
    speakers = {"user": "User", "model": "Gemini"}
    for i, line in enumerate(session.transcript):
        who = speakers.get(line.role, line.role.capitalize() or "?")
        entries.append((line.t_s, i, f"[{format_clock(line.t_s)}] {who}: {line.text}"))
    n = len(entries)
    for j, snap in enumerate(session.snapshots):
        t = snap.meta.get("t_s")
        if isinstance(t, int | float):
            desc = snap.meta.get("description") or snap.meta.get("reason") or ""
            note = f" {desc}" if isinstance(desc, str) and desc else ""
            entries.append((float(t), n + j, f"[{format_clock(t)}] (snapshot {snap.id}{note})"))
    n += len(session.snapshots)
    for j, dia in enumerate(session.diagrams):
        if dia.t is not None:
            title = f" {dia.title}" if dia.title else ""
            entries.append((dia.t, n + j, f"[{format_clock(dia.t)}] (diagram {dia.id}{title})"))
    entries.sort(key=lambda e: (e[0], e[1]))
    return "\n".join(header + [""] + [e[2] for e in entries]) + "\n"


_ZIP_NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_member_name(name: str) -> str:
    """Sanitise a zip member path: safe characters only, no absolute or ``..`` components."""
    parts = []
    for part in name.replace("\\", "/").split("/"):
        part = _ZIP_NAME_RE.sub("_", part).lstrip(".")
        if part:
            parts.append(part)
    if not parts:
        raise ValueError("empty member name")
    return "/".join(parts)


def _export_members(session: ArchivedSession) -> Iterable[tuple[str, Path]]:
    p = session.path
    for name in (
        TRANSCRIPT_FILE,
        EVENTS_FILE,
        EVENTS_LOG_FILE,
        META_FILE,
        ANALYSIS_FILE,
        SURVEY_FILE,
        CAPTIONS_FILE,
        TITLE_FILE,
    ):
        f = p / name
        if f.is_file() and not f.is_symlink():
            yield name, f
    for sub, suffixes in (
        (SNAPSHOTS_DIR, (".jpg", ".json")),
        (DIAGRAMS_DIR, (".mmd", ".json", ".svg", ".png")),
    ):
        for suffix in suffixes:
            for f in regular_files(p / sub, suffix):
                yield f"{sub}/{f.name}", f
    if session.recording is not None:
        yield session.recording.name, session.recording


_STORED_SUFFIXES = (".jpg", ".webm", ".mp4", ".mkv", ".ogg")


def export_zip(
    session_path: str | os.PathLike[str], dest_dir: str | os.PathLike[str] | None = None
) -> Path:
    """Write the whole session as one zip and return its path.

    Members (all under a ``<session_id>/`` folder): transcript.jsonl, events.jsonl,
    transcript.txt (human readable), meta.json, analysis.json, survey.json, captions.vtt,
    title.json and events_log.jsonl when present, snapshots/, diagrams/ (sources, and SVG/PNG exports when
    made) and the recording. Only regular files inside the session folder
    are included (symlinks are skipped) and every member name is sanitised. The zip is
    written to a fresh temporary file (in `dest_dir` if given); the caller deletes it.
    `session_path` must come from `resolve_session` (owner-checked).
    """
    session = load_session(session_path)
    fd, tmp = tempfile.mkstemp(
        prefix=f"googlive-{session.session_id}-", suffix=".zip", dir=dest_dir
    )
    os.close(fd)
    out = Path(tmp)
    prefix = safe_member_name(session.session_id)
    try:
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{prefix}/transcript.txt", render_transcript_text(session))
            for name, f in _export_members(session):
                comp = zipfile.ZIP_STORED if f.suffix in _STORED_SUFFIXES else zipfile.ZIP_DEFLATED
                zf.write(f, arcname=f"{prefix}/{safe_member_name(name)}", compress_type=comp)
    except BaseException:
        out.unlink(missing_ok=True)
        raise
    logger.info("archive exported session=%s bytes=%d", session.session_id, out.stat().st_size)
    return out
