"""Which sessions an owner may see: `resolve_session` (the owner check), `open_session` and
`list_sessions` (newest first; every owner's with the operator setting `shared`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from googlive.features.results.archive_attach import refresh_owner, refresh_session
from googlive.features.results.archive_layout import (
    META_FILE,
    OWNER_HASH_RE,
    SESSIONS_DIR,
    ArchiveError,
    SessionNotFound,
    is_valid_session_id,
    owner_hash,
)
from googlive.features.results.archive_read import load_session
from googlive.features.results.archive_records import ArchivedSession, SessionSummary, summarize

logger = logging.getLogger(__name__)


def _owner_dirs(data_dir: Path, owner: str, shared: bool) -> Iterator[tuple[Path, bool]]:
    root = data_dir / SESSIONS_DIR
    mine = owner_hash(owner)
    if not shared:
        yield root / mine, True
        return
    if not root.is_dir():
        return
    for d in sorted(root.iterdir()):
        if OWNER_HASH_RE.fullmatch(d.name) and d.is_dir() and not d.is_symlink():
            yield d, d.name == mine


def resolve_session(
    data_dir: str | os.PathLike[str], owner: str, session_id: str, *, shared: bool = False
) -> Path:
    """Return the folder of `session_id` if `owner` may open it, else raise `SessionNotFound`.

    `owner` may open only its own sessions unless the operator setting `shared` is on.
    Ids that do not match the session-id pattern (e.g. ``../x``) are refused before any
    file-system access, and the resolved folder must lie inside the owner's folder.
    """
    if not is_valid_session_id(session_id):
        raise SessionNotFound("no such session")
    root = Path(data_dir)
    refresh_session(root, owner, session_id, shared)
    for owner_dir, _mine in _owner_dirs(root, owner, shared):
        candidate = owner_dir / session_id
        if candidate.is_symlink() or not (candidate / META_FILE).is_file():
            continue
        resolved = candidate.resolve()
        if resolved.parent != owner_dir.resolve():
            continue
        return candidate
    raise SessionNotFound("no such session")


def open_session(
    data_dir: str | os.PathLike[str], owner: str, session_id: str, *, shared: bool = False
) -> ArchivedSession:
    """Load `session_id` for `owner` (see `resolve_session` for the access rule)."""
    return load_session(resolve_session(data_dir, owner, session_id, shared=shared))


def list_sessions(
    data_dir: str | os.PathLike[str], owner: str, shared: bool = False
) -> list[SessionSummary]:
    """Summaries of the sessions `owner` may see, newest first.

    A visitor sees only its own sessions unless `shared` (an operator setting) is on, in
    which case every owner's sessions are listed and `SessionSummary.mine` tells them apart.
    Folders that are not well-formed sessions are ignored.
    """
    stored = refresh_owner(Path(data_dir), owner, shared)
    out: list[SessionSummary] = []
    for owner_dir, mine in _owner_dirs(Path(data_dir), owner, shared):
        if not owner_dir.is_dir():
            continue
        for d in owner_dir.iterdir():
            if not is_valid_session_id(d.name) or d.is_symlink() or not (d / META_FILE).is_file():
                continue
            try:
                out.append(summarize(load_session(d), mine=mine))
            except (OSError, ArchiveError):
                logger.warning("archive: unreadable session folder skipped id=%s", d.name)
    if stored:  # media are fetched when a session is opened: the store says what it holds
        out = [
            replace(s, has_recording=True) if not s.has_recording and s.id in stored else s
            for s in out
        ]
    out.sort(key=lambda s: s.id, reverse=True)
    return out
