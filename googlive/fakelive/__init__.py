"""A protocol-faithful local Gemini Live server for tests and the offline demo.

``FakeLiveServer`` speaks BidiGenerateContent over TLS WebSocket and answers REST
``generateContent`` on the same port; ``python -m googlive.fakelive`` runs it standalone.
"""

from __future__ import annotations

from .server import ConnectionInfo, FakeLiveConfig, FakeLiveServer, FakeLiveStats

__all__ = ["ConnectionInfo", "FakeLiveConfig", "FakeLiveServer", "FakeLiveStats"]
