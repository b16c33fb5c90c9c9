"""Token usage per turn and per session, and an estimated cost from the price table.

Prices live in one settings file (assets/prices.json): USD per 1M tokens, per model, for text
and audio input and output. This app always answers in audio, so the estimate prices input
tokens (prompt and tool-use prompt) at the audio/video input rate and output tokens (response
and thoughts) at the audio output rate: an upper bound when part of the prompt was text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from googlive import paths
from googlive.live.events import Usage

DEFAULT_PRICES = paths.ASSETS / "prices.json"
RATE_KEYS = ("input_text", "input_audio", "output_text", "output_audio")


@dataclass(frozen=True)
class Prices:
    input_text: float
    input_audio: float
    output_text: float
    output_audio: float


@dataclass(frozen=True)
class PriceTable:
    models: dict[str, Prices]
    default: Prices | None
    currency: str = "USD"
    per_tokens: int = 1_000_000
    as_of: str = ""
    estimate: bool = True

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PRICES) -> PriceTable:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: dict) -> PriceTable:
        def prices(d: dict) -> Prices:
            missing = [k for k in RATE_KEYS if k not in d]
            if missing:
                raise ValueError(f"price entry lacks {', '.join(missing)}")
            vals = {k: float(d[k]) for k in RATE_KEYS}
            if any(v < 0 for v in vals.values()):
                raise ValueError("prices must not be negative")
            return Prices(**vals)

        models = {str(k): prices(v) for k, v in (data.get("models") or {}).items()}
        default = prices(data["default"]) if data.get("default") else None
        per = int(data.get("per_tokens", 1_000_000))
        if per <= 0:
            raise ValueError("per_tokens must be positive")
        return cls(
            models,
            default,
            str(data.get("currency", "USD")),
            per,
            str(data.get("as_of", "")),
            bool(data.get("estimate", True)),
        )

    def for_model(self, model: str) -> tuple[Prices | None, bool]:
        """(prices, exact): exact is False when the default row stands in for `model`."""
        if model in self.models:
            return self.models[model], True
        bare = model.removeprefix("models/")
        if bare in self.models:
            return self.models[bare], True
        return self.default, False

    def cost(self, model: str, usage: Usage) -> float | None:
        """Estimated cost of `usage` in `currency`, or None without a price for `model`."""
        p, _ = self.for_model(model)
        if p is None:
            return None
        # Tool-use prompt tokens are input and thought tokens are output (Usage.input_tokens /
        # output_tokens), so a thinking model's reasoning is priced too.
        return (
            usage.input_tokens * p.input_audio + usage.output_tokens * p.output_audio
        ) / self.per_tokens


@dataclass
class TurnUsage:
    turn: int
    usage: Usage


@dataclass
class UsageTracker:
    """Per-turn usage (last `keep` turns) and the running total of what TurnComplete and
    UsageReport carried."""

    keep: int = 50
    turns: list[TurnUsage] = field(default_factory=list)
    total: Usage = field(default_factory=Usage)
    n_turns: int = 0
    version: int = 0

    def add(self, turn: int, usage: Usage) -> None:
        """Add `usage` to `turn` (a turn's usage may come in parts: TurnComplete, then a
        UsageReport for the same turn)."""
        self.total = self.total + usage
        if self.turns and self.turns[-1].turn == turn:
            self.turns[-1].usage = self.turns[-1].usage + usage
        else:
            self.n_turns += 1
            self.turns.append(TurnUsage(turn, usage))
            if len(self.turns) > self.keep:
                del self.turns[: len(self.turns) - self.keep]
        self.version += 1
