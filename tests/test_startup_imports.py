"""Start-up does not pay for google-genai: building and serving the page leaves it unimported,
and the warm-up thread then imports what the first call needs (googlive/live/preload.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# What `python app.py --offline` does up to its first HTTP 200 (app.main), in a fresh
# interpreter: the offline Live server, every feature, the page, the server, one GET.
CHILD = r"""
import socket
import sys
from pathlib import Path

import httpx

import app  # noqa: F401  (what `python app.py` imports first)
from googlive.assemble import assemble
from googlive.config import Settings
from googlive.live.backend import resolve_endpoint
from googlive.live.preload import LIVE_MODULE, warm_up_in_background
from googlive.ui import AppContext, build

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
settings = Settings(offline=True, data_dir=Path(sys.argv[1]), no_ice_servers=True, port=port)
endpoint, server = resolve_endpoint(settings)
try:
    ctx = AppContext(settings, endpoint)
    assemble(ctx)
    demo = build(ctx)
    assert "google.genai" not in sys.modules, "building the page imported google.genai"
    demo.queue(default_concurrency_limit=None, api_open=False).launch(
        server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True
    )
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=10).status_code == 200
        assert "google.genai" not in sys.modules, "serving the page imported google.genai"
        t = warm_up_in_background()
        assert t.daemon
        t.join(60)
        assert not t.is_alive() and LIVE_MODULE in sys.modules and "google.genai" in sys.modules
    finally:
        demo.close()
finally:
    if server is not None:
        server.stop()
print("OK")
"""


def test_building_and_serving_the_page_does_not_import_google_genai(tmp_path: Path) -> None:
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", GOOGLIVE_LOG="WARNING")
    env.pop("GOOGLIVE_FEATURES", None)
    r = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0 and r.stdout.strip().endswith("OK"), r.stderr[-3000:]
