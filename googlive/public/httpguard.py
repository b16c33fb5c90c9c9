"""HTTP hardening around Gradio's app: security headers, no file route into the data dir, and no
third-party assets in the page.

`SecurityMiddleware` is a plain ASGI middleware passed to Gradio through
`launch(app_kwargs={"middleware": [...]})` (gradio 5.50 routes.py App.create_app builds FastAPI
with those kwargs). Every HTTP response gets:

- Content-Security-Policy (see `csp()`): scripts, styles, fetches, media and fonts from this
  origin only; images also from data:/blob: (snapshots are data: URLs); no plugins, no <base>,
  forms post only here, and `frame-ancestors` limits who may embed the page (on a Hugging Face
  Space, huggingface.co embeds the app's *.hf.space origin in an iframe);
- X-Content-Type-Options: nosniff and Referrer-Policy: strict-origin-when-cross-origin.

Gradio's page needs 'unsafe-inline' for scripts and styles (index.html inlines its config and
bootstrap scripts, and components set inline styles) and 'unsafe-eval' (it builds the events'
`js=` handlers with the AsyncFunction constructor); so the CSP does not stop injected script:
escaping and the diagram gate do. What it stops is loading or sending anything to another
origin (images, styles, fonts, fetches, form posts), plugins, <base> and framing by other sites.
WebRTC media is not governed by CSP.

The data dir must be in launch's `allowed_paths` so Gradio may copy a session's recording,
snapshots and analysis into its cache before serving them (processing_utils._check_allowed);
but Gradio's file route would then also serve *any* file under it to anyone who names the path.
Every `/gradio_api/file=` (and `/file=`) request for a path inside the data dir is answered 403
here: pages only ever link to the cached copies.

Gradio's index.html loads iframe-resizer from cdnjs and preconnects to Google Fonts; both tags are
removed from HTML responses (the app's theme uses the fonts Gradio ships), so a visit makes no
third-party request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

HF_SPACE_EMBEDDER = "https://huggingface.co"
_FILE_PREFIXES = ("/gradio_api/file=", "/file=")
_THIRD_PARTY_TAGS = re.compile(
    rb"<script[^>]*\bsrc=\"https://cdnjs\.cloudflare\.com/ajax/libs/iframe-resizer/[^\"]*\"[^>]*>\s*</script>"
    rb"|<link[^>]*\brel=\"preconnect\"[^>]*\bhref=\"https://fonts\.(?:googleapis|gstatic)\.com\"[^>]*/?>",
    re.S,
)


def frame_ancestors(env: Any = None, extra: Iterable[str] = ()) -> list[str]:
    """Who may embed the page: this origin, huggingface.co on a Space, and `extra`."""
    env = os.environ if env is None else env
    out = ["'self'"]
    if env.get("SPACE_ID"):
        out.append(HF_SPACE_EMBEDDER)
    for origin in extra:
        origin = origin.strip()
        if origin and origin not in out:
            out.append(origin)
    return out


# On a Space, Gradio's page adds a Spaces header when opened at *.hf.space (frontend assets
# Index-*.js: fetch https://huggingface.co/api/spaces/<id> and the author's avatar, Google Fonts
# links), and the LoginButton shows the profile picture from HF's avatar CDN.
SPACE_EXTRA = {
    "style-src": "https://fonts.googleapis.com",
    "font-src": "https://fonts.gstatic.com",
    "img-src": "https://huggingface.co https://*.huggingface.co",
    "connect-src": "https://huggingface.co",
}


def csp(ancestors: Sequence[str], *, on_space: bool = False) -> str:
    extra = SPACE_EXTRA if on_space else {}

    def src(name: str, base: str) -> str:
        return f"{name} {base}" + (f" {extra[name]}" if name in extra else "")

    return "; ".join(
        [
            "default-src 'self'",
            # Gradio compiles every event's `js=` code with the AsyncFunction constructor
            # (frontend assets init-*.js: `Object.getPrototypeOf(async function(){}).constructor`).
            # blob:: the page duck's AudioWorklet module (googlive/web/duck.js addModule of a
            # Blob URL); worklets are fetched under script-src, not worker-src (CSP3 / HTML
            # "fetch a worklet script graph": destination "audioworklet" maps to script-src).
            "script-src 'self' 'unsafe-inline' 'unsafe-eval' blob:",
            src("style-src", "'self' 'unsafe-inline'"),
            src("img-src", "'self' data: blob:"),
            "media-src 'self' data: blob:",
            src("font-src", "'self' data:"),
            src("connect-src", "'self'"),
            "worker-src 'self' blob:",
            "frame-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors " + " ".join(ancestors),
        ]
    )


def in_tree(path: str, root: Path) -> bool:
    try:
        real = os.path.realpath(path)
        base = os.path.realpath(root)
    except (OSError, ValueError):
        return True  # unparseable: refuse
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def file_route_target(path: str) -> str | None:
    """The file a Gradio file-route request names, or None for any other route."""
    for prefix in _FILE_PREFIXES:
        if path.startswith(prefix):
            return unquote(path[len(prefix) :])
    return None


def strip_third_party(html: bytes) -> bytes:
    return _THIRD_PARTY_TAGS.sub(b"", html)


class SecurityMiddleware:
    """See the module docstring. `private_roots` are never served by the file route."""

    def __init__(
        self,
        app: Any,
        *,
        private_roots: Sequence[str | Path] = (),
        ancestors: Sequence[str] = ("'self'",),
        on_space: bool = False,
    ) -> None:
        self.app = app
        self.private_roots = [Path(p) for p in private_roots]
        self.headers = [
            (b"content-security-policy", csp(ancestors, on_space=on_space).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]

    def _with_headers(self, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        names = {k for k, _ in self.headers}
        return [(k, v) for k, v in headers if k.lower() not in names] + self.headers

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        target = file_route_target(scope.get("path", ""))
        if target is not None and any(in_tree(target, root) for root in self.private_roots):
            body = b"File not allowed."
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": self._with_headers(
                        [
                            (b"content-type", b"text/plain"),
                            (b"content-length", str(len(body)).encode()),
                        ]
                    ),
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        html: dict[str, Any] = {}

        async def wrapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                encoded = any(k.lower() == b"content-encoding" for k, _ in headers)
                message = {**message, "headers": self._with_headers(headers)}
                if ctype.startswith(b"text/html") and not encoded:
                    html["start"] = message  # held until the body is complete
                    html["body"] = bytearray()
                    return
                await send(message)
            elif message["type"] == "http.response.body" and "start" in html:
                html["body"] += message.get("body", b"")
                if message.get("more_body"):
                    return
                body = strip_third_party(bytes(html.pop("body")))
                start = html.pop("start")
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        await self.app(scope, receive, wrapped)
