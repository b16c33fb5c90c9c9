"""Who a page visitor is, as far as this server can tell: the owner of their data.

Three kinds of owner, strongest first:

- `user:<name>`: signed in through Gradio's `auth=` (a self-hosted link with --auth / --auth-file
  / GOOGLIVE_AUTH); Gradio puts the name on every request (`gr.Request.username`).
- `hf:<username>`: signed in with Hugging Face (gr.LoginButton on a Space with `hf_oauth: true`);
  Gradio keeps the OAuth userinfo in a signed session cookie (`request.session["oauth_info"]`).
- an anonymous per-browser id: a random token kept in the browser's localStorage (gr.BrowserState).
  It is a bearer secret: whoever can read that browser's storage is that visitor. BrowserState
  scrambles the value with a key that Gradio publishes in /config, so that is NOT encryption.

Signed-in owners contain ':'; an anonymous id never does (it must match `ANON_ID`), so a browser
that sends "hf:alice" as its anonymous id gets a fresh id instead of Alice's data. The resolved
owner is kept in a server-side gr.State for the page session; handlers read it from there, never
from a value the browser sends with the event.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any, Literal

ANON_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# A signed-in name only ever becomes part of an owner key that is hashed before it names a
# folder, so any printable name works (Gradio logins may be e-mail addresses).
_NAME = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")

Kind = Literal["browser", "user", "hf"]


@dataclass(frozen=True, slots=True)
class Identity:
    """The owner key of a visitor's data and how it was established."""

    owner: str
    kind: Kind
    name: str = ""  # the signed-in name; empty for an anonymous browser

    @property
    def signed_in(self) -> bool:
        return self.kind != "browser"


def new_anonymous_id() -> str:
    """A fresh anonymous per-browser id (128 random bits)."""
    return secrets.token_urlsafe(16)


def valid_anonymous_id(value: object) -> bool:
    return isinstance(value, str) and bool(ANON_ID.fullmatch(value))


def oauth_username(request: Any) -> str | None:
    """The Hugging Face username in the request's OAuth session, if signed in.

    Reads what gradio.helpers.special_args reads for a `gr.OAuthProfile` argument
    (`session["oauth_info"]["userinfo"]["preferred_username"]`, gradio 5.50 helpers.py
    ~l.975-1005), without its warning when no SessionMiddleware is installed (no login button).
    """
    raw = getattr(request, "request", request)  # gr.Request wraps the Starlette request
    scope = getattr(raw, "scope", None)
    if not isinstance(scope, dict) or "session" not in scope:
        return None
    info = scope["session"].get("oauth_info") if isinstance(scope["session"], dict) else None
    userinfo = info.get("userinfo") if isinstance(info, dict) else None
    name = userinfo.get("preferred_username") if isinstance(userinfo, dict) else None
    return name if isinstance(name, str) and _NAME.fullmatch(name) else None


def auth_username(request: Any) -> str | None:
    """The name Gradio's own login (launch(auth=...)) put on the request, if any."""
    name = getattr(request, "username", None)
    return name if isinstance(name, str) and _NAME.fullmatch(name) else None


def resolve(browser_id: object, request: Any = None) -> tuple[Identity, str]:
    """The visitor's identity and the anonymous id to keep in their browser.

    A signed-in name wins (Gradio auth, then Hugging Face); otherwise the browser's anonymous id,
    replaced by a fresh one when missing or malformed. The browser id is returned either way so
    the browser keeps it (signing out later gives back the anonymous sessions).
    """
    anon = browser_id if valid_anonymous_id(browser_id) else new_anonymous_id()
    user = auth_username(request)
    if user:
        return Identity(f"user:{user}", "user", user), anon
    hf = oauth_username(request)
    if hf:
        return Identity(f"hf:{hf}", "hf", hf), anon
    return Identity(anon, "browser"), anon


def hf_oauth_configured(env: Any = None) -> bool:
    """True on a Space whose README front matter has `hf_oauth: true` (HF then sets OAUTH_*).

    Off a Space, gradio's LoginButton falls back to a mocked login that needs a local HF token
    and network access (gradio/oauth.py _add_mocked_oauth_routes), so the button is left out.
    """
    import os

    env = os.environ if env is None else env
    on_space = env.get("SYSTEM") == "spaces" and env.get("SPACE_ID")  # gradio.utils.get_space()
    return bool(on_space and env.get("OAUTH_CLIENT_ID") and env.get("OAUTH_CLIENT_SECRET"))


def describe(identity: Identity | None, *, sign_in_available: bool = False) -> str:
    """One plain sentence for the page: whose sessions these are and what protects them."""
    if identity is None or not identity.signed_in:
        return (
            "Your sessions and surveys belong to this browser: a random id kept in its local "
            "storage. Anyone who can use this browser profile (or read its storage) can open "
            "them; clearing the site's data loses them."
            + (
                " Sign in with Hugging Face to keep them under your name."
                if sign_in_available
                else ""
            )
        )
    how = "Hugging Face" if identity.kind == "hf" else "this server's login"
    return (
        f"Signed in as {identity.name} ({how}): your sessions and surveys belong to that account, "
        "from any browser."
    )
