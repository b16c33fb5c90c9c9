"""An owner's changes to a stored session: rename it (title.json) or delete its folder."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from googlive.features.results.archive_files import (
    atomic_write_json,
    find_recording,
    regular_files,
)
from googlive.features.results.archive_layout import (
    ANALYSIS_FILE,
    CAPTIONS_FILE,
    DIAGRAMS_DIR,
    META_FILE,
    RECORDING_FILE,
    SNAPSHOTS_DIR,
    SURVEY_FILE,
    TITLE_FILE,
    TITLE_MAX_CHARS,
    TRANSCRIPT_FILE,
    SessionNotFound,
    is_valid_session_id,
)

logger = logging.getLogger(__name__)


def _checked_session_dir(session_path: str | os.PathLike[str]) -> Path:
    p = Path(session_path)
    if not is_valid_session_id(p.name) or p.is_symlink() or not (p / META_FILE).is_file():
        raise SessionNotFound("no such session")
    return p


def rename_session(session_path: str | os.PathLike[str], title: str) -> str:
    """Give a session its owner's own title (title.json, atomic); '' goes back to the automatic
    one. Returns the title kept: whitespace collapsed, at most `TITLE_MAX_CHARS` characters.

    A file of its own, not meta.json, so renaming a session whose writer is still open cannot
    race with it. `session_path` must come from `resolve_session` (owner-checked).
    """
    p = _checked_session_dir(session_path)
    if not isinstance(title, str):
        raise TypeError("title must be a string")
    clean = " ".join(title.split())[:TITLE_MAX_CHARS].strip()
    if clean:
        atomic_write_json(p / TITLE_FILE, {"title": clean})
    else:
        (p / TITLE_FILE).unlink(missing_ok=True)
    logger.info("archive renamed session=%s chars=%d", p.name, len(clean))
    return clean


@dataclass(frozen=True, slots=True)
class Deleted:
    """What `delete_session` removed: the file count, what they held ("transcript",
    "recording", "2 snapshots", ...), and where besides this server."""

    files: int
    what: tuple[str, ...] = ()
    elsewhere: tuple[str, ...] = ()


def _contents(p: Path) -> tuple[str, ...]:
    def n(folder: str, suffix: str) -> int:
        return len(regular_files(p / folder, suffix))

    what = []
    for name, label in (
        (TRANSCRIPT_FILE, "transcript"),
        (RECORDING_FILE, "recording"),
        (CAPTIONS_FILE, "captions"),
    ):
        if (p / name).is_file() or (name == RECORDING_FILE and find_recording(p) is not None):
            what.append(label)
    for count, one, many in (
        (n(SNAPSHOTS_DIR, ".jpg"), "snapshot", "snapshots"),
        (n(DIAGRAMS_DIR, ".mmd"), "diagram", "diagrams"),
    ):
        if count:
            what.append(f"{count} {one if count == 1 else many}")
    for name, label in ((ANALYSIS_FILE, "analysis"), (SURVEY_FILE, "survey answers")):
        if (p / name).is_file():
            what.append(label)
    return tuple(what)


# Called with a session folder that is about to be deleted; returns where else it deleted the
# session (e.g. "the archive store"), or None. For an archive store
# (googlive.features.results.archive_store) to drop its copy too: otherwise the next listing
# would fetch the session back.
DELETE_HOOKS: list[Any] = []


def delete_session(session_path: str | os.PathLike[str]) -> Deleted:
    """Delete a session folder and everything in it (transcript, recording, captions,
    snapshots, diagrams, analysis, survey answers). `session_path` must come from
    `resolve_session` (owner-checked). Symlinks inside are removed, never followed."""
    p = _checked_session_dir(session_path)
    files = sum(1 for f in p.rglob("*") if f.is_file() or f.is_symlink())
    what = _contents(p)
    elsewhere = []
    for hook in list(DELETE_HOOKS):
        where = hook(p)
        if isinstance(where, str) and where:
            elsewhere.append(where)
    shutil.rmtree(p)
    logger.info("archive deleted session=%s files=%d", p.name, files)
    return Deleted(files, what, tuple(elsewhere))
