"""Session archives on object storage, through fsspec: any replica shows a visitor's history.

A session is written to the local data directory while it runs (its crash safety rests on
append + fsync, see googlive.features.results.archive) and copied to the store when it ends; Results and Past
sessions refresh the local copy from the store before they read it, so a visitor's sessions
show on whichever replica serves the page. Without `--archive-url` there is no store and
nothing here runs: local disk is the default.

URLs (fsspec protocols): ``file:///srv/archive`` (a shared mount, or tests), ``s3://bucket/prefix``
(s3fs: AWS S3 and S3-compatible stores; credentials from the standard AWS variables
AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN / AWS_PROFILE, the endpoint of
a non-AWS store from AWS_ENDPOINT_URL), ``gs://bucket/prefix`` (gcsfs, installed separately).
More fsspec options as JSON in GOOGLIVE_ARCHIVE_OPTIONS. Nothing here logs a URL's userinfo,
an option, a credential or a file's content: session ids, counts and exception types only.

The store's layout is the local one (``<root>/sessions/<owner_hash>/<session_id>/...``), so
the owner index IS the store's folder structure and the owner check of
googlive.features.results.archive_owner holds unchanged: a browser's sessions are fetched only
from under the hash of its own owner id.
Names read from the store are checked as strictly as local ones (ids by pattern, files by a
short allow-list of shapes), so a doctored bucket cannot write outside a session folder.

Each local session folder keeps ``.store.json`` (never uploaded): per file, the local size and
mtime and the store's stamp (size, ETag / mtime) at the last transfer. A file changed locally
since then is uploaded; a file changed in the store (e.g. an analysis made on another replica)
while the local one is untouched is downloaded; when both changed, the local one wins and its
upload is pending. Media (recording, snapshot images, diagram images) are fetched only when a
session is opened, not to list it.

Network work never runs on an event loop: uploads run in one `Uploader` thread (bounded queue,
retries with back-off, a failed upload keeps the local copy and is retried later); refreshes
run in Gradio's worker threads and are skipped when called from a thread running a loop.

Size: over 400 lines: the fsspec store's upload, download and listing, each with its checks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from googlive.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

SESSIONS_DIR = "sessions"
MANIFEST = ".store.json"
SESSION_ID_RE = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")
OWNER_HASH_RE = re.compile(r"^[0-9a-f]{32}$")
_TOP_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.[a-z0-9]{1,8}$")
_SUBDIRS = ("snapshots", "diagrams")
MEDIA_SUFFIXES = (".webm", ".mp4", ".mkv", ".ogg", ".wav", ".jpg", ".png", ".svg")
RECORDING_RE = re.compile(r"^recording\.(webm|mp4|mkv|ogg|wav)$")
SCHEMES = {"file": None, "s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs"}


class StoreError(Exception):
    """A store URL or option that cannot work; the message says what to change."""


def safe_relpath(rel: str) -> bool:
    """True for the file names a session folder may hold: ``name.ext`` or ``snapshots/`` /
    ``diagrams/`` + ``name.ext``; nothing hidden, nothing with ``..``, at most one folder."""
    parts = rel.split("/")
    if len(parts) == 1:
        return bool(_TOP_RE.fullmatch(parts[0]))
    return len(parts) == 2 and parts[0] in _SUBDIRS and bool(_TOP_RE.fullmatch(parts[1]))


def redact_url(url: str) -> str:
    """The URL without userinfo, query or fragment: what a log line may show."""
    u = urlsplit(url)
    host = u.hostname or ""
    if u.port:
        host += f":{u.port}"
    return urlunsplit((u.scheme, host, u.path, "", ""))


def _stamp(info: dict[str, Any]) -> str:
    """What identifies one version of a stored file: size plus ETag / generation / mtime."""
    parts = [str(info.get("size"))]
    for key in ("ETag", "etag", "md5Hash", "generation", "LastModified", "mtime", "updated"):
        if info.get(key) is not None:
            parts.append(f"{key}={info[key]}")
    return "|".join(parts)


def _local_state(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return [st.st_size, st.st_mtime_ns]


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Remote:
    """One stored session as listed: its files (relative names) and their stamps."""

    session_id: str
    files: dict[str, str]

    @property
    def has_recording(self) -> bool:
        return any(RECORDING_RE.fullmatch(f) for f in self.files)


class ArchiveStore:
    """The archive's object store, rooted at a URL; `data_dir` holds the local copies."""

    def __init__(
        self,
        url: str,
        data_dir: str | os.PathLike[str],
        *,
        fs: Any = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        scheme = urlsplit(url).scheme.lower()
        if scheme not in SCHEMES:
            raise StoreError(
                f"archive URL scheme {scheme or '(none)'!r} is not supported; use "
                "file:///path, s3://bucket/prefix or gs://bucket/prefix"
            )
        self.url = url
        self.data_dir = Path(data_dir)
        if fs is None:
            import fsspec

            try:
                fs, root = fsspec.core.url_to_fs(url, **(options or {}))
            except ImportError as e:
                pkg = SCHEMES[scheme] or "fsspec"
                raise StoreError(
                    f"{scheme}:// archives need the {pkg} package (pip install {pkg})"
                ) from e
        else:
            root = fs._strip_protocol(url)
        self.fs = fs
        protocols = fs.protocol if isinstance(fs.protocol, tuple | list) else (fs.protocol,)
        self._needs_dirs = "file" in protocols or "local" in protocols  # object stores have none
        self.root = str(root).rstrip("/")
        if not self.root:
            raise StoreError("the archive URL needs a bucket or folder, e.g. s3://bucket/googlive")
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def __repr__(self) -> str:
        return f"ArchiveStore({redact_url(self.url)})"

    # ---- paths -----------------------------------------------------------------------------
    def _remote_dir(self, owner_hash: str, session_id: str | None = None) -> str:
        base = f"{self.root}/{SESSIONS_DIR}/{owner_hash}"
        return base if session_id is None else f"{base}/{session_id}"

    def _local_dir(self, owner_hash: str, session_id: str) -> Path:
        return self.data_dir / SESSIONS_DIR / owner_hash / session_id

    def _lock(self, key: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    # ---- manifest --------------------------------------------------------------------------
    @staticmethod
    def _read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError, UnicodeDecodeError):
            return {}
        files = data.get("files") if isinstance(data, dict) else None
        return files if isinstance(files, dict) else {}

    @staticmethod
    def _write_manifest(folder: Path, files: dict[str, dict[str, Any]]) -> None:
        atomic_write_bytes(folder / MANIFEST, json.dumps({"files": files}, indent=1).encode())

    # ---- listing ---------------------------------------------------------------------------
    def check(self) -> None:
        """Touch the store once: a local root is created, a bucket must exist and be listable.
        Raises what the file system raises (FileNotFoundError for a missing bucket)."""
        if self._needs_dirs:
            self.fs.makedirs(self.root, exist_ok=True)
            return
        bucket = self.root.split("/", 1)[0]
        self.fs.invalidate_cache(bucket)
        self.fs.ls(bucket, detail=False)

    def _find(self, prefix: str) -> dict[str, dict[str, Any]]:
        self.fs.invalidate_cache(prefix)
        try:
            found = self.fs.find(prefix, detail=True)
        except FileNotFoundError:
            return {}
        return {str(k): v for k, v in found.items() if v.get("type", "file") == "file"}

    def list_owner(self, owner_hash: str) -> dict[str, Remote]:
        """The stored sessions of one owner: {session id: Remote}; odd names are ignored."""
        if not OWNER_HASH_RE.fullmatch(owner_hash):
            raise ValueError("invalid owner hash")
        prefix = self._remote_dir(owner_hash)
        out: dict[str, dict[str, str]] = {}
        for key, info in self._find(prefix).items():
            rest = key[len(prefix) :].lstrip("/") if key.startswith(prefix) else ""
            sid, _, rel = rest.partition("/")
            if SESSION_ID_RE.fullmatch(sid) and safe_relpath(rel):
                out.setdefault(sid, {})[rel] = _stamp(info)
        return {sid: Remote(sid, files) for sid, files in out.items()}

    def list_session(self, owner_hash: str, session_id: str) -> Remote | None:
        if not OWNER_HASH_RE.fullmatch(owner_hash) or not SESSION_ID_RE.fullmatch(session_id):
            raise ValueError("invalid owner hash or session id")
        prefix = self._remote_dir(owner_hash, session_id)
        files = {}
        for key, info in self._find(prefix).items():
            rel = key[len(prefix) :].lstrip("/") if key.startswith(prefix) else ""
            if safe_relpath(rel):
                files[rel] = _stamp(info)
        return Remote(session_id, files) if files else None

    def owner_hashes(self) -> list[str]:
        """Every owner with stored sessions (for the operator's shared-archives mode)."""
        base = f"{self.root}/{SESSIONS_DIR}"
        self.fs.invalidate_cache(base)
        try:
            names = self.fs.ls(base, detail=False)
        except FileNotFoundError:
            return []
        return sorted(
            n
            for n in (str(x).rstrip("/").rsplit("/", 1)[-1] for x in names)
            if OWNER_HASH_RE.fullmatch(n)
        )

    # ---- upload ----------------------------------------------------------------------------
    def local_files(self, folder: Path) -> list[str]:
        """The session folder's files that belong in the store (regular, safe names)."""
        out = []
        for f in sorted(folder.rglob("*")):
            rel = f.relative_to(folder).as_posix()
            if safe_relpath(rel) and f.is_file() and not f.is_symlink():
                out.append(rel)
        return out

    def pending(self, folder: Path) -> list[str]:
        """Files changed locally since their last transfer (what `push` would upload)."""
        manifest = self._read_manifest(folder)
        return [
            rel
            for rel in self.local_files(folder)
            if (manifest.get(rel) or {}).get("local") != _local_state(folder / rel)
        ]

    def push(self, folder: str | os.PathLike[str]) -> int:
        """Upload the session folder's changed files (meta.json last); returns how many.

        Blocking network I/O: call it from a worker thread (the `Uploader` does)."""
        folder = Path(folder)
        owner, sid = folder.parent.name, folder.name
        if not OWNER_HASH_RE.fullmatch(owner) or not SESSION_ID_RE.fullmatch(sid):
            raise ValueError("not a session folder")
        remote = self._remote_dir(owner, sid)
        with self._lock(f"{owner}/{sid}"):
            manifest = self._read_manifest(folder)
            todo = self.pending(folder)
            todo.sort(key=lambda rel: rel == "meta.json")  # meta last: a listed session is whole
            for rel in todo:
                state = _local_state(folder / rel)
                if self._needs_dirs:
                    self.fs.makedirs(f"{remote}/{rel}".rsplit("/", 1)[0], exist_ok=True)
                self.fs.put_file(str(folder / rel), f"{remote}/{rel}")
                manifest[rel] = {"local": state, "remote": None}
            if todo:
                listed = self.list_session(owner, sid)
                for rel in todo:
                    if listed is not None and rel in listed.files:
                        manifest[rel]["remote"] = listed.files[rel]
                self._write_manifest(folder, manifest)
        return len(todo)

    def delete(self, owner_hash: str, session_id: str) -> None:
        """Remove one stored session (for a retention policy; the local copy is the caller's)."""
        prefix = self._remote_dir(owner_hash, session_id)
        if not OWNER_HASH_RE.fullmatch(owner_hash) or not SESSION_ID_RE.fullmatch(session_id):
            raise ValueError("invalid owner hash or session id")
        self.fs.invalidate_cache(prefix)
        if self.fs.exists(prefix):
            self.fs.rm(prefix, recursive=True)

    # ---- download --------------------------------------------------------------------------
    def pull(self, owner_hash: str, remote: Remote, *, media: bool) -> int:
        """Bring the local copy of one stored session up to date; returns files fetched.

        `media` False leaves recordings and images for later (listing needs the small files
        only). A file changed on both sides keeps the local version (its upload is pending)."""
        folder = self._local_dir(owner_hash, remote.session_id)
        fetched = 0
        with self._lock(f"{owner_hash}/{remote.session_id}"):
            manifest = self._read_manifest(folder)
            base = self._remote_dir(owner_hash, remote.session_id)
            order = sorted(remote.files, key=lambda rel: rel == "meta.json")  # meta last
            for rel in order:
                stamp = remote.files[rel]
                if not media and rel.endswith(MEDIA_SUFFIXES):
                    continue
                target = folder / rel
                known = manifest.get(rel) or {}
                state = _local_state(target)
                if state is not None and (
                    known.get("remote") == stamp or known.get("local") != state
                ):
                    continue  # up to date, or changed here (local wins, upload pending)
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".part", dir=target.parent
                )
                os.close(fd)
                try:
                    self.fs.get_file(f"{base}/{rel}", tmp)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
                manifest[rel] = {"local": _local_state(target), "remote": stamp}
                fetched += 1
            if fetched:
                self._write_manifest(folder, manifest)
        return fetched

    def refresh_owner(self, owner_hash: str) -> dict[str, Remote]:
        """Fetch what changed in the store for one owner (no media); {session id: Remote}.

        Returns {} without touching the network when called on an event loop's thread."""
        if _on_event_loop():
            log.debug("archive store: refresh skipped on the event loop")
            return {}
        listed = self.list_owner(owner_hash)
        fetched = sum(self.pull(owner_hash, r, media=False) for r in listed.values())
        if fetched:
            log.info("archive store: fetched %d file(s) for %d session(s)", fetched, len(listed))
        return listed

    def refresh_session(self, owner_hash: str, session_id: str) -> bool:
        """Fetch one stored session completely (media too); True when the store has it."""
        if _on_event_loop():
            log.debug("archive store: refresh skipped on the event loop")
            return False
        remote = self.list_session(owner_hash, session_id)
        if remote is None:
            return False
        n = self.pull(owner_hash, remote, media=True)
        if n:
            log.info("archive store: fetched %d file(s) of session=%s", n, session_id)
        return True

    # ---- local sessions that still need an upload --------------------------------------------
    def unsent_sessions(self, before_unix: float | None = None) -> Iterable[Path]:
        """Local session folders with files not in the store yet (e.g. after a crash or an
        outage); only sessions whose id says they started before `before_unix` when given."""
        root = self.data_dir / SESSIONS_DIR
        if not root.is_dir():
            return
        for owner_dir in sorted(root.iterdir()):
            if not OWNER_HASH_RE.fullmatch(owner_dir.name) or owner_dir.is_symlink():
                continue
            for folder in sorted(owner_dir.iterdir()):
                if not SESSION_ID_RE.fullmatch(folder.name) or folder.is_symlink():
                    continue
                if before_unix is not None and _id_time(folder.name) >= before_unix:
                    continue
                if (folder / "meta.json").is_file() and self.pending(folder):
                    yield folder


def _id_time(session_id: str) -> float:
    from datetime import UTC, datetime

    return datetime.strptime(session_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()


def open_store(
    url: str | None, data_dir: str | os.PathLike[str], options_json: str | None = None
) -> ArchiveStore | None:
    """The store for `url` (None or "" means local disk only: returns None)."""
    if not url:
        return None
    options: dict[str, Any] = {}
    if options_json:
        try:
            options = json.loads(options_json)
        except ValueError as e:
            raise StoreError("GOOGLIVE_ARCHIVE_OPTIONS must be a JSON object") from e
        if not isinstance(options, dict):
            raise StoreError("GOOGLIVE_ARCHIVE_OPTIONS must be a JSON object")
    return ArchiveStore(url, data_dir, options=options)
