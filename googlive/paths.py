"""Where the app's own files are, for modules at any depth of the package."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
"""googlive/"""
ROOT = PACKAGE.parent
"""The checkout (app.py, assets/, tools/)."""
ASSETS = ROOT / "assets"
WEB = PACKAGE / "web"
"""The page's own scripts, inlined in its <head>."""
