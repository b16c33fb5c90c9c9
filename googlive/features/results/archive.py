"""The session archive: every conversation written to the data directory as it happens.

Layout (one folder per session, grouped by a hash of the opaque per-browser owner id)::

    <data_dir>/sessions/<owner_hash>/<session_id>/
        meta.json            session id, owner hash, start/end times (atomic replace)
        transcript.jsonl     one JSON object per transcript line, appended and flushed
        events.jsonl         one JSON object per event (state changes, tool calls, ...)
        snapshots/<id>.jpg   snapshot images (+ <id>.json with their metadata)
        diagrams/<id>.mmd    diagram sources (+ <id>.json with title and time)
        recording.webm       written by the recorder at `SessionArchive.recording_path`
        survey.json, analysis.json
        captions.vtt         written by the recording feature beside the recording
        title.json           a title the owner gave the session (Past sessions: Rename)
        events_log.jsonl     the diagnostics (metrics) event log, redacted, written at close

Durability: each JSON line is written with one `write` call and flushed at once, so a
process killed with SIGKILL loses nothing that `append_*` returned for (the data sits in
the OS page cache). `os.fsync` every `fsync_every` lines (and on `close`) additionally
bounds what a power cut can lose. Readers tolerate a torn last line.

Safety: session ids, snapshot ids and diagram ids are checked against strict patterns and
every resolved path must stay inside its owner's folder; events refuse fields named like
secrets (key, api_key, token, ...) and refuse raw bytes, so images only ever go to files.

Size: over 400 lines: one module because the writer, the reader, the ownership checks and the
zip export all speak one on-disk layout (the constants and validators at the top); the split
that comes next is writer / reader / export along those lines.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from googlive.fsutil import atomic_write_bytes

logger = logging.getLogger(__name__)

ARCHIVE_VERSION = 1
SESSIONS_DIR = "sessions"
TRANSCRIPT_FILE = "transcript.jsonl"
EVENTS_FILE = "events.jsonl"
EVENTS_LOG_FILE = "events_log.jsonl"  # the diagnostics event log, written at close
META_FILE = "meta.json"
ANALYSIS_FILE = "analysis.json"
SURVEY_FILE = "survey.json"
CAPTIONS_FILE = "captions.vtt"
TITLE_FILE = "title.json"
TITLE_MAX_CHARS = 120
RECORDING_FILE = "recording.webm"
SNAPSHOTS_DIR = "snapshots"
DIAGRAMS_DIR = "diagrams"

SESSION_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
OWNER_HASH_RE = re.compile(r"^[0-9a-f]{32}$")
ITEM_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_RECORDING_RE = re.compile(r"^recording\.(webm|mp4|mkv|ogg|wav)$")

# Field names refused in events and metadata: credentials must never reach the archive.
# "key" and "token" only as the last word (api_key, access_token, but not key_points or
# prompt_tokens); the others anywhere in the name.
_SECRET_LAST_WORDS = frozenset({"key", "apikey", "token", "accesstoken", "authtoken"})
_SECRET_ANY_WORDS = frozenset(
    {
        "secret",
        "password",
        "passwd",
        "authorization",
        "credential",
        "credentials",
        "cookie",
        "bearer",
    }
)
# Base64 openings of JPEG / PNG / WebP data and data: URLs: images belong in files.
_IMAGE_TEXT_MARKERS = ("/9j/", "iVBORw0KGgo", "UklGR", "data:image/")
_MAX_EVENT_STRING = 64 * 1024
_TITLE_CHARS = 60


class ArchiveError(Exception):
    """Base class for archive errors."""


class SessionNotFound(ArchiveError, LookupError):
    """The session does not exist, has an invalid id, or belongs to another owner.

    The three cases are deliberately indistinguishable to the caller.
    """


class UnsafeEventField(ArchiveError, ValueError):
    """An event or metadata field looked like a secret or carried image bytes."""


# --------------------------------------------------------------------------- helpers


def owner_hash(owner: str) -> str:
    """Return the folder name for an opaque owner id: 32 hex chars of its SHA-256.

    The owner id itself never reaches the file system.
    """
    if not isinstance(owner, str) or not owner:
        raise ValueError("owner must be a non-empty string")
    return hashlib.sha256(owner.encode("utf-8")).hexdigest()[:32]


def new_session_id(now: datetime | None = None) -> str:
    """Return a new session id sortable by start time: ``YYYYMMDDTHHMMSSZ-<6 hex>``."""
    now = now or datetime.now(UTC)
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def is_valid_session_id(session_id: object) -> bool:
    """True when `session_id` has exactly the shape `new_session_id` produces."""
    return isinstance(session_id, str) and bool(SESSION_ID_RE.fullmatch(session_id))


def _check_item_id(item_id: object, what: str) -> str:
    if not isinstance(item_id, str) or not ITEM_ID_RE.fullmatch(item_id):
        raise ValueError(f"invalid {what} id")
    return item_id


def _is_secret_name(name: str) -> bool:
    words = re.split(r"[_\-\s.]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())
    words = [w for w in words if w]
    if not words:
        return False
    joined = "".join(words)
    if "apikey" in joined:
        return True
    return words[-1] in _SECRET_LAST_WORDS or any(w in _SECRET_ANY_WORDS for w in words)


def check_safe_fields(fields: Mapping[str, Any], *, path: str = "") -> None:
    """Raise `UnsafeEventField` if any (nested) field is named like a secret or holds bytes.

    Also refuses strings that look like base64 image data and strings over 64 KiB.
    The error names the offending field path, never its value.
    """
    for name, value in fields.items():
        where = f"{path}.{name}" if path else str(name)
        if not isinstance(name, str):
            raise UnsafeEventField(f"field names must be strings ({where})")
        if _is_secret_name(name):
            raise UnsafeEventField(f"field {where!r} looks like a secret; refused")
        _check_safe_value(value, where)


def _check_safe_value(value: Any, where: str) -> None:
    if isinstance(value, bytes | bytearray | memoryview):
        raise UnsafeEventField(f"field {where!r} holds bytes; images go to files only")
    if isinstance(value, str):
        if len(value) > _MAX_EVENT_STRING:
            raise UnsafeEventField(f"field {where!r} is too long for an event")
        if value.lstrip().startswith(_IMAGE_TEXT_MARKERS):
            raise UnsafeEventField(f"field {where!r} looks like image data; refused")
    elif isinstance(value, Mapping):
        check_safe_fields(value, path=where)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_safe_value(item, f"{where}[{i}]")


def _json_line(record: Mapping[str, Any]) -> str:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if "\n" in text:  # json.dumps escapes newlines in strings; belt and braces
        raise ValueError("record would span lines")
    return text + "\n"


def _atomic_write_json(path: Path, data: Mapping[str, Any]) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False)
    atomic_write_bytes(path, text.encode("utf-8"))


def _read_json(path: Path) -> dict[str, Any] | None:
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


def format_clock(t_s: float | None) -> str:
    """Format seconds as ``mm:ss`` (minutes may exceed 59); None or negative as ``--:--``."""
    if t_s is None or not isinstance(t_s, int | float) or t_s != t_s or t_s < 0:
        return "--:--"
    total = int(t_s)
    return f"{total // 60:02d}:{total % 60:02d}"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One finished transcript line as archived."""

    role: str
    text: str
    t_s: float
    turn: int
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    id: str
    path: Path
    meta: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DiagramInfo:
    id: str
    source: str
    title: str
    t: float | None


@dataclass(slots=True)
class ArchivedSession:
    """Everything read back from one session folder."""

    path: Path
    session_id: str
    meta: dict[str, Any]
    transcript: list[TranscriptLine] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[SnapshotInfo] = field(default_factory=list)
    diagrams: list[DiagramInfo] = field(default_factory=list)
    recording: Path | None = None
    analysis: dict[str, Any] | None = None
    survey: dict[str, Any] | None = None
    skipped_lines: int = 0
    last_wall: float | None = None
    custom_title: str | None = None
    t0_unix: float | None = None  # wall clock at session time 0 (t_s of lines, snapshots, events)

    @property
    def started(self) -> str:
        return str(self.meta.get("started", ""))

    @property
    def turns(self) -> int:
        """Number of distinct turns that have at least one transcript line."""
        return len({line.turn for line in self.transcript})

    @property
    def duration_s(self) -> float:
        """Duration from meta when the session was closed, else estimated from the last record."""
        return _estimated_duration(self)

    @property
    def closed(self) -> bool:
        return "ended" in self.meta

    @property
    def user_turns(self) -> int:
        """Number of turns the user took: distinct turns with a user line."""
        return len(
            {line.turn for line in self.transcript if line.role == "user" and line.text.strip()}
        )

    @property
    def title(self) -> str:
        """The owner's own title, else the survey title, else the meta title, else the first
        words the user said or typed (a line that is only a bracketed note, such as the offline
        demo's "[offline demo heard 1.2 s of speech]", is not words), else what kind of session
        it was."""
        if self.custom_title:
            return _truncate(self.custom_title, _TITLE_CHARS)
        for source in (self.survey or {}, self.meta):
            title = source.get("title")
            if isinstance(title, str) and title.strip():
                return _truncate(" ".join(title.split()), _TITLE_CHARS)
        for line in self.transcript:
            text = " ".join(line.text.split())
            if line.role == "user" and text and not _NOTE_LINE.fullmatch(text):
                return _truncate(text, _TITLE_CHARS)
        if any(line.role == "user" for line in self.transcript):
            return "Spoken conversation"
        return "Conversation without words" if self.transcript else "Empty session"


@dataclass(frozen=True, slots=True)
class SessionSummary:
    id: str
    started: str
    duration_s: float
    turns: int
    has_recording: bool
    has_analysis: bool
    title: str
    mine: bool = True
    analysis_ok: bool = False  # the saved analysis succeeded (a failed one is saved too)
    started_unix: float | None = None
    user_turns: int = 0
    has_survey: bool = False


_NOTE_LINE = re.compile(r"\[[^\[\]]*\]")


def _truncate(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


# --------------------------------------------------------------------------- writer


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
        meta = _read_json(path / META_FILE) or {}
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
            "started": _iso(started),
            "started_unix": started,
        }
        _atomic_write_json(path / META_FILE, meta)
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
        line = _json_line(record)
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
        _check_item_id(snapshot_id, "snapshot")
        if not isinstance(jpeg, bytes | bytearray | memoryview):
            raise TypeError("jpeg must be bytes")
        meta = dict(meta or {})
        check_safe_fields(meta)
        data = bytes(jpeg)
        folder = self.path / SNAPSHOTS_DIR
        folder.mkdir(exist_ok=True)
        img = folder / f"{snapshot_id}.jpg"
        atomic_write_bytes(img, data)
        _atomic_write_json(folder / f"{snapshot_id}.json", {"id": snapshot_id, **meta})
        extra = {"t_s": meta["t_s"]} if isinstance(meta.get("t_s"), int | float) else {}
        self.append_event("snapshot", id=snapshot_id, size=len(data), **extra)
        return img

    def save_diagram(
        self, diagram_id: str, source: str, title: str = "", t: float | None = None
    ) -> Path:
        """Store a diagram source (Mermaid) with its title and time; log a ``diagram`` event."""
        _check_item_id(diagram_id, "diagram")
        if not isinstance(source, str):
            raise TypeError("source must be a string")
        folder = self.path / DIAGRAMS_DIR
        folder.mkdir(exist_ok=True)
        src = folder / f"{diagram_id}.mmd"
        atomic_write_bytes(src, source.encode("utf-8"))
        _atomic_write_json(
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
                lines.append(_json_line(entry))
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
        _atomic_write_json(self.path / SURVEY_FILE, dict(survey))

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
            _atomic_write_json(self.path / META_FILE, merged)
            self._meta = merged

    def close(self) -> None:
        """Record the end time and duration in meta.json, fsync and close the files. Idempotent."""
        if self._closed:
            return
        ended = time.time()
        self.write_meta(
            {"ended": _iso(ended), "duration_s": round(max(0.0, ended - self._started_unix), 3)}
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
        _session_changed(self.path)

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
    _atomic_write_json(p / ANALYSIS_FILE, dict(analysis))
    _session_changed(p)
    return p / ANALYSIS_FILE


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
        _atomic_write_json(p / TITLE_FILE, {"title": clean})
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
        return len(_regular_files(p / folder, suffix))

    what = []
    for name, label in (
        (TRANSCRIPT_FILE, "transcript"),
        (RECORDING_FILE, "recording"),
        (CAPTIONS_FILE, "captions"),
    ):
        if (p / name).is_file() or (name == RECORDING_FILE and _find_recording(p) is not None):
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
# session (e.g. "the archive store"), or None. For an archive store (googlive.features.results.archive_store)
# to drop its copy too: otherwise the next listing would fetch the session back.
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


# --------------------------------------------------------------------------- readers


def load_session(path: str | os.PathLike[str]) -> ArchivedSession:
    """Read a whole session folder back. Torn or undecodable JSON lines are skipped and counted.

    Raises `SessionNotFound` when `path` is not a session folder.
    """
    p = Path(path)
    if not is_valid_session_id(p.name) or p.is_symlink() or not p.is_dir():
        raise SessionNotFound("no such session")
    meta = _read_json(p / META_FILE) or {}
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
        SnapshotInfo(id=img.stem, path=img, meta=_read_json(img.with_suffix(".json")) or {})
        for img in _regular_files(p / SNAPSHOTS_DIR, ".jpg")
    ]
    diagrams: list[DiagramInfo] = []
    for src in _regular_files(p / DIAGRAMS_DIR, ".mmd"):
        info = _read_json(src.with_suffix(".json")) or {}
        t = info.get("t")
        diagrams.append(
            DiagramInfo(
                id=src.stem,
                source=src.read_text(encoding="utf-8", errors="replace"),
                title=str(info.get("title", "")),
                t=float(t) if isinstance(t, int | float) else None,
            )
        )
    recording = _find_recording(p)
    custom = (_read_json(p / TITLE_FILE) or {}).get("title")
    session = ArchivedSession(
        path=p,
        session_id=p.name,
        meta=meta,
        transcript=transcript,
        events=events,
        snapshots=snapshots,
        diagrams=diagrams,
        recording=recording,
        analysis=_read_json(p / ANALYSIS_FILE),
        survey=_read_json(p / SURVEY_FILE),
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


def _regular_files(folder: Path, suffix: str) -> list[Path]:
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


def _find_recording(p: Path) -> Path | None:
    candidates = [
        f
        for f in p.iterdir()
        if _RECORDING_RE.fullmatch(f.name)
        and f.is_file()
        and not f.is_symlink()
        and f.stat().st_size > 0
    ]
    return sorted(candidates)[0] if candidates else None


def _estimated_duration(session: ArchivedSession) -> float:
    """Seconds from session time 0 to the end (the folder is made a little after time 0)."""
    dur = session.meta.get("duration_s")
    start = session.meta.get("started_unix")
    if isinstance(dur, int | float):
        t0 = session.t0_unix
        lead = float(start) - t0 if isinstance(start, int | float) and t0 is not None else 0.0
        return round(float(dur) + min(max(lead, 0.0), 60.0), 3)
    last = session.last_wall
    t_max = max((line.t_s for line in session.transcript), default=0.0)
    if isinstance(start, int | float) and isinstance(last, int | float):
        return round(max(float(last) - float(start), t_max), 3)
    return t_max


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
    _refresh_session(root, owner, session_id, shared)
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


def summarize(session: ArchivedSession, *, mine: bool = True) -> SessionSummary:
    """Return the list-view summary of a loaded session."""
    return SessionSummary(
        id=session.session_id,
        started=session.started,
        duration_s=_estimated_duration(session),
        turns=session.turns,
        has_recording=session.recording is not None,
        has_analysis=session.analysis is not None,
        title=session.title,
        mine=mine,
        analysis_ok=bool((session.analysis or {}).get("ok")),
        started_unix=_started_unix(session),
        user_turns=session.user_turns,
        has_survey=session.survey is not None,
    )


def _started_unix(session: ArchivedSession) -> float | None:
    t = session.meta.get("started_unix")
    if isinstance(t, int | float):
        return float(t)
    try:  # the id itself is the UTC start time
        return (
            datetime.strptime(session.session_id[:16], "%Y%m%dT%H%M%SZ")
            .replace(tzinfo=UTC)
            .timestamp()
        )
    except ValueError:
        return None


def list_sessions(
    data_dir: str | os.PathLike[str], owner: str, shared: bool = False
) -> list[SessionSummary]:
    """Summaries of the sessions `owner` may see, newest first.

    A visitor sees only its own sessions unless `shared` (an operator setting) is on, in
    which case every owner's sessions are listed and `SessionSummary.mine` tells them apart.
    Folders that are not well-formed sessions are ignored.
    """
    stored = _refresh_owner(Path(data_dir), owner, shared)
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


# --------------------------------------------------------------------------- object storage
# With an archive store attached to a data directory (app.py does it for --archive-url; see
# googlive.features.results.archive_store), a closed session and a new analysis are queued for upload, and the
# readers above first refresh the local copy from the store, so any replica shows a browser's
# sessions. Without one (the default) these hooks do nothing. A store outage never breaks a
# reader: the local copies are still shown, and the failure is logged by type only.

_stores: dict[str, tuple[Any, Any]] = {}


def attach_store(data_dir: str | os.PathLike[str], store: Any, uploader: Any = None) -> None:
    """Use `store` (an ArchiveStore) for the archives under `data_dir`; `uploader` (an
    archive_upload.Uploader) gets each session folder that changed."""
    _stores[str(Path(data_dir).resolve())] = (store, uploader)


def detach_store(data_dir: str | os.PathLike[str]) -> None:
    _stores.pop(str(Path(data_dir).resolve()), None)


def _attached(data_dir: Path) -> tuple[Any, Any] | None:
    return _stores.get(str(data_dir.resolve())) if _stores else None


def _session_changed(session_path: Path) -> None:
    att = _attached(session_path.parent.parent.parent)
    if att is not None and att[1] is not None:
        att[1].submit(session_path)


def _refresh_owner(data_dir: Path, owner: str, shared: bool) -> set[str]:
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


def _refresh_session(data_dir: Path, owner: str, session_id: str, shared: bool) -> None:
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


# --------------------------------------------------------------------------- export


def render_transcript_text(session: ArchivedSession) -> str:
    """Human-readable transcript: a header, then ``[mm:ss] Speaker: text`` lines.

    Snapshots and diagrams with a known time are interleaved as bracketed notes.
    """
    header = [
        f"Session {session.session_id}",
        f"Started: {session.started or 'unknown'}",
        f"Duration: {format_clock(_estimated_duration(session))}",
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
            for f in _regular_files(p / sub, suffix):
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
