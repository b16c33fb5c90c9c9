"""Which Live model a visitor may pick (pure).

On the server's key the model is an allow-list: the shipped LIVE_MODELS plus the model the
operator started with (--model). A visitor who typed their own key pays for their own calls, so
any well-formed model name is accepted with it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$")


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The model to use and, when the request was refused, why (for the page)."""

    model: str
    refused: str | None = None


def allowed_models(shipped: Iterable[str], server_default: str) -> frozenset[str]:
    return frozenset(shipped) | {server_default}


def choose_model(
    requested: str | None,
    *,
    own_key: bool,
    allowed: Iterable[str],
    server_default: str,
) -> ModelChoice:
    """The model a conversation runs on: the request when allowed, else the server default."""
    name = (requested or "").strip()
    if not name or name == server_default:
        return ModelChoice(server_default)
    if not _NAME.fullmatch(name):
        return ModelChoice(
            server_default, "That model name is not valid; using the server's default model."
        )
    if name in set(allowed) or own_key:
        return ModelChoice(name)
    return ModelChoice(
        server_default,
        f"On this server's key only the listed models can be used; '{name[:60]}' needs your own API "
        "key (Settings). Using the server's default model.",
    )
