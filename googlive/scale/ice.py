"""ICE servers (STUN/TURN) for the browser and the server, from flags and the environment.

Nothing is hard-wired: without these settings the app keeps its earlier behaviour (no ICE
servers with --no-ice-servers, Cloudflare TURN through fastrtc on a Space with HF_TOKEN).

- ``--ice-servers JSON`` / GOOGLIVE_ICE_SERVERS: a list of RTCIceServer objects
  (``[{"urls": "stun:stun.example.org"}, {"urls": ["turn:turn.example.org"], "username": "u",
  "credential": "p"}]``, or ``{"iceServers": [...]}``), for both sides.
- ``--turn-url`` / GOOGLIVE_TURN_URL (comma-separated ``turn:``/``turns:`` URLs) with either
  a coturn shared secret (GOOGLIVE_TURN_SECRET, or ``--turn-secret-file``) or a fixed
  ``--turn-user`` / GOOGLIVE_TURN_PASSWORD.
- ``--ice-transport-policy relay`` / GOOGLIVE_ICE_TRANSPORT_POLICY: relay-only on both sides
  (every call through TURN; for strict networks and to prove the relay works).

With a shared secret the app mints time-limited credentials by coturn's TURN REST scheme
(``use-auth-secret``; coturn's README.turnserver: username ``"<expiry unix time>:<id>"``,
password ``base64(HMAC-SHA1(secret, username))``): a fresh pair each time a browser starts a
call (fastrtc asks the server's ``turn()`` at every start) and each time the server opens a
peer connection. The secret itself never leaves the process; the page only ever holds a
credential that expires after ``--turn-ttl`` seconds.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from googlive.cliflags import add_flag
from googlive.config import Secret

SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
POLICIES = ("all", "relay")
DEFAULT_TTL_EXTRA_S = 900  # credentials outlive the longest call by this much


def turn_rest_credentials(
    secret: str, ttl_s: int, *, user: str | None = None, now: float | None = None
) -> tuple[str, str]:
    """(username, credential) for coturn's ``use-auth-secret``: valid for `ttl_s` seconds."""
    if not secret:
        raise ValueError("the TURN shared secret is empty")
    expiry = int(time.time() if now is None else now) + int(ttl_s)
    username = f"{expiry}:{user or secrets.token_hex(6)}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def _check_server(entry: object, where: str) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} must be an object with 'urls'")
    urls = entry.get("urls")
    url_list = [urls] if isinstance(urls, str) else urls
    if (
        not isinstance(url_list, list)
        or not url_list
        or not all(isinstance(u, str) for u in url_list)
    ):
        raise ValueError(f"{where}: 'urls' must be a URL or a non-empty list of URLs")
    for u in url_list:
        if not u.startswith(SCHEMES):
            raise ValueError(f"{where}: {u!r} is not a stun:, stuns:, turn: or turns: URL")
    out: dict[str, Any] = {"urls": list(url_list)}
    for k in ("username", "credential"):
        if k in entry:
            if not isinstance(entry[k], str):
                raise ValueError(f"{where}: '{k}' must be a string")
            out[k] = entry[k]
    if any(u.startswith(("turn:", "turns:")) for u in url_list) and not (
        "username" in out and "credential" in out
    ):
        raise ValueError(f"{where}: a TURN server needs 'username' and 'credential'")
    extra = set(entry) - {"urls", "username", "credential", "credentialType"}
    if extra:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(extra))}")
    return out


def parse_ice_servers(text: str) -> tuple[dict[str, Any], ...]:
    """The servers of a --ice-servers JSON value, checked; raises ValueError saying what is wrong."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ValueError(f"--ice-servers is not valid JSON ({e.msg} at position {e.pos})") from e
    if isinstance(data, Mapping):
        data = data.get("iceServers")
    if not isinstance(data, list):
        raise ValueError('--ice-servers must be a JSON list of servers or {"iceServers": [...]}')
    return tuple(_check_server(e, f"--ice-servers entry {i + 1}") for i, e in enumerate(data))


@dataclass(frozen=True)
class IceSettings:
    """What the operator configured; `configured` False means "keep the app's defaults"."""

    servers: tuple[dict[str, Any], ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_user: str = ""
    turn_password: Secret = field(default_factory=lambda: Secret(None))
    turn_secret: Secret = field(default_factory=lambda: Secret(None))
    turn_ttl_s: int = 3600
    policy: str = "all"

    def __post_init__(self) -> None:
        for u in self.turn_urls:
            if not u.startswith(("turn:", "turns:")):
                raise ValueError(f"--turn-url {u!r} must start with turn: or turns:")
        if self.turn_urls and not self.turn_secret and not (self.turn_user and self.turn_password):
            raise ValueError(
                "--turn-url needs GOOGLIVE_TURN_SECRET (coturn use-auth-secret) or "
                "--turn-user with GOOGLIVE_TURN_PASSWORD"
            )
        if self.turn_secret and (self.turn_user or self.turn_password):
            raise ValueError(
                "use either a TURN shared secret or a fixed TURN user/password, not both"
            )
        if (self.turn_secret or self.turn_user or self.turn_password) and not self.turn_urls:
            raise ValueError("TURN credentials were given without --turn-url")
        if self.turn_ttl_s < 60:
            raise ValueError(f"--turn-ttl must be at least 60 seconds, got {self.turn_ttl_s}")
        if self.policy not in POLICIES:
            raise ValueError(f"--ice-transport-policy must be one of {', '.join(POLICIES)}")
        has_turn = self.turn_urls or any(
            u.startswith(("turn:", "turns:")) for s in self.servers for u in s["urls"]
        )
        if self.policy == "relay" and not has_turn:
            raise ValueError(
                "--ice-transport-policy relay needs a TURN server (--turn-url or --ice-servers)"
            )

    @property
    def configured(self) -> bool:
        return bool(self.servers or self.turn_urls or self.policy != "all")

    def ice_servers(self, now: float | None = None) -> list[dict[str, Any]]:
        """The servers as RTCIceServer dicts, with freshly minted TURN credentials if a shared
        secret is set (a new username each call)."""
        out = [dict(s, urls=list(s["urls"])) for s in self.servers]
        if self.turn_urls:
            if self.turn_secret:
                user, cred = turn_rest_credentials(self.turn_secret.get(), self.turn_ttl_s, now=now)
            else:
                user, cred = self.turn_user, self.turn_password.get()
            out.append({"urls": list(self.turn_urls), "username": user, "credential": cred})
        return out

    def browser_config(self) -> dict[str, Any]:
        """One RTCConfiguration for a browser (minted now)."""
        conf: dict[str, Any] = {"iceServers": self.ice_servers()}
        if self.policy != "all":
            conf["iceTransportPolicy"] = self.policy
        return conf

    def browser_config_fn(self) -> Callable[[], dict[str, Any]]:
        """A plain function fastrtc calls at each start (its `turn()`; inspect.isfunction)."""

        def rtc_configuration() -> dict[str, Any]:
            return self.browser_config()

        return rtc_configuration

    def server_config(self) -> Any:
        """The aiortc RTCConfiguration for the server's peer connections (minted per use)."""
        return minted_configuration(self)


def _aiortc_servers(entries: list[dict[str, Any]]) -> list[Any]:
    from aiortc import RTCIceServer

    return [
        RTCIceServer(urls=e["urls"], username=e.get("username"), credential=e.get("credential"))
        for e in entries
    ]


@functools.cache
def _minted_class() -> type:
    from aiortc import RTCConfiguration, RTCIceTransportPolicy

    class _Minted(RTCConfiguration):
        """aiortc's RTCConfiguration whose `iceServers` are minted each time aiortc reads them
        (once per peer connection), so time-limited TURN credentials never go stale. fastrtc's
        own conversion of a dict drops `iceTransportPolicy`; this object carries it."""

        def __init__(self, ice: IceSettings) -> None:
            self._ice = ice
            policy = (
                RTCIceTransportPolicy.RELAY if ice.policy == "relay" else RTCIceTransportPolicy.ALL
            )
            super().__init__(iceServers=None, iceTransportPolicy=policy)

        @property  # type: ignore[override]
        def iceServers(self) -> list[Any]:
            return _aiortc_servers(self._ice.ice_servers())

        @iceServers.setter
        def iceServers(self, _value: Any) -> None:
            pass  # minted on every read

        def __repr__(self) -> str:  # never the credentials
            n = len(self._ice.servers) + bool(self._ice.turn_urls)
            return f"minted_configuration(policy={self._ice.policy}, servers={n})"

    return _Minted


def minted_configuration(ice: IceSettings) -> Any:
    """An aiortc RTCConfiguration for `ice` whose TURN credentials are minted per read."""
    return _minted_class()(ice)


# ---- command line ---------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("ICE servers (STUN/TURN)")
    add_flag(
        g,
        "--ice-servers",
        env="GOOGLIVE_ICE_SERVERS",
        help="JSON list of RTCIceServer objects for browser and server, e.g. "
        '\'[{"urls": "stun:stun.example.org:3478"}]\' (GOOGLIVE_ICE_SERVERS)',
    )
    add_flag(
        g,
        "--turn-url",
        env="GOOGLIVE_TURN_URL",
        help="TURN server URL(s), comma-separated, e.g. turn:turn.example.org:3478 "
        "(GOOGLIVE_TURN_URL); credentials from GOOGLIVE_TURN_SECRET (coturn "
        "use-auth-secret, time-limited) or --turn-user + GOOGLIVE_TURN_PASSWORD",
    )
    add_flag(
        g,
        "--turn-user",
        "",
        env="GOOGLIVE_TURN_USER",
        help="fixed TURN user name (GOOGLIVE_TURN_USER); its password from GOOGLIVE_TURN_PASSWORD",
    )
    add_flag(
        g,
        "--turn-secret-file",
        env="GOOGLIVE_TURN_SECRET_FILE",
        help="file holding coturn's static-auth-secret (instead of GOOGLIVE_TURN_SECRET)",
    )
    g.add_argument(
        "--turn-ttl",
        type=int,
        default=None,
        help="seconds a minted TURN credential stays valid (GOOGLIVE_TURN_TTL; default "
        f"the conversation time limit + {DEFAULT_TTL_EXTRA_S} s)",
    )
    add_flag(
        g,
        "--ice-transport-policy",
        "all",
        env="GOOGLIVE_ICE_TRANSPORT_POLICY",
        choices=POLICIES,
        help="'relay' sends every call through TURN, on both sides (GOOGLIVE_ICE_TRANSPORT_POLICY)",
    )


def from_args(ns: argparse.Namespace, env: Mapping[str, str] | None = None) -> IceSettings:
    """IceSettings from parsed flags and the environment; ValueError says what is wrong."""
    env = os.environ if env is None else env
    servers = parse_ice_servers(ns.ice_servers) if ns.ice_servers else ()
    urls = tuple(u.strip() for u in (ns.turn_url or "").split(",") if u.strip())
    secret = env.get("GOOGLIVE_TURN_SECRET", "")
    if ns.turn_secret_file:
        if secret:
            raise ValueError("set GOOGLIVE_TURN_SECRET or --turn-secret-file, not both")
        try:
            with open(ns.turn_secret_file, encoding="utf-8") as fh:
                secret = fh.read().strip()
        except OSError as e:
            raise ValueError(f"--turn-secret-file cannot be read ({type(e).__name__})") from e
        if not secret:
            raise ValueError("--turn-secret-file is empty")
    ttl = ns.turn_ttl
    if ttl is None:
        raw = env.get("GOOGLIVE_TURN_TTL", "")
        try:
            ttl = int(raw) if raw else int(getattr(ns, "time_limit", 1800)) + DEFAULT_TTL_EXTRA_S
        except ValueError as e:
            raise ValueError(f"GOOGLIVE_TURN_TTL must be a whole number, got {raw!r}") from e
    ice = IceSettings(
        servers=servers,
        turn_urls=urls,
        turn_user=ns.turn_user or "",
        turn_password=Secret(env.get("GOOGLIVE_TURN_PASSWORD")),
        turn_secret=Secret(secret),
        turn_ttl_s=ttl,
        policy=ns.ice_transport_policy,
    )
    if ice.configured and getattr(ns, "no_ice_servers", False):
        raise ValueError(
            "--no-ice-servers cannot be combined with --ice-servers, --turn-url or a relay policy"
        )
    return ice
