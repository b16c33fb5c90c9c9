"""Which backend a call uses, and with which key: one rule for the page and the handler.

The page says before the call what it will talk to ("This call will use: …"), and the handler
connects by the same rule, so the two can never disagree:

- the app was started with ``--offline``: the offline demo, always. A key typed in the page is
  ignored and never sent anywhere (the demo server has its own key; a typed key sent there
  would only be rejected, and a real key must not go to a server that is not Google's);
- no key on the server (the offline demo by default): a typed key means "Gemini with my key";
- a key on the server (or an external Live server, ``--live-url``): Gemini with the server's
  key, or with the typed one when there is one.

Pure: no I/O, nothing here holds the key itself (only whether one was typed).
"""

from __future__ import annotations

from dataclasses import dataclass

from googlive.config import Secret, Settings
from googlive.live.backend import Endpoint

OFFLINE, SERVER_KEY, YOUR_KEY = "offline", "server_key", "your_key"

IGNORED_KEY_NOTE = (
    "The offline demo ignores API keys: the key you typed is not used and not sent anywhere. "
    "To talk to Gemini, start the app without --offline."
)


@dataclass(frozen=True, slots=True)
class BackendChoice:
    kind: str  # offline | server_key | your_key
    label: str  # what the page says the call will use
    note: str = ""  # shown next to the key field (e.g. a typed key is ignored)

    @property
    def offline(self) -> bool:
        return self.kind == OFFLINE

    @property
    def uses_typed_key(self) -> bool:
        return self.kind == YOUR_KEY

    @property
    def target(self) -> str:
        """The other end of the call, as the status names it."""
        return "the offline demo" if self.offline else "Gemini"


def choose(settings: Settings, endpoint: Endpoint, typed_key: bool) -> BackendChoice:
    """The backend a call started now will use (see the module docstring)."""
    if settings.offline:
        return BackendChoice(
            OFFLINE,
            "the offline demo (a local server that echoes what it hears; no Gemini)",
            IGNORED_KEY_NOTE if typed_key else "",
        )
    if typed_key:
        return BackendChoice(YOUR_KEY, "Gemini, with the API key you entered")
    if endpoint.offline:
        return BackendChoice(
            OFFLINE,
            "the offline demo (this server has no Gemini API key; enter yours under "
            "Call settings to talk to Gemini)",
        )
    return BackendChoice(SERVER_KEY, "Gemini, with this server's API key")


def connect_target(
    endpoint: Endpoint, choice: BackendChoice, typed: Secret
) -> tuple[Endpoint, Secret]:
    """(endpoint, key) a call connects with: the typed key only when `choice` uses it; an
    offline-demo app (no server key) moves to Google's own endpoint for a typed key."""
    if not choice.uses_typed_key:
        return endpoint, Secret(None)
    if endpoint.offline:
        return Endpoint(None, None, typed, offline=False), typed
    return endpoint, typed


def is_key_problem(message: str) -> bool:
    """A failure the key field should show (googlive/live/retry.py's messages about the key)."""
    low = message.lower()
    return "api key" in low
