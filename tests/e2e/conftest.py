"""Fixtures for the browser tests: the app in a private network namespace, and Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from googlive.testing.procs import stop_process
from tests.e2e.helpers import NET_TRACE_JS
from tests.e2e.netns import NetNamespace

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("GOOGLIVE_CHROMIUM", "/usr/bin/chromium")


def _require(tool: str) -> str:
    path = shutil.which(tool) or (tool if os.path.exists(tool) else None)
    if path is None:
        pytest.fail(
            f"'{tool}' is required for the browser tests: apt-get install chromium espeak-ng sox"
        )
    return path


@pytest.fixture(scope="session")
def netns() -> Iterator[NetNamespace]:
    with NetNamespace() as ns:
        yield ns


def make_speech(path: Path, text: str, *, pad_before: float = 2.0, pad_after: float = 6.0) -> Path:
    """A 48 kHz mono WAV of espeak-ng speaking `text`, padded with silence."""
    _require("espeak-ng")
    _require("sox")
    raw = path.with_suffix(".raw.wav")
    subprocess.run(
        ["espeak-ng", "-s", "150", "-w", str(raw), text], check=True, capture_output=True
    )
    subprocess.run(
        [
            "sox",
            str(raw),
            "-r",
            "48000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(path),
            "pad",
            str(pad_before),
            str(pad_after),
        ],
        check=True,
        capture_output=True,
    )
    return path


def make_clip(path: Path, parts: list[tuple[str, float] | tuple[str, float, str]]) -> Path:
    """A 48 kHz mono WAV made of `parts`, in order: ("silence", seconds) or ("say", at most
    seconds, text) — espeak-ng speaking `text`, its own leading/trailing silence trimmed, cut
    to that length with a 30 ms fade (so "mm hm" cut to 0.25 s is a short backchannel)."""
    _require("espeak-ng")
    _require("sox")
    pieces = []
    fmt = ["-r", "48000", "-c", "1", "-b", "16", "-e", "signed-integer"]
    for i, part in enumerate(parts):
        out = path.with_name(f"{path.stem}.part{i}.wav")
        if part[0] == "silence":
            cmd = ["sox", "-n", *fmt, str(out), "trim", "0", f"{part[1]:.3f}"]
        elif part[0] == "say":
            raw = out.with_suffix(".raw.wav")
            subprocess.run(
                ["espeak-ng", "-s", "160", "-w", str(raw), str(part[2])],
                check=True,
                capture_output=True,
            )
            trim = "silence 1 0.005 1% reverse silence 1 0.005 1% reverse".split()
            cmd = ["sox", str(raw), *fmt, str(out), *trim, "trim", "0", f"{part[1]:.3f}"]
            cmd += ["reverse", "fade", "0.03", "reverse", "fade", "0.005"]
        else:
            raise ValueError(f"unknown clip part {part[0]!r}")
        subprocess.run(cmd, check=True, capture_output=True)
        pieces.append(str(out))
    subprocess.run(["sox", *pieces, str(path)], check=True, capture_output=True)
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path, data_dir: Path) -> None:
        self.proc, self.url, self.log, self.data_dir = proc, url, log, data_dir

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def start_app(
    netns: NetNamespace, tmp: Path, *extra: str, env: dict[str, str] | None = None
) -> AppProcess:
    port = _free_port()
    log = tmp / "app.log"
    data_dir = tmp / "data"
    e = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    e.update({"GOOGLIVE_NO_ICE": "1", "PYTHONUNBUFFERED": "1", "GRADIO_ANALYTICS_ENABLED": "False"})
    # Gradio wraps every event in MatplotlibBackendMananger (gradio/utils.py), whose
    # matplotlib.get_backend() imports pyplot on the server's event loop when matplotlib is
    # installed (it is here, for bench plots) and no backend is set: 2-7 s with the GIL held
    # during the first call, long enough for Chromium's ICE consent to fail and the call to
    # drop. A set backend makes get_backend() a lookup.
    e.setdefault("MPLBACKEND", "agg")
    e.update(env or {})
    argv = netns.wrap(
        [
            sys.executable,
            str(ROOT / "app.py"),
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *extra,
        ]
    )
    fh = log.open("wb")
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, env=e)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited early:\n{log.read_text(errors='replace')[-3000:]}")
        probe = subprocess.run(
            netns.wrap(
                [
                    sys.executable,
                    "-c",
                    f"import urllib.request;urllib.request.urlopen('{url}/',timeout=2)",
                ]
            ),
            capture_output=True,
        )
        if probe.returncode == 0:
            return AppProcess(proc, url, log, data_dir)
        time.sleep(0.3)  # polling a starting server: the condition is checked each round
    proc.kill()
    raise RuntimeError(f"app did not answer in 90 s:\n{log.read_text(errors='replace')[-3000:]}")


def stop_app(app: AppProcess) -> None:
    if app.proc.poll() is None:
        app.proc.terminate()
        try:
            app.proc.wait(15)
        except subprocess.TimeoutExpired:
            app.proc.kill()
            app.proc.wait(5)


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    "--disable-dev-shm-usage",
]

PC_SPY = """
(() => {
  const Orig = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function(...args) { const pc = new Orig(...args); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Orig.prototype;
  window.__dialogs = 0;
  window.alert = () => { window.__dialogs++; };
  window.confirm = () => { window.__dialogs++; return false; };
  window.prompt = () => { window.__dialogs++; return null; };
})();
"""


@pytest.fixture
def browser_factory(netns: NetNamespace, tmp_path: Path):
    _require(CHROMIUM)
    from playwright.sync_api import sync_playwright

    wrapper = netns.browser_wrapper(tmp_path)
    pw = sync_playwright().start()
    contexts = []

    def launch(
        audio_wav: Path,
        *,
        loop: bool = True,
        viewport: dict | None = None,
        grant: list[str] | None = None,
        init_script: str | None = None,
        flags: list[str] | None = None,
        **options,
    ):
        """A fresh browser profile. `grant`: only these permissions ("camera", "microphone")
        are granted and every other prompt is denied (instead of the fake UI accepting all).
        `flags` replace CHROMIUM_FLAGS; `options` go to Playwright's
        launch_persistent_context (e.g. timezone_id)."""
        flag = f"--use-file-for-fake-audio-capture={audio_wav}" + ("" if loop else "%noloop")
        args = [*(CHROMIUM_FLAGS if flags is None else flags), flag]
        if grant is not None:
            args = [a for a in args if a != "--use-fake-ui-for-media-stream"]
            args.append("--deny-permission-prompts")
        ctx = pw.chromium.launch_persistent_context(
            str(tmp_path / f"profile{len(contexts)}"),
            executable_path=str(wrapper),
            headless=True,
            args=args,
            viewport=viewport or {"width": 1400, "height": 1000},
            **options,
        )
        if grant:
            ctx.grant_permissions(grant)
        ctx.add_init_script(PC_SPY)
        ctx.add_init_script(NET_TRACE_JS)
        if init_script:
            ctx.add_init_script(init_script)
        contexts.append(ctx)
        return ctx

    launch.contexts = contexts  # type: ignore[attr-defined]  # a failure's report reads them
    yield launch
    for c in contexts:
        try:
            c.close()
        except Exception:
            pass
    pw.stop()


class LiveChild:
    """The local Live server in a process of its own (tests/e2e/live_child.py), in the netns."""

    def __init__(self, proc: subprocess.Popen[bytes], info: dict, out: Path) -> None:
        self.proc, self.out = proc, out
        self.url, self.ca_cert, self.api_key = info["url"], info["ca_cert"], info["api_key"]

    def stats(self) -> dict:
        import json

        for _ in range(20):  # a concurrent rename: read again
            try:
                return json.loads((self.out / "stats.json").read_text())
            except (OSError, ValueError):
                time.sleep(0.02)
        raise RuntimeError("the live child's stats.json could not be read")

    def app_args(self) -> list[str]:
        return ["--live-url", self.url, "--live-ca", self.ca_cert]

    def app_env(self) -> dict[str, str]:
        return {"GOOGLIVE_LIVE_KEY": self.api_key}

    def stop(self) -> None:
        stop_process(self.proc)


def start_live_child(netns: NetNamespace, tmp: Path) -> LiveChild:
    import json

    out = tmp / "live"
    out.mkdir(parents=True, exist_ok=True)
    argv = netns.wrap([sys.executable, "-m", "tests.e2e.live_child", str(out)])
    proc = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=(out / "live.log").open("wb")
    )
    line = proc.stdout.readline().decode() if proc.stdout else ""
    if not line.strip():
        proc.kill()
        raise RuntimeError("live child did not start: " + (out / "live.log").read_text()[-2000:])
    return LiveChild(proc, json.loads(line), out)
