"""Public-deployment options: command-line flags and what they turn into at launch.

Kept apart from app.py so that app.py only calls `add_arguments(parser)`, `from_args(ns, parser)`
and `launch_kwargs(opts, data_dir)`. Passwords are read from a file or the environment (a
command-line `--auth` is visible to other local users in `ps`), and are never logged or echoed
in an error message.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from googlive.cliflags import add_flag, add_switch
from googlive.public.httpguard import SecurityMiddleware, frame_ancestors

BROWSER_SECRET_FILE = ".browser-state-secret"
SURVEYS_DIR = "surveys"


@dataclass(frozen=True)
class SecurityOptions:
    max_upload_mb: float = 2.0
    auth: tuple[tuple[str, str], ...] = ()
    max_data_gb: float = 10.0
    keep_days: float = 0.0
    max_per_client: int = 2
    connect_timeout_s: float = 8.0
    trust_forwarded: bool = False
    frame_ancestors: tuple[str, ...] = ()

    @property
    def max_data_bytes(self) -> int:
        return int(self.max_data_gb * 1024**3)


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("public deployment")
    g.add_argument(
        "--auth",
        action="append",
        default=[],
        metavar="USER:PASSWORD",
        help="require this login (repeatable); prefer --auth-file or GOOGLIVE_AUTH, since "
        "command lines are visible to other users of the machine",
    )
    add_flag(
        g,
        "--auth-file",
        env="GOOGLIVE_AUTH_FILE",
        help="file of USER:PASSWORD lines to require a login (Gradio's auth)",
    )
    add_flag(
        g,
        "--max-upload-mb",
        2.0,
        env="GOOGLIVE_MAX_UPLOAD_MB",
        type=float,
        help="largest file a visitor may upload (default 2 MB; surveys are at most 1 MB)",
    )
    add_flag(
        g,
        "--max-data-gb",
        10.0,
        env="GOOGLIVE_MAX_DATA_GB",
        type=float,
        help="data-dir quota: oldest sessions are removed first when over it, and "
        "recording is refused when it cannot be met (default 10; 0 = no quota)",
    )
    add_flag(
        g,
        "--keep-days",
        0.0,
        env="GOOGLIVE_KEEP_DAYS",
        type=float,
        help="delete sessions older than this many days (default 0 = keep)",
    )
    add_flag(
        g,
        "--max-per-client",
        2,
        env="GOOGLIVE_MAX_PER_CLIENT",
        type=int,
        help="conversations one client (signed-in user, else IP address) may hold (default 2)",
    )
    add_flag(
        g,
        "--connect-timeout",
        8.0,
        env="GOOGLIVE_CONNECT_TIMEOUT",
        type=float,
        help="seconds an offer may take to connect with media before its slot is freed (default 8)",
    )
    add_switch(
        g,
        "--trust-forwarded-for",
        env="GOOGLIVE_TRUST_FORWARDED",
        default=bool(os.environ.get("SPACE_ID")),
        help="identify clients by the right-most X-Forwarded-For entry (behind one reverse "
        "proxy; on by default on a Space)",
    )
    add_flag(
        g,
        "--frame-ancestors",
        "",
        env="GOOGLIVE_FRAME_ANCESTORS",
        help="extra origins allowed to embed the page in a frame, space-separated "
        "(always this origin; https://huggingface.co on a Space)",
    )


def parse_auth_lines(text: str, where: str) -> list[tuple[str, str]]:
    """USER:PASSWORD entries, one per line or whitespace-separated; errors name the entry number."""
    out: list[tuple[str, str]] = []
    for n, entry in enumerate(text.split(), start=1):
        user, sep, password = entry.partition(":")
        if not sep or not user or not password:
            raise ValueError(f"{where}: entry {n} is not USER:PASSWORD")
        out.append((user, password))
    return out


def from_args(ns: argparse.Namespace, p: argparse.ArgumentParser) -> SecurityOptions:
    auth: list[tuple[str, str]] = []
    try:
        for i, entry in enumerate(ns.auth, start=1):
            auth += parse_auth_lines(entry, f"--auth #{i}")
        if os.environ.get("GOOGLIVE_AUTH"):
            auth += parse_auth_lines(os.environ["GOOGLIVE_AUTH"], "GOOGLIVE_AUTH")
        if ns.auth_file:
            try:
                text = Path(ns.auth_file).read_text(encoding="utf-8")
            except OSError as e:
                raise ValueError(f"--auth-file: cannot read it ({type(e).__name__})") from None
            auth += parse_auth_lines(text, "--auth-file")
    except ValueError as e:
        p.error(str(e))
    if ns.max_upload_mb <= 0:
        p.error("--max-upload-mb must be more than 0")
    if ns.max_data_gb < 0 or ns.keep_days < 0:
        p.error("--max-data-gb and --keep-days must not be negative")
    if ns.max_per_client < 1 or ns.connect_timeout < 1:
        p.error("--max-per-client must be at least 1 and --connect-timeout at least 1 second")
    return SecurityOptions(
        max_upload_mb=ns.max_upload_mb,
        auth=tuple(auth),
        max_data_gb=ns.max_data_gb,
        keep_days=ns.keep_days,
        max_per_client=ns.max_per_client,
        connect_timeout_s=ns.connect_timeout,
        trust_forwarded=bool(ns.trust_forwarded_for),
        frame_ancestors=tuple(ns.frame_ancestors.split()),
    )


def launch_kwargs(opts: SecurityOptions, data_dir: Path) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch` (besides host/port/share)."""
    from starlette.middleware import Middleware

    data = data_dir.resolve()
    kw: dict[str, Any] = {
        "show_api": False,
        "max_file_size": int(opts.max_upload_mb * 1024 * 1024),
        # Gradio may copy session files out of the data dir into its cache (to serve them) ...
        "allowed_paths": [str(data)],
        # ... but never these, and the file route serves nothing inside the data dir at all.
        "blocked_paths": [str(data / SURVEYS_DIR), str(data / BROWSER_SECRET_FILE)],
        "app_kwargs": {
            "middleware": [
                Middleware(
                    SecurityMiddleware,
                    private_roots=[data],
                    ancestors=frame_ancestors(extra=opts.frame_ancestors),
                    on_space=bool(os.environ.get("SPACE_ID")),
                )
            ]
        },
    }
    if opts.auth:
        kw["auth"] = list(opts.auth)
        kw["auth_message"] = "This googlive server requires a login."
    return kw


def hide_api(demo: Any) -> int:
    """Leave every event out of /gradio_api/info, /openapi.json and the page's API info.

    The page calls its events by fn_index through the queue, which still works: hidden means
    undocumented, not closed (a script can still join the queue). What protects data are the
    owner checks in each handler. Returns how many events were hidden.
    """
    n = 0
    for fn in demo.fns.values():
        if fn.api_name is not False or fn.show_api:
            fn.api_name = False
            fn.show_api = False
            n += 1
    return n
