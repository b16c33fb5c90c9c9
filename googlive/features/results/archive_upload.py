"""The upload worker: finished sessions go to the archive store from one background thread.

`submit(folder)` never blocks (the event loop and the archive's own threads call it): it puts
the folder in a bounded queue; the worker uploads it with `ArchiveStore.push`, retrying with
back-off. A session that still fails keeps its local copy and is retried every `retry_every_s`
(and at the next start, by `sweep`); the log names it by session id only, with the exception
type. `close(timeout)` finishes what is queued within the timeout, then stops the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path

from googlive.features.results.archive_store import ArchiveStore

log = logging.getLogger(__name__)

QUEUE_SIZE = 1024
BACKOFF_S = (0.5, 1.0, 2.0, 4.0)  # waits between the attempts of one round


class Uploader:
    """One daemon thread that uploads session folders to `store`."""

    def __init__(
        self,
        store: ArchiveStore,
        *,
        retry_every_s: float = 60.0,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self.store = store
        self.retry_every_s = retry_every_s
        self.backoff_s = backoff_s
        self._q: queue.Queue[Path | None] = queue.Queue(queue_size)
        self._queued: set[Path] = set()
        self._failed: dict[Path, float] = {}  # folder -> when to try again
        self._guard = threading.Lock()
        self._stop = threading.Event()
        self._idle = threading.Condition(self._guard)
        self._busy = 0
        self.uploaded = 0  # sessions pushed (with at least one file), for tests and logs
        self._thread = threading.Thread(target=self._run, name="archive-upload", daemon=True)
        self._thread.start()

    # ---- API -------------------------------------------------------------------------------
    def submit(self, folder: str | Path, *, quiet: bool = False) -> bool:
        """Queue a session folder for upload; False when it could not be queued (it stays
        local and is picked up by the next retry round or start)."""
        folder = Path(folder)
        with self._guard:
            if self._stop.is_set():
                return False
            if folder in self._queued:
                return True
            try:
                self._q.put_nowait(folder)
            except queue.Full:
                self._failed.setdefault(folder, time.monotonic() + self.retry_every_s)
                if not quiet:
                    log.warning(
                        "archive upload queue full; session=%s stays local for now", folder.name
                    )
                return False
            self._queued.add(folder)
            return True

    def sweep(self, before_unix: float | None = None) -> int:
        """Queue every local session with files not in the store yet; returns how many."""
        n = later = 0
        for folder in self.store.unsent_sessions(before_unix):
            if self.submit(folder, quiet=True):
                n += 1
            else:
                later += 1
        if n or later:
            log.info(
                "archive upload: %d session(s) from earlier runs queued, %d more once the "
                "queue has room",
                n,
                later,
            )
        return n

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is queued or being uploaded (True), or `timeout` passes."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._queued or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    @property
    def failed(self) -> list[str]:
        """Session ids waiting for a retry after a failed upload."""
        with self._guard:
            return sorted(p.name for p in self._failed)

    def close(self, timeout: float = 20.0) -> None:
        """Upload what is queued (within `timeout`), then stop the thread. Idempotent."""
        if not self._thread.is_alive():
            return
        done = self.wait_idle(timeout)
        with self._guard:
            self._stop.set()
            left = len(self._queued) + len(self._failed)
        try:
            self._q.put_nowait(None)
        except queue.Full:
            pass
        self._thread.join(timeout=max(1.0, timeout))
        if not done or left:
            log.warning(
                "archive upload: %d session(s) not uploaded at exit; kept locally and "
                "uploaded at the next start",
                left,
            )

    # ---- worker ----------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                folder = self._q.get(timeout=min(self.retry_every_s, 5.0))
            except queue.Empty:
                self._requeue_due()
                continue
            if folder is None:
                break
            with self._guard:
                self._busy += 1
                self._queued.discard(folder)
            try:
                self._upload(folder)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()
            self._requeue_due()

    def _requeue_due(self) -> None:
        now = time.monotonic()
        with self._guard:
            due = [p for p, t in self._failed.items() if t <= now]
            for p in due:
                del self._failed[p]
        for p in due:
            self.submit(p)

    def _upload(self, folder: Path) -> None:
        if not folder.is_dir():
            return  # deleted meanwhile (retention): nothing to send
        err = "?"
        for attempt, wait in enumerate((*self.backoff_s, None), 1):
            try:
                n = self.store.push(folder)
            except Exception as e:  # network, credentials, quota: type only, never the text
                err = type(e).__name__
                if wait is None or self._stop.wait(wait):
                    break
                continue
            if n:
                self.uploaded += 1
                log.info("archive uploaded session=%s files=%d attempt=%d", folder.name, n, attempt)
            with self._guard:
                self._failed.pop(folder, None)
            return
        with self._guard:
            self._failed[folder] = time.monotonic() + self.retry_every_s
        log.warning(
            "archive upload failed session=%s (%s); kept locally, retried in %.0f s",
            folder.name,
            err,
            self.retry_every_s,
        )
