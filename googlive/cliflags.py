"""Command-line flags that an environment variable can also set: one call a flag.

`add_flag(group, "--max-sessions", 8, env="GOOGLIVE_MAX_SESSIONS", type=int, help=...)` is
`group.add_argument` whose default is the variable's value when it is set, read with the same
`type` as the flag, so the command line and the environment cannot disagree on what a value
is. Several variable names are tried in order (the first one set wins). A text variable is taken
as it is (even empty); a blank number variable counts as unset. A value the type refuses stops
start-up with a message naming the variable and the value.

`add_switch` is the same for an on/off flag: on when given, or by default when its variable
is "1" (any other value of a set variable means off).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping
from typing import Any

_WHAT = {int: "a whole number", float: "a number"}


def _names(env: str | tuple[str, ...]) -> tuple[str, ...]:
    return (env,) if isinstance(env, str) else env


def env_value(
    env: str | tuple[str, ...],
    default: Any,
    type: Callable[[str], Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Any:
    """The first set variable of `env` (converted by `type`), else `default`.

    Raises SystemExit naming the variable when `type` refuses its value."""
    environ = os.environ if environ is None else environ
    for name in _names(env):
        raw = environ.get(name)
        if raw is None or (type is not None and not raw.strip()):
            continue
        if type is None:
            return raw
        try:
            return type(raw)
        except ValueError:
            what = _WHAT.get(type, "valid")  # type: ignore[call-overload]
            raise SystemExit(f"{name} must be {what}, got {raw!r}") from None
    return default


def add_flag(
    g: argparse.ArgumentParser | argparse._ArgumentGroup,
    name: str,
    default: Any = None,
    *,
    env: str | tuple[str, ...] = (),
    type: Callable[[str], Any] | None = None,
    help: str,
    **options: Any,
) -> None:
    """`g.add_argument(name, ...)` with its default from `env` (see the module docstring)."""
    if type is not None:
        options["type"] = type
    g.add_argument(name, default=env_value(env, default, type), help=help, **options)


def add_switch(
    g: argparse.ArgumentParser | argparse._ArgumentGroup,
    name: str,
    *,
    env: str | None = None,
    default: bool = False,
    help: str,
) -> None:
    """A store_true flag, on by default when `env` is "1" (`default` when it is unset)."""
    raw = os.environ.get(env) if env else None
    on = default if raw is None else raw == "1"
    g.add_argument(name, action="store_true", default=on, help=help)
