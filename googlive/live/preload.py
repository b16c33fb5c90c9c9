"""google-genai, loaded off the event loop: after the page is up, and before a call needs it.

Importing google.genai costs 0.7-1.1 s of CPU on the 2-core bench machine (pydantic builds ~450
model classes in google.genai.types, and the SDK brings google.auth, requests and aiohttp),
more than the rest of the app's start-up beyond bare Gradio + fastrtc. So building and serving
the page never imports it: every module on that path imports it inside the functions that use
it (googlive/live/models.py, backend.py, protocol.py, the features' tool declarations, the
Results analysis), and googlive/handler.py imports `LIVE_MODULE` (the session, which imports
the SDK) only in `GeminiHandler.start_up`. Then:

- `warm_up_in_background()` (app.py, once the server answers) imports `LIVE_MODULE` in a daemon
  thread, so the first call finds it loaded;
- `GeminiHandler.start_up` awaits `asyncio.to_thread(importlib.import_module, LIVE_MODULE)`
  before it builds anything from google-genai: a no-op once the warm-up is done, a wait in a
  worker thread (never on the event loop) while it runs, the whole import when there was none
  (tests, bench). The Results analysis does the same with "google.genai".

Why a thread is safe here. The issue asked for "an import that must happen before any thread";
that cannot be had (the offline Live server's loop, uvicorn's server thread and, when it is
on, Gradio's analytics thread all run before the page is up), and importing before them is the
second this saves. What was checked instead (google-genai 2.8.0, pydantic 2.12.3, Python 3.11):
- Python's import lock is per module: a second importer of a module being imported waits until
  it is complete, never sees it half built. The warm-up and start_up import the same entry
  module, so the second waits at that module's lock holding no other; the "partially
  initialized module" (_DeadlockError) race needs two threads entering an import cycle from
  different ends (googlive itself has no cycles: tests/test_layout.py). What the event loop
  could still do wrong is import a google-genai module itself while the warm-up runs: it would
  block until the import is done. It never does: every use on the loop comes after one of the
  awaits above.
- pydantic: google-genai 2.8 builds its models at import (no `defer_build`), so no model is
  first built by a later concurrent use; pydantic's `model_rebuild` is not thread-safe before
  pydantic PR 13438 and google-genai >= 2.18 defers its builds to first use
  (googleapis/python-genai#2991). The six models left incomplete after import (tuning jobs,
  evaluation config) are never used by the app. The warm-up only imports: it builds no SDK
  value, so no first use in it can race one on the loop.
- Nothing imported (google.genai, google.auth, requests, urllib3, aiohttp, tenacity and their
  dependencies) installs a signal handler at import (only possible in the main thread), and the
  app never forks (a fork while a thread holds an import lock leaves the child's lock held).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time

log = logging.getLogger(__name__)

LIVE_MODULE = "googlive.live.session"
"""The module a call needs first; importing it imports google.genai (types, errors, client)."""


def import_live() -> None:
    """Import `LIVE_MODULE` (the warm-up thread's work); a failure is logged, not raised: the
    first call's own import then raises it where it can be reported."""
    t0 = time.perf_counter()
    try:
        importlib.import_module(LIVE_MODULE)
    except Exception as exc:
        log.warning("warm-up import of %s failed (%s)", LIVE_MODULE, type(exc).__name__)
        return
    log.debug("warm-up: %s imported in %.2f s", LIVE_MODULE, time.perf_counter() - t0)


def warm_up_in_background() -> threading.Thread:
    """Start a daemon thread that imports `LIVE_MODULE`; returns it (started)."""
    t = threading.Thread(target=import_live, name="googlive-warm-up", daemon=True)
    t.start()
    return t


__all__ = ["LIVE_MODULE", "import_live", "warm_up_in_background"]
