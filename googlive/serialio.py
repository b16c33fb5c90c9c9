"""One worker thread that runs blocking file writes in the order they were asked for.

The archive's appends (events, transcript lines, meta.json) fsync now and then; done on the
event loop they hold up the audio path for as long as the disk takes. `SerialWriter.submit`
queues a call and returns at once; the thread runs the calls one after another, so the order
of lines in a file is the order of `submit`s. The queue is bounded: when the disk has fallen
`maxsize` writes behind, a new write is refused (counted in `dropped`, logged once) rather
than growing memory. `close` runs what is queued, then ends the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_STOP = object()


class SerialWriter:
    def __init__(self, name: str, maxsize: int = 4096) -> None:
        self.name = name
        self.dropped = 0
        self.failed = 0
        self._q: queue.Queue[Any] = queue.Queue(maxsize)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> bool:
        """Queue `fn(*args, **kw)`; False (and counted) when closed or too far behind."""
        if self._closed:
            return False
        try:
            self._q.put_nowait((fn, args, kw))
            return True
        except queue.Full:
            if not self.dropped:
                log.warning(
                    "%s: writes fell %d behind; dropping (counted)", self.name, self._q.maxsize
                )
            self.dropped += 1
            return False

    def close(self, timeout: float = 30.0) -> bool:
        """Run everything queued, then stop the thread (blocking: call it from a thread).
        False when the thread did not finish within `timeout`."""
        if not self._closed:
            self._closed = True
            self._q.put(_STOP)  # blocks while full: the queued writes go first
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            fn, args, kw = item
            try:
                fn(*args, **kw)
            except Exception as e:  # one failed write must not end the writer
                self.failed += 1
                log.warning("%s: a write failed (%s)", self.name, type(e).__name__)
