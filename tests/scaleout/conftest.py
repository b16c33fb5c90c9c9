"""Fixtures for the scale-out tests: moto's S3 server (the S3 stand-in) on loopback."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(pred: Callable[[], Any], timeout: float = 10.0, step: float = 0.02) -> Any:
    """Poll a condition owned by another thread or process; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while not (v := pred()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)
    return v


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 server in this process (a thread); yields its endpoint URL. AWS variables point
    the SDKs at it with throw-away credentials."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    try:
        yield endpoint
    finally:
        server.stop()


# ---- the browser tests: a Trial (deploy/trial.py) inside a private network namespace -------
MEDIA_IP = "10.77.0.1"  # the namespace's veth address (tests/e2e/netns.py)


@pytest.fixture(scope="module")
def netns():
    from tests.e2e.netns import NetNamespace

    with NetNamespace() as ns:
        yield ns


# A visitor with a small, slow camera: these tests are about routing, storage and relaying,
# and 640x480 VP8 at 15 fps (encoded by Chromium, decoded by each replica) would only load the
# two cores they share.
SMALL_CAMERA = """
(() => {
  const md = navigator.mediaDevices;
  if (!md || !md.getUserMedia) return;
  const orig = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => orig(c && c.video ? {...c, video: {width: 160, height: 120, frameRate: 5}} : c);
})();
"""


@pytest.fixture(scope="module")
def playwright_browser(netns, tmp_path_factory):
    """Chromium inside the namespace; `launch(wav)` gives a fresh context (its own cookies and
    localStorage: one visitor) with a fake mic playing `wav` and a fake camera."""
    import shutil as _shutil

    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_FLAGS, PC_SPY

    if _shutil.which(CHROMIUM) is None and not os.path.exists(CHROMIUM):
        pytest.fail(f"'{CHROMIUM}' is required for the browser tests: apt-get install chromium")
    tmp = tmp_path_factory.mktemp("browsers")
    wrapper = netns.browser_wrapper(tmp)
    pw = sync_playwright().start()
    contexts: list[Any] = []

    def launch(wav: Path) -> Any:
        ctx = pw.chromium.launch_persistent_context(
            str(tmp / f"profile{len(contexts)}"),
            executable_path=str(wrapper),
            headless=True,
            args=[*CHROMIUM_FLAGS, f"--use-file-for-fake-audio-capture={wav}"],
            viewport={"width": 1400, "height": 1000},
        )
        ctx.add_init_script(PC_SPY)
        ctx.add_init_script(SMALL_CAMERA)
        contexts.append(ctx)
        return ctx

    try:
        yield launch
    finally:
        for c in contexts:
            try:
                c.close()
            except Exception:
                pass
        pw.stop()
