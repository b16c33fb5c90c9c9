"""Per-visitor limits and how they are worded on the page (pure).

A limit refuses with a message that says what the limit is and how far over the input was, and
never drops what the visitor typed (the caller keeps it in the box).
"""

from __future__ import annotations

MAX_TYPED_CHARS = 4_000  # a typed message; longer text goes in as a survey or the instruction
MAX_INSTRUCTION_CHARS = 20_000  # the system instruction box


def typed_text_problem(message: str, limit: int = MAX_TYPED_CHARS) -> str | None:
    """Why a typed message is refused, or None when it may be sent."""
    n = len(message)
    if n <= limit:
        return None
    return (
        f"Messages are limited to {limit:,} characters; this one has {n:,}. "
        "Shorten it (it is still in the box) and send again."
    )


def format_duration(seconds: float) -> str:
    """45 s, 1 min, 1 min 30 s, 2 h 5 min: whole units only, never '0 min'."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h} h {m} min" if m else f"{h} h"
    return f"{m} min {sec} s" if sec else f"{m} min"


def time_limit_message(limit_s: float) -> str:
    """The status line when a conversation reaches the server's time limit."""
    return (
        f"Time limit of {format_duration(limit_s)} reached: the conversation ended. "
        "Press Start conversation to talk again."
    )


def instruction_problem(text: str, limit: int = MAX_INSTRUCTION_CHARS) -> str | None:
    """Why a system instruction is refused (the conversation then uses the server's default)."""
    n = len(text or "")
    if n <= limit:
        return None
    return (
        f"The system instruction is limited to {limit:,} characters; this one has {n:,}. "
        "Until it is shortened, conversations use the server's default instruction."
    )
