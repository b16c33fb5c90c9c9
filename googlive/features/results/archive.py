"""The session archive's writer: every conversation written to the data directory as it happens.

`SessionArchive` writes one session folder (the layout: `archive_layout`); `write_analysis`
adds an analysis to a folder, open or closed. The other jobs on the same layout have modules
of their own: `archive_read` (load a folder back), `archive_owner` (an owner's sessions:
resolve, open, list), `archive_edit` (rename, delete), `archive_zip` (the zip export),
`archive_attach` (the hooks to an archive store), `archive_files` (the JSON and file helpers)
and `archive_records` (what is read back).

Durability: each JSON line is written with one `write` call and flushed at once, so a
process killed with SIGKILL loses nothing that `append_*` returned for (the data sits in
the OS page cache). `os.fsync` every `fsync_every` lines (and on `close`) additionally
bounds what a power cut can lose. Readers tolerate a torn last line.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from googlive.features.results.archive_attach import session_changed
from googlive.features.results.archive_files import atomic_write_json, json_line, read_json
from googlive.features.results.archive_layout import (
    ANALYSIS_FILE,
    ARCHIVE_VERSION,
    DIAGRAMS_DIR,
    EVENTS_FILE,
    EVENTS_LOG_FILE,
    META_FILE,
    RECORDING_FILE,
    SESSIONS_DIR,
    SNAPSHOTS_DIR,
    SURVEY_FILE,
    TRANSCRIPT_FILE,
    ArchiveError,
    SessionNotFound,
    check_item_id,
    check_safe_fields,
    is_valid_session_id,
    iso_utc,
    new_session_id,
    owner_hash,
)
from googlive.features.results.archive_read import load_session
from googlive.features.results.archive_records import ArchivedSession
from googlive.fsutil import atomic_write_bytes

logger = logging.getLogger(__name__)


class SessionArchive:
    """Writer for one session folder. Thread-safe; every append is flushed before returning."""

    def __init__(self, path: Path, *, fsync_every: int = 64) -> None:
        """Use `create` or `open`; this constructor assumes `path` is a checked session folder."""
        self.path = path
        self.session_id = path.name
        self._fsync_every = max(0, fsync_every)
        self._lock = threading.Lock()
        self._since_fsync = 0
        self._closed = False
        meta = read_json(path / META_FILE) or {}
        self._meta: dict[str, Any] = meta
        started = meta.get("started_unix")
        self._started_unix = float(started) if isinstance(started, int | float) else time.time()
        self._transcript = self._open_append(path / TRANSCRIPT_FILE)
        self._events = self._open_append(path / EVENTS_FILE)

    # -- construction

    @classmethod
    def create(
        cls,
        data_dir: str | os.PathLike[str],
        owner: str,
        *,
        fsync_every: int = 64,
        now: datetime | None = None,
    ) -> SessionArchive:
        """Make a new, empty session folder for `owner` under `data_dir` and open it.

        The folder name is a fresh time-sortable id; the owner is stored only as a hash.
        """
        ohash = owner_hash(owner)
        owner_dir = Path(data_dir) / SESSIONS_DIR / ohash
        owner_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(16):
            session_id = new_session_id(now)
            path = owner_dir / session_id
            try:
                path.mkdir()
            except FileExistsError:
                continue
            break
        else:  # pragma: no cover - 16 collisions of 24 random bits in one second
            raise ArchiveError("could not allocate a session id")
        (path / SNAPSHOTS_DIR).mkdir()
        (path / DIAGRAMS_DIR).mkdir()
        started = time.time() if now is None else now.timestamp()
        meta = {
            "version": ARCHIVE_VERSION,
            "session_id": session_id,
            "owner_hash": ohash,
            "started": iso_utc(started),
            "started_unix": started,
        }
        atomic_write_json(path / META_FILE, meta)
        logger.info("archive created session=%s", session_id)
        return cls(path, fsync_every=fsync_every)

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, fsync_every: int = 64) -> SessionArchive:
        """Reopen an existing session folder for appending (e.g. after a reconnect).

        Raises `SessionNotFound` unless `path` is a folder named like a session id that
        holds a meta.json. A torn last line left by a kill is sealed with a newline so
        new records start on a line of their own.
        """
        p = Path(path)
        if not is_valid_session_id(p.name) or p.is_symlink() or not (p / META_FILE).is_file():
            raise SessionNotFound("no such session")
        return cls(p, fsync_every=fsync_every)

    @staticmethod
    def _open_append(path: Path) -> TextIO:
        # Kept open for the archive's lifetime (closed in `close`), hence no `with`.
        fh = open(path, "a", encoding="utf-8", buffering=1)
        if fh.tell() > 0:
            with open(path, "rb") as rf:
                rf.seek(-1, os.SEEK_END)
                if rf.read(1) != b"\n":
                    fh.write("\n")
                    fh.flush()
        return fh

    # -- properties

    @property
    def recording_path(self) -> Path:
        """Where the recorder should write the session recording."""
        return self.path / RECORDING_FILE

    @property
    def started_unix(self) -> float:
        return self._started_unix

    def elapsed(self) -> float:
        """Seconds since the session started (wall clock)."""
        return max(0.0, time.time() - self._started_unix)

    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._meta)

    # -- appends

    def _append(self, fh: TextIO, record: Mapping[str, Any]) -> None:
        line = json_line(record)
        with self._lock:
            if self._closed:
                raise ArchiveError("archive is closed")
            fh.write(line)
            fh.flush()
            self._since_fsync += 1
            if self._fsync_every and self._since_fsync >= self._fsync_every:
                os.fsync(fh.fileno())
                self._since_fsync = 0

    def append_transcript(
        self, role: str, text: str, t_s: float, turn: int, latency_ms: float | None = None
    ) -> None:
        """Append one finished transcript line; it is on disk (page cache) when this returns."""
        if not isinstance(text, str):
            raise TypeError("text must be a string")
        record: dict[str, Any] = {
            "role": str(role),
            "text": text,
            "t_s": round(float(t_s), 3),
            "turn": int(turn),
            "wall": round(time.time(), 3),
        }
        if latency_ms is not None:
            record["latency_ms"] = round(float(latency_ms), 1)
        self._append(self._transcript, record)

    def append_event(self, kind: str, **fields: Any) -> None:
        """Append one event ``{"kind": kind, "wall": ..., **fields}``.

        Raises `UnsafeEventField` for fields named like secrets or holding bytes / image
        data; raises `TypeError` for values JSON cannot hold.
        """
        if not isinstance(kind, str) or not re.fullmatch(r"[a-z][a-z0-9_.]{0,63}", kind):
            raise ValueError("invalid event kind")
        if "kind" in fields or "wall" in fields:
            raise ValueError("'kind' and 'wall' are set by the archive")
        check_safe_fields(fields)
        record = {"kind": kind, "wall": round(time.time(), 3), **fields}
        if "t_s" not in record:
            record["t_s"] = round(self.elapsed(), 3)
        self._append(self._events, record)

    # -- files

    def save_snapshot(
        self, snapshot_id: str, jpeg: bytes, meta: Mapping[str, Any] | None = None
    ) -> Path:
        """Store a JPEG snapshot and its metadata; log a ``snapshot`` event (id and size only)."""
        check_item_id(snapshot_id, "snapshot")
        if not isinstance(jpeg, bytes | bytearray | memoryview):
            raise TypeError("jpeg must be bytes")
        meta = dict(meta or {})
        check_safe_fields(meta)
        data = bytes(jpeg)
        folder = self.path / SNAPSHOTS_DIR
        folder.mkdir(exist_ok=True)
        img = folder / f"{snapshot_id}.jpg"
        atomic_write_bytes(img, data)
        atomic_write_json(folder / f"{snapshot_id}.json", {"id": snapshot_id, **meta})
        extra = {"t_s": meta["t_s"]} if isinstance(meta.get("t_s"), int | float) else {}
        self.append_event("snapshot", id=snapshot_id, size=len(data), **extra)
        return img

    def save_diagram(
        self, diagram_id: str, source: str, title: str = "", t: float | None = None
    ) -> Path:
        """Store a diagram source (Mermaid) with its title and time; log a ``diagram`` event."""
        check_item_id(diagram_id, "diagram")
        if not isinstance(source, str):
            raise TypeError("source must be a string")
        folder = self.path / DIAGRAMS_DIR
        folder.mkdir(exist_ok=True)
        src = folder / f"{diagram_id}.mmd"
        atomic_write_bytes(src, source.encode("utf-8"))
        atomic_write_json(
            folder / f"{diagram_id}.json", {"id": diagram_id, "title": str(title), "t": t}
        )
        extra = {"t_s": float(t)} if isinstance(t, int | float) else {}
        self.append_event("diagram", id=diagram_id, chars=len(source), **extra)
        return src

    def save_event_log(self, entries: Iterable[Mapping[str, Any]]) -> int:
        """Atomically write events_log.jsonl, one entry per line; return the lines written.

        Entries that `check_safe_fields` refuses (secret-like names, bytes, image data) are
        left out; they were redacted by the event log already, this is a second net.
        """
        lines = []
        for entry in entries:
            try:
                check_safe_fields(entry)
                lines.append(json_line(entry))
            except (ArchiveError, ValueError, TypeError):
                continue
        atomic_write_bytes(self.path / EVENTS_LOG_FILE, "".join(lines).encode("utf-8"))
        return len(lines)

    def save_analysis(self, analysis: Mapping[str, Any]) -> None:
        """Atomically write analysis.json (replacing any earlier analysis)."""
        write_analysis(self.path, analysis)

    def save_survey(self, survey: Mapping[str, Any]) -> None:
        """Atomically write survey.json (the survey this session ran)."""
        check_safe_fields(survey)
        atomic_write_json(self.path / SURVEY_FILE, dict(survey))

    def write_meta(self, updates: Mapping[str, Any]) -> None:
        """Merge `updates` into meta.json and replace it atomically.

        The identity fields (version, session_id, owner_hash, started, started_unix)
        cannot be overwritten.
        """
        check_safe_fields(updates)
        protected = {"version", "session_id", "owner_hash", "started", "started_unix"}
        with self._lock:
            merged = dict(self._meta)
            merged.update({k: v for k, v in updates.items() if k not in protected})
            atomic_write_json(self.path / META_FILE, merged)
            self._meta = merged

    def close(self) -> None:
        """Record the end time and duration in meta.json, fsync and close the files. Idempotent."""
        if self._closed:
            return
        ended = time.time()
        self.write_meta(
            {"ended": iso_utc(ended), "duration_s": round(max(0.0, ended - self._started_unix), 3)}
        )
        with self._lock:
            self._closed = True
            for fh in (self._transcript, self._events):
                try:
                    fh.flush()
                    os.fsync(fh.fileno())
                finally:
                    fh.close()
        logger.info("archive closed session=%s", self.session_id)
        session_changed(self.path)

    def load(self) -> ArchivedSession:
        """Read the session back as it is on disk now."""
        return load_session(self.path)

    def __enter__(self) -> SessionArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_analysis(session_path: str | os.PathLike[str], analysis: Mapping[str, Any]) -> Path:
    """Atomically write analysis.json into a session folder, open or already closed.

    `session_path` must come from `resolve_session` or a `SessionArchive` (owner-checked).
    """
    p = Path(session_path)
    if not is_valid_session_id(p.name) or p.is_symlink() or not (p / META_FILE).is_file():
        raise SessionNotFound("no such session")
    check_safe_fields(analysis)
    atomic_write_json(p / ANALYSIS_FILE, dict(analysis))
    session_changed(p)
    return p / ANALYSIS_FILE
