"""One replica among several behind a sticky load balancer (see deploy/ and the README's
"Running more than one replica").

- `Capacity`: conversations in use against --max-sessions, counted as fastrtc counts them for
  its own limit (the peer connections the WebRTC component holds, `rtc.pcs`).
- `LbAgent`: haproxy's agent-check protocol on --lb-agent-port (haproxy configuration manual,
  "agent-check": the agent answers one line of words). It answers ``ready <free>%`` while a
  slot is free, so the balancer weighs replicas by free slots, and ``drain`` when all are taken
  or the app is stopping: haproxy then sends this replica no new visitors but keeps serving
  those whose stickiness cookie names it. With every replica drained, haproxy answers new
  visitors with deploy/haproxy/503.http ("all conversation slots are taken").
- `guard_rtc_configuration`: a visitor who presses start on a full replica (the page was
  loaded while a slot was free) reads the app's own message: fastrtc asks the server's `turn()`
  for the RTC configuration at every start and shows the error text it returns.
- The archive store: `setup_archive_store` opens --archive-url, starts the upload worker,
  queues sessions an earlier run left unsent, and attaches both to the data directory.
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any

from googlive.cliflags import add_flag

log = logging.getLogger(__name__)


class Capacity:
    """Slots in use on this replica; `count` is read on the agent's thread (a len() of a dict)."""

    def __init__(self, limit: int, count: Callable[[], int]) -> None:
        self.limit = max(1, int(limit))
        self._count = count
        self.stopping = False

    def in_use(self) -> int:
        try:
            return int(self._count())
        except Exception:  # the component is being torn down: report full rather than guess
            return self.limit

    def full(self) -> bool:
        return self.in_use() >= self.limit

    def agent_reply(self) -> str:
        """One agent-check line: "drain" when full or stopping, else "ready <free>%"."""
        used = self.in_use()
        free = self.limit - used
        if self.stopping or free <= 0:
            return "drain\n"
        return f"ready {max(1, round(100 * free / self.limit))}%\n"

    def full_message(self) -> str:
        return (
            f"All conversation slots are taken right now ({self.limit} of {self.limit} in "
            "use). Please try again in a few minutes."
        )


class LbAgent:
    """A TCP server for haproxy's agent-check: each connection gets one line, then is closed."""

    def __init__(self, capacity: Capacity, host: str, port: int) -> None:
        cap = capacity

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                try:
                    self.request.sendall(cap.agent_reply().encode("ascii"))
                except OSError:
                    pass  # haproxy gave up on this check; it retries on its own

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.capacity = capacity
        self.server = Server((host, port), Handler)
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="lb-agent", daemon=True
        )
        self._thread.start()
        log.info("load-balancer agent listening on %s:%d", host, self.port)

    def close(self) -> None:
        self.capacity.stopping = True
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


def guard_rtc_configuration(config: Any, capacity: Capacity) -> Callable[[], Any]:
    """The RTC configuration as fastrtc's `turn()` resolves it, refused with the app's own
    message while this replica is full. `config` may be a dict, None or a (async) function."""

    async def rtc_configuration() -> Any:
        if capacity.full():
            raise RuntimeError(capacity.full_message())  # fastrtc sends str(e) to the page
        if inspect.isfunction(config):
            if inspect.iscoroutinefunction(config):
                return await config()
            import anyio

            return await anyio.to_thread.run_sync(config)
        return config or {}

    return rtc_configuration


# ---- the page: a call cut off because its replica stopped ----------------------------------
# Runs once in the browser at page load. When a connected call's peer connection fails or
# disconnects, the page asks the server (through the balancer) for /robots.txt: if that fails,
# or another replica answers (haproxy's X-Googlive-Replica header, see deploy/haproxy), the
# replica that ran this call is gone and this page's Gradio session with it, so the status line
# says so and how to go on. A stop the visitor asked for ("closed") never shows it.
LOST_CALL_MESSAGE = (
    "The server running this conversation stopped, so the call was cut off. "
    "Reload the page to start a new call; your finished sessions are kept."
)
LOST_CALL_JS = """
() => {
  if (window.__googliveReplicaWatch) return;
  window.__googliveReplicaWatch = true;
  const MESSAGE = __MESSAGE__;
  const ask = async () => {
    try {
      const r = await fetch('robots.txt', {cache: 'no-store'});
      return {ok: r.ok, replica: r.headers.get('x-googlive-replica')};
    } catch (e) { return {ok: false, replica: null}; }
  };
  let home = null;
  ask().then(a => { home = a.replica; });
  const show = () => {
    const box = document.querySelector('#status');
    if (!box) return;
    const span = document.createElement('span');
    span.className = 'st st-error';
    span.dataset.state = 'replica-lost';
    span.textContent = MESSAGE;
    box.replaceChildren(span);
  };
  const check = async () => {
    const a = await ask();
    if (!a.ok || (home && a.replica && a.replica !== home)) show();
  };
  const Orig = window.RTCPeerConnection;
  if (!Orig) return;
  const Watched = function (...args) {
    const pc = new Orig(...args);
    let connected = false, checked = false;
    pc.addEventListener('connectionstatechange', () => {
      const st = pc.connectionState;
      if (st === 'connected') connected = true;
      if (connected && !checked && (st === 'failed' || st === 'disconnected')) { checked = true; check(); }
    });
    return pc;
  };
  Watched.prototype = Orig.prototype;
  Object.setPrototypeOf(Watched, Orig);
  window.RTCPeerConnection = Watched;
}
""".replace("__MESSAGE__", json.dumps(LOST_CALL_MESSAGE))


class ReplicaPlugin:
    """Installs LOST_CALL_JS on every page (useful with one replica too: a restart)."""

    def controls(self, b: Any) -> None: ...
    def side(self, b: Any) -> None: ...
    def tab(self, b: Any) -> None: ...

    def wire(self, b: Any) -> None:
        b.demo.load(None, None, None, js=LOST_CALL_JS, queue=False, show_api=False)


def install(ctx: Any) -> None:
    """Feature-module hook (googlive.assemble): the page part above."""
    ctx.plugins.append(ReplicaPlugin())


# ---- command line and start-up -------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("running more than one replica")
    add_flag(
        g,
        "--archive-url",
        env="GOOGLIVE_ARCHIVE_URL",
        help="keep finished sessions in this store too, so every replica shows them: "
        "s3://bucket/prefix (credentials from the AWS variables, AWS_ENDPOINT_URL for "
        "S3-compatible stores), gs://bucket/prefix (needs gcsfs) or file:///path "
        "(GOOGLIVE_ARCHIVE_URL; default: local disk only)",
    )
    add_flag(
        g,
        "--lb-agent-port",
        env="GOOGLIVE_LB_AGENT_PORT",
        type=int,
        help="answer haproxy's agent-check on this port: 'drain' when every "
        "conversation slot is taken (GOOGLIVE_LB_AGENT_PORT; default off)",
    )


def check_args(ns: argparse.Namespace) -> None:
    """ValueError with a specific message for impossible values."""
    port = ns.lb_agent_port
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"--lb-agent-port must be between 1 and 65535, got {port}")
    if port is not None and port == ns.port:
        raise ValueError("--lb-agent-port must differ from --port")
    if ns.archive_url:
        from urllib.parse import urlsplit

        from googlive.features.results.archive_store import SCHEMES

        scheme = urlsplit(ns.archive_url).scheme.lower()
        if scheme not in SCHEMES:
            raise ValueError(
                f"--archive-url must be s3://bucket/prefix, gs://bucket/prefix or "
                f"file:///path, got a {scheme or 'plain path'!r} URL"
            )


def setup_archive_store(url: str | None, data_dir: Any) -> Callable[[], None] | None:
    """Open the store, start the uploader and attach both; returns the function to call at exit
    (finishes queued uploads), or None without a URL. Raises StoreError for an unusable URL."""
    from googlive.features.results.archive_attach import attach_store, detach_store
    from googlive.features.results.archive_store import open_store, redact_url
    from googlive.features.results.archive_upload import Uploader

    store = open_store(url, data_dir, os.environ.get("GOOGLIVE_ARCHIVE_OPTIONS"))
    if store is None:
        return None
    try:
        store.check()
        log.info("archive store: %s", redact_url(store.url))
    except Exception as e:  # keep serving: sessions stay local and are uploaded when it is back
        log.warning(
            "archive store %s not reachable at start (%s); sessions stay local until it is",
            redact_url(store.url),
            type(e).__name__,
        )
    if not os.environ.get("GOOGLIVE_BROWSER_SECRET"):
        log.warning(
            "GOOGLIVE_BROWSER_SECRET is not set: each replica keeps its own, so a visitor's "
            "past sessions only show on replicas sharing this data directory"
        )
    uploader = Uploader(store)
    attach_store(data_dir, store, uploader)
    uploader.sweep(before_unix=time.time())

    def close() -> None:
        uploader.close(20.0)
        detach_store(data_dir)

    return close


def start_lb_agent(ctx: Any, port: int | None) -> LbAgent | None:
    """Start the agent for this page's capacity (after `build`); closed first at exit, so the
    balancer drains this replica while the rest shuts down. SystemExit for a busy port."""
    if not port:
        return None
    try:
        agent = LbAgent(ctx.extra["capacity"], ctx.settings.host, port)
    except OSError as e:
        raise SystemExit(
            f"--lb-agent-port {port}: cannot listen ({e.strerror or type(e).__name__})"
        ) from e
    ctx.services.setdefault("on_exit", []).insert(0, agent.close)
    return agent
