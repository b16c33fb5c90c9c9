"""A private network namespace with a veth pair, for WebRTC between Chromium and the app.

Both aioice and Chromium leave loopback out of their ICE candidates, so a browser and the app
on 127.0.0.1 never connect. Inside a fresh namespace with a veth pair they pair over the veth
address while the page is still loaded from http://127.0.0.1 (a secure context, so
getUserMedia exists). Needs root (CAP_SYS_ADMIN) and iproute2's `ip`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path


class NetNamespace:
    """A holder process in a new network namespace; run commands inside with `wrap`."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> NetNamespace:
        for tool in ("unshare", "nsenter", "ip"):
            if shutil.which(tool) is None:
                raise RuntimeError(
                    f"'{tool}' is needed for the browser tests (apt-get install util-linux iproute2)"
                )
        script = (
            "ip link set lo up && "
            "ip link add veth0 type veth peer name veth1 && "
            "ip addr add 10.77.0.1/24 dev veth0 && ip link set veth0 up && ip link set veth1 up && "
            "echo ready && exec sleep 86400"
        )
        self.proc = subprocess.Popen(
            ["unshare", "-n", "bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        line = self.proc.stdout.readline().decode().strip() if self.proc.stdout else ""
        if line != "ready":
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            self.close()
            raise RuntimeError(f"could not create a network namespace (root needed): {err.strip()}")
        return self

    @property
    def netns_path(self) -> str:
        assert self.proc is not None
        return f"/proc/{self.proc.pid}/ns/net"

    def wrap(self, argv: list[str]) -> list[str]:
        """argv run inside the namespace."""
        return ["nsenter", f"--net={self.netns_path}", *argv]

    def browser_wrapper(self, directory: Path, browser: str = "/usr/bin/chromium") -> Path:
        """An executable that starts `browser` inside the namespace (for Playwright)."""
        path = directory / "chromium-in-netns"
        path.write_text(f'#!/bin/sh\nexec nsenter --net={self.netns_path} {browser} "$@"\n')
        path.chmod(0o755)
        return path

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def __exit__(self, *exc: object) -> None:
        self.close()
