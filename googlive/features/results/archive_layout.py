"""The session archive's on-disk layout and its rules: file names, id patterns, refused fields.

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

Safety: session ids, snapshot ids and diagram ids are checked against strict patterns and
every resolved path must stay inside its owner's folder (`archive_owner.resolve_session`);
events refuse fields named like secrets (key, api_key, token, ...) and refuse raw bytes, so
images only ever go to files.

Pure: nothing here touches the file system (`archive_files` reads and writes the files).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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
RECORDING_RE = re.compile(r"^recording\.(webm|mp4|mkv|ogg|wav)$")

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


class ArchiveError(Exception):
    """Base class for archive errors."""


class SessionNotFound(ArchiveError, LookupError):
    """The session does not exist, has an invalid id, or belongs to another owner.

    The three cases are deliberately indistinguishable to the caller.
    """


class UnsafeEventField(ArchiveError, ValueError):
    """An event or metadata field looked like a secret or carried image bytes."""


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


def check_item_id(item_id: object, what: str) -> str:
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


def format_clock(t_s: float | None) -> str:
    """Format seconds as ``mm:ss`` (minutes may exceed 59); None or negative as ``--:--``."""
    if t_s is None or not isinstance(t_s, int | float) or t_s != t_s or t_s < 0:
        return "--:--"
    total = int(t_s)
    return f"{total // 60:02d}:{total % 60:02d}"


def iso_utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
