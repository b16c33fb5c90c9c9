"""An archive store attached to a data directory: the hooks the writer and the readers call.

With an archive store attached to a data directory (app.py does it for --archive-url; see
googlive.features.results.archive_store), a closed session and a new analysis are queued for
upload, and the readers (`archive_owner`) first refresh the local copy from the store, so any
replica shows a browser's sessions. Without one (the default) these hooks do nothing. A store
outage never breaks a reader: the local copies are still shown, and the failure is logged by
type only.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from googlive.features.results.archive_layout import owner_hash

logger = logging.getLogger(__name__)

_stores: dict[str, tuple[Any, Any]] = {}


def attach_store(data_dir: str | os.PathLike[str], store: Any, uploader: Any = None) -> None:
    """Use `store` (an ArchiveStore) for the archives under `data_dir`; `uploader` (an
    archive_upload.Uploader) gets each session folder that changed."""
    _stores[str(Path(data_dir).resolve())] = (store, uploader)


def detach_store(data_dir: str | os.PathLike[str]) -> None:
    _stores.pop(str(Path(data_dir).resolve()), None)


def _attached(data_dir: Path) -> tuple[Any, Any] | None:
    return _stores.get(str(data_dir.resolve())) if _stores else None


def session_changed(session_path: Path) -> None:
    att = _attached(session_path.parent.parent.parent)
    if att is not None and att[1] is not None:
        att[1].submit(session_path)


def refresh_owner(data_dir: Path, owner: str, shared: bool) -> set[str]:
    """Fetch the owner's changed sessions from the store; the ids of those with a stored
    recording."""
    att = _attached(data_dir)
    if att is None:
        return set()
    store = att[0]
    try:
        owners = store.owner_hashes() if shared else [owner_hash(owner)]
        with_recording: set[str] = set()
        for oh in owners:
            with_recording |= {sid for sid, r in store.refresh_owner(oh).items() if r.has_recording}
        return with_recording
    except Exception as e:  # the store is down or refuses: list the local copies
        logger.warning("archive store not reachable for a listing (%s)", type(e).__name__)
        return set()


def refresh_session(data_dir: Path, owner: str, session_id: str, shared: bool) -> None:
    att = _attached(data_dir)
    if att is None:
        return
    store = att[0]
    try:
        for oh in store.owner_hashes() if shared else [owner_hash(owner)]:
            if store.refresh_session(oh, session_id):
                return
    except Exception as e:
        logger.warning(
            "archive store not reachable for session=%s (%s)", session_id, type(e).__name__
        )
