"""Data-dir quota and retention: which sessions to delete, and whether recording may start.

Pure policy (`plan`, `level`) and a small I/O part (`QuotaKeeper`: measure the data dir, delete
what the plan says, in a worker thread owned by the app and joined at exit).

Policy, with `max_bytes` (0 = no quota) and `keep_s` (0 = keep forever):
1. sessions older than `keep_s` are deleted (never one still running);
2. when the data dir holds more than `max_bytes`, the oldest sessions are deleted first until
   it holds at most `EVICT_TO` of the quota, skipping running sessions;
3. the page warns from `WARN_AT` of the quota (what is left is running sessions and other
   files that retention cannot free), and recording is refused from 100 %.
It deletes every owner's sessions alike: the operator chose the limits (--max-data-gb,
--keep-days) for the whole server.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from googlive.features.results.archive_layout import (
    OWNER_HASH_RE,
    SESSIONS_DIR,
    is_valid_session_id,
)

log = logging.getLogger(__name__)

EVICT_TO = 0.8
WARN_AT = 0.9
Level = Literal["ok", "warn", "full"]


@dataclass(frozen=True, slots=True)
class SessionUsage:
    path: Path
    started_unix: float
    bytes: int
    running: bool = False


def plan(
    sessions: Iterable[SessionUsage], *, total_bytes: int, max_bytes: int, keep_s: float, now: float
) -> list[SessionUsage]:
    """The sessions to delete, oldest first (see the module docstring)."""
    ordered = sorted(sessions, key=lambda s: (s.started_unix, str(s.path)))
    doomed: list[SessionUsage] = []
    if keep_s > 0:
        doomed = [s for s in ordered if not s.running and now - s.started_unix > keep_s]
    used = total_bytes - sum(s.bytes for s in doomed)
    if max_bytes > 0 and used > max_bytes:
        target = int(max_bytes * EVICT_TO)
        for s in ordered:
            if used <= target:
                break
            if s.running or s in doomed:
                continue
            doomed.append(s)
            used -= s.bytes
    return doomed


def level(used_bytes: int, max_bytes: int) -> Level:
    if max_bytes <= 0:
        return "ok"
    if used_bytes >= max_bytes:
        return "full"
    return "warn" if used_bytes >= max_bytes * WARN_AT else "ok"


def _gb(n: int) -> str:
    return f"{n / 1024**3:.2f} GB"


def warning_text(used_bytes: int, max_bytes: int) -> str:
    """What the page says at this level ('' when all is well)."""
    lv = level(used_bytes, max_bytes)
    if lv == "full":
        return (
            f"This server's storage is full ({_gb(used_bytes)} of {_gb(max_bytes)}): new "
            "conversations are not recorded until space is freed."
        )
    if lv == "warn":
        return (
            f"This server's storage is almost full ({_gb(used_bytes)} of {_gb(max_bytes)}): "
            "recording will be refused when it is full."
        )
    return ""


def dir_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


class QuotaKeeper:
    """Measures `data_dir`, applies the plan, and answers `recording_allowed()`."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str],
        *,
        max_bytes: int,
        keep_s: float,
        running: Callable[[], Iterable[Path]] = tuple,
        interval_s: float = 60.0,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.max_bytes = int(max_bytes)
        self.keep_s = float(keep_s)
        self.running = running
        self.interval_s = float(interval_s)
        self.used_bytes = 0
        self.deleted = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0 or self.keep_s > 0

    def _sessions(self, running: set[str]) -> list[SessionUsage]:
        out: list[SessionUsage] = []
        root = self.data_dir / SESSIONS_DIR
        if not root.is_dir():
            return out
        for owner_dir in root.iterdir():
            if (
                not OWNER_HASH_RE.fullmatch(owner_dir.name)
                or owner_dir.is_symlink()
                or not owner_dir.is_dir()
            ):
                continue
            for d in owner_dir.iterdir():
                if not is_valid_session_id(d.name) or d.is_symlink() or not d.is_dir():
                    continue
                try:
                    started = _started_unix(d)
                except OSError:
                    continue
                out.append(SessionUsage(d, started, dir_bytes(d), str(d.resolve()) in running))
        return out

    def sweep(self, now: float | None = None) -> int:
        """Delete what the policy says; update `used_bytes`. Returns sessions deleted."""
        now = time.time() if now is None else now
        running = {str(Path(p).resolve()) for p in self.running()}
        sessions = self._sessions(running)
        total = dir_bytes(self.data_dir)
        doomed = plan(
            sessions, total_bytes=total, max_bytes=self.max_bytes, keep_s=self.keep_s, now=now
        )
        freed = 0
        for s in doomed:
            try:
                shutil.rmtree(s.path)
            except OSError as e:
                log.warning("quota: could not delete a session (%s)", type(e).__name__)
                continue
            freed += s.bytes
        if doomed:
            log.info("quota: deleted %d session(s), %d bytes freed", len(doomed), freed)
        with self._lock:
            self.used_bytes = max(0, total - freed)
            self.deleted += len(doomed)
        return len(doomed)

    def level(self) -> Level:
        return level(self.used_bytes, self.max_bytes)

    def warning(self) -> str:
        return warning_text(self.used_bytes, self.max_bytes)

    def recording_allowed(self) -> bool:
        return self.level() != "full"

    # ---- the worker thread -----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None or not self.enabled:
            return
        self._safe_sweep()
        self._thread = threading.Thread(target=self._run, name="quota", daemon=True)
        self._thread.start()

    def _safe_sweep(self) -> None:
        try:
            self.sweep()
        except Exception as e:  # a sweep must never take the app down
            log.warning("quota sweep failed (%s)", type(e).__name__)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._safe_sweep()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None


def _started_unix(folder: Path) -> float:
    import json

    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        value = meta.get("started_unix")
        if isinstance(value, int | float):
            return float(value)
    except (OSError, ValueError):
        pass
    return folder.stat().st_mtime
